"""The intake side through the REST client and a mapping file: reports filed in LAPOR! and
disposed to the regency, read page by page by cursor from a core with its own names; one that
cannot be mapped is kept raw with the error; the regency admin's actions go out once per key.
Against `intake_dialect.IntakeDialectCore` on httpx's in-process transport (no network)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from forwarder.base import (
    CoreAttachment,
    CoreClient,
    CoreRejected,
    CoreUnavailable,
    Followup,
    FollowupKind,
    IncomingReport,
)
from forwarder.rest import RestCoreClient, RestMapping, parse_incoming

from .conftest import CORE_URL, SleepRecorder
from .intake_dialect import MAPPING_YAML, IntakeDialectCore, laporan

pytestmark = pytest.mark.anyio


@pytest.fixture
def dialect() -> IntakeDialectCore:
    return IntakeDialectCore()


@pytest.fixture
def mapping(tmp_path: Path) -> RestMapping:
    path = tmp_path / "mapping.yaml"
    path.write_text(MAPPING_YAML, "utf-8")
    return RestMapping.from_file(path)


@pytest.fixture
async def client(
    dialect: IntakeDialectCore, mapping: RestMapping, sleeps: SleepRecorder
) -> AsyncIterator[RestCoreClient]:
    rest = RestCoreClient(
        base_url=CORE_URL,
        mapping=mapping,
        transport=httpx.ASGITransport(app=dialect.app()),
        page_size=2,
        sleep=sleeps,
    )
    yield rest
    await rest.aclose()


async def _all_pages(client: CoreClient) -> tuple[list[IncomingReport], list[str | None]]:
    reports: list[IncomingReport] = []
    cursors: list[str | None] = []
    cursor = None
    while True:
        page = await client.incoming(cursor)
        reports += page.reports
        cursors.append(page.cursor)
        cursor = page.cursor
        if not page.more:
            return reports, cursors


async def test_incoming_is_read_through_the_mapping_page_by_page(
    client: RestCoreClient, dialect: IntakeDialectCore
) -> None:
    dialect.dispose(*(laporan(n) for n in range(1, 6)))
    reports, cursors = await _all_pages(client)

    assert [r.core_id for r in reports] == [str(7700000 + n) for n in range(1, 6)]
    assert cursors == ["2", "4", "5"]
    assert [q.get("setelah") for q in dialect.listings] == [None, "2", "4"]
    assert {q["batas"] for q in dialect.listings} == {"2"}
    first = reports[0]
    assert first.title == "Lampu jalan mati 1"
    assert first.description == "Lampu jalan di gang 1 mati sejak minggu lalu."
    # Naive local times in Asia/Jakarta (mapping's naive_timezone): 08:30 WIB is 01:30 UTC.
    assert first.received_at.astimezone(UTC) == datetime(2024, 5, 2, 1, 30, tzinfo=UTC)
    assert first.disposed_at is not None
    assert first.disposed_at.astimezone(UTC) == datetime(2024, 5, 2, 3, 0, tzinfo=UTC)
    assert first.category == "pengaduan"  # "Pengaduan Masyarakat" via category_values
    assert first.topic == "Infrastruktur"
    assert first.source_channel == "sms1708"  # "SMS Gateway" via channel_values
    assert first.agency_code == "DISHUB"
    assert first.status == "Belum Terverifikasi"
    assert (first.location_text, first.kecamatan, first.kelurahan) == (
        "Gang Mawar, Leteh",
        "Rembang",
        "Leteh",
    )
    assert (first.latitude, first.longitude) == (-6.7083, 111.3412)
    assert (first.reporter_name, first.reporter_contact) == ("Warga Contoh", "+6281100009999")
    assert (first.anonim, first.rahasia) == (False, False)
    assert first.attachments == (
        CoreAttachment("http://lapor.test/f/1.jpg", "foto.jpg", "application/octet-stream"),
    )
    assert first.raw["no_tracking"] == 7700001  # the core's JSON as it came
    assert first.key == "lapor:7700001"

    # Nothing new: the same cursor comes back, no report twice.
    again = await client.incoming("5")
    assert (again.reports, again.cursor, again.more) == ([], "5", False)


async def test_a_report_that_fails_to_map_is_kept_raw_with_its_error(
    client: RestCoreClient, dialect: IntakeDialectCore
) -> None:
    no_text = laporan(2, isi="   ")
    bad_date = laporan(3, tanggal_lapor="kemarin sore")
    no_id = laporan(4, no_tracking=None)
    dialect.dispose(laporan(1), no_text, bad_date, "not a report", no_id, laporan(5))
    client.page_size = 10
    page = await client.incoming(None)

    assert [r.core_id for r in page.reports] == ["7700001", "7700005"]
    assert page.cursor == "6"  # the cursor moves past what could not be read: nothing stalls
    got = [(u.core_id, u.error, u.raw) for u in page.unreadable]
    assert got == [
        ("7700002", "no report text at 'isi'", no_text),
        ("7700003", "received_at is not ISO 8601: 'kemarin sore'", bad_date),
        (None, "an incoming report must be a JSON object", "not a report"),
        (None, "no tracking id at 'no_tracking'", no_id),
    ]
    # Stable keys, so the gateway keeps each once however often it polls.
    keys = [u.key for u in page.unreadable]
    assert keys[:2] == ["lapor:7700002", "lapor:7700003"]
    assert keys[2].startswith("raw:") and keys[3].startswith("raw:") and keys[2] != keys[3]
    assert [u.key for u in (await client.incoming(None)).unreadable] == keys


async def test_what_a_core_sends_loosely_is_still_read(mapping: RestMapping) -> None:
    """Lenient on what a complaint can do without: an unknown class is left to the
    classifier, half a coordinate places nothing, an anonymous report names nobody."""
    item = laporan(
        1,
        klasifikasi="Keluhan",
        sumber="Android",
        lokasi={"alamat": "Pasar", "lintang": "-6.7", "bujur": "bukan angka"},
        anonim="Ya",
        rahasia="1",
        judul=None,
        tanggal_disposisi="",
        no_tracking="#7700001 ",
    )
    parsed = parse_incoming(item, mapping)
    assert isinstance(parsed, IncomingReport)
    assert parsed.core_id == "7700001"
    assert (parsed.category, parsed.source_channel) == (None, "app")
    assert (parsed.latitude, parsed.longitude, parsed.location_text) == (None, None, "Pasar")
    assert (parsed.anonim, parsed.rahasia) == (True, True)
    assert (parsed.reporter_name, parsed.reporter_contact) == (None, None)
    assert (parsed.title, parsed.disposed_at) == ("", None)
    assert "Warga Contoh" not in repr(parsed)  # reporter data stays out of logs


async def test_a_tracking_id_listed_twice_in_a_page_is_one_report(
    client: RestCoreClient, dialect: IntakeDialectCore
) -> None:
    """Re-disposed meanwhile: the core lists it again; the page carries it once, as it is now."""
    dialect.dispose(laporan(1), laporan(2), laporan(1, status="Terverifikasi"))
    client.page_size = 10
    page = await client.incoming(None)
    assert [(r.core_id, r.status) for r in page.reports] == [
        ("7700002", "Belum Terverifikasi"),
        ("7700001", "Terverifikasi"),
    ]


async def test_the_regency_admins_actions_once_per_key(
    client: RestCoreClient, dialect: IntakeDialectCore
) -> None:
    dialect.dispose(laporan(1), laporan(2), laporan(3))
    verified = await client.verify("7700001", "Lengkap dan jelas.", "LPR-A:core_verify:1")
    assert (verified.receipt_id, verified.status) == ("aksi-1", "Terverifikasi")
    disposed = await client.follow_up(
        Followup(FollowupKind.DISPOSE, "7700001", "LPR-A:core_dispose:2", agency_code="DPUPR")
    )
    asked = await client.ask_reporter("7700002", "Di gang mana tepatnya?", "LPR-B:core_ask:3")
    returned = await client.return_to_national(
        "7700003", "Jalan nasional, bukan wewenang kabupaten.", "LPR-C:core_return:4"
    )
    archived = await client.archive("7700002", "Laporan ganda.", "LPR-B:core_archive:5")
    assert [r.status for r in (disposed, asked, returned, archived)] == [
        "Didisposisikan",
        "Ditunda",
        "Dikembalikan",
        "Diarsipkan",
    ]
    # Paths, bodies and keys in the core's own names.
    assert [(path, body, key) for _, path, body, key in dialect.requests] == [
        (
            "/integrasi/laporan/7700001/verifikasi",
            {"catatan": "Lengkap dan jelas."},
            "LPR-A:core_verify:1",
        ),
        (
            "/integrasi/laporan/7700001/disposisi",
            {"tujuan": {"kode": "DPUPR"}},
            "LPR-A:core_dispose:2",
        ),
        (
            "/integrasi/laporan/7700002/tanya",
            {"pertanyaan": "Di gang mana tepatnya?"},
            "LPR-B:core_ask:3",
        ),
        (
            "/integrasi/laporan/7700003/kembalikan",
            {"alasan": "Jalan nasional, bukan wewenang kabupaten."},
            "LPR-C:core_return:4",
        ),
        ("/integrasi/laporan/7700002/arsip", {"alasan": "Laporan ganda."}, "LPR-B:core_archive:5"),
    ]
    # The same key twice is one action, and the same receipt.
    assert await client.verify("7700001", "Lengkap dan jelas.", "LPR-A:core_verify:1") == verified
    assert len(dialect.actions) == 5
    assert await client.find_followup("7700002", "LPR-B:core_ask:3") == asked
    assert await client.find_followup("7700002", "LPR-B:core_ask:9") is None


async def test_an_action_accepted_then_lost_is_reconciled_not_doubled(
    dialect: IntakeDialectCore, mapping: RestMapping, sleeps: SleepRecorder
) -> None:
    dialect.dispose(laporan(1))
    inner = httpx.ASGITransport(app=dialect.app())

    class LosesTheAnswer(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await inner.handle_async_request(request)
            if request.method == "POST":
                raise httpx.ReadTimeout("the answer never came", request=request)
            return response

    client = RestCoreClient(
        base_url=CORE_URL, mapping=mapping, transport=LosesTheAnswer(), sleep=sleeps
    )
    receipt = await client.ask_reporter("7700001", "Di mana?", "k:ask:1")
    assert (receipt.receipt_id, receipt.status) == ("aksi-1", "Ditunda")
    assert len(dialect.actions) == 1
    await client.aclose()


async def test_what_the_core_refuses_and_when_to_retry(
    client: RestCoreClient, dialect: IntakeDialectCore, sleeps: SleepRecorder
) -> None:
    with pytest.raises(CoreRejected, match="404"):
        await client.verify("123", "", "k:v")  # not a report disposed to us
    with pytest.raises(CoreRejected, match="no agency"):
        await client.follow_up(Followup(FollowupKind.DISPOSE, "7700001", "k:d"))

    async def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": "1"})

    offline = RestCoreClient(
        base_url=CORE_URL, mapping=client.mapping, transport=httpx.MockTransport(down), sleep=sleeps
    )
    with pytest.raises(CoreUnavailable, match="incoming: HTTP 503"):
        await offline.incoming(None)
    assert sleeps.calls == [1.0, 1.0]  # a read is retried with the core's Retry-After

    async def garbled(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"hasil": {"laporan": "tidak ada"}})

    confused = RestCoreClient(
        base_url=CORE_URL, mapping=client.mapping, transport=httpx.MockTransport(garbled)
    )
    with pytest.raises(CoreUnavailable, match="unreadable"):
        await confused.incoming("3")  # the cursor must not move on a page we cannot read
    await offline.aclose()
    await confused.aclose()


async def test_a_core_without_intake_or_an_action_says_so_without_asking() -> None:
    mapping = RestMapping.from_dict({"incoming_path": "", "ask_path": ""})

    async def nothing(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    client = RestCoreClient(
        base_url=CORE_URL, transport=httpx.MockTransport(nothing), mapping=mapping
    )
    page = await client.incoming("41")
    assert (page.reports, page.unreadable, page.cursor, page.more) == ([], [], "41", False)
    with pytest.raises(CoreRejected, match="no ask"):
        await client.ask_reporter("1", "?", "k")
    await client.aclose()


def test_the_mapping_refuses_what_it_cannot_mean() -> None:
    with pytest.raises(ValueError, match="incoming_fields names unknown fields: nomor"):
        RestMapping.from_dict({"incoming_fields": {"nomor": "no"}})
    with pytest.raises(ValueError, match="category_values maps to unknown classes: keluhan"):
        RestMapping.from_dict({"category_values": {"Keluhan": "keluhan"}})
    with pytest.raises(ValueError, match="unknown core mapping keys: intake_path"):
        RestMapping.from_dict({"intake_path": "/x"})


def test_the_simulator_speaks_the_default_mapping() -> None:
    """The defaults name the simulator's fields (docs/core-api.md): an incoming report of the
    simulator's shape maps without a mapping file."""
    item = {
        "id": "5000001",
        "title": "",
        "description": "Lampu mati",
        "category": "aspirasi",
        "source_channel": "web",
        "received_at": "2024-05-02T01:30:00+00:00",
        "disposed_at": "2024-05-02T03:00:00+00:00",
        "attachments": [],
    }
    parsed = parse_incoming(json.loads(json.dumps(item)))
    assert isinstance(parsed, IncomingReport)
    assert (parsed.core_id, parsed.category, parsed.source_channel) == (
        "5000001",
        "aspirasi",
        "web",
    )


async def test_a_backend_without_intake_refuses_the_new_actions_plainly() -> None:
    """The contract's defaults: no incoming reports, and each new action a permanent refusal
    (never a retry), so an older backend cannot leave the gateway's outbox waiting."""

    class Older(CoreClient):
        name = "older"

        async def submit(self, report, idempotency_key):  # type: ignore[no-untyped-def]
            raise NotImplementedError

        async def find(self, idempotency_key):  # type: ignore[no-untyped-def]
            return None

        async def updates(self, since):  # type: ignore[no-untyped-def]
            raise NotImplementedError

    older = Older()
    page = await older.incoming("3")
    assert (page.reports, page.cursor) == ([], "3")
    for kind in (FollowupKind.VERIFY, FollowupKind.RETURN, FollowupKind.ARCHIVE, FollowupKind.ASK):
        with pytest.raises(CoreRejected, match=r"older: .* not supported"):
            await older.follow_up(Followup(kind, "1", f"k:{kind.value}", "teks"))
    with pytest.raises(CoreRejected, match="older: disposition is not supported"):
        await older.follow_up(Followup(FollowupKind.DISPOSE, "1", "k:d", agency_code="DPUPR"))
