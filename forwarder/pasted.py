"""A LAPOR! report an admin copied from its page, read back into an `IncomingReport`.

For regencies without API access (the manual backend): the admin opens a report that was
disposed to the regency on lapor.go.id, selects the page's text, and pastes it into the gateway,
so the report still joins the one inbox. Pure: text in, report out.

The layout assumed (docs/core-api.md, "Pasting a LAPOR! report"), tolerant of what copying a web
page does to it:

- labelled values, one per line — `Label: value`, `Label : value`, `Label<TAB>value` (a copied
  table row) — or the label alone on its line and the value on the lines after it (a copied
  two-column layout), until the next label;
- labels in the words LAPOR! and its admins use, in any case: "Tracking ID" / "ID Tracking" /
  "Nomor Laporan", "Judul", "Isi Laporan", "Tanggal", "Klasifikasi", "Kategori", "Lokasi",
  "Sumber"/"Kanal", "Status", "Instansi"/"Ditujukan kepada", "Pelapor", "Anonim", "Rahasia" ...;
- a tracking id also found bare as `#1234567` or "tracking id 1234567" anywhere;
- dates as "02-05-2024 08:30", "02/05/2024", "2 Mei 2024 08.30 WIB", "Kamis, 2 Mei 2024",
  "2024-05-02 08:30:00" (WIB/WITA/WIT honoured; no zone: the deployment's timezone);
- with no "Isi" label, the text is the longest unlabelled paragraph, the title the first short
  unlabelled line before it.

Only the tracking id and the report's text are required; a missing date is the moment of the
paste (`now`), an unknown class is left to the gateway's classifier.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from forwarder.base import IncomingReport
from forwarder.lapor_words import category_of, channel_of, flag_of

MAX_PASTE_CHARS = 50_000

# Our field -> the labels that name it on a LAPOR! page (folded: lower case, single spaces,
# no punctuation but "/").
_LABELS: dict[str, tuple[str, ...]] = {
    "core_id": (
        "tracking id",
        "id tracking",
        "trackingid",
        "nomor tracking",
        "no tracking",
        "nomor laporan",
        "no laporan",
        "kode laporan",
        "id laporan",
        "nomor pengaduan",
    ),
    "title": ("judul", "judul laporan", "judul pengaduan"),
    "description": (
        "isi",
        "isi laporan",
        "isi pengaduan",
        "uraian",
        "uraian laporan",
        "deskripsi",
    ),
    "received_at": (
        "tanggal",
        "tanggal laporan",
        "tanggal lapor",
        "tanggal masuk",
        "tgl laporan",
        "tgl",
        "waktu",
        "waktu laporan",
        "dilaporkan",
        "dilaporkan pada",
        "dibuat",
    ),
    "category": ("klasifikasi", "klasifikasi laporan", "jenis laporan", "jenis"),
    "topic": ("kategori", "kategori laporan", "topik"),
    "location_text": ("lokasi", "lokasi kejadian", "alamat", "alamat kejadian"),
    "kecamatan": ("kecamatan",),
    "kelurahan": ("kelurahan", "desa", "desa/kelurahan", "kelurahan/desa"),
    "source_channel": ("sumber", "sumber laporan", "kanal", "media", "via", "dilaporkan via"),
    "status": ("status", "status laporan"),
    "agency": ("instansi", "instansi tujuan", "ditujukan kepada", "disposisi", "instansi terkait"),
    "reporter_name": ("pelapor", "nama pelapor", "nama"),
    "anonim": ("anonim",),
    "rahasia": ("rahasia",),
}
_FIELD_OF = {label: name for name, labels in _LABELS.items() for label in labels}
# Fields whose label alone on a line means "yes" (the public page shows "Anonim" as the name).
_FLAGS = frozenset({"anonim", "rahasia"})
# Fields whose value may run over several lines (and paragraphs).
_RUNNING = frozenset({"description"})
_LABEL_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z./ ]{1,40}?)\s*(?::|\t|\s-\s)\s*(.*)$")
_BARE_ID = re.compile(r"(?:tracking\s*id|id\s*tracking|#)\s*[:#]?\s*(\d{4,15})\b", re.IGNORECASE)
_AGENCY_CODE = re.compile(r"\(([A-Z][A-Z0-9_-]{1,49})\)\s*$")
_VIA = re.compile(
    r"\b(?:via|melalui|lewat)\s+(sms\s*1708|sms|situs web|website|web|aplikasi|android|ios)\b",
    re.IGNORECASE,
)
_ISO_DATE = re.compile(
    r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)
# A line that is only a date: a weekday, the date, a time and a zone at most.
_DATE_LINE_MAX = 45

_MONTHS = {
    "jan": 1,
    "januari": 1,
    "feb": 2,
    "februari": 2,
    "pebruari": 2,
    "mar": 3,
    "maret": 3,
    "apr": 4,
    "april": 4,
    "mei": 5,
    "may": 5,
    "jun": 6,
    "juni": 6,
    "jul": 7,
    "juli": 7,
    "agu": 8,
    "agt": 8,
    "ags": 8,
    "agustus": 8,
    "aug": 8,
    "sep": 9,
    "sept": 9,
    "september": 9,
    "okt": 10,
    "oktober": 10,
    "oct": 10,
    "nov": 11,
    "nopember": 11,
    "november": 11,
    "des": 12,
    "desember": 12,
    "dec": 12,
}
_ZONES = {"wib": 7, "wita": 8, "wit": 9}
_TIME = r"(?:[,\s]+(?:pukul\s+|jam\s+)?(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?)?"
_ZONE = r"\s*(wib|wita|wit)?"
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})" + _TIME + _ZONE, re.I)
_NAMED_DATE = re.compile(r"\b(\d{1,2})\s+([A-Za-z]{3,9})\.?\s+(\d{4})" + _TIME + _ZONE, re.I)


class PastedReportError(ValueError):
    """The paste is not a LAPOR! report we can read. `reason` names what is missing (a key of
    `paste_errors` in config/core_manual.yaml): `empty`, `too_long`, `no_tracking_id`,
    `no_text`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _fold(label: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w/ ]", " ", label.casefold())).strip()


