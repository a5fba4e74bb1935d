"""Web-form reporters can finish (issue 10, section 4): they were told "Balas PUAS atau TIDAK
PUAS" but had nowhere to reply. Their private link (`/status/{code}/{token}`, given on the
confirmation page, in the JSON answer and in SMS copies) opens the answer with its proof photos
and a PUAS / TIDAK PUAS form that counts exactly like a chat reply; the public status page stays
without photos, form or link."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.complaints import workflow
from gateway.context import Gateway
from gateway.store.models import Complaint, OutboxItem, Status
from tests.gateway import clusters
from tests.gateway.clusters import ANSWER
from tests.images import image_bytes

S = Status
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _answered(gateway: Gateway, code: str, agency: int, *, photo: bool = True) -> None:
    """Verified, disposed, and answered by the agency with a proof photo."""
    clusters.verify(gateway, code)
    clusters.dispose(gateway, code, agency)
    photos = [(gateway.files.put(image_bytes("JPEG"), "image/jpeg"), "hasil.jpg")] if photo else []
    clusters.answer(gateway, code, photos=photos)


def _form_token(client: TestClient, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, page.text[:300]
    match = CSRF.search(page.text)
    assert match, "no feedback form on the page"
    return match.group(1)


def test_the_confirmation_is_the_private_page_and_the_public_page_keeps_it_private(
    client: TestClient, gateway: Gateway
) -> None:
    token = client.get("/lapor").text.split('name="submission_id" value="')[1][:32]
    response = client.post(
        "/lapor",
        data={
            "submission_id": token,
            "description": clusters.ROAD,
            "consent": "1",
            "phone": "0812 3456 7001",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    location = response.headers["location"]
    code, secret = location.split("?")[0].split("/")[2:4]
    assert location == f"/status/{code}/{secret}?baru=1" and len(secret) >= 22
    page = client.get(location).text
    assert code in page and "Laporan Anda sudah kami terima" in page
    assert f"/status/{code}/{secret}" in page and "Simpan tautan ini" in page
    public = client.get(f"/status/{code}")
    assert public.status_code == 200 and secret not in public.text
    # The JSON twin hands the same link to the client that filed it.
    data = client.post("/api/v1/complaints", json={"description": clusters.ROAD, "consent": True})
    body = data.json()
    assert body["private_url"].startswith(f"http://127.0.0.1:8000/status/{body['tracking_code']}/")


def test_a_wrong_or_borrowed_token_is_not_found(client: TestClient, gateway: Gateway) -> None:
    mine, my_link = clusters.by_web(client)
    other, _other_link = clusters.by_web(client, "Lampu jalan di Desa Leteh Rembang mati total")
    secret = my_link.rsplit("/", 1)[1]
    assert client.get(my_link).status_code == 200
    for url in (
        f"/status/{mine.code}/{secret[:-1]}x",
        f"/status/{other.code}/{secret}",  # my token does not open another complaint
        f"/status/LPR-7K3M9Q/{secret}",  # nor a code that does not exist
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Halaman tidak ditemukan" in response.text and secret not in response.text
    response = client.post(f"/status/{other.code}/{secret}", data={"choice": "puas"})
    assert response.status_code == 404


def test_a_web_reporter_reads_the_answer_with_its_photo_and_says_puas(
    client: TestClient, gateway: Gateway
) -> None:
    agency = clusters.directory(gateway)
    reporter, link = clusters.by_web(client)
    public_before = client.get(f"/status/{reporter.code}").text
    _answered(gateway, reporter.code, agency)
    page = client.get(link).text
    assert ANSWER in page
    photos = re.findall(r'<img src="([^"]+)"', page)
    assert len(photos) == 1 and "/media/" in photos[0]
    image = client.get(photos[0].replace("http://127.0.0.1:8000", ""))
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    # The public page: no photo, no form, no private link (anyone may hold the code).
    public = client.get(f"/status/{reporter.code}").text
    assert "/media/" not in public and 'id="feedback-form"' not in public
    assert link.rsplit("/", 1)[1] not in public and "<img" not in public_before
    # The answer they read on their status page points them to the private link.
    told = clusters.texts_to(gateway, reporter)
    assert any("tautan pribadi" in text for text in told), told
    assert not any("Balas PUAS" in text for text in told), told

    csrf = _form_token(client, link)
    response = client.post(
        link,
        data={"csrf_token": csrf, "choice": "puas", "comment": "Sudah rata, terima kasih"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"].endswith("?ok=thanks")
    assert "tanggapan Anda sudah kami terima" in client.get(response.headers["location"]).text
    complaint = clusters.complaint(gateway, reporter.code)
    assert complaint.status == S.CLOSED
    assert "closed" in clusters.actions_of(gateway, reporter.code)
    # Closed now: the form is gone and a second answer is refused with a readable message.
    assert 'id="feedback-form"' not in client.get(link).text
    again = client.post(link, data={"csrf_token": csrf, "choice": "tidak_puas"})
    assert again.status_code == 409 and "tidak menunggu tanggapan" in again.text


def test_the_feedback_reaches_the_core_like_a_chat_reply(
    client: TestClient, gateway: Gateway
) -> None:
    agency = clusters.directory(gateway)
    reporter, link = clusters.by_web(client)
    _answered(gateway, reporter.code, agency, photo=False)
    with gateway.db.session() as session:
        complaint = session.scalar(
            select(Complaint).where(Complaint.tracking_code == reporter.code)
        )
        workflow.record(
            session, complaint, actor="core", action="core_submitted", changes={"core_ref": "C-9"}
        )  # type: ignore[arg-type]
        session.commit()
    csrf = _form_token(client, link)
    response = client.post(
        link,
        data={"csrf_token": csrf, "choice": "tidak_puas", "comment": "Lubangnya masih ada"},
        follow_redirects=False,
    )
    assert response.headers["location"].endswith("?ok=reopened")
    assert clusters.complaint(gateway, reporter.code).status == S.IN_PROGRESS
    with gateway.db.read_session() as session:
        rows = session.scalars(select(OutboxItem).where(OutboxItem.kind == "core_feedback")).all()
    assert [(r.payload["core_id"], r.payload["text"]) for r in rows] == [
        ("C-9", "TIDAK PUAS: Lubangnya masih ada")
    ]


def test_the_form_explains_what_is_wrong_and_refuses_without_its_token(
    client: TestClient, gateway: Gateway
) -> None:
    agency = clusters.directory(gateway)
    reporter, link = clusters.by_web(client)
    _answered(gateway, reporter.code, agency, photo=False)
    csrf = _form_token(client, link)
    forged = client.post(link, data={"choice": "puas"})
    assert forged.status_code == 403 and "Formulir kedaluwarsa" in forged.text
    other = TestClient(client.app, base_url="http://127.0.0.1:8000")  # no cookie: a forged post
    assert other.post(link, data={"csrf_token": csrf, "choice": "puas"}).status_code == 403
    missing = client.post(link, data={"csrf_token": csrf, "comment": "<b>halo</b>"})
    assert missing.status_code == 422 and "Pilih PUAS atau TIDAK PUAS" in missing.text
    assert "&lt;b&gt;halo&lt;/b&gt;" in missing.text and "<b>halo</b>" not in missing.text
    long = client.post(link, data={"csrf_token": csrf, "choice": "puas", "comment": "x" * 1001})
    assert long.status_code == 422 and "maksimal 1000" in long.text
    english = client.post(f"{link}?lang=en", data={"csrf_token": csrf})
    assert english.status_code == 422 and "Choose SATISFIED or NOT SATISFIED" in english.text
    assert clusters.complaint(gateway, reporter.code).status == S.ANSWERED  # nothing changed


def test_the_sms_copy_of_the_answer_carries_the_private_link(
    client: TestClient, gateway: Gateway
) -> None:
    gateway.settings = gateway.settings.model_copy(update={"twilio_sms_number": "+15005550006"})
    agency = clusters.directory(gateway)
    reporter, link = clusters.by_web(client, phone="0812 3456 7002")
    _answered(gateway, reporter.code, agency, photo=False)
    with gateway.db.read_session() as session:
        sms = session.scalars(
            select(OutboxItem)
            .where(OutboxItem.channel == "twilio_sms")
            .where(OutboxItem.recipient == "+6281234567002")
        ).all()
    answers = [row.payload["text"] for row in sms if ANSWER in row.payload["text"]]
    assert len(answers) == 1 and answers[0].endswith(link)
    # The status page (public) copy never carries it.
    assert not any(link in text for text in clusters.texts_to(gateway, reporter))


def test_a_web_reporters_puas_counts_for_the_whole_case(
    client: TestClient, gateway: Gateway
) -> None:
    agency = clusters.directory(gateway)
    primary = clusters.by_chat(gateway, "twilio_sms", "+6281230000001")
    web, link = clusters.by_web(client)
    assert clusters.complaint(gateway, web.code).cluster_id == (
        clusters.complaint(gateway, primary.code).id
    )
    _answered(gateway, primary.code, agency)
    # The answer and its photo were given on the primary: the follower's page finds them.
    page = client.get(link).text
    assert ANSWER in page and len(re.findall(r'<img src="[^"]+/media/', page)) == 1
    primary.says("PUAS")
    csrf = _form_token(client, link)
    response = client.post(link, data={"csrf_token": csrf, "choice": "puas"})
    assert response.status_code == 200  # followed the redirect
    for reporter in (primary, web):
        assert clusters.complaint(gateway, reporter.code).status == S.CLOSED
