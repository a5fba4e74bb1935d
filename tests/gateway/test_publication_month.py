"""`/publikasi` opens on the latest month that has something to publish.

Seen on a first run: the demo's complaints were answered this month, and `/publikasi` opened on
last month, empty, with nothing saying where the published complaints were.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient

from gateway.context import Gateway
from gateway.reports.figures import Period
from gateway.store.models import Agency, Status
from tests.gateway.factories import make_complaint


def _agency(gateway: Gateway) -> int:
    with gateway.db.session() as session:
        agency = Agency(code="DPUPR", name="Dinas Pekerjaan Umum", function_group="infrastruktur")
        session.add(agency)
        session.commit()
        return agency.id  # type: ignore[return-value]


def _answered(gateway: Gateway, agency_id: int, at: datetime, title: str, **fields: object) -> None:
    make_complaint(
        gateway.db,
        Status.ANSWERED,
        agency_id=agency_id,
        answered_at=at,
        title=title,
        masked_text=f"{title}, mohon ditindaklanjuti",
        **fields,
    )


def _month_of(gateway: Gateway, at: datetime) -> str:
    return Period.containing("monthly", gateway.calendar.local_date(at)).label


def _months_ago(n: int) -> datetime:
    day = datetime.now(UTC).replace(day=15, hour=5)
    for _ in range(n):
        day = (day.replace(day=1) - timedelta(days=1)).replace(day=15)
    return day


def test_publikasi_opens_on_the_latest_month_with_published_complaints(
    client: TestClient, gateway: Gateway
) -> None:
    dpupr = _agency(gateway)
    _answered(gateway, dpupr, _months_ago(4), "Lampu jalan mati di Kragan")
    _answered(gateway, dpupr, _months_ago(2), "Jalan berlubang di Lasem")
    # Newer, but never published: confidential, or reopened since its answer.
    _answered(gateway, dpupr, _months_ago(0), "Rahasia warga", rahasia=True)
    make_complaint(gateway.db, Status.IN_PROGRESS, agency_id=dpupr, answered_at=_months_ago(1))

    response = client.get("/publikasi", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == f"/publikasi/{_month_of(gateway, _months_ago(2))}"
    page = client.get("/publikasi").text
    assert "Jalan berlubang di Lasem" in page and "Rahasia warga" not in page

    _answered(gateway, dpupr, datetime.now(UTC), "Sampah diangkut di Pasar Kragan")
    this_month = _month_of(gateway, datetime.now(UTC))
    response = client.get("/publikasi", follow_redirects=False)
    assert response.headers["location"] == f"/publikasi/{this_month}"


def test_an_empty_month_says_so_and_links_the_latest_month_with_data(
    client: TestClient, gateway: Gateway
) -> None:
    dpupr = _agency(gateway)
    _answered(gateway, dpupr, _months_ago(2), "Jalan berlubang di Lasem")
    latest = _month_of(gateway, _months_ago(2))
    empty = client.get(f"/publikasi/{_month_of(gateway, _months_ago(1))}").text
    assert "Belum ada pengaduan yang diselesaikan pada" in empty
    assert f'<a href="/publikasi/{latest}" id="latest-published">' in empty
    full = client.get(f"/publikasi/{latest}").text
    assert "latest-published" not in full


def test_with_nothing_published_yet_publikasi_opens_on_last_month_and_says_so(
    client: TestClient, gateway: Gateway
) -> None:
    today = gateway.calendar.local_date(datetime.now(UTC))
    last_month = Period.containing("monthly", date(today.year, today.month, 1) - timedelta(days=1))
    response = client.get("/publikasi", follow_redirects=False)
    assert response.headers["location"] == f"/publikasi/{last_month.label}"
    page = client.get("/publikasi").text
    assert "Belum ada pengaduan yang diselesaikan pada" in page
    assert "latest-published" not in page
