"""The admin inbox's list query with 1,000,000 complaints, on SQLite and on PostgreSQL (target:
p95 under 100 ms for a typical filter with its page and counts).

The table is filled by one INSERT ... SELECT over a generated series (a recursive CTE on SQLite,
`generate_series` on PostgreSQL), through the real migrations, so the full-text index, its
triggers and every inbox index are what a deployment has. The mix is a regency's history: 98%
of the complaints are done (closed, archived, returned, merged), the last 2% are still open,
spread over twelve channels-and-classes, fourteen kecamatan and twenty agencies; one in 500
mentions "longsor" (a selective search), one in twelve is about "jalan berlubang" (a broad one).

Each scenario calls `gateway.admin.inbox.list_page()` exactly as the inbox page does: the page of 50
rows plus every count beside the filters (one per status, per deadline state, all, open).
PostgreSQL runs in a schema of its own in TEST_DATABASE_URL (default: the local `test`
database) and is skipped, with a note, when it cannot be reached.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import make_url

from gateway.admin import inbox
from gateway.admin.inbox import Clock, InboxFilter, Scope
from gateway.store.db import Database
from gateway.store.migrate import upgrade

SECTION = "admin-inbox"
TITLE = "Admin inbox: the list query with 1,000,000 complaints"
FULL_ROWS = 1_000_000
QUICK_ROWS = 50_000
PAGE_SIZE = 50
COUNT_CAP = 5_000  # ADMIN_INBOX_COUNT_CAP's default
LOOKUP_CODE = "LPR-7K3M9U"  # a valid code (check character included)
START_EPOCH = 1_704_067_200  # 2024-01-01 00:00 UTC
STEP_SECONDS = 90  # one complaint every 90 s: a million cover almost three years
AGENCIES = 20
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

KECAMATAN = (
    "Sumber", "Bulu", "Gunem", "Sale", "Sarang", "Sedan", "Pamotan", "Sulang", "Kaliori",
    "Rembang", "Pancur", "Kragan", "Sluke", "Lasem",
)  # fmt: skip
TITLES = (
    "Jalan berlubang", "Lampu jalan mati", "Sampah menumpuk", "Air PDAM keruh",
    "Drainase tersumbat", "Pelayanan KTP lambat", "Pungutan liar sekolah", "Jembatan rusak",
    "Banjir di permukiman", "Pohon tumbang", "Parkir liar", "Informasi bansos",
)  # fmt: skip
CHANNELS = ("webform", "twilio_sms", "twilio_whatsapp", "telegram", "manual")
CATEGORIES = ("aspirasi", "permintaan_informasi", "pengaduan", "pengaduan_berkadar_pengawasan")


def _case(expr: str, values: tuple[str, ...]) -> str:
    whens = " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(values))
    return f"CASE ({expr}) % {len(values)} {whens} END"


def _status(n: int) -> str:
    """The last 2% are open (with realistic shares), the rest done."""
    recent = int(n * 0.98)
    open_mix = "((i % 100) * 37) % 100"
    done_mix = "((i % 100) * 61) % 100"
    return (
        f"CASE WHEN i > {recent} THEN CASE WHEN {open_mix} < 40 THEN 'received' "
        f"WHEN {open_mix} < 55 THEN 'verified' WHEN {open_mix} < 62 THEN 'pending' "
        f"WHEN {open_mix} < 80 THEN 'disposed' WHEN {open_mix} < 95 THEN 'in_progress' "
        f"ELSE 'answered' END "
        f"ELSE CASE WHEN {done_mix} < 88 THEN 'closed' WHEN {done_mix} < 94 THEN 'archived' "
        f"WHEN {done_mix} < 97 THEN 'returned' ELSE 'merged' END END"
    )


@dataclass(frozen=True)
class Dialect:
    name: str
    series: Callable[[int, str], str]  # (n, select) -> statement
    timestamp: Callable[[str], str]  # epoch-seconds expression -> timestamp expression
    code: str
    json_list: str
    json_object: str
    text_of: Callable[[str], str]


SQLITE = Dialect(
    name="SQLite",
    # SQL text from this module's constants only (no input reaches it).
    series=lambda n, body: (
        f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) {body} s"  # noqa: S608
    ),
    timestamp=lambda e: f"strftime('%Y-%m-%d %H:%M:%S.000000', {e}, 'unixepoch')",
    code="printf('BEN%07d', i)",
    json_list="'[]'",
    json_object="'{}'",
    text_of=lambda e: f"CAST({e} AS TEXT)",
)
POSTGRES = Dialect(
    name="PostgreSQL",
    series=lambda n, body: f"{body} generate_series(1, {n}) AS s(i)",
    timestamp=lambda e: f"to_timestamp({e})",
    code="'BEN' || lpad(i::text, 7, '0')",
    json_list="'[]'::jsonb",
    json_object="'{}'::jsonb",
    text_of=lambda e: f"({e})::text",
)


def fill_statement(d: Dialect, n: int) -> str:
    status = _status(n)
    received = f"({START_EPOCH} + i * {STEP_SECONDS})"
    title = _case("(i * 13)", TITLES)
    kecamatan = _case("i", KECAMATAN)
    clean = (
        f"{title} || ' di ' || {kecamatan} || ' sejak ' || {d.text_of('i % 30')} || ' hari'"
        " || CASE WHEN i % 500 = 0 THEN ' dekat longsor' ELSE '' END"
    )
    columns = {
        "id": "i",
        "tracking_code": d.code,
        "origin_channel": _case("i", CHANNELS),
        "language": "'id'",
        "original_text": clean,
        "clean_text": clean,
        "masked_text": clean,
        "title": title,
        "pii_spans": d.json_list,
        "dedup_signature": "''",
        "kecamatan": kecamatan,
        "category": _case("i * 7", CATEGORIES),
        "category_suggestions": d.json_list,
        "agency_id": f"CASE WHEN ({status}) IN ('received', 'verified', 'pending') "
        f"THEN NULL ELSE 1 + i % {AGENCIES} END",
        "agency_suggestions": d.json_list,
        "place_suggestion": d.json_object,
        "anonim": "false" if d is POSTGRES else "0",
        "rahasia": "false" if d is POSTGRES else "0",
        "status": status,
        "escalated": "false" if d is POSTGRES else "0",
        "cluster_id": "CASE WHEN i % 97 = 0 THEN i - 1 ELSE NULL END",
        "verify_due_at": f"CASE WHEN ({status}) IN ('received', 'verified') "
        f"THEN {d.timestamp(f'{received} + 3 * 86400')} ELSE NULL END",
        "answer_due_at": f"CASE WHEN ({status}) IN ('disposed', 'in_progress') "
        f"THEN {d.timestamp(f'{received} + 20 * 86400')} ELSE NULL END",
        "received_at": d.timestamp(received),
        "created_at": d.timestamp(received),
        "updated_at": d.timestamp(received),
        "version": "1",
    }
    body = f"INSERT INTO complaint ({', '.join(columns)}) SELECT {', '.join(columns.values())} FROM"
    return d.series(n, body)


def build(db: Database, d: Dialect, n: int) -> float:
    """Migrate and fill; the seconds it took to insert and index the rows."""
    upgrade(db.engine)
    started = time.perf_counter()
    with db.engine.begin() as conn:
        for k in range(1, AGENCIES + 1):
            conn.execute(
                text("INSERT INTO agency (id, code, name, function_group, keywords, active, "
                     "created_at) VALUES (:id, :code, :name, '', :kw, true, :now)"),
                {"id": k, "code": f"OPD{k:02d}", "name": f"Perangkat Daerah {k}", "kw": "[]",
                 "now": datetime.now(UTC)},
            )  # fmt: skip
        conn.execute(text(fill_statement(d, n)))
        # One complaint carries a real tracking code, for the look-up scenario.
        conn.execute(
            text("UPDATE complaint SET tracking_code = :code WHERE id = :id"),
            {"code": LOOKUP_CODE, "id": n // 2},
        )
        if d is POSTGRES:
            conn.execute(text("SELECT setval('complaint_id_seq', :n)"), {"n": n})
        else:
            conn.execute(text("ANALYZE"))
    if d is POSTGRES:
        # What autovacuum does soon after a bulk load: statistics and the visibility map
        # (without it every index-only count visits the table).
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE complaint"))
    return time.perf_counter() - started


@dataclass(frozen=True)
class Scenario:
    name: str
    filter: InboxFilter
    scope: Scope = inbox.EVERYTHING
    typical: bool = False


def scenarios(n: int) -> list[Scenario]:
    end = datetime.fromtimestamp(START_EPOCH + n * STEP_SECONDS, UTC)
    month_ago = (end - timedelta(days=30)).date()
    return [
        Scenario("open complaints, newest first", InboxFilter(status="open"), typical=True),
        Scenario(
            "received, oldest first (the verification queue)",
            InboxFilter(status="received", sort="oldest"),
            typical=True,
        ),
        Scenario("a liaison officer's inbox (one agency)", InboxFilter(), Scope(3), typical=True),
        Scenario("overdue", InboxFilter(deadline="overdue"), typical=True),
        Scenario("everything, newest first (no filter)", InboxFilter()),
        Scenario("everything, page 100", InboxFilter(page=100)),
        Scenario("open, nearest deadline first", InboxFilter(status="open", sort="deadline")),
        Scenario(
            "channel + class + kecamatan + last 30 days",
            InboxFilter(
                channel="twilio_whatsapp",
                category="pengaduan",
                kecamatan="Sluke",
                received_from=month_ago,
            ),
        ),
        Scenario("has duplicates", InboxFilter(has_duplicates=True)),
        Scenario("search a rare word ('longsor', 0.2%)", InboxFilter(q="longsor")),
        Scenario(
            "search two common words ('jalan berlubang', 8%)", InboxFilter(q="jalan berlubang")
        ),
        Scenario("look up a tracking code", InboxFilter(q=LOOKUP_CODE.lower())),
    ]


def _percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def measure(db: Database, n: int, repeats: int) -> list[tuple[Scenario, list[float], int]]:
    end = datetime.fromtimestamp(START_EPOCH + n * STEP_SECONDS, UTC)
    clock = Clock(
        now=end + timedelta(days=4), soon=timedelta(hours=48), tz=ZoneInfo("Asia/Jakarta")
    )
    results = []
    for scenario in scenarios(n):
        samples = []
        rows = 0
        for attempt in range(repeats + 3):
            started = time.perf_counter()
            with db.read_session() as session:
                page = inbox.list_page(
                    session, scenario.filter, scenario.scope, clock,
                    page_size=PAGE_SIZE, count_cap=COUNT_CAP,
                )  # fmt: skip
            elapsed = (time.perf_counter() - started) * 1000
            rows = len(page.rows)
            if attempt >= 3:  # the first calls warm the caches
                samples.append(elapsed)
        results.append((scenario, samples, rows))
    return results


@contextmanager
def sqlite_db() -> Iterator[Database]:
    with tempfile.TemporaryDirectory(prefix="inbox-bench-") as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            yield db
        finally:
            db.dispose()


@contextmanager
def postgres_db() -> Iterator[Database | None]:
    base = os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG
    admin = Database(base)
    if not admin.ping():
        admin.dispose()
        yield None
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    db = Database(url.render_as_string(hide_password=False))
    try:
        yield db
    finally:
        db.dispose()
        with admin.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _table(results: list[tuple[Scenario, list[float], int]]) -> list[str]:
    lines = [
        "| scenario (page of 50 + all counts) | rows | p50 ms | p95 ms | max ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for scenario, samples, rows in results:
        mark = " **(typical)**" if scenario.typical else ""
        lines.append(
            f"| {scenario.name}{mark} | {rows} | {statistics.median(samples):.1f} "
            f"| {_percentile(samples, 95):.1f} | {max(samples):.1f} |"
        )
    return lines


def run(quick: bool = False) -> str:
    n = QUICK_ROWS if quick else FULL_ROWS
    repeats = 20 if quick else 40
    out = [
        f"{n:,} complaints ({int(n * 0.02):,} open), {AGENCIES} agencies; each scenario "
        f"measured {repeats} times after 3 warm-up calls; counts capped at {COUNT_CAP:,}. "
        "Target: p95 under 100 ms for the typical scenarios.",
        "",
    ]
    engines: list[tuple[Dialect, Callable[[], object]]] = [
        (SQLITE, sqlite_db),
        (POSTGRES, postgres_db),
    ]
    for dialect, opener in engines:
        with opener() as db:  # type: ignore[attr-defined]
            if db is None:
                out += [f"### {dialect.name}", "", "PostgreSQL not reachable: skipped.", ""]
                continue
            seconds = build(db, dialect, n)
            results = measure(db, n, repeats)
            typical = [s for sc, samples, _ in results if sc.typical for s in samples]
            out += [
                f"### {dialect.name}",
                "",
                f"Build: {n:,} rows inserted, indexed (FTS included) and analysed in "
                f"{seconds:.0f} s ({n / seconds:,.0f} rows/s).",
                "",
                *_table(results),
                "",
                f"Typical scenarios together: p95 {_percentile(typical, 95):.1f} ms "
                f"({'meets' if _percentile(typical, 95) < 100 else 'misses'} the 100 ms target).",
                "",
            ]
    return "\n".join(out)


if __name__ == "__main__":
    import sys

    print(run(quick="--quick" in sys.argv))
