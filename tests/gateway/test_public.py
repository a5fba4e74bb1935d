"""The citizen's side end to end: file at /lapor or the JSON API, get a code, follow it."""

from __future__ import annotations

import base64
import hashlib
import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from channels import webform
from config.settings import load_settings
from gateway.app import create_app
from gateway.complaints.tracking import normalize_code
from gateway.context import Gateway
from gateway.store.models import Attachment, Complaint, InboundMessage
from tests.images import image_bytes, private_traces

DESCRIPTION = "Jalan di depan SD Negeri 2 Lasem berlubang besar, sudah tiga motor jatuh."


def _token(client: TestClient) -> str:
    page = client.get("/lapor")
    assert page.status_code == 200
    match = re.search(r'name="submission_id" value="([0-9a-f]{32})"', page.text)
    assert match
    return match.group(1)


def _count(gateway: Gateway, model: type) -> int:
    with gateway.db.read_session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _submit(client: TestClient, data: dict, files: list | None = None, **kw: object):  # type: ignore[no-untyped-def]
    return client.post("/lapor", data=data, files=files or [], follow_redirects=False, **kw)


def test_form_is_indonesian_by_default_and_english_on_request(client: TestClient) -> None:
    page = client.get("/lapor")
    assert 'lang="id"' in page.text and "Kirim Laporan" in page.text
    english = client.get("/lapor?lang=en")
    assert 'lang="en"' in english.text and "Send report" in english.text
    assert client.get("/lapor").text.count("Send report") == 1  # the choice is remembered


def test_filing_a_complaint_gives_a_code_and_a_status_page(
    client: TestClient, gateway: Gateway
) -> None:
    token = _token(client)
    photo = ("photos", ("jalan.jpg", image_bytes("JPEG"), "image/jpeg"))
    response = _submit(
        client,
        {
            "submission_id": token,
            "description": DESCRIPTION,
            "consent": "1",
            "name": "Budi Santoso",
            "phone": "0812 3456 7890",
            "location_text": "Lasem",
        },
        [photo],
    )
    assert response.status_code == 303
    code = response.headers["location"].split("/status/")[1].split("/")[0]
    assert normalize_code(code) == code
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    assert code in page.text and "Laporan Anda sudah kami terima" in page.text
    assert "Diterima" in page.text
    # No personal data on a page anyone with the code can open.
    for private in ("Budi", "0812", "+62812", DESCRIPTION[:20]):
        assert private not in page.text
    with gateway.db.read_session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert complaint is not None and complaint.original_text == DESCRIPTION
        attachment = session.scalar(select(Attachment))
        assert attachment is not None and attachment.content_type == "image/jpeg"
        stored = gateway.files.read(attachment.storage_key or "")
        # Cleaned on intake (decoded, no metadata, encoded again): a JPEG, not the upload.
        assert stored.startswith(b"\xff\xd8") and private_traces(stored) == []
        assert attachment.sha256 == hashlib.sha256(stored).hexdigest()


def test_submitting_the_same_form_twice_files_one_complaint(
    client: TestClient, gateway: Gateway
) -> None:
    data = {"submission_id": _token(client), "description": DESCRIPTION, "consent": "1"}
    first = _submit(client, data)
    second = _submit(client, data)
    assert first.headers["location"] == second.headers["location"]
    assert _count(gateway, Complaint) == 1


@pytest.mark.parametrize(
    ("data", "files", "expected"),
    [
        ({"description": "rusak"}, [], ["Uraian terlalu singkat", "menyetujui pemrosesan"]),
        ({"description": DESCRIPTION, "consent": "1", "phone": "12"}, [], ["Nomor HP tidak valid"]),
        (
            {"description": DESCRIPTION, "consent": "1"},
            [("photos", ("foto.jpg", b"#!/bin/sh\nrm -rf /\n", "image/jpeg"))],
            ["foto.jpg bukan foto"],
        ),
    ],
    ids=["short-no-consent", "bad-phone", "script-named-jpg"],
)
def test_invalid_forms_say_why_and_store_nothing(
    client: TestClient, gateway: Gateway, data: dict, files: list, expected: list[str]
) -> None:
    response = _submit(client, {"submission_id": _token(client), **data}, files)
    assert response.status_code == 422
    for text in expected:
        assert text in response.text
    assert data["description"] in response.text  # what they typed is kept
    assert _count(gateway, InboundMessage) == 0


def test_oversized_photo_is_refused_with_a_clear_message(
    client: TestClient, gateway: Gateway
) -> None:
    big = image_bytes("PNG", (1200, 1200))
    limit = gateway.settings.upload_max_bytes
    padded = big + b"\0" * (limit + 10 - len(big))
    response = _submit(
        client,
        {"submission_id": _token(client), "description": DESCRIPTION, "consent": "1"},
        [("photos", ("besar.png", padded, "image/png"))],
    )
    assert response.status_code == 422
    assert "besar.png terlalu besar; maksimal 5 MB" in response.text
    assert _count(gateway, InboundMessage) == 0


def test_hostile_text_is_escaped_when_shown_back(client: TestClient) -> None:
    hostile = '<script>alert("x")</script> jalan rusak di depan pasar'
    response = _submit(
        client,
        {
            "submission_id": _token(client),
            "description": hostile,
            "phone": "<img src=x onerror=alert(1)>",
        },
    )
    assert response.status_code == 422
    assert "<script>alert" not in response.text and "&lt;script&gt;" in response.text
    assert "<img src=x" not in response.text


