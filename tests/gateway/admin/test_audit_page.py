"""The global audit log (issue 18): actions on complaints, users, agencies, liaison officers,
saved replies and the calendar in one filterable list, and as CSV; koordinators only."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from gateway.context import Gateway
from gateway.store.models import CalendarDay, Status
from tests.gateway.admin.conftest import Accounts, Admin, Directory
from tests.gateway.factories import make_complaint


def test_the_audit_log_lists_every_kind_of_change_and_exports_it(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory, accounts: Accounts
) -> None:
    koor = clients["koor"]
    complaint = make_complaint(gateway.db, Status.RECEIVED)
    assert (
        koor.post(
            f"/admin/complaints/{complaint.tracking_code}/assign", {"user_id": "me"}
        ).status_code
        == 303
    )
    created = koor.post(
        "/admin/users",
        {"username": "=cmd()", "password": "panjang sekali 123", "role": "viewer"},
    )
    assert created.status_code == 303
    assert (
        koor.post("/admin/agencies", {"code": "DINKES", "name": "Dinas Kesehatan"}).status_code
        == 303
    )
    assert (
        koor.post(
            "/admin/replies", {"title": "Terima kasih", "body_id": "Terima kasih {kode}"}
        ).status_code
        == 303
    )
    with gateway.db.session() as session:
        session.add(
            CalendarDay(
                day=date(2026, 12, 24),
                kind="holiday",
                name="Cuti bersama",
                reason="SKB",
                created_by=f"user:{accounts.koordinator}",
                created_at=datetime.now(UTC),
            )
        )
        session.commit()

    page = koor.get("/admin/audit").text
    for expected in (complaint.tracking_code, "=cmd()", "DINKES", "Terima kasih", "Cuti bersama"):
        assert expected in page, expected
    users_only = koor.get("/admin/audit?area=user").text
    assert (
        "=cmd()" in users_only
        and "DINKES" not in users_only
        and complaint.tracking_code not in users_only
    )
    by_subject = koor.get(f"/admin/audit?subject={complaint.tracking_code.lower()}").text
    assert complaint.tracking_code in by_subject and "DINKES" not in by_subject
    assert "audit-empty" in koor.get("/admin/audit?from=2030-01-01").text

    export = koor.get("/admin/audit.csv?area=user")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0] == ["waktu", "pelaku", "nama", "bagian", "tindakan", "subjek", "rincian"]
    assert [(r[1], r[2], r[3], r[4], r[5]) for r in rows[1:]] == [
        (f"user:{accounts.koordinator}", "koor", "user", "created", "'=cmd()")
    ]
    assert clients["pupr"].get("/admin/audit").status_code == 403
    assert clients["pupr"].get("/admin/audit.csv").status_code == 403
