"""The simulator's citizen side and the regency's intake: a citizen files a report in the
simulated LAPOR! (the web form), the national admin disposes it to the regency, and only then
does it appear in `incoming` (and in a signed push); the regency verifies, disposes, returns it
to the national admin, archives it or asks the reporter, who answers on their page — an event.
Through the REST client with the default mapping, as the gateway will use it."""

from __future__ import annotations

import io
import json
import re
import sqlite3
from pathlib import Path

import httpx
import pytest
from PIL import Image

from forwarder.base import (
    CoreEventKind,
    CoreRejected,
    Followup,
    FollowupKind,
    IncomingReport,
    UnreadableReport,
)
from forwarder.rest import RestCoreClient, verify_push
from forwarder.signing import sign_push
from forwarder.simulator import Action, CoreSimulator, SimStatus
from forwarder.simulator.lifecycle import TransitionError
from forwarder.simulator.store import CoreStore

from .conftest import START, FakeClock
from .test_push_delivery import Receiver, _pushing_core

pytestmark = pytest.mark.anyio


def _photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (6, 4), (30, 120, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


async def _token(http: httpx.AsyncClient) -> str:
    form = await http.get("/warga")
    assert form.status_code == 200
    found = re.search(r'name="token" value="([0-9a-f]{32})"', form.text)
    assert found is not None
    return found.group(1)


async def _file(http: httpx.AsyncClient, token: str | None = None, **fields: str) -> str:
    """A citizen files a report on the simulator's form; its LAPOR! tracking id."""
    data = {
        "token": token or await _token(http),
        "source_channel": "sms1708",
        "category": "pengaduan",
        "topic": "Infrastruktur",
        "title": "Jalan berlubang",
        "description": "Jalan di depan SD Negeri 2 berlubang besar.",
        "location_text": "Jl. Pemuda depan SD Negeri 2",
        "kelurahan": "Leteh",
        "kecamatan": "Rembang",
        "latitude": "-6,7083",
        "longitude": "111.3412",
        "reporter_name": "Warga Contoh",
        "reporter_contact": "+6281100009999",
        **fields,
    }
    filed = await http.post(
        "/warga", data=data, files={"photo": ("lubang.jpg", _photo(), "image/jpeg")}
    )
    assert filed.status_code == 303, filed.text
    found = re.search(r"/warga/laporan/(\d+)\?", filed.headers["Location"])
    assert found is not None
    return found.group(1)


async def test_a_citizens_report_reaches_incoming_only_once_disposed_to_the_regency(
    client: RestCoreClient, core: CoreSimulator, http: httpx.AsyncClient
) -> None:
    core_id = await _file(http)
    shown = await http.get(f"/warga/laporan/{core_id}")
    assert f"Laporan #{core_id}" in shown.text and "Sedang diperiksa admin LAPOR!" in shown.text

    # With the national admin: not the regency's yet, and nobody may act on it.
    page = await client.incoming(None)
    assert (page.reports, page.cursor, page.more) == ([], "0", False)
    assert (await client.updates(None)).events == []
    with pytest.raises(CoreRejected, match="409"):
        await client.verify(core_id, "", "k:verify:early")
    admin_page = (await http.get(f"/laporan/{core_id}")).text
    assert "Disposisikan ke pemda" in admin_page and "Verifikasi" not in admin_page

    disposed = await http.post(f"/laporan/{core_id}/pemda", data={"agency_code": "DPUPR"})
    assert disposed.status_code == 303

    page = await client.incoming(None)
    assert page.cursor == "1" and not page.unreadable
    [report] = page.reports
    assert (report.core_id, report.title, report.description) == (
        core_id,
        "Jalan berlubang",
        "Jalan di depan SD Negeri 2 berlubang besar.",
    )
    assert (report.category, report.topic, report.source_channel) == (
        "pengaduan",
        "Infrastruktur",
        "sms1708",
    )
    assert (report.agency_code, report.status) == ("DPUPR", "unverified")
    assert (report.location_text, report.kelurahan, report.kecamatan) == (
        "Jl. Pemuda depan SD Negeri 2",
        "Leteh",
        "Rembang",
    )
    assert (report.latitude, report.longitude) == (-6.7083, 111.3412)
    # LAPOR! shares the name of a report that is not anonymous, never the citizen's contact.
    assert (report.reporter_name, report.reporter_contact) == ("Warga Contoh", None)
    [photo] = report.attachments
    assert (photo.filename, photo.content_type) == ("lubang.jpg", "image/jpeg")
    assert (await http.get(photo.url)).content == _photo()
    assert report.disposed_at is not None and report.disposed_at >= report.received_at

    # The same moment as an event: the regency's news, carrying the report.
    [event] = (await client.updates(None)).events
    assert (event.kind, event.core_id, event.agency_code) == (
        CoreEventKind.INCOMING,
        core_id,
        "DPUPR",
    )
    assert event.report == report
    # Past the cursor, nothing again.
    assert (await client.incoming(page.cursor)).reports == []
    # The national admin cannot dispose it twice.
    again = await http.post(f"/laporan/{core_id}/pemda", data={"agency_code": ""})
    assert again.status_code == 409 and "tidak bisa didisposisikan" in again.text


async def test_the_same_form_twice_is_one_report_and_a_report_is_listed_once(
    client: RestCoreClient, core: CoreSimulator, http: httpx.AsyncClient
) -> None:
    token = await _token(http)
    first = await _file(http, token)
    assert await _file(http, token) == first  # a double-submitted form
    assert core.store.count_reports() == 1

    core.dispose_to_regency(first)
    await client.return_to_national(first, "Bukan wewenang kabupaten.", "k:return:1")
    assert not core.get(first).at_regency
    # The national admin sends it back to the regency: a disposition event, not a second listing.
    core.dispose_to_regency(first, "DINKES")
    page = await client.incoming(None)
    assert [r.core_id for r in page.reports] == [first]
    assert [(e.kind, e.status, e.agency_code) for e in (await client.updates(None)).events] == [
        (CoreEventKind.INCOMING, "unverified", None),
        (CoreEventKind.STATUS, "returned", None),
        (CoreEventKind.DISPOSITION, "unverified", "DINKES"),
    ]


async def test_incoming_pages_by_cursor(
    client: RestCoreClient, core: CoreSimulator, http: httpx.AsyncClient
) -> None:
    filed = [await _file(http, description=f"Laporan warga nomor {n}.") for n in range(5)]
    for core_id in reversed(filed):  # disposed in another order than filed
        core.dispose_to_regency(core_id)
    client.page_size = 2
    seen: list[str] = []
    cursors: list[str | None] = []
    cursor = None
    while True:
        page = await client.incoming(cursor)
        seen += [r.core_id for r in page.reports]
        cursors.append(page.cursor)
        cursor = page.cursor
        if not page.more:
            break
    assert seen == list(reversed(filed))  # in the order they reached the regency
    assert cursors == ["2", "4", "5"]


async def test_ask_the_reporter_who_answers_on_their_page(
    client: RestCoreClient, core: CoreSimulator, http: httpx.AsyncClient
) -> None:
    core_id = await _file(http)
    core.dispose_to_regency(core_id)
    await client.verify(core_id, "", "LPR-A:core_verify:1")
    question = "Di depan SD <b>Negeri 2</b> yang mana?"
    asked = await client.ask_reporter(core_id, question, "LPR-A:core_ask:2")
    assert asked.status == "pending"
    assert await client.ask_reporter(core_id, question, "LPR-A:core_ask:2") == asked  # once
    assert core.get(core_id).status is SimStatus.PENDING

    page = (await http.get(f"/warga/laporan/{core_id}")).text
    assert "Pertanyaan untuk Anda" in page
    assert "Di depan SD &lt;b&gt;Negeri 2&lt;/b&gt; yang mana?" in page  # escaped
    assert "Menunggu tanggapan pelapor" in (await http.get(f"/laporan/{core_id}")).text

    empty = await http.post(f"/warga/laporan/{core_id}/tanggapan", data={"text": "  "})
    assert empty.status_code == 422 and "Tanggapan wajib diisi." in empty.text
    replied = await http.post(
        f"/warga/laporan/{core_id}/tanggapan",
        data={"text": "SD Negeri 2 Leteh, di sebelah masjid."},
        files={"photo": ("lokasi.jpg", _photo(), "image/jpeg")},
    )
    assert replied.status_code == 303
    # Back where it was before the question, and the regency hears it as an event.
    assert core.get(core_id).status is SimStatus.VERIFIED
    events = (await client.updates(None)).events
    reply = events[-1]
    assert (reply.kind, reply.core_id, reply.status, reply.text, reply.origin_key) == (
        CoreEventKind.REPORTER_REPLY,
        core_id,
        "verified",
        "SD Negeri 2 Leteh, di sebelah masjid.",
        None,
    )
    assert [a.filename for a in reply.attachments] == ["lokasi.jpg"]
    # The question itself is the regency's own word coming back, named by its key.
    assert [e.origin_key for e in events if e.status == "pending"] == ["LPR-A:core_ask:2"]

    # No open question: the page says so and nothing changes.
    late = await http.post(f"/warga/laporan/{core_id}/tanggapan", data={"text": "Lagi"})
    assert late.status_code == 409 and "Tidak ada pertanyaan" in late.text
    assert len((await client.updates(None)).events) == len(events)


async def test_the_regency_admins_actions_once_per_key(
    client: RestCoreClient, core: CoreSimulator, http: httpx.AsyncClient
) -> None:
    road, spam, national = [await _file(http, description=f"Laporan {n}.") for n in range(3)]
    for core_id in (road, spam, national):
        core.dispose_to_regency(core_id)

    assert (await client.verify(road, "Lengkap.", "k:verify:1")).status == "verified"
    disposed = await client.follow_up(
        Followup(FollowupKind.DISPOSE, road, "k:dispose:2", "Mohon ditindaklanjuti.", "DPUPR")
    )
    assert disposed.status == "disposed"
    assert await client.dispose(road, "DPUPR", "", "k:dispose:2") == disposed
    assert (core.get(road).status, core.get(road).agency_code) == (SimStatus.DISPOSED, "DPUPR")
    # Already done: the same agency again, a verification after the disposition.
    same = await client.dispose(road, "DPUPR", "", "k:dispose:3")
    assert (same.receipt_id, same.status) == (None, "disposed")
    assert (await client.verify(road, "", "k:verify:4")).receipt_id is None
    # The existing follow-ups work on a citizen's report like on any LAPOR! id.
    await client.answer(road, "Sudah ditambal.", (), "k:answer:5")
    assert core.get(road).status is SimStatus.ANSWERED

    archived = await client.archive(spam, "Bukan laporan pelayanan publik.", "k:archive:6")
    assert archived.status == "archived"
    returned = await client.return_to_national(national, "Jalan nasional.", "k:return:7")
    assert returned.status == "returned"
    with pytest.raises(CoreRejected, match="422"):
        await client.return_to_national(spam, " ", "k:return:8")  # a return says why
    with pytest.raises(CoreRejected, match="409"):
        await client.verify(national, "", "k:verify:9")  # it is the national admin's again

    events = core.store.events_of(road)
    assert [(e.kind, e.status, e.origin_key) for e in events] == [
        ("incoming", "unverified", None),
        ("status", "verified", "k:verify:1"),
        ("disposition", "disposed", "k:dispose:2"),
        ("answer", "answered", "k:answer:5"),
    ]
    assert (events[2].agency_code, events[2].text) == ("DPUPR", "Mohon ditindaklanjuti.")
    page = (await http.get(f"/laporan/{national}")).text
    assert "Dikembalikan ke admin nasional (bukan wewenang): Jalan nasional." in page
    assert "Disposisikan ke pemda" in page  # the national admin may send it on again
    assert "Admin pemda" in page and "lewat gateway" in page


async def test_an_incoming_report_is_pushed_signed_before_what_follows(
    tmp_path: Path, clock: FakeClock
) -> None:
    secret = "rahasia-push-uji-0123456789abcdef"
    receiver = Receiver(secret, clock)
    core = _pushing_core(tmp_path, clock, receiver, secret)
    report, _ = core.file_report(
        "citizen:1", {"description": "Lampu mati.", "category": "aspirasi"}
    )
    await core.push_due()
    assert receiver.events == []  # with the national admin: nothing for the regency yet
    core.dispose_to_regency(report.core_id)
    core.followup(report.core_id, Action.ASK, "k:ask", text="Di mana?")
    core.reporter_reply(report.core_id, "Di pasar.")
    assert await core.push_due() == 3
    kinds = [e.kind for e in receiver.events]
    assert kinds == [CoreEventKind.INCOMING, CoreEventKind.STATUS, CoreEventKind.REPORTER_REPLY]
    pushed = receiver.events[0].report
    assert isinstance(pushed, IncomingReport)
    assert (pushed.core_id, pushed.description, pushed.category) == (
        report.core_id,
        "Lampu mati.",
        "aspirasi",
    )
    assert receiver.refused == []


async def test_the_citizens_form_answers_bad_input_in_indonesian(
    core: CoreSimulator, http: httpx.AsyncClient
) -> None:
    token = await _token(http)
    cases = [
        ({"description": "  "}, "Isi laporan wajib diisi"),
        ({"category": "keluhan"}, "Pilih klasifikasi laporan."),
        ({"source_channel": "telepati"}, "Pilih kanal laporan."),
        ({"latitude": "utara"}, "Koordinat tidak valid"),
        ({"latitude": "-96", "longitude": "111"}, "Koordinat tidak valid"),
        ({"latitude": "-6.7", "longitude": ""}, "Isi lintang dan bujur"),
        ({"token": "bukan-token"}, "Formulir kedaluwarsa"),
    ]
    base = {"token": token, "category": "pengaduan", "description": "Lampu mati."}
    for fields, message in cases:
        refused = await http.post("/warga", data={**base, **fields})
        assert refused.status_code == 422, fields
        assert message in refused.text, fields
    not_a_photo = await http.post(
        "/warga", data=base, files={"photo": ("x.jpg", b"MZ\x90 not an image", "image/jpeg")}
    )
    assert not_a_photo.status_code == 422 and "bukan foto" in not_a_photo.text
    assert core.store.count_reports() == 0
    # What the citizen typed stays in the form, escaped.
    kept = await http.post("/warga", data={**base, "title": "<script>x</script>", "category": "?"})
    assert "&lt;script&gt;x&lt;/script&gt;" in kept.text and "<script>x" not in kept.text


async def test_a_citizens_text_is_escaped_on_every_page(
    core: CoreSimulator, http: httpx.AsyncClient
) -> None:
    core_id = await _file(http, description="<img src=x onerror=alert(1)> Lampu mati", title="")
    for url in ("/", f"/laporan/{core_id}", f"/warga/laporan/{core_id}"):
        page = (await http.get(url)).text
        assert "<img src=x" not in page, url
        assert "&lt;img src=x onerror=alert(1)&gt; Lampu mati" in page, url


def test_auto_answer_leaves_a_citizens_report_to_the_regency(
    core: CoreSimulator, clock: FakeClock
) -> None:
    core.auto_answer_seconds = 10
    citizen, _ = core.file_report("citizen:1", {"description": "Lampu mati."})
    own, _ = core.submit("LPR-1", {"description": "Jalan rusak."})
    core.dispose_to_regency(citizen.core_id)
    clock.advance(60)
    advanced = core.tick()
    assert [e.core_id for e in advanced] == [own.core_id]
    assert core.get(citizen.core_id).status is SimStatus.UNVERIFIED


def test_nobody_acts_on_a_report_the_national_admin_still_has(core: CoreSimulator) -> None:
    report, _ = core.file_report("citizen:1", {"description": "Lampu mati."})
    with pytest.raises(TransitionError, match="national admin"):
        core.act(report.core_id, Action.VERIFY)
    with pytest.raises(TransitionError, match="national admin"):
        core.redispose(report.core_id, "DPUPR", None)
    own, _ = core.submit("LPR-1", {"description": "Jalan rusak."})
    with pytest.raises(TransitionError, match="came from the regency"):
        core.dispose_to_regency(own.core_id)


def test_a_simulator_database_from_before_intake_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE reports (seq INTEGER PRIMARY KEY AUTOINCREMENT, core_id TEXT NOT NULL"
            " UNIQUE, idempotency_key TEXT NOT NULL UNIQUE, payload TEXT NOT NULL, status TEXT"
            " NOT NULL, agency_code TEXT, created_at TEXT NOT NULL, changed_at TEXT NOT NULL)"
        )
        old.execute(
            "INSERT INTO reports VALUES (1, '5000001', 'LPR-1', '{}', 'disposed', 'DPUPR',"
            " '2024-05-02T01:30:00.000000+00:00', '2024-05-02T01:30:00.000000+00:00')"
        )
    store = CoreStore(path)
    try:
        columns = {r["name"] for r in store._conn.execute("PRAGMA table_info(reports)")}
        assert {"origin", "regency_at", "status_before"} <= columns
        kept = store.get_report("5000001")
        assert kept is not None and kept.at_regency and kept.status is SimStatus.DISPOSED
        assert store.incoming_since(0, 10) == ([], False)
    finally:
        store.close()


def test_a_signed_push_with_an_unmappable_report_keeps_it_raw() -> None:
    """The event is sound, its report is not: the push is taken (not a 400 that would make the
    core resend it for ever) and the report travels raw with the error."""
    broken = {"id": "5000009", "description": "", "received_at": "2024-05-02T01:30:00+00:00"}
    body = json.dumps(
        {
            "events": [
                {
                    "event_id": "sim-ab12-9",
                    "report_id": "5000009",
                    "kind": "incoming",
                    "status": "unverified",
                    "occurred_at": "2024-05-02T03:00:00+00:00",
                    "report": broken,
                }
            ]
        }
    ).encode()
    [event] = verify_push(body, sign_push(body, "s3cret", START), "s3cret", START)
    assert event.kind is CoreEventKind.INCOMING
    assert isinstance(event.report, UnreadableReport)
    assert (event.report.core_id, event.report.error, event.report.raw) == (
        "5000009",
        "no report text at 'description'",
        broken,
    )
