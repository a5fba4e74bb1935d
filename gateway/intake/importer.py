"""`lapor-gateway import-csv`: historical complaints through the same normalizer as live ones,
for migrating a regency's spreadsheet and for measuring the suggestions against what admins
decided. Each row goes through intake with an external id made of the file's hash and the row
number, so importing the same file twice imports nothing the second time.
"""

from __future__ import annotations

import csv
import hashlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from sqlalchemy import select
from sqlmodel import Session, col

from channels.base import InboundMessage as Message
from channels.base import Location
from gateway.clock import utcnow
from gateway.complaints.create import file_complaint
from gateway.intake import inbound as intake
from gateway.store.models import Agency, Category, Complaint, InboundMessage

if TYPE_CHECKING:
    from gateway.parts import Intake

CHANNEL = "import"
CATEGORY_WORDS = {
    "aspirasi": Category.ASPIRASI,
    "permintaan informasi": Category.PERMINTAAN_INFORMASI,
    "informasi": Category.PERMINTAAN_INFORMASI,
    "permintaan_informasi": Category.PERMINTAAN_INFORMASI,
    "pengaduan": Category.PENGADUAN,
    "pengaduan berkadar pengawasan": Category.PENGADUAN_BERKADAR_PENGAWASAN,
    "pengaduan_berkadar_pengawasan": Category.PENGADUAN_BERKADAR_PENGAWASAN,
}


class CsvImportError(ValueError):
    """The file cannot be imported as asked (a column is missing, say)."""


@dataclass(frozen=True)
class Columns:
    text: str
    category: str | None = None
    agency: str | None = None
    date: str | None = None
    source: str | None = None
    location: str | None = None


@dataclass
class Summary:
    rows: int = 0
    imported: int = 0
    skipped_empty: int = 0
    already_imported: int = 0
    merged: int = 0
    clustered: int = 0
    with_pii: int = 0
    class_checked: int = 0
    class_agreed: int = 0
    agency_checked: int = 0
    agency_top1: int = 0
    agency_top3: int = 0
    unknown_agencies: set[str] = field(default_factory=set)

    def lines(self) -> list[str]:
        out = [
            f"rows read:            {self.rows}",
            f"imported:             {self.imported}",
            f"already imported:     {self.already_imported}",
            f"empty rows skipped:   {self.skipped_empty}",
            f"merged (same sender): {self.merged}",
            f"clustered:            {self.clustered}",
            f"with personal data:   {self.with_pii}",
        ]
        if self.class_checked:
            out.append(
                "class suggestion agrees with the file: "
                + _pct(self.class_agreed, self.class_checked)
            )
        if self.agency_checked:
            out.append(
                f"agency suggestion top-1 agrees: {_pct(self.agency_top1, self.agency_checked)}"
            )
            out.append(
                f"agency suggestion in top 3:     {_pct(self.agency_top3, self.agency_checked)}"
            )
        if self.unknown_agencies:
            out.append(
                "agencies not in the directory: " + ", ".join(sorted(self.unknown_agencies)[:20])
            )
        return out


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}% ({part}/{whole})"


def _parse_date(value: str) -> datetime | None:
    value = value.strip()
    for fmt in (
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d",
        "%d/%m/%Y %H:%M",
        "%d/%m/%Y",
        "%d-%m-%Y",
    ):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _rows(handle: TextIO, columns: Columns) -> Iterator[dict[str, str]]:
    sample = handle.read(4096)
    handle.seek(0)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(handle, dialect=dialect)
    header = reader.fieldnames or []
    wanted = [
        c
        for c in (
            columns.text,
            columns.category,
            columns.agency,
            columns.date,
            columns.source,
            columns.location,
        )
        if c
    ]
    missing = [c for c in wanted if c not in header]
    if missing:
        raise CsvImportError(
            f"column(s) not in the file: {', '.join(missing)}; it has: {', '.join(header)}"
        )
    yield from reader


def _agency_lookup(session: Session) -> dict[str, Agency]:
    lookup: dict[str, Agency] = {}
    for agency in session.scalars(select(Agency)).all():
        lookup[agency.code.lower()] = agency
        lookup[agency.name.lower()] = agency
    return lookup


