"""RestCoreClient against the in-process simulator: idempotent submit, find, paged updates, the
core's life as events, failures mapped to CoreUnavailable/CoreRejected, reconciliation."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI

from forwarder.base import CoreEventKind, CoreRejected, CoreUnavailable
from forwarder.rest import RestCoreClient, RestMapping
from forwarder.simulator import Action, CoreSimulator, FaultMode
from forwarder.status_map import to_internal

from .conftest import CORE_URL, SleepRecorder, free_port, make_report

pytestmark = pytest.mark.anyio


async def test_same_key_twice_gives_one_report(client: RestCoreClient, core: CoreSimulator) -> None:
    first = await client.submit(make_report(), "complaint-1")
    again = await client.submit(make_report(), "complaint-1")
    other = await client.submit(make_report(tracking_code="LPR-AAAAAA"), "complaint-2")
    assert first == again
    assert first.status == "unverified"
    assert to_internal(first.status) == "received"
    assert other.core_id != first.core_id
    assert core.store.count_reports() == 2


async def test_the_core_stores_what_we_sent(client: RestCoreClient, core: CoreSimulator) -> None:
    ref = await client.submit(make_report(anonim=True, reporter_name=None), "complaint-1")
    stored = core.get(ref.core_id).payload
    assert stored["tracking_code"] == "LPR-7K3M9Q"
    assert stored["kelurahan"] == "Leteh"
    assert stored["anonim"] is True
    assert "reporter_name" not in stored or stored["reporter_name"] is None
    assert stored["attachments"][0]["url"] == "http://gw.test/m/1.jpg"


async def test_find_by_idempotency_key(client: RestCoreClient) -> None:
    assert await client.find("complaint-1") is None
    ref = await client.submit(make_report(), "complaint-1")
    assert await client.find("complaint-1") == ref
    assert await client.find("complaint-2") is None


async def test_the_core_life_arrives_as_events(client: RestCoreClient, core: CoreSimulator) -> None:
    ref = await client.submit(make_report(), "complaint-1")
    core.act(ref.core_id, Action.VERIFY)
    core.act(ref.core_id, Action.DISPOSE, agency_code="DPUPR")
    core.act(ref.core_id, Action.PROCESS)
    core.act(
        ref.core_id,
        Action.ANSWER,
        text="Lubang sudah ditambal pada 3 Mei.",
        attachments=[
            {
                "url": "http://core.test/media/x.jpg",
                "filename": "bukti.jpg",
                "content_type": "image/jpeg",
            }
        ],
    )
    core.act(ref.core_id, Action.CLOSE)

    updates = await client.updates(None)
    assert not updates.more
    assert [e.kind for e in updates.events] == [
        CoreEventKind.STATUS,
        CoreEventKind.DISPOSITION,
        CoreEventKind.STATUS,
        CoreEventKind.ANSWER,
        CoreEventKind.CLOSED,
    ]
    assert [to_internal(e.status) for e in updates.events] == [
        "verified",
        "disposed",
        "in_progress",
        "answered",
        "closed",
    ]
    assert {e.core_id for e in updates.events} == {ref.core_id}
    assert len({e.event_id for e in updates.events}) == 5
    assert updates.events[1].agency_code == "DPUPR"
    answer = updates.events[3]
    assert answer.text == "Lubang sudah ditambal pada 3 Mei."
    assert [a.filename for a in answer.attachments] == ["bukti.jpg"]
    # nothing new: the same cursor comes back with no events
    later = await client.updates(updates.cursor)
    assert later.events == []
    assert later.cursor == updates.cursor


async def test_updates_page_through_the_cursor(core_app: FastAPI, core: CoreSimulator) -> None:
    small = RestCoreClient(
        base_url=CORE_URL, transport=httpx.ASGITransport(app=core_app), page_size=2
    )
    refs = [await small.submit(make_report(), f"complaint-{n}") for n in range(3)]
    for ref in refs:
        core.act(ref.core_id, Action.VERIFY)
    core.act(refs[0].core_id, Action.DISPOSE)

    seen, pages, cursor, more = [], 0, None, True
    while more:
        page = await small.updates(cursor)
        assert len(page.events) <= 2
        seen += page.events
        cursor, more, pages = page.cursor, page.more, pages + 1
    assert pages == 2
    assert [e.core_id for e in seen] == [r.core_id for r in refs] + [refs[0].core_id]
    assert seen[-1].kind is CoreEventKind.DISPOSITION
    # events after the cursor only
    core.act(refs[1].core_id, Action.DISPOSE)
    newest = await small.updates(cursor)
    assert [(e.core_id, e.kind) for e in newest.events] == [
        (refs[1].core_id, CoreEventKind.DISPOSITION)
    ]
    await small.aclose()


async def test_feedback_reaches_the_core(client: RestCoreClient, core: CoreSimulator) -> None:
    ref = await client.submit(make_report(), "complaint-1")
    await client.send_feedback(ref.core_id, "TIDAK PUAS, lubang masih ada", 2)
    [feedback] = core.store.feedback_of(ref.core_id)
    assert (feedback.text, feedback.rating) == ("TIDAK PUAS, lubang masih ada", 2)
    with pytest.raises(CoreRejected):
        await client.send_feedback("999", "puas", 5)


async def test_core_down_is_unavailable_and_nothing_is_stored(
    client: RestCoreClient, core: CoreSimulator, sleeps: SleepRecorder
) -> None:
    core.set_faults(FaultMode.UNAVAILABLE)
    with pytest.raises(CoreUnavailable):
        await client.submit(make_report(), "complaint-1")
    with pytest.raises(CoreUnavailable):
        await client.updates(None)
    assert core.store.count_reports() == 0
    # reads were retried twice each, honouring the core's Retry-After (5 s)
    assert sleeps.calls == [5.0, 5.0]
    core.set_faults(FaultMode.NONE)
    ref = await client.submit(make_report(), "complaint-1")
    assert core.store.count_reports() == 1
    assert ref.core_id == core.store.find_report("complaint-1").core_id


async def test_a_short_outage_is_ridden_out_by_read_retries(
    client: RestCoreClient, core: CoreSimulator, sleeps: SleepRecorder
) -> None:
    core.set_faults(FaultMode.UNAVAILABLE, remaining=2)
    updates = await client.updates(None)
    assert updates.events == []
    assert len(sleeps.calls) == 2


async def test_exponential_backoff_without_retry_after(sleeps: SleepRecorder) -> None:
    async def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502)

    flaky = RestCoreClient(
        base_url=CORE_URL,
        transport=httpx.MockTransport(down),
        retries=3,
        backoff_seconds=1.0,
        backoff_max_seconds=3.0,
        sleep=sleeps,
    )
    with pytest.raises(CoreUnavailable):
        await flaky.find("complaint-1")
    # 1, 2, 4→capped at 3; each with up to 50 % jitter off
    assert len(sleeps.calls) == 3
    for call, ceiling in zip(sleeps.calls, [1.0, 2.0, 3.0], strict=True):
        assert ceiling / 2 <= call <= ceiling


async def test_an_invalid_report_is_rejected(client: RestCoreClient, core: CoreSimulator) -> None:
    with pytest.raises(CoreRejected) as caught:
        await client.submit(make_report(category="keluhan"), "complaint-1")
    assert "422" in str(caught.value)
    # the core's error names the field but does not echo personal data back into our logs
    assert "Warga Contoh" not in str(caught.value)
    assert core.store.count_reports() == 0


async def test_a_wrong_api_key_is_rejected(tmp_path, sleeps: SleepRecorder) -> None:
    from forwarder.simulator import create_app

    app = create_app(tmp_path / "keyed.db", api_key="test-key-" + "x" * 8)
    wrong = RestCoreClient(
        base_url=CORE_URL, transport=httpx.ASGITransport(app=app), api_key="nope", sleep=sleeps
    )
    right = RestCoreClient(
        base_url=CORE_URL, transport=httpx.ASGITransport(app=app), api_key="test-key-" + "x" * 8
    )
    with pytest.raises(CoreRejected):
        await wrong.submit(make_report(), "complaint-1")
    assert (await right.submit(make_report(), "complaint-1")).core_id
    assert "test-key" not in repr(right)
    await wrong.aclose()
    await right.aclose()


async def test_connection_refused_is_unavailable(sleeps: SleepRecorder) -> None:
    nowhere = RestCoreClient(base_url=f"http://127.0.0.1:{free_port()}", retries=1, sleep=sleeps)
    with pytest.raises(CoreUnavailable):
        await nowhere.submit(make_report(), "complaint-1")
    with pytest.raises(CoreUnavailable):
        await nowhere.updates("3")
    await nowhere.aclose()


def _wrapping(
    app: FastAPI, after_submit: Callable[[httpx.Response], Awaitable[httpx.Response]]
) -> httpx.AsyncBaseTransport:
    """The simulator behind a proxy that spoils the answer to a submit (the core kept it)."""
    inner = httpx.ASGITransport(app=app)

    class Spoiling(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await inner.handle_async_request(request)
            if request.method == "POST" and request.url.path == "/api/v1/reports":
                await response.aread()
                return await after_submit(response)
            return response

    return Spoiling()


async def test_gateway_timeout_after_accept_is_reconciled(
    core_app: FastAPI, core: CoreSimulator
) -> None:
    async def gateway_timeout(response: httpx.Response) -> httpx.Response:
        return httpx.Response(504, text="upstream timed out")

    proxied = RestCoreClient(base_url=CORE_URL, transport=_wrapping(core_app, gateway_timeout))
    ref = await proxied.submit(make_report(), "complaint-1")
    assert ref.core_id == core.store.find_report("complaint-1").core_id
    again = await proxied.submit(make_report(), "complaint-1")
    assert again == ref
    assert core.store.count_reports() == 1
    await proxied.aclose()


async def test_dropped_connection_after_accept_is_reconciled(
    core_app: FastAPI, core: CoreSimulator
) -> None:
    async def dropped(response: httpx.Response) -> httpx.Response:
        raise httpx.RemoteProtocolError("server disconnected without sending a response")

    proxied = RestCoreClient(base_url=CORE_URL, transport=_wrapping(core_app, dropped))
    ref = await proxied.submit(make_report(), "complaint-1")
    assert ref.core_id == core.store.find_report("complaint-1").core_id
    assert core.store.count_reports() == 1
    await proxied.aclose()


async def test_unknown_outcome_and_core_unreachable_stays_unavailable(
    sleeps: SleepRecorder,
) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            raise httpx.ReadTimeout("read timed out", request=request)
        return httpx.Response(503)

    blind = RestCoreClient(
        base_url=CORE_URL, transport=httpx.MockTransport(handler), retries=1, sleep=sleeps
    )
    with pytest.raises(CoreUnavailable, match="outcome unknown"):
        await blind.submit(make_report(), "complaint-1")
    await blind.aclose()


async def test_a_core_that_never_got_the_report_is_safe_to_retry(sleeps: SleepRecorder) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            raise httpx.ReadTimeout("read timed out", request=request)
        return httpx.Response(200, json={"reports": []})

    blind = RestCoreClient(base_url=CORE_URL, transport=httpx.MockTransport(handler), sleep=sleeps)
    with pytest.raises(CoreUnavailable, match="retry is safe"):
        await blind.submit(make_report(), "complaint-1")
    await blind.aclose()


async def test_a_core_with_other_names_through_a_mapping(sleeps: SleepRecorder) -> None:
    """A made-up dialect, to show a deployment can follow a real core's names without code."""
    mapping = RestMapping.from_dict(
        {
            "submit_path": "/integrasi/laporan",
            "find_path": "/integrasi/laporan/cari",
            "find_key_param": "kunci",
            "find_list_field": "data.laporan",
            "events_path": "/integrasi/riwayat",
            "since_param": "setelah",
            "events_field": "data.riwayat",
            "cursor_field": "data.kursor",
            "more_field": "data.lagi",
            "idempotency_header": "X-Kunci-Idempoten",
            "api_key_header": "Authorization",
            "api_key_prefix": "Bearer ",
            "ref_id_field": "data.id_tracking",
            "ref_status_field": "data.status",
            "report_fields": {
                "title": "judul",
                "description": "isi",
                "location_text": "lokasi.teks",
            },
            "event_fields": {"core_id": "id_tracking", "event_id": "id", "occurred_at": "waktu"},
            "event_kinds": {"jawaban": "answer", "status": "status"},
        }
    )
    seen: list[httpx.Request] = []

    async def dialect(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/integrasi/laporan":
            return httpx.Response(201, json={"data": {"id_tracking": 8123, "status": "Proses"}})
        if request.url.path == "/integrasi/laporan/cari":
            return httpx.Response(200, json={"data": {"laporan": []}})
        assert request.url.params["setelah"] == "10"
        item = {
            "id": "e-11",
            "id_tracking": "8123",
            "kind": "jawaban",
            "waktu": "2024-05-03T09:00:00",
        }
        return httpx.Response(
            200, json={"data": {"riwayat": [item], "kursor": "11", "lagi": False}}
        )

    other = RestCoreClient(
        base_url="http://lapor.test",
        transport=httpx.MockTransport(dialect),
        api_key="k-" + "y" * 10,
        mapping=mapping,
        sleep=sleeps,
    )
    ref = await other.submit(make_report(), "complaint-1")
    assert (ref.core_id, to_internal(ref.status)) == ("8123", "in_progress")
    body = json.loads(seen[0].content)
    assert body["judul"] == "Jalan berlubang di Jl. Pemuda"
    assert body["lokasi"] == {"teks": "Jl. Pemuda depan SD Negeri 2"}
    assert seen[0].headers["X-Kunci-Idempoten"] == "complaint-1"
    assert seen[0].headers["Authorization"] == "Bearer k-" + "y" * 10
    assert await other.find("complaint-1") is None
    updates = await other.updates("10")
    assert updates.cursor == "11"
    [event] = updates.events
    assert (event.core_id, event.kind) == ("8123", CoreEventKind.ANSWER)
    assert event.occurred_at.utcoffset() is not None
    await other.aclose()


def test_mapping_files_and_their_mistakes(tmp_path) -> None:
    good = tmp_path / "core.yaml"
    good.write_text("submit_path: /x\nreport_fields:\n  title: judul\n", "utf-8")
    mapping = RestMapping.from_file(good)
    assert mapping.submit_path == "/x"
    assert mapping.report_fields["title"] == "judul"
    assert mapping.report_fields["description"] == "description"  # defaults kept
    with pytest.raises(ValueError, match="unknown core mapping keys"):
        RestMapping.from_dict({"submit_pth": "/x"})
    with pytest.raises(ValueError, match="unknown fields"):
        RestMapping.from_dict({"report_fields": {"judul": "title"}})
    with pytest.raises(ValueError, match="unknown kinds"):
        RestMapping.from_dict({"event_kinds": {"x": "rating"}})


async def test_redisposition_before_and_after_lapor_disposed(
    client: RestCoreClient, core: CoreSimulator
) -> None:
    ref = await client.submit(make_report(agency_code="DPUPR"), "k-redispose")
    await client.redispose(ref.core_id, "DINPERKIM", "lampu jalan urusan Perkim")
    report = core.get(ref.core_id)
    assert (report.agency_code, report.status.value) == ("DINPERKIM", "unverified")
    core.act(ref.core_id, Action.VERIFY)
    core.act(ref.core_id, Action.DISPOSE)
    await client.redispose(ref.core_id, "DPUPR", "salah disposisi")
    report = core.get(ref.core_id)
    assert (report.agency_code, report.status.value) == ("DPUPR", "disposed")
    await client.redispose(ref.core_id, "DPUPR", "sekali lagi")  # already there: no change
    kinds = [e.kind for e in (await client.updates(None)).events]
    assert kinds.count(CoreEventKind.DISPOSITION) == 3  # the pre-LAPOR change, LAPOR's, ours


async def test_redisposition_of_an_unknown_report_is_rejected(client: RestCoreClient) -> None:
    with pytest.raises(CoreRejected):
        await client.redispose("999999", "DPUPR", "x")
