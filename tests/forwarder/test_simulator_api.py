"""The simulator's JSON API as any client sees it (docs/core-api.md): status codes, headers,
auth, paging and the admin switches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from forwarder.simulator import CoreSimulator, create_app

from .conftest import CORE_URL

pytestmark = pytest.mark.anyio

REPORT: dict[str, Any] = {
    "tracking_code": "LPR-7K3M9Q",
    "title": "Jalan berlubang",
    "description": "Jalan di depan SD Negeri 2 berlubang besar.",
    "category": "pengaduan",
    "source_channel": "sms",
    "received_at": "2024-05-02T01:30:00+00:00",
    "reporter_name": "Warga Contoh",
}
KEY = {"Idempotency-Key": "complaint-1"}


async def test_submit_creates_once_per_key(http: httpx.AsyncClient) -> None:
    created = await http.post("/api/v1/reports", json=REPORT, headers=KEY)
    replayed = await http.post("/api/v1/reports", json=REPORT, headers=KEY)
    assert (created.status_code, replayed.status_code) == (201, 200)
    assert created.json()["id"] == replayed.json()["id"]
    assert created.json()["status_label"] == "Belum Terverifikasi"
    assert created.headers["Location"].endswith(f"/api/v1/reports/{created.json()['id']}")
    one = await http.get(created.headers["Location"])
    assert one.json()["title"] == "Jalan berlubang"
    assert one.json()["events"] == []


async def test_submit_without_key_is_refused(http: httpx.AsyncClient, core: CoreSimulator) -> None:
    response = await http.post("/api/v1/reports", json=REPORT)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["detail"]
    assert core.store.count_reports() == 0


async def test_validation_errors_do_not_echo_personal_data(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/api/v1/reports", json={**REPORT, "category": "keluhan"}, headers=KEY
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "category"]
    assert "Warga Contoh" not in response.text


async def test_events_since_a_cursor(http: httpx.AsyncClient, core: CoreSimulator) -> None:
    report_id = (await http.post("/api/v1/reports", json=REPORT, headers=KEY)).json()["id"]
    for action in ("verify", "dispose", "process"):
        done = await http.post(
            f"/api/v1/admin/reports/{report_id}/actions", json={"action": action}
        )
        assert done.status_code == 201
    page = (await http.get("/api/v1/events", params={"limit": 2})).json()
    assert [e["status"] for e in page["events"]] == ["verified", "disposed"]
    assert page["more"] is True
    rest = (await http.get("/api/v1/events", params={"since": page["cursor"]})).json()
    assert [e["status"] for e in rest["events"]] == ["in_process"]
    assert rest["more"] is False
    assert int(rest["cursor"]) > int(page["cursor"])
    empty = (await http.get("/api/v1/events", params={"since": rest["cursor"]})).json()
    assert (empty["events"], empty["cursor"]) == ([], rest["cursor"])
    bad = await http.get("/api/v1/events", params={"since": "kemarin"})
    assert bad.status_code == 422


async def test_admin_actions_follow_the_life(http: httpx.AsyncClient) -> None:
    report_id = (await http.post("/api/v1/reports", json=REPORT, headers=KEY)).json()["id"]
    early = await http.post(f"/api/v1/admin/reports/{report_id}/actions", json={"action": "close"})
    assert early.status_code == 409
    missing = await http.post("/api/v1/admin/reports/1/actions", json={"action": "verify"})
    assert missing.status_code == 404
    for action in ("verify", "dispose"):
        await http.post(f"/api/v1/admin/reports/{report_id}/actions", json={"action": action})
    no_text = await http.post(
        f"/api/v1/admin/reports/{report_id}/actions", json={"action": "answer"}
    )
    assert no_text.status_code == 422


async def test_feedback_is_kept_with_the_report(http: httpx.AsyncClient) -> None:
    report_id = (await http.post("/api/v1/reports", json=REPORT, headers=KEY)).json()["id"]
    sent = await http.post(
        f"/api/v1/reports/{report_id}/feedback", json={"text": "PUAS", "rating": 5}
    )
    assert sent.status_code == 201
    assert (await http.get(f"/api/v1/reports/{report_id}")).json()["feedback"][0]["rating"] == 5
    empty = await http.post(f"/api/v1/reports/{report_id}/feedback", json={"text": " "})
    assert empty.status_code == 422
    out_of_range = await http.post(f"/api/v1/reports/{report_id}/feedback", json={"rating": 9})
    assert out_of_range.status_code == 422


async def test_unavailable_fault_hits_the_api_but_not_the_switch(http: httpx.AsyncClient) -> None:
    switched = await http.put("/api/v1/admin/faults", json={"mode": "unavailable", "remaining": 2})
    assert switched.json() == {"mode": "unavailable", "remaining": 2, "delay_seconds": 30.0}
    first = await http.get("/api/v1/health")
    assert (first.status_code, first.headers["Retry-After"]) == (503, "5")
    assert (await http.post("/api/v1/reports", json=REPORT, headers=KEY)).status_code == 503
    assert (await http.get("/api/v1/admin/faults")).json()["mode"] == "none"
    assert (await http.get("/api/v1/health")).status_code == 200


async def test_api_key_when_configured(tmp_path: Path) -> None:
    key = "test-key-" + "z" * 8
    app = create_app(tmp_path / "keyed.db", api_key=key)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=CORE_URL) as raw:
        assert (await raw.get("/api/v1/events")).status_code == 401
        assert (await raw.get("/api/v1/events", headers={"X-API-Key": "salah"})).status_code == 401
        assert (await raw.put("/api/v1/admin/faults", json={"mode": "none"})).status_code == 401
        assert (await raw.get("/api/v1/events", headers={"X-API-Key": key})).status_code == 200