def process_import(gateway: Intake, session: Session, row: InboundMessage) -> None:
    """The processor for imported rows: one row is one complaint, as the file says."""
    extra = row.extra or {}
    assert row.assigned_code is not None  # imported rows get their code when stored
    complaint = Complaint(
        tracking_code=row.assigned_code,
        origin_channel=CHANNEL,
        source=extra.get("source") or "csv",
        language="id",
        original_text=row.text,
        location_text=row.location_label,
        category=extra.get("category") or None,
        received_at=row.received_at,
    )
    if extra.get("agency_id"):
        complaint.agency_id = int(extra["agency_id"])
    file_complaint(gateway, session, complaint, now=row.received_at, actor="import")
    row.complaint_id = complaint.id
    session.add(row)


def import_csv(
    gateway: Intake,
    path: Path,
    columns: Columns,
    *,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Summary:
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:16]
    summary = Summary()
    with gateway.db.read_session() as session:
        agencies = _agency_lookup(session)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for number, record in enumerate(_rows(handle, columns), start=1):
            if limit is not None and summary.rows >= limit:
                break
            summary.rows += 1
            if progress:
                progress(summary.rows)
            text = (record.get(columns.text) or "").strip()
            if not text:
                summary.skipped_empty += 1
                continue
            extra: dict[str, str] = {}
            given_class = None
            if columns.category:
                given_class = CATEGORY_WORDS.get(
                    (record.get(columns.category) or "").strip().lower()
                )
                if given_class:
                    extra["category"] = given_class.value
            given_agency = None
            if columns.agency:
                name = (record.get(columns.agency) or "").strip()
                given_agency = agencies.get(name.lower())
                if given_agency:
                    extra["agency_id"] = str(given_agency.id)
                elif name:
                    summary.unknown_agencies.add(name)
            if columns.source and record.get(columns.source):
                extra["source"] = record[columns.source].strip().lower()[:40]
            received = _parse_date(record.get(columns.date) or "") if columns.date else None
            location = (record.get(columns.location) or "").strip() if columns.location else ""
            message = Message(
                channel=CHANNEL,
                external_id=f"{digest}:{number}",
                sender=f"import:{digest}",
                received_at=received or utcnow(),
                text=text[: gateway.settings.complaint_max_chars * 4],
                extra=extra,
                location=Location(label=location[:500]) if location else None,
            )
            accepted = intake.accept(
                gateway.db,
                message,
                raw_payload=str(record)[:20000],
                raw_content_type="text/csv",
                assign_code=True,
            )
            if accepted.duplicate:
                summary.already_imported += 1
                continue
            intake.process(gateway, accepted.inbound_id)
            _account(gateway, accepted.inbound_id, summary, given_class, given_agency)
    return summary


def _account(
    gateway: Intake,
    inbound_id: int,
    summary: Summary,
    given_class: Category | None,
    given_agency: Agency | None,
) -> None:
    with gateway.db.read_session() as session:
        complaint = session.scalar(
            select(Complaint)
            .join(InboundMessage, col(InboundMessage.complaint_id) == col(Complaint.id))
            .where(col(InboundMessage.id) == inbound_id)
        )
        if complaint is None:
            return
        summary.imported += 1
        summary.with_pii += bool(complaint.pii_spans)
        if complaint.merged_into_id:
            summary.merged += 1
        elif complaint.cluster_id:
            summary.clustered += 1
        if given_class is not None and complaint.category_suggestions:
            summary.class_checked += 1
            summary.class_agreed += complaint.category_suggestions[0]["category"] == given_class
        if given_agency is not None:
            codes = [s["code"] for s in complaint.agency_suggestions]
            summary.agency_checked += 1
            summary.agency_top1 += bool(codes) and codes[0] == given_agency.code
            summary.agency_top3 += given_agency.code in codes[:3]


def progress_bar(total: int, out: TextIO = sys.stderr) -> Callable[[int], None]:
    """A plain text progress bar (no terminal tricks beyond a carriage return)."""
    width = 30

    def show(done: int) -> None:
        if total <= 0:
            return
        filled = min(width, width * done // total)
        out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            out.write("\n")
        out.flush()

    return show


def count_rows(path: Path) -> int:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return max(0, sum(1 for _ in csv.reader(handle)) - 1)
