"""Issue 13 (operations): /metrics in the Prometheus text format, behind a bearer token."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from config.settings import load_settings
from gateway.app import create_app
from gateway.context import Gateway
from gateway.store.db import Database

TOKEN = "test-metrics-token-not-real"


def test_metrics_are_off_without_a_token(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 404


def test_metrics_need_the_token_and_parse_as_prometheus_text(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    settings = load_settings(
        _env_file=None,
        app_env="test",
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        secret_key="test-secret-key-not-for-production",
        metrics_token=TOKEN,
    )
    gateway = Gateway.create(settings, db=db)
    gateway.processors = {name: (lambda *_: None) for name in gateway.processors}
    with TestClient(create_app(settings, gateway)) as client:
        body = {"description": "Jalan di Desa Sumbergirang berlubang besar", "consent": True}
        assert client.post("/api/v1/complaints", json=body).status_code == 202
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"authorization": "Bearer nope"}).status_code == 401
        response = client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    inbound = families["lapor_inbound_messages"]
    assert [(s.labels, s.value) for s in inbound.samples if s.name.endswith("_total")] == [
        ({"channel": "webform", "status": "processed"}, 1.0)
    ]
    for name in (
        "lapor_outbox_depth",
        "lapor_dead_letters",
        "lapor_deadlines_overdue",
        "lapor_inbound_processing_lag_seconds",
        "lapor_webhook_spool",
    ):
        assert name in families
