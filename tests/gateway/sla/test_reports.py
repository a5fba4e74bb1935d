"""Report figures on a seeded October 2026, with every expected value worked out by hand below
(WIB dates; October 2026 has no holiday, which the first test checks).

| | channel | received | class | disposed (agency) | acknowledged | answered | deadline |
|---|---|---|---|---|---|---|---|
| A | webform | Thu 1 Oct | pengaduan | Mon 5 (DPUPR) | Tue 6 | Fri 9 | 14 wd: on time |
| B | sms | Mon 5 | aspirasi | Tue 6 (DPUPR) | — | Thu 15 | 5 wd: Tue 13, late |
| C | whatsapp | Wed 7 | informasi | Thu 8 (DLH) | — | — | 5 wd: Thu 15, overdue, escalated |
| D | webform | Mon 12 | — | — | | | |
| E | telegram | Tue 13 | — | archived | | | |
| F | webform | Wed 14 | merged into A: not counted again | | | | |
| G | sms | Sat 31 Oct 20:00 | berkadar | Mon 2 Nov (DLH) | Mon 2 Nov | — | 60 wd: not due |
| H | webform | Sun 1 Nov 00:30 WIB (31 Oct UTC): November | | | | | |
| I | whatsapp | Thu 1 Oct 06:00 WIB (30 Sep UTC): October | | | | | |

Working days to follow-up (first disposition → first acknowledgement or answer): A 1 (Mon 5 →
Tue 6), B 7 (Tue 6 → Thu 15: 7,8,9,12,13,14,15), G 0 (same day). To acknowledge: A 1, G 0.
To answer: A 4 (6,7,8,9), B 7.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from gateway.complaints import actions, workflow
from gateway.context import Gateway
from gateway.reports import export as report_export
from gateway.reports import figures as reports
from gateway.reports.figures import Period
from gateway.sla import sweeps
from gateway.store.models import Complaint
from tests.gateway.admin.conftest import Directory
from tests.gateway.sla import story
from tests.gateway.sla.story import wib

REPORT_TIME = wib(11, 22, 12)


def _merge(gateway: Gateway, code: str, into: str, at) -> None:  # type: ignore[no-untyped-def]
    with gateway.db.session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        target = session.scalar(select(Complaint).where(Complaint.tracking_code == into))
        actions.merge(gateway, session, complaint, target, actor="user:1", now=at)  # type: ignore[arg-type]
        workflow.commit(session)


@pytest.fixture
def october(gateway: Gateway, directory: Directory) -> dict[str, str]:
    g = gateway
    codes = {}
    codes["A"] = a = story.file(g, wib(10, 1), origin_channel="webform")
    story.verify(g, a, wib(10, 2))
    story.dispose(g, a, wib(10, 5), directory.dpupr)
    story.act(g, a, "acknowledge", wib(10, 6))
    story.answer(g, a, wib(10, 9))
    codes["B"] = b = story.file(g, wib(10, 5, 9), origin_channel="twilio_sms")
    story.verify(g, b, wib(10, 5, 11), "aspirasi")
    story.dispose(g, b, wib(10, 6), directory.dpupr)
    story.answer(g, b, wib(10, 15))
    codes["C"] = c = story.file(g, wib(10, 7, 9), origin_channel="twilio_whatsapp")
    story.verify(g, c, wib(10, 7, 11), "permintaan_informasi")
    story.dispose(g, c, wib(10, 8), directory.dlh)
    codes["D"] = story.file(g, wib(10, 12), origin_channel="webform")
    codes["E"] = e = story.file(g, wib(10, 13), origin_channel="telegram")
    story.act(g, e, "archive", wib(10, 13, 12), reason="Bukan pelayanan publik")
    codes["F"] = f = story.file(g, wib(10, 14), origin_channel="webform")
    _merge(g, f, a, wib(10, 14, 12))
    codes["G"] = gg = story.file(g, wib(10, 31, 20), origin_channel="twilio_sms")
    story.verify(g, gg, wib(11, 2, 9), "pengaduan_berkadar_pengawasan")
    story.dispose(g, gg, wib(11, 2, 10), directory.dlh)
    story.act(g, gg, "acknowledge", wib(11, 2, 15))
    codes["H"] = story.file(g, wib(11, 1, 0, 30), origin_channel="webform")
    codes["I"] = story.file(g, wib(10, 1, 6), origin_channel="twilio_whatsapp")
    sweeps.run(g, wib(11, 20, 9))  # C is escalated
    return codes


def _report(gateway: Gateway, period: Period, **kw: object) -> reports.Report:
    with gateway.db.read_session() as session:
        return reports.build(session, period, gateway.calendar, kw.pop("as_of", REPORT_TIME), **kw)  # type: ignore[arg-type]


def _row(rows: list[reports.Row], key: str) -> reports.Figures:
    return next(r.figures for r in rows if r.key == key)


def test_october_has_no_holiday(gateway: Gateway) -> None:
    assert gateway.calendar.holidays_between(date(2026, 10, 1), date(2026, 11, 30)) == []


def test_monthly_figures_computed_by_hand(gateway: Gateway, october: dict[str, str]) -> None:
    report = _report(gateway, Period.parse("monthly", "2026-10"))
    total = report.total
    assert (total.received, total.disposed, total.followed_up, total.answered) == (7, 4, 3, 2)
    assert total.followed_up_pct == 75.0
    assert (total.due, total.answered_on_time, total.overdue, total.escalated) == (3, 1, 2, 1)
    assert total.on_time_pct == 33.3
    assert sorted(total.followup_days) == [0, 1, 7]
    assert (total.avg_followup_days, total.median_followup_days) == (2.7, 1.0)
    assert (total.avg_acknowledge_days, total.median_acknowledge_days) == (0.5, 0.5)
    assert (total.avg_answer_days, total.median_answer_days) == (5.5, 5.5)

    dpupr = _row(report.by_agency, "DPUPR")
    assert (dpupr.received, dpupr.disposed, dpupr.followed_up, dpupr.followed_up_pct) == (
        2,
        2,
        2,
        100.0,
    )
    assert (dpupr.due, dpupr.answered_on_time, dpupr.on_time_pct, dpupr.overdue) == (2, 1, 50.0, 1)
    assert (dpupr.avg_followup_days, dpupr.median_followup_days) == (4.0, 4.0)
    dlh = _row(report.by_agency, "DLH")
    assert (dlh.received, dlh.disposed, dlh.followed_up, dlh.followed_up_pct) == (2, 2, 1, 50.0)
    assert (dlh.due, dlh.on_time_pct, dlh.overdue, dlh.escalated) == (1, 0.0, 1, 1)
    assert _row(report.by_agency, "-").received == 3  # D, E, I: not disposed

    received = {r.key: r.figures.received for r in report.by_channel}
    assert received == {
        "webform": 2,
        "twilio_sms": 2,
        "twilio_whatsapp": 2,
        "telegram": 1,
        "whatsapp_cloud": 0,  # every chat channel is listed, with or without complaints
        "instagram": 0,
        "facebook": 0,
        "email": 0,
        "tiktok": 0,  # comments captured by an admin at /admin/tiktok
        "x": 0,
        "youtube": 0,
        "manual": 0,
        "import": 0,
        "lapor": 0,  # reports filed in SP4N-LAPOR! itself
    }
    sms = _row(report.by_channel, "twilio_sms")
    assert (sms.disposed, sms.followed_up_pct, sms.due, sms.overdue) == (2, 100.0, 1, 1)

    per_day = {r.key: r.figures.received for r in report.trend}
    assert len(per_day) == 31
    assert per_day["2026-10-01"] == 2 and per_day["2026-10-31"] == 1 and per_day["2026-10-02"] == 0


def test_as_of_the_end_of_the_period(gateway: Gateway, october: dict[str, str]) -> None:
    period = Period.parse("monthly", "2026-10")
    end = reports.as_of_for(period, gateway.calendar, REPORT_TIME, at_end=True)
    report = _report(gateway, period, as_of=end)
    # G was disposed in November: not yet by the end of October.
    assert (report.total.disposed, report.total.followed_up) == (3, 2)
    assert report.total.followed_up_pct == 66.7
    assert report.total.escalated == 1  # C became overdue on 16 October


def test_semester_and_annual_cover_the_same_complaints(
    gateway: Gateway, october: dict[str, str]
) -> None:
    semester = _report(gateway, Period.parse("semester", "2026-S2"))
    annual = _report(gateway, Period.parse("annual", "2026"))
    for report in (semester, annual):
        assert report.total.received == 8  # October's 7 and H in November
        months = {r.key: r.figures.received for r in report.trend}
        assert months["2026-10"] == 7 and months["2026-11"] == 1
    assert [r.key for r in semester.trend] == [f"2026-{m:02d}" for m in range(7, 13)]
    assert len(annual.trend) == 12


def test_daily_issue_report_lists_the_days_complaints(
    gateway: Gateway, october: dict[str, str]
) -> None:
    report = _report(gateway, Period.parse("daily", "2026-10-01"))
    assert [f.code for f in report.issues] == [october["I"], october["A"]]
    assert report.total.received == 2


def test_one_agency_only(gateway: Gateway, directory: Directory, october: dict[str, str]) -> None:
    report = _report(gateway, Period.parse("monthly", "2026-10"), agency_id=directory.dlh)
    assert report.agency == "DLH"
    assert report.total.received == 2
    assert [r.key for r in report.by_agency] == ["DLH"]


def test_an_empty_period_is_zeros(gateway: Gateway, directory: Directory) -> None:
    report = _report(gateway, Period.parse("monthly", "2025-01"))
    assert report.total.received == 0
    assert report.total.followed_up_pct == 0.0 and report.total.avg_followup_days == 0.0
    assert all(r.figures.received == 0 for r in report.by_agency + report.by_channel)
    assert len(report.trend) == 31
    rows = list(csv.reader(io.StringIO(report_export.to_csv(report))))
    assert rows[1][:3] == ["Jumlah", "total", "Jumlah"] and set(rows[1][3:]) <= {"0", "0.0"}
    book = load_workbook(io.BytesIO(report_export.to_xlsx(report)))
    assert book["Ringkasan"]["B5"].value == 0


def test_csv_and_xlsx_exports_read_back(gateway: Gateway, october: dict[str, str]) -> None:
    report = _report(gateway, Period.parse("monthly", "2026-10"))
    rows = list(csv.DictReader(io.StringIO(report_export.to_csv(report, "en"))))
    by_key = {(r["Section"], r["Key"]): r for r in rows}
    assert by_key[("Total", "total")]["Received"] == "7"
    assert by_key[("Total", "total")]["Followed up (%)"] == "75.0"
    assert by_key[("Per agency", "DPUPR")]["Average working days to follow-up"] == "4.0"
    assert by_key[("Per channel", "twilio_sms")]["Name"] == "SMS 1708"

    book = load_workbook(io.BytesIO(report_export.to_xlsx(report, "id")))
    assert book.sheetnames[:3] == ["Ringkasan", "Per perangkat daerah", "Per kanal"]
    summary = book["Ringkasan"]
    assert summary["A1"].value == "Rekap Bulanan 2026-10"
    figures = {summary.cell(row, 1).value: summary.cell(row, 2).value for row in range(5, 21)}
    assert figures["Aduan masuk"] == 7 and figures["Ditindaklanjuti (%)"] == 75.0
    agencies = book["Per perangkat daerah"]
    header = [c.value for c in agencies[1]]
    dpupr = next(r for r in agencies.iter_rows(values_only=True) if r[0] == "Dinas Pekerjaan Umum")
    assert dpupr[header.index("Tepat waktu (%)")] == 50.0
    assert len(book["Tren"]._charts) == 1  # the trend chart
    text = report_export.to_text(report)
    assert "Rekap Bulanan 2026-10" in text and "75.0" in text


def test_periods_parse_and_refuse_clearly() -> None:
    assert Period.parse("semester", "2026-2").first == date(2026, 7, 1)
    assert Period.parse("semester", "2026-S1").last == date(2026, 6, 30)
    assert Period.parse("monthly", "2024-02").last == date(2024, 2, 29)
    assert Period.parse("monthly", "2026-12").last == date(2026, 12, 31)
    with pytest.raises(ValueError, match="not a monthly period"):
        Period.parse("monthly", "2026-13")
    with pytest.raises(ValueError, match="semester"):
        Period.parse("semester", "2026-S3")
