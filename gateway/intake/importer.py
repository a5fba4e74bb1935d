"""`lapor-gateway import-csv`: historical complaints through the same normalizer as live ones,
for migrating a regency's spreadsheet and for measuring the suggestions against what admins
decided, and for training agency routing (rows with an agency are labelled examples for
`lapor-gateway train-router`). Dates are read by `normalizer.dates.parse_date` (ISO, day-first,
Indonesian month names, Twitter's `created_at`, epoch); a date or a category the importer cannot
read is reported with its line numbers, never silently replaced. Each row goes through intake
with an external id made of the file's hash and the row number, so importing the same file
twice imports nothing the second time.

Exports of regional complaint systems without a public API (LaporGub Jateng and the like) come
in with `--source` (`laporgub`): the source names the system, its profile knows the export's
usual column headers (any of them may be given explicitly), and a row's own id in that system
is the idempotency key — `<source>:<id>` — so the next, longer export of the same system
imports only what is new, whatever the file. The id and the link to the report there are kept
(`Complaint.source`, `source_url`, the inbound row), so an admin can answer at the source. An
`.xlsx` file (openpyxl, the first sheet, the first row as header) reads like a CSV file.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from channels.base import InboundMessage as Message
from channels.base import Location
from gateway.clock import utcnow
from gateway.complaints import workflow
from gateway.complaints.create import file_complaint
from gateway.intake import inbound as intake
from gateway.store.models import Agency, Category, Complaint, InboundMessage
from normalizer.dates import parse_date

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
    id: str | None = None  # the row's id in the system it was exported from
    link: str | None = None  # the report's address in that system


# The regional systems whose exports the importer knows: the headers their exports are seen
# with, per field, tried in order (case and spacing ignored). No public export format is
# documented for LaporGub Jateng: these are the headers of its admin export and of the usual
# hand-made spreadsheets; a different export names its columns with the --*-column options.
SOURCE_PROFILES: dict[str, dict[str, tuple[str, ...]]] = {
    "laporgub": {
        "id": (
            "no tiket",
            "nomor tiket",
            "id aduan",
            "no aduan",
            "nomor aduan",
            "kode aduan",
            "id",
        ),
        "text": ("isi aduan", "isi laporan", "aduan", "uraian", "isi", "deskripsi"),
        "date": ("tanggal aduan", "tanggal masuk", "tanggal", "waktu", "created_at"),
        "category": ("jenis aduan", "klasifikasi", "kategori", "jenis"),
        "agency": ("opd", "opd tujuan", "instansi", "dinas", "disposisi"),
        "location": ("lokasi", "alamat", "lokasi kejadian"),
        "link": ("link", "tautan", "url", "link aduan"),
    },
}
SOURCE_NAMES = tuple(SOURCE_PROFILES)


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
    # Category values that are none of the four classes: value -> how many rows.
    unknown_categories: dict[str, int] = field(default_factory=dict)
    # Lines of the file whose date could not be read (imported with the time of the import).
    unreadable_dates: list[int] = field(default_factory=list)
    unreadable_date_examples: list[str] = field(default_factory=list)

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
        if self.unknown_categories:
            listed = sorted(self.unknown_categories.items(), key=lambda kv: (-kv[1], kv[0]))
            out.append(
                "categories not understood (left for the admin to classify): "
                + ", ".join(f"{value!r} ({n} rows)" for value, n in listed[:20])
            )
        if self.unreadable_dates:
            rows = ", ".join(map(str, self.unreadable_dates[:20]))
            more = " ..." if len(self.unreadable_dates) > 20 else ""
            examples = ", ".join(repr(e) for e in self.unreadable_date_examples)
            out.append(
                f"dates not understood: {len(self.unreadable_dates)} rows (lines {rows}{more}), "
                f"e.g. {examples}; imported with the time of the import"
            )
        return out


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}% ({part}/{whole})"


def _wanted(columns: Columns) -> list[str]:
    return [
        c
        for c in (
            columns.text,
            columns.category,
            columns.agency,
            columns.date,
            columns.source,
            columns.location,
            columns.id,
            columns.link,
        )
        if c
    ]


def _check_header(header: list[str], columns: Columns) -> None:
    missing = [c for c in _wanted(columns) if c not in header]
    if missing:
        raise CsvImportError(
            f"column(s) not in the file: {', '.join(missing)}; it has: {', '.join(header)}"
        )


def _rows(handle: TextIO, columns: Columns) -> Iterator[dict[str, str]]:
    sample = handle.read(4096)
    handle.seek(0)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(handle, dialect=dialect)
    _check_header(list(reader.fieldnames or []), columns)
    yield from reader


def is_xlsx(path: Path) -> bool:
    return path.suffix.lower() in (".xlsx", ".xlsm")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an id typed as a number: 1234.0 is "1234"
    return str(value).strip()


def _xlsx_table(path: Path) -> tuple[list[str], list[list[str]]]:
    """The first sheet: its first row is the header. read_only keeps a big export cheap."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise CsvImportError(f"not a readable XLSX file: {type(exc).__name__}") from exc
    try:
        sheet = book.worksheets[0]
        rows = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    rows = [r for r in rows if any(r)]
    if not rows:
        return [], []
    header = [h or f"kolom{i + 1}" for i, h in enumerate(rows[0])]
    return header, rows[1:]