def _field_of(label: str) -> str | None:
    return _FIELD_OF.get(_fold(label))


def _labelled(lines: list[str]) -> tuple[dict[str, str], list[list[str]]]:
    """The labelled values and the unlabelled paragraphs of the paste.

    A single-line value is the rest of its label's line, or the next line when the label stands
    alone; the report's text runs on to the next label. Paragraphs are unlabelled lines,
    separated by blank lines and by labels."""
    values: dict[str, list[str]] = {}
    paragraphs: list[list[str]] = [[]]
    current: str | None = None
    for raw in lines:
        line = raw.strip()
        match = _LABEL_LINE.match(line)
        field = _field_of(match.group(1)) if match else _field_of(line.rstrip(":"))
        if field is not None and field not in values:
            first = match.group(2).strip() if match else ""
            if field in _FLAGS and not first:
                first = "ya"
            values[field] = [first] if first else []
            current = field if field in _RUNNING or not first else None
            if paragraphs[-1]:
                paragraphs.append([])
            continue
        if not line:
            if current in _RUNNING and values[current]:
                values[current].append("")  # keep the report's own paragraphs
            if paragraphs[-1]:
                paragraphs.append([])
            continue
        if current is not None:
            values[current].append(line)
            if current not in _RUNNING:
                current = None
            continue
        paragraphs[-1].append(line)
    joined = {name: "\n".join(parts).strip() for name, parts in values.items()}
    return {name: value for name, value in joined.items() if value}, [p for p in paragraphs if p]


def _take_date_line(paragraphs: list[list[str]], zone: ZoneInfo) -> datetime | None:
    """The date of the first unlabelled line that is only a date (the public page shows the
    date under the reporter's name), removed from the paragraphs so it is no title."""
    for paragraph in paragraphs:
        for index, line in enumerate(paragraph):
            if len(line) > _DATE_LINE_MAX:
                continue
            moment = parse_lapor_date(line, zone)
            if moment is not None:
                del paragraph[index]
                return moment
    return None


def _tracking_id(values: dict[str, str], text: str, id_pattern: str) -> str | None:
    candidates = []
    if "core_id" in values:
        candidates.append(values["core_id"])
    candidates += [m.group(1) for m in _BARE_ID.finditer(text)]
    for candidate in candidates:
        cleaned = re.sub(r"\s+", "", candidate).lstrip("#")
        found = re.search(id_pattern, cleaned)
        if found and (found.group(0) == cleaned or not cleaned.isdigit()):
            return found.group(0)
    return None


