"""The inbox list: every filter, full-text search on both engines, sort, pages and the counts
shown beside each filter (which always match what the filter then lists)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from gateway.admin import inbox
from gateway.admin.inbox import Clock, InboxFilter, Scope
from gateway.complaints import actions, workflow
from gateway.context import Gateway
from gateway.store.models import Complaint, Status
from tests.gateway.admin.conftest import Admin, Directory
from tests.gateway.factories import make_complaint

S = Status
NOW = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)
CLOCK = Clock(now=NOW, soon=timedelta(hours=48), tz=ZoneInfo("Asia/Jakarta"))


def _page(
    gateway: Gateway, scope: Scope = inbox.EVERYTHING, cap: int = 1000, size: int = 50, **query: str
) -> inbox.InboxPage:
    with gateway.db.read_session() as session:
        return inbox.list_page(
            session, InboxFilter.from_query(query), scope, CLOCK, page_size=size, count_cap=cap
        )


def _codes(page: inbox.InboxPage) -> set[str]:
    return {row.tracking_code for row in page.rows}


def _make(gateway: Gateway, status: Status = S.RECEIVED, **fields: object) -> str:
    fields.setdefault("received_at", NOW - timedelta(days=1))
    return make_complaint(gateway.db, status, **fields).tracking_code


def test_each_filter_narrows_the_list(gateway: Gateway, directory: Directory) -> None:
    road = _make(
        gateway,
        S.DISPOSED,
        origin_channel="twilio_whatsapp",
        category="pengaduan",
        agency_id=directory.dpupr,
        kecamatan="Lasem",
        received_at=NOW - timedelta(days=3),
    )
    info = _make(
        gateway,
        S.RECEIVED,
        origin_channel="webform",
        category="permintaan_informasi",
        kecamatan="Kragan",
        received_at=NOW - timedelta(days=20),
    )
    trash = _make(
        gateway,
        S.VERIFIED,
        origin_channel="manual",
        source="tiktok",
        agency_id=directory.dlh,
        kecamatan="Kragan",
    )
    assert _codes(_page(gateway)) == {road, info, trash}
    assert _codes(_page(gateway, status="disposed")) == {road}
    assert _codes(_page(gateway, status="open")) == {road, info, trash}
    assert _codes(_page(gateway, channel="manual")) == {trash}
    assert _codes(_page(gateway, category="permintaan_informasi")) == {info}
    assert _codes(_page(gateway, agency=str(directory.dpupr))) == {road}
    assert _codes(_page(gateway, kecamatan="kragan")) == {info, trash}
    week_ago = (NOW - timedelta(days=7)).date().isoformat()
    assert _codes(_page(gateway, **{"from": week_ago})) == {road, trash}
    assert _codes(_page(gateway, to=week_ago)) == {info}
    assert _codes(_page(gateway, status="disposed", kecamatan="Kragan")) == set()


def test_unknown_filter_values_are_ignored_not_errors(gateway: Gateway) -> None:
    code = _make(gateway)
    page = _page(
        gateway,
        status="bogus",
        channel="fax",
        category="?",
        agency="x",
        deadline="no",
        sort="random",
        page="-3",
        **{"from": "yesterday"},
    )
    assert _codes(page) == {code} and page.filter == InboxFilter()


def test_deadline_states_follow_the_clock_running_in_each_state(gateway: Gateway) -> None:
    late = _make(gateway, S.RECEIVED, verify_due_at=NOW - timedelta(hours=1))
    soon = _make(
        gateway,
        S.IN_PROGRESS,
        answer_due_at=NOW + timedelta(hours=5),
        verify_due_at=NOW - timedelta(days=9),
    )  # verified long ago: not what counts now
    fine = _make(gateway, S.DISPOSED, answer_due_at=NOW + timedelta(days=9))
    paused = _make(gateway, S.PENDING, verify_due_at=NOW - timedelta(days=2))
    done = _make(gateway, S.CLOSED, answer_due_at=NOW - timedelta(days=30))
    assert _codes(_page(gateway, deadline="overdue")) == {late}
    assert _codes(_page(gateway, deadline="due_soon")) == {soon}
    assert _codes(_page(gateway, deadline="ok")) == {fine}
    page = _page(gateway)
    states = {row.tracking_code: row.deadline_state for row in page.rows}
    assert states == {late: "overdue", soon: "due_soon", fine: "ok", paused: None, done: None}
    assert {k: c.value for k, c in page.deadline_counts.items()} == {
        "overdue": 1,
        "due_soon": 1,
        "ok": 1,
    }


def test_has_duplicates_finds_both_the_head_and_its_members(gateway: Gateway) -> None:
    head = make_complaint(gateway.db, S.RECEIVED)
    member = make_complaint(gateway.db, S.RECEIVED, cluster_id=head.id)
    _make(gateway)
    page = _page(gateway, duplicates="1")
    assert _codes(page) == {head.tracking_code, member.tracking_code}
    assert all(row.clustered for row in page.rows)


def test_search_matches_words_of_title_and_text_as_prefixes(gateway: Gateway) -> None:
    road = _make(
        gateway,
        title="Jalan berlubang di Lasem",
        clean_text="Jalan di depan SD rusak parah sejak dua bulan",
    )
    light = _make(gateway, title="Lampu jalan mati", clean_text="PJU di Sluke mati seminggu")
    water = _make(gateway, title="Air PDAM keruh", clean_text="Air keruh dan berbau")
    assert _codes(_page(gateway, q="jalan")) == {road, light}
    assert _codes(_page(gateway, q="Jalan RUSAK")) == {road}  # every word, any case
    assert _codes(_page(gateway, q="berlu")) == {road}  # prefix
    assert _codes(_page(gateway, q="keruh")) == {water}
    assert _codes(_page(gateway, q="sluke")) == {light}
    assert _codes(_page(gateway, q="banjir")) == set()
    assert _codes(_page(gateway, q=water.lower())) == {water}  # a tracking code, as typed


@pytest.mark.parametrize(
    "q", ['"jalan', "jalan OR x", "NEAR(a b)", "a:*", "(((", "'; DROP TABLE complaint; --", "***"]
)
def test_search_input_is_never_query_syntax(gateway: Gateway, q: str) -> None:
    _make(gateway, title="Jalan rusak")
    page = _page(gateway, q=q)  # must not raise
    assert page.total.value == len(page.rows)


def test_search_follows_changes_to_title_and_text(gateway: Gateway, directory: Directory) -> None:
    complaint = make_complaint(gateway.db, S.RECEIVED, title="Sampah", clean_text="tumpukan")
    with gateway.db.session() as session:
        row = session.get(Complaint, complaint.id)
        actions.verify(
            gateway,
            session,
            row,
            actor="user:1",
            relevant=True,
            complete=True,  # type: ignore[arg-type]
            clear=True,
            title="Drainase tersumbat",
            category="pengaduan",
        )
        workflow.commit(session)
    assert _codes(_page(gateway, q="drainase")) == {complaint.tracking_code}
    assert _codes(_page(gateway, q="sampah")) == set()
    assert _codes(_page(gateway, q="tumpukan")) == {complaint.tracking_code}


def test_sort_and_pages(gateway: Gateway) -> None:
    codes = [_make(gateway, received_at=NOW - timedelta(hours=h)) for h in range(7)]
    newest = [r.tracking_code for r in _page(gateway, size=5).rows]
    assert newest == codes[:5]
    second = _page(gateway, size=5, page="2")
    assert [r.tracking_code for r in second.rows] == codes[5:] and not second.has_next
    assert [r.tracking_code for r in _page(gateway, size=5, sort="oldest").rows] == codes[::-1][:5]
    assert _page(gateway, size=5).has_next


def test_sort_by_deadline_puts_the_nearest_first_and_undated_last(gateway: Gateway) -> None:
    later = _make(gateway, S.DISPOSED, answer_due_at=NOW + timedelta(days=5))
    none = _make(gateway, S.CLOSED)
    sooner = _make(gateway, S.RECEIVED, verify_due_at=NOW + timedelta(days=1))
    order = [r.tracking_code for r in _page(gateway, sort="deadline").rows]
    assert order == [sooner, later, none]


def test_counts_match_what_each_filter_lists_and_stop_at_the_cap(
    gateway: Gateway, directory: Directory
) -> None:
    for _ in range(3):
        _make(gateway, S.RECEIVED, origin_channel="telegram")
    _make(gateway, S.VERIFIED, origin_channel="telegram")
    _make(gateway, S.VERIFIED, origin_channel="webform")
    page = _page(gateway, channel="telegram")
    counts = {k: (c.value, c.capped) for k, c in page.status_counts.items() if c.value}
    assert counts == {
        "all": (4, False),
        "open": (4, False),
        "received": (3, False),
        "verified": (1, False),
    }
    for status in ("received", "verified"):
        assert len(_page(gateway, channel="telegram", status=status).rows) == counts[status][0]
    capped = _page(gateway, cap=2, size=5)
    assert (capped.status_counts["all"].value, capped.status_counts["all"].capped) == (2, True)
    assert (capped.status_counts["verified"].value, capped.status_counts["verified"].capped) == (
        2,
        False,
    )


@pytest.mark.parametrize("narrowing", [{"q": "drainase"}, {"duplicates": "1"}])
def test_counts_over_a_search_or_the_clusters_match_what_each_filter_lists(
    gateway: Gateway, narrowing: dict[str, str]
) -> None:
    head = make_complaint(
        gateway.db, S.RECEIVED, title="Drainase tersumbat", verify_due_at=NOW - timedelta(hours=2)
    )
    for status, due in (
        (S.RECEIVED, NOW + timedelta(hours=3)),
        (S.VERIFIED, None),
        (S.DISPOSED, NOW + timedelta(days=9)),
        (S.CLOSED, None),
    ):
        _make(
            gateway,
            status,
            title="Drainase mampet",
            cluster_id=head.id,
            **({"answer_due_at": due} if status is S.DISPOSED else {"verify_due_at": due}),
        )
    _make(gateway, S.RECEIVED, title="Jalan rusak")  # neither found nor clustered
    page = _page(gateway, **narrowing)
    assert page.status_counts["all"].value == len(page.rows) == 5
    for status in ("received", "verified", "disposed", "closed", "open"):
        listed = _page(gateway, status=status, **narrowing)
        assert page.status_counts[status].value == len(listed.rows), status
    for state in ("overdue", "due_soon", "ok"):
        listed = _page(gateway, deadline=state, **narrowing)
        assert page.deadline_counts[state].value == len(listed.rows) == 1, state
    both = _page(gateway, status="received", deadline="overdue", **narrowing)
    assert both.total.value == len(both.rows) == 1
    assert both.status_counts["received"].value == 1 and both.deadline_counts["due_soon"].value == 1
    assert not any(c.capped for c in page.status_counts.values())


def test_a_search_matching_more_than_the_cap_shows_the_newest_and_says_so(
    gateway: Gateway,
) -> None:
    arrived = [
        _make(gateway, title="Sampah", received_at=NOW - timedelta(hours=h)) for h in (3, 2, 1, 0)
    ]
    page = _page(gateway, cap=2, size=5, q="sampah")
    assert [r.tracking_code for r in page.rows] == arrived[:-3:-1]  # the two newest
    assert page.total.value == 2 and page.total.capped


def test_a_liaison_scope_lists_and_counts_only_their_disposed_complaints(
    gateway: Gateway, directory: Directory
) -> None:
    mine = _make(gateway, S.DISPOSED, agency_id=directory.dpupr)
    _make(gateway, S.VERIFIED, agency_id=directory.dpupr)  # not disposed yet
    _make(gateway, S.DISPOSED, agency_id=directory.dlh)
    page = _page(gateway, scope=Scope(agency_id=directory.dpupr))
    assert _codes(page) == {mine}
    assert set(page.status_counts) == {"all", "open", *inbox.LIAISON_STATES}
    assert page.status_counts["all"].value == 1
    assert (
        _codes(_page(gateway, scope=Scope(agency_id=directory.dpupr), agency=str(directory.dlh)))
        == set()
    )


def test_the_inbox_page_shows_rows_counts_and_keeps_filters_in_links(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    code = _make(
        gateway,
        S.DISPOSED,
        origin_channel="twilio_whatsapp",
        title="Jembatan retak",
        category="pengaduan",
        agency_id=directory.dpupr,
        kecamatan="Pamotan",
        kelurahan="Ringin",
        answer_due_at=datetime.now(UTC) - timedelta(days=1),
        received_at=datetime.now(UTC) - timedelta(days=1, hours=2),
    )
    page = clients["koor"].get("/admin?channel=twilio_whatsapp&sort=oldest").text
    row = page[page.index(f'data-code="{code}"') :]
    row = row[: row.index("</tr>")]
    for text in (
        "Jembatan retak",
        "Ringin, Pamotan",
        "Pengaduan",
        "Dinas Pekerjaan Umum",
        "WhatsApp",
        "Lewat tenggat",
        "1 hari",
    ):
        assert text in row
    assert 'href="/admin?status=disposed&amp;channel=twilio_whatsapp&amp;sort=oldest"' in page
    assert 'data-status="disposed">Diteruskan ke instansi<span class="n">1</span>' in page


def test_the_inbox_is_english_on_request(clients: dict[str, Admin], gateway: Gateway) -> None:
    _make(gateway)
    page = clients["koor"].get("/admin?lang=en").text
    assert 'lang="en"' in page and "Inbox" in page and "Newest" in page


def test_local_dates_bound_the_date_range(gateway: Gateway) -> None:
    # 23:30 WIB on 9 November is 16:30 UTC: it belongs to the 9th for an admin in Rembang.
    late_evening = _make(gateway, received_at=datetime(2026, 11, 9, 16, 30, tzinfo=UTC))
    assert _codes(_page(gateway, to=date(2026, 11, 9).isoformat())) == {late_evening}
    assert _codes(_page(gateway, **{"from": date(2026, 11, 10).isoformat()})) == set()


def test_rows_read_with_a_session_are_plain_values(gateway: Gateway) -> None:
    _make(gateway)
    with gateway.db.read_session() as session:
        assert isinstance(session, Session)
        page = inbox.list_page(
            session, InboxFilter(), inbox.EVERYTHING, CLOCK, page_size=10, count_cap=100
        )
    assert page.rows[0].place == "" and page.rows[0].agency_name is None