def header_of(path: Path) -> list[str]:
    if is_xlsx(path):
        return _xlsx_table(path)[0]
    with open(path, encoding="utf-8-sig", newline="") as handle:
        sample = handle.read(4096)
        handle.seek(0)
        try:
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
                sample, delimiters=",;\t"
            )
        except csv.Error:
            dialect = csv.excel
        return list(csv.DictReader(handle, dialect=dialect).fieldnames or [])


def _records(path: Path, columns: Columns) -> Iterator[dict[str, str]]:
    if is_xlsx(path):
        header, rows = _xlsx_table(path)
        _check_header(header, columns)
        for row in rows:
            yield {name: row[i] if i < len(row) else "" for i, name in enumerate(header)}
        return
    with open(path, encoding="utf-8-sig", newline="") as handle:
        yield from _rows(handle, columns)


def _norm(name: str) -> str:
    return " ".join(name.lower().replace("_", " ").replace(".", " ").split())


def columns_for(source: str | None, header: list[str], given: dict[str, str | None]) -> Columns:
    """The columns to read: what was given explicitly, else the source profile's header that
    the file has. Without a text column nothing can be imported."""
    profile = SOURCE_PROFILES.get(source or "", {})
    by_norm = {_norm(h): h for h in header}
    chosen: dict[str, str | None] = {}
    for name in ("text", "category", "agency", "date", "source", "location", "id", "link"):
        value = given.get(name)
        if not value:
            value = next((by_norm[c] for c in profile.get(name, ()) if c in by_norm), None)
        chosen[name] = value
    text = chosen.pop("text")
    if not text:
        raise CsvImportError(
            "no text column: name it with --text-column; the file has: " + ", ".join(header)
        )
    return Columns(text=text, **chosen)


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
        source_url=extra.get("source_url") or None,
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
    if extra.get("source_id"):
        # Its id in the system it came from, on the timeline: the admin answers it there.
        workflow.record(
            session,
            complaint,
            actor="import",
            action="imported",
            note=" ".join(
                filter(None, [complaint.source, f"#{extra['source_id']}", complaint.source_url])
            ),
            now=row.received_at,
        )


def _link(value: str) -> str | None:
    link = value.strip()
    parsed = urlparse(link)
    if parsed.scheme in ("http", "https") and parsed.netloc and len(link) <= 1000:
        return link
    return None


def import_csv(
    gateway: Intake,
    path: Path,
    columns: Columns,
    *,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
    source: str | None = None,
) -> Summary:
    """Import a CSV or XLSX file. With `source` (a regional system), each row's id in that
    system (`columns.id`) is its key across exports, and `source` is the complaints' source."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:16]
    summary = Summary()
    zone = ZoneInfo(gateway.settings.timezone)
    with gateway.db.read_session() as session:
        agencies = _agency_lookup(session)
    for number, record in enumerate(_records(path, columns), start=1):
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
            value = " ".join((record.get(columns.category) or "").split())
            given_class = CATEGORY_WORDS.get(value.lower())
            if given_class:
                extra["category"] = given_class.value
            elif value:
                unknown = summary.unknown_categories
                unknown[value[:60]] = unknown.get(value[:60], 0) + 1
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
        if source:
            extra["source"] = source
        source_id = (record.get(columns.id) or "").strip()[:100] if columns.id else ""
        if source_id:
            extra["source_id"] = source_id
        link = _link(record.get(columns.link) or "") if columns.link else None
        if link:
            extra["source_url"] = link
        received = None
        if columns.date:
            written = (record.get(columns.date) or "").strip()
            received = parse_date(written, zone)
            if received is None:
                summary.unreadable_dates.append(number + 1)  # the file's line (header = 1)
                if written and len(summary.unreadable_date_examples) < 3:
                    summary.unreadable_date_examples.append(written[:40])
        location = (record.get(columns.location) or "").strip() if columns.location else ""
        # The system's own id is the key across exports; else this file's row.
        external_id = f"{source or 'import'}:{source_id}" if source_id else f"{digest}:{number}"
        message = Message(
            channel=CHANNEL,
            external_id=external_id,
            sender=f"import:{source or digest}",
            received_at=received or utcnow(),
            text=text[: gateway.settings.complaint_max_chars * 4],
            extra=extra,
            location=Location(label=location[:500]) if location else None,
        )
        accepted = intake.accept(
            gateway.db,
            message,
            raw_payload=json.dumps(record, ensure_ascii=False)[:20000],
            raw_content_type="application/json",
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
    if is_xlsx(path):
        try:
            return len(_xlsx_table(path)[1])
        except CsvImportError:
            return 0
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return max(0, sum(1 for _ in csv.reader(handle)) - 1)