def _zone(word: str | None, default: ZoneInfo) -> tzinfo:
    if word and word.casefold() in _ZONES:
        return timezone(timedelta(hours=_ZONES[word.casefold()]))
    return default


def parse_lapor_date(text: str, default_zone: ZoneInfo) -> datetime | None:
    """The first date (and time) in a LAPOR! page's words, or None."""
    iso = _ISO_DATE.search(text)
    if iso:
        try:
            moment = datetime.fromisoformat(iso.group(0).replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None:
            return moment if moment.tzinfo else moment.replace(tzinfo=default_zone)
    for pattern, named in ((_NUMERIC_DATE, False), (_NAMED_DATE, True)):
        for found in pattern.finditer(text):
            day, month_word, year, hour, minute, second, zone = found.groups()
            month = _MONTHS.get(month_word.casefold()) if named else int(month_word)
            if not month:
                continue
            try:
                return datetime(
                    int(year),
                    month,
                    int(day),
                    int(hour or 0),
                    int(minute or 0),
                    int(second or 0),
                    tzinfo=_zone(zone, default_zone),
                )
            except ValueError:
                continue
    return None


def _text_and_title(values: dict[str, str], paragraphs: list[list[str]]) -> tuple[str, str]:
    description = values.get("description", "")
    title = values.get("title", "")
    paragraphs = [p for p in paragraphs if p]
    if not description and paragraphs:
        longest = max(paragraphs, key=lambda p: len(" ".join(p)))
        description = "\n".join(longest)
        if not title:
            before = paragraphs[: paragraphs.index(longest)]
            heading = next((p[0] for p in before if len(p[0]) <= 150), None)
            if heading is None and len(longest) > 1 and len(longest[0]) <= 150:
                heading, description = longest[0], "\n".join(longest[1:])
            title = heading or ""
    return description.strip(), title.strip()


def _agency_code(value: str | None) -> str | None:
    """ "Dinas PUPR Kab. Rembang (DPUPR)" -> "DPUPR"; a bare code as it is; a name alone: None
    (the gateway routes by the text rather than guess a code from a name)."""
    if not value:
        return None
    found = _AGENCY_CODE.search(value)
    if found:
        return found.group(1)
    stripped = value.strip()
    return stripped if re.fullmatch(r"[A-Z][A-Z0-9_-]{1,49}", stripped) else None


def parse_pasted_report(
    text: str,
    *,
    now: datetime,
    timezone_name: str = "Asia/Jakarta",
    id_pattern: str = r"\d{5,12}",
) -> IncomingReport:
    """The report in a LAPOR! page's pasted text; `PastedReportError` when it lacks the
    tracking id or the report's text. `raw` keeps the paste as it came."""
    if not text or not text.strip():
        raise PastedReportError("empty")
    if len(text) > MAX_PASTE_CHARS:
        raise PastedReportError("too_long")
    normalized = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    values, paragraphs = _labelled(normalized.split("\n"))
    core_id = _tracking_id(values, normalized, id_pattern)
    if core_id is None:
        raise PastedReportError("no_tracking_id")
    zone = ZoneInfo(timezone_name)
    received_at = parse_lapor_date(values.get("received_at", ""), zone) or _take_date_line(
        paragraphs, zone
    )
    description, title = _text_and_title(values, paragraphs)
    if not description:
        raise PastedReportError("no_text")
    via = _VIA.search(normalized)
    channel = values.get("source_channel") or (via.group(1) if via else None)
    reporter = values.get("reporter_name")
    anonim = flag_of(values.get("anonim")) or _fold(reporter or "") == "anonim"
    return IncomingReport(
        core_id=core_id,
        title=title[:300],
        description=description,
        received_at=received_at or now,
        category=category_of(values.get("category")),
        topic=(values.get("topic") or None),
        source_channel=channel_of(channel),
        agency_code=_agency_code(values.get("agency")),
        status=values.get("status") or None,
        location_text=values.get("location_text") or None,
        kecamatan=values.get("kecamatan") or None,
        kelurahan=values.get("kelurahan") or None,
        reporter_name=None if anonim else (reporter or None),
        anonim=anonim,
        rahasia=flag_of(values.get("rahasia")),
        raw=text,
    )
