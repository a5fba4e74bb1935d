"""The core stores a report and then answers too late: the client's real timeout fires, it asks
the core for the key, and returns the report the core has. No second report, ever.

Runs the simulator under uvicorn on 127.0.0.1, because only a real socket has a real timeout.
"""

from __future__ import annotations

import httpx
import pytest

from forwarder.base import CoreUnavailable
from forwarder.rest import RestCoreClient

from .conftest import LiveCore, SleepRecorder, make_report

pytestmark = pytest.mark.anyio


async def _faults(raw: httpx.AsyncClient, **faults: object) -> None:
    response = await raw.put("/api/v1/admin/faults", json=faults)
    response.raise_for_status()


async def test_timeout_after_accept_returns_the_existing_report(live_core: LiveCore) -> None:
    impatient = RestCoreClient(base_url=live_core.url, timeout_seconds=0.2, sleep=SleepRecorder())
    async with httpx.AsyncClient(base_url=live_core.url, timeout=5) as raw:
        await _faults(raw, mode="timeout_after_accept", remaining=1, delay_seconds=30)
        try:
            ref = await impatient.submit(make_report(), "complaint-1")
        finally:
            await _faults(raw, mode="none")  # let the held request go
        listed = (await raw.get("/api/v1/reports")).json()["reports"]
        assert [r["id"] for r in listed] == [ref.core_id]
        assert listed[0]["idempotency_key"] == "complaint-1"
        # the outbox retrying later changes nothing either
        assert await impatient.submit(make_report(), "complaint-1") == ref
        assert len((await raw.get("/api/v1/reports")).json()["reports"]) == 1
    await impatient.aclose()


async def test_a_timeout_without_reconciliation_would_have_doubled(live_core: LiveCore) -> None:
    """Guard for the test above: the fault really makes a client time out after the store."""
    async with httpx.AsyncClient(base_url=live_core.url, timeout=5) as raw:
        await _faults(raw, mode="timeout_after_accept", remaining=1, delay_seconds=30)
        try:
            with pytest.raises(httpx.ReadTimeout):
                await raw.post(
                    "/api/v1/reports",
                    json={
                        "tracking_code": "LPR-AAAAAA",
                        "title": "Lampu jalan mati",
                        "description": "Lampu jalan di depan pasar mati sejak seminggu.",
                        "category": "pengaduan",
                        "source_channel": "sms",
                        "received_at": "2024-05-02T01:30:00+00:00",
                    },
                    headers={"Idempotency-Key": "complaint-9"},
                    timeout=0.2,
                )
        finally:
            await _faults(raw, mode="none")
        listed = await raw.get("/api/v1/reports", params={"idempotency_key": "complaint-9"})
        assert len(listed.json()["reports"]) == 1


async def test_core_down_for_a_while_then_back(live_core: LiveCore) -> None:
    client = RestCoreClient(base_url=live_core.url, timeout_seconds=2, sleep=SleepRecorder())
    async with httpx.AsyncClient(base_url=live_core.url, timeout=5) as raw:
        await _faults(raw, mode="unavailable")
        for _ in range(3):  # the outbox's attempts while the core is down
            with pytest.raises(CoreUnavailable):
                await client.submit(make_report(), "complaint-1")
        await _faults(raw, mode="none")
        ref = await client.submit(make_report(), "complaint-1")
        listed = (await raw.get("/api/v1/reports")).json()["reports"]
        assert [r["id"] for r in listed] == [ref.core_id]
    await client.aclose()


async def test_an_answer_accepted_then_timed_out_is_found_not_sent_again(
    live_core: LiveCore,
) -> None:
    """The same for the agency's answer: stored by the core, the client times out for real, asks
    the core for the key and gets the answer it already has. One answer in LAPOR!, ever."""
    patient = RestCoreClient(base_url=live_core.url, timeout_seconds=5, sleep=SleepRecorder())
    impatient = RestCoreClient(base_url=live_core.url, timeout_seconds=0.2, sleep=SleepRecorder())
    ref = await patient.submit(make_report(), "LPR-7K3M9Q")
    async with httpx.AsyncClient(base_url=live_core.url, timeout=5) as raw:
        await _faults(raw, mode="timeout_after_accept", remaining=1, delay_seconds=30)
        try:
            receipt = await impatient.answer(ref.core_id, "Sudah ditambal.", (), "k:answer:1")
        finally:
            await _faults(raw, mode="none")
        assert receipt.status == "answered" and receipt.receipt_id
        # the outbox retrying later changes nothing either
        assert await patient.answer(ref.core_id, "Sudah ditambal.", (), "k:answer:1") == receipt
        report = (await raw.get(f"/api/v1/reports/{ref.core_id}")).json()
        assert [e["kind"] for e in report["events"]] == ["answer"]
    await impatient.aclose()
    await patient.aclose()