def test_json_api_files_once_per_idempotency_key(client: TestClient, gateway: Gateway) -> None:
    body = {
        "description": DESCRIPTION,
        "consent": True,
        "phone": "081234567890",
        "photos": [
            {"filename": "a.png", "content_base64": base64.b64encode(image_bytes("PNG")).decode()}
        ],
    }
    first = client.post("/api/v1/complaints", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 202
    code = first.json()["tracking_code"]
    again = client.post("/api/v1/complaints", json=body, headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 200
    assert again.json() == {**first.json(), "duplicate": True}
    assert _count(gateway, Complaint) == 1 and _count(gateway, Attachment) == 1
    status = client.get(f"/api/v1/complaints/{code}")
    assert status.status_code == 200
    payload = status.json()
    assert payload["status"] == "received" and payload["status_label"] == "Diterima"
    assert [h["label"] for h in payload["history"]] == ["Laporan diterima"]
    assert "0812" not in status.text and "+62" not in status.text


def test_json_api_bad_input(client: TestClient, gateway: Gateway) -> None:
    not_json = client.post(
        "/api/v1/complaints", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400
    assert not_json.json()["message"] == "Badan permintaan bukan JSON yang valid."
    invalid = client.post("/api/v1/complaints?lang=en", json={"description": "x"})
    assert invalid.status_code == 422
    assert invalid.json()["errors"]["consent"].startswith("You need to agree")
    bad_photo = client.post(
        "/api/v1/complaints",
        json={
            "description": DESCRIPTION,
            "consent": True,
            "photos": [{"filename": "x.jpg", "content_base64": "!!!"}],
        },
    )
    assert bad_photo.status_code == 422 and "x.jpg" in bad_photo.json()["errors"]["photos"]
    assert _count(gateway, InboundMessage) == 0


def test_json_api_is_in_the_openapi_schema(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/api/v1/complaints"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert {"description", "consent", "photos"} <= set(body["properties"])
    assert {"202", "422", "503"} <= set(operation["responses"])
    # One model is the form's and the API's validator and this schema; its photo item is
    # written in place (a `#/$defs/...` reference would point nowhere in an OpenAPI document).
    assert set(body["properties"]) == set(webform.ComplaintIn.model_fields)
    assert "$defs" not in str(schema)
    assert body["properties"]["photos"]["items"]["properties"]["content_base64"]["type"] == "string"


def test_the_form_and_the_api_answer_the_same_words(client: TestClient) -> None:
    data = {"description": "pendek", "phone": "12", "latitude": "-6.7"}
    form = _submit(client, {"submission_id": _token(client), **data}, [])
    api = client.post("/api/v1/complaints", json=data)
    assert form.status_code == api.status_code == 422
    errors = api.json()["errors"]
    assert set(errors) == {"description", "phone", "latitude", "consent"}
    for message in errors.values():
        assert html.escape(message, quote=False) in form.text


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/status/LPR-AAAAAA", 404, "Kode pelacakan tidak valid"),  # check character wrong
        ("/status/hello", 404, "Kode pelacakan tidak valid"),
        ("/api/v1/complaints/LPR-AAAAAA", 404, "Kode pelacakan tidak valid"),
    ],
)
def test_unknown_or_mistyped_codes(client: TestClient, path: str, status: int, text: str) -> None:
    response = client.get(path)
    assert response.status_code == status and text in response.text


def test_a_valid_code_that_does_not_exist(client: TestClient) -> None:
    from gateway.complaints.tracking import new_code

    response = client.get(f"/status/{new_code()}")
    assert response.status_code == 404 and "tidak ditemukan" in response.text


def test_status_lookup_accepts_sloppy_typing(client: TestClient) -> None:
    body = {"description": DESCRIPTION, "consent": True}
    code = client.post("/api/v1/complaints", json=body).json()["tracking_code"]
    sloppy = " " + code.lower().replace("-", " ") + " "
    response = client.get("/status", params={"code": sloppy}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/status/{code}"


def test_database_down_is_a_clear_503(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(
        app_env="test",
        scheduler_enabled=False,
        data_dir=tmp_path,
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none",
        _env_file=None,
    )
    with TestClient(create_app(settings)) as client:
        api = client.post("/api/v1/complaints", json={"description": DESCRIPTION, "consent": True})
        assert api.status_code == 503
        assert "belum tersimpan" in api.json()["message"]
        page = client.post("/lapor", data={"description": DESCRIPTION, "consent": "1"})
        assert page.status_code == 503 and "Layanan sedang gangguan" in page.text
        assert "Traceback" not in page.text
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json()["database"] == "unreachable"


def test_healthz_reports_database_and_scheduler(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "scheduler": "disabled"}


def test_times_are_shown_in_the_deployments_time_zone(client: TestClient, gateway: Gateway) -> None:
    code = client.post(
        "/api/v1/complaints", json={"description": DESCRIPTION, "consent": True}
    ).json()["tracking_code"]
    from gateway.store.models import ComplaintEvent

    with gateway.db.read_session() as session:
        received = session.scalar(  # the history shows when each event happened
            select(ComplaintEvent.created_at)
            .join(Complaint, Complaint.id == ComplaintEvent.complaint_id)
            .where(Complaint.tracking_code == code)
        )
    assert received is not None
    from zoneinfo import ZoneInfo

    for zone in ("Asia/Jakarta", "Asia/Jayapura"):
        gateway.settings = gateway.settings.model_copy(update={"timezone": zone})
        shown = received.astimezone(ZoneInfo(zone)).strftime("%d-%m-%Y %H:%M")
        assert shown in client.get(f"/status/{code}").text
