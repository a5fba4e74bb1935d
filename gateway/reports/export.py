"""A report as a file: CSV (one table, a `section` column tells the groupings apart), XLSX (one
sheet per grouping, the trend with a native Excel chart) or plain text for the terminal.

Headings are in the admin's language (Indonesian by default); numbers stay numbers (a
percentage is 87.5, not "87,5 %"), so a spreadsheet can compute with them.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font

from config.messages import t
from gateway.reports.figures import COLUMNS, Facts, Report, Row

SECTIONS_WITH_LABEL_KEYS = {"channel": "admin.channel.", "category": "category."}


def row_label(lang: str, section: str, row: Row) -> str:
    """Channels and classes by their names; agencies by their name; the rest as they are."""
    if section == "total":
        return t(lang, "report.total")
    prefix = SECTIONS_WITH_LABEL_KEYS.get(section)
    if prefix and row.key != "-":
        return t(lang, prefix + row.key)
    if row.key == "-":
        return t(lang, f"report.none.{section}")
    return row.label


def headers(lang: str) -> list[str]:
    return [t(lang, f"report.col.{name}") for name, _ in COLUMNS]


def title(lang: str, report: Report) -> str:
    scope = f" — {report.agency}" if report.agency else ""
    return f"{t(lang, f'report.kind.{report.period.kind}')} {report.period.label}{scope}"


def as_of_text(report: Report, timezone: str) -> str:
    return report.as_of.astimezone(ZoneInfo(timezone)).strftime("%d-%m-%Y %H:%M")


def to_csv(report: Report, lang: str = "id") -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            t(lang, "report.col.section"),
            t(lang, "report.col.key"),
            t(lang, "report.col.label"),
            *headers(lang),
        ]
    )
    for section, rows in report.sections():
        for row in rows:
            writer.writerow(
                [
                    t(lang, f"report.section.{section}"),
                    row.key,
                    row_label(lang, section, row),
                    *row.values(),
                ]
            )
    return out.getvalue()


def to_xlsx(report: Report, lang: str = "id", timezone: str = "Asia/Jakarta") -> bytes:
    book = Workbook()
    summary = book.active
    summary.title = _sheet(t(lang, "report.sheet.summary"))
    summary.append([title(lang, report)])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append([t(lang, "report.period"), report.period.first, report.period.last])
    summary.append([t(lang, "report.as_of"), as_of_text(report, timezone)])
    summary.append([])
    for (_name, read), heading in zip(COLUMNS, headers(lang), strict=True):
        summary.append([heading, read(report.total)])
    summary.column_dimensions["A"].width = 48
    for section, rows in report.sections()[1:]:
        sheet = book.create_sheet(_sheet(t(lang, f"report.section.{section}")))
        sheet.append([t(lang, "report.col.label"), *headers(lang)])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([row_label(lang, section, row), *row.values()])
        sheet.column_dimensions["A"].width = 36
        if section == "trend" and rows:
            _trend_chart(sheet, len(rows), lang)
    if report.issues:
        sheet = book.create_sheet(_sheet(t(lang, "report.sheet.issues")))
        sheet.append(issue_headers(lang))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for item in report.issues:
            sheet.append(issue_row(lang, item, timezone, report.agency_names))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _trend_chart(sheet, rows: int, lang: str) -> None:
    """Received and followed up per step, as a bar chart beside the table."""
    chart = BarChart()
    chart.title = t(lang, "report.chart.trend")
    chart.y_axis.title = t(lang, "report.col.received")
    received = next(i for i, (name, _) in enumerate(COLUMNS) if name == "received") + 2
    followed = next(i for i, (name, _) in enumerate(COLUMNS) if name == "followed_up") + 2
    for column in (received, followed):
        data = Reference(sheet, min_col=column, min_row=1, max_row=rows + 1)
        chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=rows + 1))
    chart.width, chart.height = 24, 10
    sheet.add_chart(chart, f"A{rows + 4}")


def _sheet(name: str) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\."""
    for bad in "[]:*?/\\":
        name = name.replace(bad, " ")
    return name[:31]


def issue_headers(lang: str) -> list[str]:
    return [
        t(lang, f"report.issue.{name}")
        for name in (
            "code",
            "received",
            "title",
            "category",
            "kecamatan",
            "agency",
            "channel",
            "status",
        )
    ]


def issue_row(lang: str, item: Facts, timezone: str, agencies: dict[int, str]) -> list[str]:
    local: datetime = item.received_at.astimezone(ZoneInfo(timezone))
    return [
        item.code,
        local.strftime("%d-%m-%Y %H:%M"),
        item.title,
        t(lang, f"category.{item.category}") if item.category else "",
        item.kecamatan or "",
        agencies.get(item.agency_id, "") if item.agency_id else "",
        t(lang, f"admin.channel.{item.channel}"),
        t(lang, f"status.{item.status}"),
    ]


def to_text(report: Report, lang: str = "id", timezone: str = "Asia/Jakarta") -> str:
    """Aligned tables for a terminal: the main columns only, so it fits 100 characters."""
    main = (
        "received",
        "followed_up_pct",
        "on_time_pct",
        "avg_followup_days",
        "median_followup_days",
        "overdue",
        "escalated",
    )
    picks = [i for i, (name, _) in enumerate(COLUMNS) if name in main]
    short = [t(lang, f"report.short.{COLUMNS[i][0]}") for i in picks]
    lines = [
        title(lang, report),
        f"{t(lang, 'report.period')}: {report.period.first} … {report.period.last}   "
        f"{t(lang, 'report.as_of')}: {as_of_text(report, timezone)}",
        "",
    ]
    for section, rows in report.sections():
        if section == "trend" and report.period.kind == "monthly":
            rows = [r for r in rows if r.figures.received]  # a month of days: only the busy ones
        lines.append(t(lang, f"report.section.{section}"))
        width = max([len(row_label(lang, section, r)) for r in rows] + [12])
        width = min(width, 40)
        lines.append("  " + "".ljust(width) + "".join(h.rjust(11) for h in short))
        for row in rows:
            values = row.values()
            cells = "".join(_cell(values[i]).rjust(11) for i in picks)
            lines.append("  " + row_label(lang, section, row)[:width].ljust(width) + cells)
        lines.append("")
    return "\n".join(lines)


def _cell(value: float | int) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value)
