"""Who is told about a status change: every reporter of the cluster on their own channel; a
web-form reporter who left a number also by SMS; the statuses are a setting."""

from __future__ import annotations

from sqlalchemy import select

from gateway.context import Gateway
from gateway.outbox import status_notices
from gateway.store.models import Complaint, Status
from tests.gateway.chat import Chat


def _web_complaint(client, phone: str | None, text: str | None = None) -> str:  # type: ignore[no-untyped-def]
    text = text or "Lampu jalan di depan balai desa Leteh mati seminggu"
    body = {"description": text, "consent": True}
    if phone:
        body["phone"] = phone
    return client.post("/api/v1/complaints", json=body).json()["tracking_code"]


def _notices(gateway: Gateway, code: str, status: Status) -> list[tuple[str | None, str | None]]:
    with gateway.db.session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert complaint is not None
        messages = status_notices.notices(
            gateway, session, complaint, status, event_key="t", answer="Sudah diperbaiki"
        )
        session.rollback()
    return [(m.channel, m.recipient) for m in messages]


def test_a_web_reporter_with_a_number_also_gets_an_sms(client, gateway: Gateway) -> None:  # type: ignore[no-untyped-def]
    gateway.settings = gateway.settings.model_copy(update={"twilio_sms_number": "+15005550006"})
    with_phone = _web_complaint(client, "0812 3456 7890")
    without = _web_complaint(client, None, "Bagaimana cara mengurus akta kelahiran anak?")
    routes = _notices(gateway, with_phone, Status.ANSWERED)
    assert ("twilio_sms", "+6281234567890") in routes
    assert any(channel == "webform" for channel, _ in routes)
    assert [c for c, _ in _notices(gateway, without, Status.ANSWERED)] == ["webform"]
    gateway.settings = gateway.settings.model_copy(update={"webform_sms_copies": False})
    assert [c for c, _ in _notices(gateway, with_phone, Status.ANSWERED)] == ["webform"]


def test_statuses_not_in_the_setting_stay_quiet(client, gateway: Gateway) -> None:  # type: ignore[no-untyped-def]
    code = _web_complaint(client, None)
    assert _notices(gateway, code, Status.ARCHIVED) == []  # not in the default list
    assert _notices(gateway, code, Status.VERIFIED) != []


def test_every_reporter_of_a_cluster_is_told_once(gateway: Gateway) -> None:
    codes = []
    for sender in ("+6281200000101", "+6281200000102"):
        chat = Chat(gateway, sender=sender)
        chat.send("halo")
        chat.send("ya")
        chat.send("Jembatan di Desa Sumbergirang Kecamatan Lasem ambrol, warga tidak bisa lewat")
        from gateway.complaints.tracking import find_code

        codes.append(find_code(chat.send("kirim")[0]))
    routes = _notices(gateway, codes[0], Status.ANSWERED)
    assert sorted(routes) == [("twilio_sms", "+6281200000101"), ("twilio_sms", "+6281200000102")]
