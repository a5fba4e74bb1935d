"""The leak issue 18 names: the koordinator's disposition note was the text of the public
`disposed` event. It is now an internal note for the agency — on the liaison officer's page,
never on the status page, its JSON, the reporter's private page, /publikasi, the core's report or
any message — and migration workplace_0001 moves the notes already stored out of the events."""

from __future__ import annotations

import html
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlmodel import Session

from gateway.context import Gateway
from gateway.store.db import Database
from gateway.store.migrate import upgrade
from gateway.store.models import Complaint, ComplaintEvent, ComplaintNote, OutboxItem
from tests.gateway.admin.conftest import Admin, Directory
from tests.gateway.admin.test_privacy import (  # noqa: F401  (fixtures)
    _core_report,
    _dispatch,
    _file_by_form,
    _verify_and_dispose,
    core,
    settings,
)
from tests.gateway.test_migration_attachment_repairs import fresh_db  # noqa: F401  (fixture)

NOTE = "Catatan internal: pelapor ini sering mengadu"  # what _verify_and_dispose writes


def test_the_disposition_note_is_an_agency_note_and_leaves_by_no_door(
    clients: dict[str, Admin],
    gateway: Gateway,
    directory: Directory,
    core,  # noqa: F811
) -> None:
    code = _file_by_form(clients["anonymous"])
    _verify_and_dispose(clients["koor"], code, directory.dpupr, "Jalan rusak")
    _dispatch(gateway)
    with gateway.db.read_session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert complaint is not None
        disposed = session.scalar(
            select(ComplaintEvent).where(
                ComplaintEvent.complaint_id == complaint.id, ComplaintEvent.action == "disposed"
            )
        )
        notes = session.scalars(select(ComplaintNote)).all()
        outgoing = session.scalars(select(OutboxItem)).all()
    assert disposed is not None and disposed.public and disposed.note is None
    assert [(n.body, n.for_agency) for n in notes] == [(NOTE, True)]
    assert all(NOTE not in repr(item.payload) for item in outgoing)
    assert NOTE not in repr(_core_report(core, code))

    assert NOTE in html.unescape(clients["pupr"].get(f"/admin/complaints/{code}").text)
    anonymous = clients["anonymous"]
    private = gateway.reporter_links.path(code)
    for url in (f"/status/{code}", f"/api/v1/complaints/{code}", private):
        response = anonymous.get(url)
        assert response.status_code == 200, url
        assert NOTE not in html.unescape(response.text), url


def test_the_migration_moves_stored_disposition_notes_out_of_the_public_event(
    fresh_db: Database,  # noqa: F811
) -> None:
    upgrade(fresh_db.engine, "citizen_0001")
    at = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
    with fresh_db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO complaint (id, tracking_code, origin_channel, language, "
                "original_text, clean_text, masked_text, title, pii_spans, dedup_signature, "
                "category_suggestions, agency_suggestions, place_suggestion, anonim, rahasia, "
                "status, escalated, received_at, created_at, updated_at, version) VALUES "
                "(1, 'LPR-AAAAA1', 'webform', 'id', 't', 't', 't', 't', '[]', '', '[]', '[]', "
                "'{}', :no, :no, 'disposed', :no, :at, :at, :at, 1)"
            ),
            {"no": False, "at": at},
        )
        for id_, action, note in ((1, "disposed", NOTE), (2, "pending", "Mohon kirim foto")):
            conn.execute(
                text(
                    "INSERT INTO complaint_event (id, complaint_id, actor, action, before, "
                    "after, note, public, created_at) VALUES (:id, 1, 'user:1', :action, '{}', "
                    "'{}', :note, :yes, :at)"
                ),
                {"id": id_, "action": action, "note": note, "yes": True, "at": at},
            )
    upgrade(fresh_db.engine)
    with Session(fresh_db.engine) as session:
        events = {e.action: e.note for e in session.scalars(select(ComplaintEvent))}
        notes = session.scalars(select(ComplaintNote)).all()
    assert events == {"disposed": None, "pending": "Mohon kirim foto"}
    assert [(n.complaint_id, n.author, n.body, n.for_agency) for n in notes] == [
        (1, "user:1", NOTE, True)
    ]
