"""The agency's side of a report through the REST client and the simulator: "sedang diproses",
the answer with its proof photos, and closing, each once per idempotency key, recognisable
when the core sends its events back, reconciled when the outcome is unknown, and shown on the
simulator's page as LAPOR! would show them."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from forwarder.base import CoreAttachment, CoreEventKind, CoreRejected, CoreUnavailable
from forwarder.manual import ManualCoreClient, ManualSubmissionRequired, ManualTexts
from forwarder.rest import RestCoreClient, RestMapping
from forwarder.simulator import Action, CoreSimulator, SimStatus
from forwarder.simulator.lifecycle import TransitionError
from forwarder.simulator.store import CoreStore

from .conftest import CORE_URL, SleepRecorder, make_report

pytestmark = pytest.mark.anyio

PHOTO = CoreAttachment("http://gw.test/media/tok-1", "hasil.jpg", "image/jpeg")
ANSWER = "Lubang sudah ditambal tim DPUPR pada 3 Mei."


async def test_progress_answer_close_once_per_key(
    client: RestCoreClient, core: CoreSimulator
) -> None:
    ref = await client.submit(make_report(), "LPR-7K3M9Q")
    progress = await client.progress(ref.core_id, "Sedang diproses DPUPR.", "k:progress:1")
    assert progress.status == "in_process" and progress.receipt_id
    assert await client.progress(ref.core_id, "Sedang diproses DPUPR.", "k:progress:1") == progress
    answer = await client.answer(ref.core_id, ANSWER, (PHOTO,), "k:answer:2")
    assert answer.status == "answered"
    assert await client.answer(ref.core_id, ANSWER, (PHOTO,), "k:answer:2") == answer
    closed = await client.close(ref.core_id, "Pelapor puas.", "k:close:case")
    assert closed.status == "closed"

    assert core.get(ref.core_id).status is SimStatus.CLOSED
    events = core.store.events_of(ref.core_id)
    assert [(e.kind, e.status, e.origin_key) for e in events] == [
        ("status", "in_process", "k:progress:1"),
        ("answer", "answered", "k:answer:2"),
        ("closed", "closed", "k:close:case"),
    ]
    assert events[1].text == ANSWER
    assert events[1].attachments == [
        {"url": PHOTO.url, "filename": "hasil.jpg", "content_type": "image/jpeg"}
    ]
    # The same events as the gateway reads them back: each names the follow-up that caused it.
    polled = (await client.updates(None)).events
    assert [(e.kind, e.origin_key) for e in polled] == [
        (CoreEventKind.STATUS, "k:progress:1"),
        (CoreEventKind.ANSWER, "k:answer:2"),
        (CoreEventKind.CLOSED, "k:close:case"),
    ]
    assert [e.event_id for e in polled] == [
        progress.receipt_id,
        answer.receipt_id,
        closed.receipt_id,
    ]
    # Reconciliation finds each by its key, and nothing under a key never sent.
    assert await client.find_followup(ref.core_id, "k:answer:2") == answer
    assert await client.find_followup(ref.core_id, "k:answer:9") is None


async def test_what_the_core_refuses(client: RestCoreClient, core: CoreSimulator) -> None:
    ref = await client.submit(make_report(), "LPR-7K3M9Q")
    with pytest.raises(CoreRejected, match="422"):
        await client.answer(ref.core_id, "  ", (), "k:answer:1")  # an answer needs words
    with pytest.raises(CoreRejected, match="409"):
        await client.close(ref.core_id, "puas", "k:close:case")  # nothing answered yet
    with pytest.raises(CoreRejected, match="404"):
        await client.progress("999999", "x", "k:progress:1")
    await client.answer(ref.core_id, ANSWER, (), "k:answer:2")
    with pytest.raises(CoreRejected, match="409"):
        await client.answer("999999", ANSWER, (), "k:answer:2")  # a key belongs to one report
    await client.close(ref.core_id, "puas", "k:close:case")
    # Closing a report the core closed already changes nothing (no second event).
    again = await client.close(ref.core_id, "diam", "k:close:other")
    assert (again.receipt_id, again.status) == (None, "closed")
    assert len(core.store.events_of(ref.core_id)) == 2


async def test_the_agency_may_answer_before_lapor_admin_verified(
    client: RestCoreClient, core: CoreSimulator
) -> None:
    """The regency verified and disposed the report before filing it: LAPOR!'s own admin steps
    need not come first."""
    ref = await client.submit(make_report(), "LPR-7K3M9Q")
    assert core.get(ref.core_id).status is SimStatus.UNVERIFIED
    await client.answer(ref.core_id, ANSWER, (), "k:answer:1")
    assert core.get(ref.core_id).status is SimStatus.ANSWERED


def _wrapping(app: FastAPI, after: object) -> httpx.AsyncBaseTransport:
    inner = httpx.ASGITransport(app=app)

    class Spoiling(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await inner.handle_async_request(request)
            if request.method == "POST" and request.url.path.endswith("/answer"):
                await response.aread()
                return await after(response)  # type: ignore[operator,no-any-return]
            return response

    return Spoiling()


async def test_an_answer_accepted_then_lost_is_reconciled_not_doubled(
    core_app: FastAPI, core: CoreSimulator, client: RestCoreClient
) -> None:
    ref = await client.submit(make_report(), "LPR-7K3M9Q")

    async def gateway_timeout(response: httpx.Response) -> httpx.Response:
        return httpx.Response(504, text="upstream timed out")

    async def dropped(response: httpx.Response) -> httpx.Response:
        raise httpx.RemoteProtocolError("server disconnected without sending a response")

    for n, spoil in enumerate((gateway_timeout, dropped)):
        proxied = RestCoreClient(base_url=CORE_URL, transport=_wrapping(core_app, spoil))
        receipt = await proxied.answer(ref.core_id, f"{ANSWER} ({n})", (), f"k:answer:{n}")
        assert receipt.receipt_id and receipt.status == "answered"
        assert await proxied.answer(ref.core_id, "x", (), f"k:answer:{n}") == receipt
        await proxied.aclose()
    answers = [e for e in core.store.events_of(ref.core_id) if e.kind == "answer"]
    assert len(answers) == 2


async def test_unknown_outcome_with_a_core_that_never_got_it_is_safe_to_retry(
    sleeps: SleepRecorder,
) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            raise httpx.ReadTimeout("read timed out", request=request)
        return httpx.Response(200, json={"followups": []})

    blind = RestCoreClient(base_url=CORE_URL, transport=httpx.MockTransport(handler), sleep=sleeps)
    with pytest.raises(CoreUnavailable, match="retry is safe"):
        await blind.answer("5000001", ANSWER, (), "k:answer:1")
    await blind.aclose()


async def test_a_core_with_other_names_through_a_mapping(sleeps: SleepRecorder) -> None:
    mapping = RestMapping.from_dict(
        {
            "progress_path": "/integrasi/laporan/{core_id}/proses",
            "answer_path": "/integrasi/laporan/{core_id}/tindak-lanjut",
            "close_path": "/integrasi/laporan/{core_id}/tutup",
            "followup_find_path": "/integrasi/laporan/{core_id}/tindak-lanjut",
            "followup_find_list_field": "data",
            "find_key_param": "kunci",
            "followup_text_field": "isi",
            "followup_attachments_field": "lampiran",
            "close_reason_field": "alasan",
            "attachment_fields": {"url": "tautan", "filename": "nama", "content_type": "tipe"},
            "receipt_id_field": "data.id_riwayat",
            "receipt_status_field": "data.status",
            "idempotency_header": "X-Kunci-Idempoten",
        }
    )
    seen: list[httpx.Request] = []

    async def dialect(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "GET":
            assert request.url.params["kunci"] == "k:answer:2"
            return httpx.Response(200, json={"data": []})
        return httpx.Response(
            201, json={"data": {"id_riwayat": f"r-{len(seen)}", "status": "Proses"}}
        )

    other = RestCoreClient(
        base_url="http://lapor.test",
        transport=httpx.MockTransport(dialect),
        mapping=mapping,
        sleep=sleeps,
    )
    receipt = await other.progress("8123", "Sedang diproses.", "k:progress:1")
    assert (receipt.receipt_id, receipt.status) == ("r-1", "Proses")
    await other.answer("8123", ANSWER, (PHOTO,), "k:answer:2")
    await other.close("8123", "Pelapor puas.", "k:close:case")
    assert await other.find_followup("8123", "k:answer:2") is None
    paths = [(r.method, r.url.path) for r in seen]
    assert paths == [
        ("POST", "/integrasi/laporan/8123/proses"),
        ("POST", "/integrasi/laporan/8123/tindak-lanjut"),
        ("POST", "/integrasi/laporan/8123/tutup"),
        ("GET", "/integrasi/laporan/8123/tindak-lanjut"),
    ]
    assert json.loads(seen[1].content) == {
        "isi": ANSWER,
        "lampiran": [{"tautan": PHOTO.url, "nama": "hasil.jpg", "tipe": "image/jpeg"}],
    }
    assert json.loads(seen[2].content) == {"alasan": "Pelapor puas."}
    assert [r.headers["X-Kunci-Idempoten"] for r in seen[:3]] == [
        "k:progress:1",
        "k:answer:2",
        "k:close:case",
    ]
    await other.aclose()


async def test_a_core_without_a_close_is_told_so(sleeps: SleepRecorder) -> None:
    mapping = RestMapping.from_dict({"close_path": ""})

    async def nothing(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    client = RestCoreClient(
        base_url=CORE_URL, transport=httpx.MockTransport(nothing), mapping=mapping, sleep=sleeps
    )
    with pytest.raises(CoreRejected, match="no close"):
        await client.close("1", "x", "k")
    await client.aclose()


def test_a_simulator_database_from_before_followups_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, core_id TEXT NOT NULL,"
            " kind TEXT NOT NULL, status TEXT, text TEXT, agency_code TEXT,"
            " attachments TEXT NOT NULL DEFAULT '[]', actor TEXT NOT NULL,"
            " occurred_at TEXT NOT NULL)"
        )
    store = CoreStore(path)
    try:
        columns = {r["name"] for r in store._conn.execute("PRAGMA table_info(events)")}
        assert "origin_key" in columns
        assert store.event_by_origin("nothing") is None
    finally:
        store.close()


async def test_the_page_shows_the_gateway_answer_with_its_photo(
    client: RestCoreClient, core: CoreSimulator, http: httpx.AsyncClient
) -> None:
    ref = await client.submit(make_report(), "LPR-7K3M9Q")
    await client.progress(ref.core_id, "Laporan sedang diproses oleh DPUPR.", "k:progress:1")
    await client.answer(ref.core_id, ANSWER, (PHOTO,), "k:answer:2")
    page = (await http.get(f"/laporan/{ref.core_id}")).text
    assert "Laporan sedang diproses oleh DPUPR." in page
    assert ANSWER in page
    assert f'<img src="{PHOTO.url}"' in page
    assert page.count('data-origin="gateway"') == 2
    assert "lewat gateway" in page
    assert "Ditindaklanjuti" in page  # the report's status label, as LAPOR! shows it


def test_a_follow_up_already_done_in_lapor_changes_nothing(core: CoreSimulator) -> None:
    """LAPOR!'s own admin verified first: the gateway's verify is no news and no error."""
    report, _ = core.submit("k1", {"title": "x"})
    core.act(report.core_id, Action.VERIFY)
    assert core.followup(report.core_id, Action.VERIFY, "k:verify") == (None, False)
    assert len(core.store.events_of(report.core_id)) == 1
    event, created = core.followup(report.core_id, Action.PROCESS, "k:p")
    assert created and event is not None and event.origin_key == "k:p"
    with pytest.raises(TransitionError, match="cannot archive"):
        core.followup(report.core_id, Action.ARCHIVE, "k:a", text="tidak relevan")


def test_manual_follow_ups_are_copy_ready_tasks() -> None:
    client = ManualCoreClient(ManualTexts.load("config/core_manual.yaml"))
    with pytest.raises(ManualSubmissionRequired) as raised:
        asyncio.run(client.answer("5123456", ANSWER, (PHOTO,), "LPR-7K3M9Q:core_answer:7"))
    task = raised.value.task
    assert task.text == ANSWER + "\n"  # exactly what goes into LAPOR!'s follow-up box
    assert task.idempotency_key == "LPR-7K3M9Q:core_answer:7"
    assert task.fields == {
        "Nomor laporan SP4N-LAPOR!": "5123456",
        "Tindak lanjut: jawaban instansi": ANSWER,
        "Foto bukti (unduh, lalu unggah di LAPOR!)": PHOTO.url,
    }
