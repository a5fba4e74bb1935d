"""The Ombudsman package (issue 18): the month's escalated complaints with the deadline missed
and the timeline, as a printable page and XLSX — masked text, no reporter, no internal notes."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from openpyxl import load_workbook
from sqlalchemy import select

from gateway.context import Gateway
from gateway.store.models import Complaint, ComplaintEvent, ComplaintNote, Reporter, Status
from tests.gateway.admin.conftest import Admin, Directory
from tests.gateway.factories import make_complaint

NOTE = "Catatan internal: kepala dinas sedang cuti"


def test_the_package_lists_escalated_complaints_without_people_or_notes(
    clients: dict[str, Admin], gateway: Gateway, directory: Directory
) -> None:
    with gateway.db.session() as session:
        reporter = Reporter(display_name="Siti Aminah", phone="+6281234567890")
        session.add(reporter)
        session.commit()
        reporter_id = reporter.id
    late = make_complaint(
        gateway.db,
        Status.DISPOSED,
        agency_id=directory.dpupr,
        reporter_id=reporter_id,
        title="Jalan rusak Lasem",
        masked_text="Jalan rusak, hubungi 0812 3456 7890",
        category="pengaduan",
        disposed_at=datetime(2026, 10, 1, 3, 0, tzinfo=UTC),
        answer_due_at=datetime(2026, 10, 21, 9, 0, tzinfo=UTC),
        escalated=True,
        escalated_at=datetime(2026, 10, 22, 1, 0, tzinfo=UTC),
        answered_at=datetime(2026, 10, 23, 10, 0, tzinfo=UTC),
    )
    make_complaint(  # escalated in another month
        gateway.db,
        Status.DISPOSED,
        escalated=True,
        escalated_at=datetime(2026, 9, 3, tzinfo=UTC),
        title="Bulan lalu",
    )
    with gateway.db.session() as session:
        complaint = session.get(Complaint, late.id)
        session.add(
            ComplaintEvent(
                complaint_id=late.id,  # type: ignore[arg-type]
                actor="system",
                action="escalated",
                note="2026-10-21",
                created_at=datetime(2026, 10, 22, 1, 0, tzinfo=UTC),
            )
        )
        session.add(ComplaintNote(complaint_id=late.id, author="user:1", body=NOTE))  # type: ignore[arg-type]
        session.commit()
        assert complaint is not None
    koor = clients["koor"]
    page = koor.get("/admin/ombudsman?month=2026-10").text
    assert late.tracking_code in page and "Bulan lalu" not in page
    assert "Dinas Pekerjaan Umum" in page and "Terlambat dijawab" in page
    assert "terlambat 2 hari" in page  # answered two days after the deadline
    for secret in ("Siti Aminah", "0812 3456 7890", "+6281234567890", NOTE):
        assert secret not in page, secret
    assert "[TELEPON]" in page

    xlsx = koor.get("/admin/ombudsman/2026-10.xlsx")
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    complaints, timeline = book.worksheets
    rows = list(complaints.iter_rows(min_row=3, values_only=True))
    assert [r[0] for r in rows] == [late.tracking_code]
    assert rows[0][3] == "Dinas Pekerjaan Umum" and rows[0][7] == "21-10-2026 16:00"
    assert rows[0][10] == 2
    assert "[TELEPON]" in rows[0][12]
    flat = repr([list(r) for r in complaints.iter_rows(values_only=True)]) + repr(
        [list(r) for r in timeline.iter_rows(values_only=True)]
    )
    for secret in ("Siti Aminah", "0812", NOTE):
        assert secret not in flat, secret
    steps = [r for r in timeline.iter_rows(min_row=2, values_only=True)]
    assert any(r[2].startswith("Terlambat dijawab") and r[3] == "Sistem" for r in steps)
    assert "ombudsman-none" in koor.get("/admin/ombudsman?month=2026-08").text
    assert koor.get("/admin/ombudsman?month=bukan").status_code == 404
    assert clients["pupr"].get("/admin/ombudsman").status_code == 403
    with gateway.db.read_session() as session:
        assert session.scalar(select(ComplaintNote.body)) == NOTE  # still there, inside
