"""Who may open which admin page and post which form: every role against every admin route.

Anonymous visitors are sent to the login page (GET) or refused with 401 (POST); a liaison
officer sees only complaints disposed to their own agency (anything else is 404, as if it did
not exist); a viewer sees the reports and nothing else (403); a liaison officer's reports are
limited to their own agency (tests/gateway/sla/test_report_pages.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.admin.complaint_view import KOORDINATOR_ACTIONS, LIAISON_ACTIONS
from gateway.complaints import workflow
from gateway.context import Gateway
from gateway.store.models import (
    Attachment,
    Complaint,
    Liaison,
    OutboxItem,
    OutboxStatus,
    Reporter,
    Status,
)
from tests.gateway.admin.conftest import Accounts, Admin, Directory, csrf_of, login
from tests.gateway.factories import make_complaint
from tests.images import image_bytes

ROLES = ("anonymous", "koor", "pupr", "dlh", "lihat")
OK = "ok"  # any answer that is not about who you are: 2xx, 3xx, 409, 422


@dataclass(frozen=True)
class World:
    own: str  # disposed to DPUPR (the "pupr" liaison's agency)
    fresh: str  # received, not disposed to anyone yet
    own_photo: int
    fresh_photo: int
    dead_letter: int
    liaison: int


@pytest.fixture
def world(gateway: Gateway, directory: Directory, accounts: Accounts) -> World:
    own = make_complaint(
        gateway.db,
        Status.DISPOSED,
        agency_id=directory.dpupr,
        reply_channel="webform",
        reply_address="web:a",
    )
    fresh = make_complaint(
        gateway.db, Status.RECEIVED, reply_channel="webform", reply_address="web:b"
    )
    stored = gateway.files.put(image_bytes("JPEG"), "image/jpeg")
    with gateway.db.session() as session:
        photos = [
            Attachment(
                complaint_id=c.id,
                storage_key=stored.key,
                content_type="image/jpeg",
                sha256=stored.sha256,
                size=stored.size,
            )
            for c in (own, fresh)
        ]
        dead = OutboxItem(
            kind="reply",
            idempotency_key="dead-1",
            complaint_id=own.id,
            channel="webform",
            recipient="web:a",
            status=OutboxStatus.DEAD,
            last_error="blocked",
        )
        session.add_all([*photos, dead])
        session.commit()
        liaison = session.scalar(select(Liaison.id).where(Liaison.agency_id == directory.dlh))
        return World(
            own.tracking_code,
            fresh.tracking_code,
            photos[0].id,
            photos[1].id,  # type: ignore[arg-type]
            dead.id,
            liaison,
        )  # type: ignore[arg-type]


def _expect(anonymous: object, koor: object, pupr: object, dlh: object, lihat: object) -> dict:
    return dict(zip(ROLES, (anonymous, koor, pupr, dlh, lihat), strict=True))


KOORDINATOR_PAGE = _expect(303, 200, 403, 403, 403)
KOORDINATOR_FORM = _expect(401, OK, 403, 403, 403)


def _routes(w: World, accounts: Accounts, directory: Directory) -> list[tuple[str, str, dict]]:
    routes: list[tuple[str, str, dict]] = [
        ("GET", "/admin", _expect(303, 200, 200, 200, 303)),  # a viewer goes to the reports
        ("GET", "/admin/reports", _expect(303, 200, 200, 200, 200)),
        ("GET", "/admin/reports/export?format=csv", _expect(303, 200, 200, 200, 200)),
        ("GET", "/admin/digest", KOORDINATOR_PAGE),
        ("GET", "/admin/holidays", KOORDINATOR_PAGE),
        ("POST", "/admin/holidays", KOORDINATOR_FORM),
        ("POST", "/admin/holidays/1/remove", KOORDINATOR_FORM),
        ("GET", f"/admin/complaints/{w.own}", _expect(303, 200, 200, 404, 403)),
        ("GET", f"/admin/complaints/{w.fresh}", _expect(303, 200, 404, 404, 403)),
        ("GET", "/admin/complaints/LPR-22222X", _expect(303, 404, 404, 404, 403)),
        ("GET", f"/admin/attachments/{w.own_photo}", _expect(303, 200, 200, 404, 403)),
        ("GET", f"/admin/attachments/{w.fresh_photo}", _expect(303, 200, 404, 404, 403)),
        ("GET", "/admin/entry", KOORDINATOR_PAGE),
        ("GET", "/admin/lapor", KOORDINATOR_PAGE),
        ("GET", "/admin/users", KOORDINATOR_PAGE),
        ("GET", "/admin/agencies", KOORDINATOR_PAGE),
        ("GET", "/admin/outbox", KOORDINATOR_PAGE),
        ("POST", "/admin/entry", KOORDINATOR_FORM),
        ("POST", "/admin/lapor", KOORDINATOR_FORM),
        ("POST", "/admin/users", KOORDINATOR_FORM),
        ("POST", f"/admin/users/{accounts.viewer}", KOORDINATOR_FORM),
        ("POST", f"/admin/users/{accounts.viewer}/password", KOORDINATOR_FORM),
        ("POST", f"/admin/users/{accounts.viewer}/unlock", KOORDINATOR_FORM),
        ("POST", "/admin/agencies", KOORDINATOR_FORM),
        ("POST", f"/admin/agencies/{directory.dlh}", KOORDINATOR_FORM),
        ("POST", f"/admin/agencies/{directory.dlh}/liaisons", KOORDINATOR_FORM),
        ("POST", f"/admin/liaisons/{w.liaison}", KOORDINATOR_FORM),
        ("POST", f"/admin/outbox/{w.dead_letter}/resend", KOORDINATOR_FORM),
        ("POST", f"/admin/attachments/{w.own_photo}/retry", KOORDINATOR_FORM),
        ("GET", "/admin/unreadable", KOORDINATOR_PAGE),
        ("POST", "/admin/unreadable/999/read", KOORDINATOR_FORM),
        ("POST", "/admin/unreadable/999/dismiss", KOORDINATOR_FORM),
        ("GET", "/admin/simulator", KOORDINATOR_PAGE),
        ("POST", "/admin/simulator", KOORDINATOR_FORM),
    ]
    for action in sorted({*KOORDINATOR_ACTIONS, *LIAISON_ACTIONS}):
        koor = OK if action in KOORDINATOR_ACTIONS else 403
        liaison_own, liaison_other = (OK, 404) if action in LIAISON_ACTIONS else (403, 403)
        routes.append(
            (
                "POST",
                f"/admin/complaints/{w.own}/{action}",
                _expect(401, koor, liaison_own, liaison_other, 403),
            )
        )
        if action in LIAISON_ACTIONS:
            # Not yet disposed to anyone: a liaison officer cannot even see it.
            routes.append(
                ("POST", f"/admin/complaints/{w.fresh}/{action}", _expect(401, koor, 404, 404, 403))
            )
    routes.append(("POST", "/admin/logout", _expect(303, 303, 303, 303, 303)))
    return routes


def _matches(expected: object, status: int) -> bool:
    if expected == OK:
        return status < 500 and status not in (401, 403, 404)
    return status == expected


def test_the_matrix_covers_every_admin_route(
    app, gateway: Gateway, directory: Directory, accounts: Accounts, world: World
) -> None:  # type: ignore[no-untyped-def]
    import re

    from fastapi.routing import APIRoute

    tested = [(method, url) for method, url, _ in _routes(world, accounts, directory)]
    missing = []
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.path.startswith("/admin"):
            continue
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", route.path) + "$")
        for method in route.methods - {"HEAD"}:
            if not any(m == method and pattern.match(url) for m, url in tested):
                missing.append(f"{method} {route.path}")
    assert missing == []


@pytest.mark.parametrize("role", ROLES)
def test_every_role_against_every_admin_route(
    app, gateway: Gateway, directory: Directory, accounts: Accounts, world: World, role: str
) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        if role != "anonymous":
            assert login(client, role).status_code == 303
        user = Admin(client)
        mismatches = []
        for method, url, expected in _routes(world, accounts, directory):
            if method == "GET":
                status = client.get(url, follow_redirects=False).status_code
            elif url == "/admin/logout":
                status = user.post(url).status_code
            else:
                status = user.post(url, {"reason": "x", "text": "x"}).status_code
            if not _matches(expected[role], status):
                mismatches.append(f"{method} {url}: expected {expected[role]}, got {status}")
        assert mismatches == []


def test_the_viewer_lands_on_the_reports_page(clients: dict[str, Admin]) -> None:
    page = clients["lihat"].get("/admin")
    assert "Laporan dan rekap" in page.text and "inbox-table" not in page.text


def test_a_liaison_inbox_lists_only_their_agencys_disposed_complaints(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    mine = make_complaint(gateway.db, Status.IN_PROGRESS, agency_id=directory.dpupr)
    theirs = make_complaint(gateway.db, Status.DISPOSED, agency_id=directory.dlh)
    not_yet = make_complaint(gateway.db, Status.VERIFIED, agency_id=directory.dpupr)
    page = clients["pupr"].get("/admin").text
    assert mine.tracking_code in page
    assert theirs.tracking_code not in page and not_yet.tracking_code not in page
    everything = clients["koor"].get("/admin").text
    assert all(c.tracking_code in everything for c in (mine, theirs, not_yet))


@pytest.mark.parametrize("anonim", [True, False])
def test_a_liaison_reads_the_masked_text_and_the_reporter_only_when_not_anonim(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory, anonim: bool
) -> None:
    with gateway.db.session() as session:
        reporter = Reporter(display_name="Siti Rahayu", phone="+6281298765432")
        session.add(reporter)
        session.commit()
    complaint = make_complaint(
        gateway.db,
        Status.DISPOSED,
        agency_id=directory.dpupr,
        reporter_id=reporter.id,
        anonim=anonim,
        original_text="Saya Siti Rahayu, HP 081298765432, jalan rusak",
        masked_text="Saya [NAMA], HP [TELEPON], jalan rusak",
    )
    with gateway.db.session() as session:
        row = session.get(Complaint, complaint.id)
        workflow.record(
            session,
            row,
            actor="reporter",
            action="reporter_message",  # type: ignore[arg-type]
            note="Rumah saya nomor 12, hubungi 081298765432",
        )
        workflow.commit(session)
    page = clients["pupr"].get(f"/admin/complaints/{complaint.tracking_code}").text
    assert "[NAMA], HP [TELEPON]" in page
    assert "081298765432" not in page and "Rumah saya nomor 12" not in page
    assert ("Siti Rahayu" in page) is not anonim
    assert ("+6281298765432" in page) is not anonim
    full = clients["koor"].get(f"/admin/complaints/{complaint.tracking_code}").text
    assert "Siti Rahayu" in full and "Rumah saya nomor 12" in full


def test_the_login_page_sends_a_logged_in_user_to_the_inbox(clients: dict[str, Admin]) -> None:
    response = clients["koor"].get("/admin/login", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    assert csrf_of(clients["anonymous"].get("/admin/login").text)
