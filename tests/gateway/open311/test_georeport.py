"""Open311 GeoReport v2 at /open311/v2/: every response, JSON and XML, validates against the
spec's schema (tests/gateway/open311/schema.py); the public list shows what the public pages
may show (masked text, never `rahasia`, never the reporter); POST files a complaint through
the normal intake with an admin-issued key — a bad key 403, bad fields 400 with the spec's
error list, too many 429."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from jsonschema import validate
from sqlalchemy import select

from config.settings import Settings
from gateway.app import create_app
from gateway.clock import utcnow
from gateway.context import Gateway
from gateway.open311 import keys
from gateway.store.models import Agency, Complaint, Status
from tests.gateway.factories import make_complaint
from tests.gateway.open311 import schema

PHONE = "081234567890"


@pytest.fixture
def world(gateway: Gateway) -> dict[str, str]:
    """A disposed complaint with a place, a closed one, a `rahasia` one, a fresh one."""
    with gateway.db.session() as session:
        agency = Agency(code="DPUPR", name="Dinas Pekerjaan Umum dan Penataan Ruang")
        session.add(agency)
        session.commit()
        agency_id = agency.id
    now = utcnow()
    disposed = make_complaint(
        gateway.db,
        Status.DISPOSED,
        original_text=f"Jalan berlubang di depan SD Negeri 2, hubungi saya di {PHONE}",
        masked_text="Jalan berlubang di depan SD Negeri 2, hubungi saya di [nomor telepon]",
        category="pengaduan",
        agency_id=agency_id,
        latitude=-6.708321,
        longitude=111.341234,
        location_text="Jl. Pemuda",
        kelurahan="Leteh",
        kecamatan="Rembang",
        received_at=now - timedelta(days=3),
        answer_due_at=now + timedelta(days=10),
    )
    closed = make_complaint(
        gateway.db,
        Status.CLOSED,
        original_text="Bagaimana syarat membuat KTP elektronik untuk pemula?",
        category="permintaan_informasi",
        received_at=now - timedelta(days=20),
        closed_at=now - timedelta(days=2),
    )
    secret = make_complaint(
        gateway.db,
        Status.DISPOSED,
        original_text="Kepala desa meminta uang untuk surat keterangan",
        category="pengaduan_berkadar_pengawasan",
        rahasia=True,
        received_at=now - timedelta(days=1),
    )
    fresh = make_complaint(
        gateway.db, Status.RECEIVED, original_text="Lampu jalan mati", received_at=now
    )
    return {
        "disposed": disposed.tracking_code,
        "closed": closed.tracking_code,
        "secret": secret.tracking_code,
        "fresh": fresh.tracking_code,
    }


def test_services_in_json_and_xml(client: TestClient) -> None:
    response = client.get("/open311/v2/services.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    services = response.json()
    validate(services, schema.SERVICES)
    assert {s["service_code"] for s in services} == {
        "aspirasi",
        "permintaan_informasi",
        "pengaduan",
        "pengaduan_berkadar_pengawasan",
    }
    xml = client.get("/open311/v2/services.xml")
    assert xml.headers["content-type"] == "text/xml; charset=utf-8"
    assert schema.xml_to_json(xml.content, "services") == services
    definition = client.get("/open311/v2/services/pengaduan.json").json()
    validate(definition, schema.SERVICE_DEFINITION)
    definition_xml = client.get("/open311/v2/services/pengaduan.xml").content
    validate(schema.xml_to_json(definition_xml, "service_definition"), schema.SERVICE_DEFINITION)
    unknown = client.get("/open311/v2/services/sampah.json")
    assert unknown.status_code == 404
    validate(unknown.json(), schema.ERRORS)


def test_requests_list_what_the_public_may_see(client: TestClient, world: dict[str, str]) -> None:
    response = client.get("/open311/v2/requests.json")
    assert response.status_code == 200
    items = response.json()
    validate(items, schema.SERVICE_REQUESTS)
    codes = [i["service_request_id"] for i in items]
    # Newest first; never the `rahasia` one, nor the one no admin has looked at yet.
    assert codes == [world["disposed"], world["closed"]]
    disposed, closed = items
    assert disposed["status"] == "open" and closed["status"] == "closed"
    assert disposed["agency_responsible"] == "Dinas Pekerjaan Umum dan Penataan Ruang"
    assert disposed["service_code"] == "pengaduan" and disposed["expected_datetime"]
    assert PHONE not in response.text and "[nomor telepon]" in disposed["description"]
    assert (disposed["lat"], disposed["long"]) == (-6.708, 111.341)  # ~100 m, not a house
    assert disposed["address"] == "Jl. Pemuda, Leteh, Rembang"
    assert disposed["requested_datetime"].endswith("+07:00")  # the deployment's zone
    assert closed["expected_datetime"] is None
    xml = client.get("/open311/v2/requests.xml")
    assert xml.status_code == 200
    as_json = schema.xml_to_json(xml.content, "service_requests")
    validate(as_json, schema.SERVICE_REQUESTS)
    assert [r["service_request_id"] for r in as_json] == codes


def test_requests_filters(client: TestClient, world: dict[str, str]) -> None:
    def codes(query: str) -> list[str]:
        response = client.get(f"/open311/v2/requests.json?{query}")
        assert response.status_code == 200, response.text
        validate(response.json(), schema.SERVICE_REQUESTS)
        return [r["service_request_id"] for r in response.json()]

    assert codes("status=open") == [world["disposed"]]
    assert codes("status=closed") == [world["closed"]]
    assert codes("status=open,closed") == [world["disposed"], world["closed"]]
    assert codes("service_code=permintaan_informasi") == [world["closed"]]
    week_ago = (utcnow() - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert codes(f"start_date={week_ago}") == [world["disposed"]]
    # service_request_id overrides the rest; a fresh complaint is there, without its text.
    picked = codes(f"service_request_id={world['fresh']},{world['closed']}&status=open")
    assert sorted(picked) == sorted([world["fresh"], world["closed"]])
    assert codes(f"service_request_id={world['secret']}") == []


@pytest.mark.parametrize(
    ("query", "fmt"),
    [
        ("start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", "json"),
        ("start_date=kemarin", "json"),
        ("status=pending", "xml"),
        ("service_code=sampah", "xml"),
        ("start_date=2026-02-01&end_date=2026-01-01", "json"),
        ("start_date=9999-12-31T23:00:00Z", "json"),
        ("end_date=0001-01-01", "xml"),
    ],
)
def test_bad_arguments_are_the_spec_error_list(client: TestClient, query: str, fmt: str) -> None:
    response = client.get(f"/open311/v2/requests.{fmt}?{query}")
    assert response.status_code == 400
    body = response.json() if fmt == "json" else schema.xml_to_json(response.content, "errors")
    validate(body, schema.ERRORS)
    assert body[0]["code"] == 400


def test_one_request_and_its_privacy(client: TestClient, world: dict[str, str]) -> None:
    [item] = client.get(f"/open311/v2/requests/{world['disposed']}.json").json()
    validate([item], schema.SERVICE_REQUESTS)
    assert item["service_request_id"] == world["disposed"]
    fresh_xml = client.get(f"/open311/v2/requests/{world['fresh'].lower()}.xml")
    [fresh] = schema.xml_to_json(fresh_xml.content, "service_requests")
    validate([fresh], schema.SERVICE_REQUESTS)
    assert fresh["description"] is None and fresh["address"] is None
    secret = client.get(f"/open311/v2/requests/{world['secret']}.json")
    assert secret.status_code == 404
    validate(secret.json(), schema.ERRORS)
    missing = client.get("/open311/v2/requests/LPR-ZZZZZZ.json")
    assert missing.status_code == 404
    assert client.get(f"/open311/v2/requests/{world['disposed']}.html").status_code == 404


@pytest.fixture
def limited(settings: Settings, gateway: Gateway) -> Iterator[TestClient]:
    gateway.settings = settings.model_copy(update={"open311_posts_per_hour": 2})
    with TestClient(create_app(gateway.settings, gateway)) as client:
        yield client


POST = {
    "service_code": "pengaduan",
    "lat": "-6.7083",
    "long": "111.3412",
    "address_string": "Jl. Pemuda, Leteh, Rembang",
    "description": "Saluran air di Jl. Pemuda tersumbat sampah dan meluap ke jalan tiap hujan.",
    "first_name": "Siti",
    "last_name": "Aminah",
    "email": "siti@example.org",
}


def test_post_files_a_complaint_through_the_intake(limited: TestClient, gateway: Gateway) -> None:
    issued = keys.issue(gateway, "Aplikasi Warga Rembang", actor="user:1")
    response = limited.post("/open311/v2/requests.json", data={**POST, "api_key": issued.key})
    assert response.status_code == 201, response.text
    validate(response.json(), schema.POSTED)
    code = response.json()[0]["service_request_id"]
    with gateway.db.read_session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert complaint is not None
        assert complaint.origin_channel == "open311" and complaint.status == Status.RECEIVED
        assert complaint.category == "pengaduan" and complaint.reply_channel is None
        assert complaint.clean_text and complaint.verify_due_at is not None  # the normalizer ran
    # The same request again with its idempotency key is the same complaint.
    headers = {"Idempotency-Key": "app-77"}
    first = limited.post(
        "/open311/v2/requests.xml", data={**POST, "api_key": issued.key}, headers=headers
    )
    assert first.status_code == 201
    validate(schema.xml_to_json(first.content, "service_requests"), schema.POSTED)
    # The key's hourly budget (2) is used up: the third is refused, and says why.
    third = limited.post("/open311/v2/requests.json", data={**POST, "api_key": issued.key})
    assert third.status_code == 429
    validate(third.json(), schema.ERRORS)
    # A token is the request's id: requests are realtime.
    tokens = limited.get(f"/open311/v2/tokens/{code}.json").json()
    validate(tokens, schema.TOKENS)
    assert tokens[0]["service_request_id"] == code


@pytest.mark.parametrize(
    ("change", "status", "count"),
    [
        ({"api_key": "o311_wrong"}, 403, 1),
        ({"api_key": ""}, 403, 1),
        ({"service_code": ""}, 400, 1),
        ({"service_code": "sampah"}, 404, 1),
        ({"lat": "", "long": "", "address_string": ""}, 400, 1),
        ({"description": "rusak", "email": "bukan-email", "lat": "200"}, 400, 3),
        ({"media_url": "javascript:alert(1)"}, 400, 1),
    ],
)
def test_bad_posts_get_the_spec_error_list(
    client: TestClient, gateway: Gateway, change: dict[str, str], status: int, count: int
) -> None:
    issued = keys.issue(gateway, "Peneliti", actor="user:1")
    data = {**POST, "api_key": issued.key, **change}
    response = client.post("/open311/v2/requests.json", data=data)
    assert response.status_code == status, response.text
    validate(response.json(), schema.ERRORS)
    assert len(response.json()) == count
    with gateway.db.read_session() as session:
        assert session.scalars(select(Complaint)).all() == []


def test_a_revoked_key_is_refused(client: TestClient, gateway: Gateway) -> None:
    issued = keys.issue(gateway, "Lama", actor="user:1")
    assert keys.revoke(gateway, issued.id)
    response = client.post("/open311/v2/requests.xml", data={**POST, "api_key": issued.key})
    assert response.status_code == 403
    validate(schema.xml_to_json(response.content, "errors"), schema.ERRORS)
    assert keys.holder(gateway, issued.key) is None


def test_openapi_documents_open311(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/open311/v2/{leaf}" in paths and "post" in paths["/open311/v2/{leaf}"]
    assert "/open311/v2/{kind}/{leaf}" in paths


def test_dates_are_w3_with_the_zone(world: dict[str, str], client: TestClient) -> None:
    items = client.get("/open311/v2/requests.json").json()
    for item in items:
        parsed = datetime.fromisoformat(item["requested_datetime"])
        assert parsed.tzinfo is not None and parsed <= datetime.now(UTC)
