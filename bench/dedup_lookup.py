"""Duplicate look-up for one new complaint against 100,000 and 1,000,000 open complaints, on
SQLite and PostgreSQL (targets: p95 under 10 ms at 100k, under 20 ms at 1M), with the keys of
issue 14 (`normalizer.dedup.candidate_keys`: text keys for every complaint, village-scoped keys
where the village is known) and `judge()` with the place parts as evidence.

The open complaints are made from a few thousand generated complaints run through the real
normalizer; each is replicated with a different time (spread over two years), reporter and
a few words changed, so that buckets are as full as real data of that size would make them.
Rows are bulk-loaded (COPY on PostgreSQL, executemany on SQLite), the `dedup_key` index is
built afterwards and timed, and then `gateway.complaints.dedup.find()` — the code the gateway runs —
is timed for probe complaints that are not in the table.
"""

from __future__ import annotations

import json
import os
import random
import resource
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from sqlalchemy import text

from bench.corpus import ComplaintFactory
from config.settings import load_settings
from gateway.complaints import dedup
from gateway.context import Gateway
from gateway.store.db import Database
from gateway.store.migrate import upgrade
from gateway.store.models import Complaint
from normalizer.dedup import candidate_keys
from normalizer.location import PlaceMatch, load_gazetteer, place_parts
from normalizer.pipeline import normalize
from normalizer.routing import AgencyRouter, load_agency_directory

SECTION = "dedup-lookup"
TITLE = "Duplicate look-up against the open complaints (database)"
SEED = 9090
NOW = datetime(2026, 11, 1, tzinfo=UTC)
PG_URL = os.environ.get("BENCH_DATABASE_URL") or os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
VOCABULARY = (
    "parah",
    "sekali",
    "lama",
    "warga",
    "mohon",
    "segera",
    "dekat",
    "ujung",
    "baru",
    "kemarin",
    "malam",
    "pagi",
    "besar",
    "kecil",
    "licin",
    "gelap",
    "ramai",
    "sepi",
)


@dataclass(frozen=True)
class Template:
    signature: str
    kecamatan: str | None
    village: str | None
    agencies: tuple[str, ...]
    parts: str = "{}"  # place parts as stored (JSON)


def templates(n: int) -> list[Template]:
    gazetteer = load_gazetteer()
    directory = load_agency_directory()
    router = AgencyRouter(directory)
    factory = ComplaintFactory(gazetteer, SEED)
    out = []
    while len(out) < n:
        result = normalize(
            factory.complaint(), directory=directory, gazetteer=gazetteer, router=router, now=NOW
        )
        place = result.place
        out.append(
            Template(
                result.signature.text,
                place.kecamatan if place else None,
                place.village if place else None,
                tuple(a.code for a in result.agencies[:2]),
                json.dumps(
                    {k: v for k, v in place_parts(result.masked_clean_text).as_dict().items() if v}
                ),
            )
        )
    return out


def _variant(signature: str, rng: random.Random) -> str:
    words = signature.split()
    for _ in range(rng.randint(1, 3)):
        if words and rng.random() < 0.5:
            words.pop(rng.randrange(len(words)))
        words.append(rng.choice(VOCABULARY))
    return " ".join(sorted(set(words)))


# Each template is written in this many variants (a few words dropped or added), drawn once:
# a million complaints then share 120,000 signatures (each about 8 times in two years, so
# rarely twice in one time window), and the loader computes the keys of each signature once
# instead of a million times (the keys are most of the load's CPU).
VARIANTS_PER_TEMPLATE = 40


def _variants(signature: str, index: int) -> list[str]:
    rng = random.Random(f"{SEED}:{index}")
    return [_variant(signature, rng) for _ in range(VARIANTS_PER_TEMPLATE)]


def rows(pool: list[Template], n: int, rng: random.Random) -> Iterator[tuple]:
    """(id, code, reporter, received_at, signature, kecamatan, village, agencies, parts)."""
    variants: dict[int, list[str]] = {}
    for i in range(1, n + 1):
        index = rng.randrange(len(pool))
        t = pool[index]
        if index not in variants:
            variants[index] = _variants(t.signature, index)
        received = NOW - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
        yield (
            i,
            f"B{i:09d}",
            rng.randrange(1, n // 3 + 2),
            received,
            variants[index][rng.randrange(VARIANTS_PER_TEMPLATE)],
            t.kecamatan,
            t.village,
            t.agencies,
            t.parts,
        )


def _agencies_json(codes: tuple[str, ...]) -> str:
    return json.dumps([{"code": c, "score": 0.5} for c in codes])


_TABLES = ("reporter", "complaint", "dedup_key")
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # what SQLAlchemy's DateTime writes on SQLite


def _schema_extras(conn, is_postgres: bool) -> list[tuple[str, str, str]]:
    """(kind, name, CREATE statement) of the secondary indexes (and SQLite's FTS triggers) of
    the loaded tables: dropped before the bulk load and created again afterwards, so rows are
    appended once and every index is built in one sorted pass instead of row by row."""
    if is_postgres:
        found = conn.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND tablename IN ('reporter', 'complaint', 'dedup_key') AND indexname NOT IN "
                "(SELECT conindid::regclass::text FROM pg_constraint WHERE conindid <> 0)"
            )
        ).all()
        return [("INDEX", name, sql) for name, sql in found]
    found = conn.execute(
        text(
            "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
            "AND tbl_name IN ('reporter', 'complaint', 'dedup_key') AND sql IS NOT NULL"
        )
    ).all()
    return [(kind.upper(), name, sql) for kind, name, sql in found]


def load(db: Database, pool: list[Template], n: int) -> dict[str, float]:
    """Bulk load in one transaction: COPY on PostgreSQL, executemany on SQLite, with the
    secondary indexes (and SQLite's full-text triggers) dropped during the load and the foreign
    keys not checked row by row (the rows are consistent by construction)."""
    started = time.perf_counter()
    with db.engine.begin() as conn:
        extras = _schema_extras(conn, db.is_postgres)
        for kind, name, _ in extras:
            conn.execute(text(f'DROP {kind} "{name}"'))
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        reporters = [(i, "id", NOW) for i in range(1, n // 3 + 2)]
        if db.is_postgres:
            cursor.execute("SET LOCAL session_replication_role = replica")  # no FK triggers
            with cursor.copy("COPY reporter (id, language, created_at) FROM STDIN") as copy:
                for reporter in reporters:
                    copy.write_row(reporter)
            _copy_postgres(cursor, lambda: rows(pool, n, random.Random(SEED + n)))
            raw.commit()
        else:
            cursor.execute("PRAGMA foreign_keys=OFF")
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-262144")
            # The gateway's SQLite connections run the driver in autocommit mode (the engine
            # sends BEGIN itself): without this BEGIN every row was its own transaction.
            cursor.execute("BEGIN")
            try:
                cursor.executemany(
                    "INSERT INTO reporter (id, language, created_at) VALUES (?, ?, ?)",
                    [(i, lang, when.strftime(_SQLITE_TIME)) for i, lang, when in reporters],
                )
                _insert_sqlite(cursor, rows(pool, n, random.Random(SEED + n)))
                raw.commit()
            finally:  # the pooled connection goes back as the gateway configures it
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute("PRAGMA cache_size=-2000")
    finally:
        raw.close()
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    with db.engine.begin() as conn:
        for _, _, sql in extras:
            conn.execute(text(sql))
        conn.execute(text("ANALYZE"))
    return {"load_s": loaded, "index_s": time.perf_counter() - started, "extras": len(extras)}


_COMPLAINT_COLUMNS = (
    "id, tracking_code, reporter_id, origin_channel, language, original_text, clean_text, "
    "masked_text, title, pii_spans, dedup_signature, kecamatan, kelurahan, "
    "category_suggestions, agency_suggestions, place_suggestion, anonim, rahasia, status, "
    "escalated, place_parts, not_report, received_at, created_at, updated_at, version"
)


def _complaint_values(row: tuple, when: object) -> tuple:
    i, code, reporter, _, signature, kecamatan, village, agencies, parts = row
    return (
        i,
        code,
        reporter,
        "twilio_sms",
        "id",
        "",
        "",
        "",
        "",
        "[]",
        signature,
        kecamatan,
        village,
        "[]",
        _agencies_json(agencies),
        "{}",
        False,
        False,
        "received",
        False,
        parts,
        "{}",
        when,
        when,
        when,
        1,
    )


def _insert_sqlite(cursor, source: Iterator[tuple]) -> None:
    marks = ", ".join("?" * 26)
    batch: list[tuple] = []
    keys: list[tuple] = []

    def flush() -> None:
        cursor.executemany(
            f"INSERT INTO complaint ({_COMPLAINT_COLUMNS}) VALUES ({marks})",  # noqa: S608 - constants
            batch,
        )
        cursor.executemany(
            "INSERT INTO dedup_key (complaint_id, key, created_at) VALUES (?, ?, ?)", keys
        )
        batch.clear()
        keys.clear()

    for row in source:
        when = row[3].strftime(_SQLITE_TIME)
        batch.append(_complaint_values(row, when))
        keys.extend(_keys(row, when))
        if len(batch) >= 20_000:
            flush()
    flush()


def _keys(row: tuple, when: object) -> list[tuple]:
    i, _, _, _, signature, kecamatan, village, _, _ = row
    return [(i, key, when) for key in _candidate_keys(signature, kecamatan, village)]


@lru_cache(maxsize=200_000)
def _candidate_keys(signature: str, kecamatan: str | None, village: str | None) -> list[str]:
    place = PlaceMatch(kecamatan, village, None, 1.0, "text") if village else None
    return candidate_keys(signature, place)


def _copy_postgres(cursor, make_rows: Callable[[], Iterator[tuple]]) -> None:
    # Two passes over the same deterministic rows: holding 25 keys per complaint for a million
    # complaints in memory would measure the benchmark, not the gateway.
    with cursor.copy(f"COPY complaint ({_COMPLAINT_COLUMNS}) FROM STDIN") as copy:
        for row in make_rows():
            copy.write_row(_complaint_values(row, row[3]))
    with cursor.copy("COPY dedup_key (complaint_id, key, created_at) FROM STDIN") as copy:
        for row in make_rows():
            for key in _keys(row, row[3]):
                copy.write_row(key)
    cursor.execute("SELECT setval('complaint_id_seq', (SELECT max(id) FROM complaint))")


def sizes(db: Database) -> str:
    with db.engine.connect() as conn:
        if db.is_postgres:
            table = conn.execute(text("SELECT pg_total_relation_size('dedup_key')")).scalar()
            index = conn.execute(
                text("SELECT pg_relation_size('ix_dedup_key_key_created')")
            ).scalar()
            keys = conn.execute(text("SELECT count(*) FROM dedup_key")).scalar()
            return (
                f"{keys:,} keys; dedup_key with indexes {table / 2**20:.0f} MiB, "
                f"key index {index / 2**20:.0f} MiB"
            )
        keys = conn.execute(text("SELECT count(*) FROM dedup_key")).scalar()
        path = Path(db.engine.url.database or "")
        return f"{keys:,} keys; database file {path.stat().st_size / 2**20:.0f} MiB in all"


def probes(pool: list[Template], n: int) -> list[Complaint]:
    rng = random.Random(SEED * 7)
    out = []
    for i in range(n):
        t = pool[rng.randrange(len(pool))]
        out.append(
            Complaint(
                id=10**9 + i,
                tracking_code=f"P{i:09d}",
                origin_channel="twilio_sms",
                reporter_id=rng.randrange(1, 30_000),
                received_at=NOW,
                dedup_signature=_variant(t.signature, rng),
                kecamatan=t.kecamatan,
                kelurahan=t.village,
                agency_suggestions=[{"code": c} for c in t.agencies],
                place_parts=json.loads(t.parts),
            )
        )
    return out


def time_lookups(gateway: Gateway, probe: list[Complaint]) -> dict[str, float]:
    samples = []
    cpu = []  # this process's CPU time: on a busy shared machine wall time includes waiting
    found = 0
    with gateway.db.read_session() as session:
        for complaint in probe[:20]:  # warm caches
            dedup.find(gateway, session, complaint)
        backend = _backend_pid(session) if gateway.db.is_postgres else None
        server_before = _process_cpu_s(backend)
        for complaint in probe:
            start, start_cpu = time.perf_counter_ns(), time.process_time_ns()
            match = dedup.find(gateway, session, complaint)
            cpu.append((time.process_time_ns() - start_cpu) / 1e6)
            samples.append((time.perf_counter_ns() - start) / 1e6)
            found += match is not None
        server_after = _process_cpu_s(backend)
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    cpu_cuts = statistics.quantiles(cpu, n=100, method="inclusive")
    server = None
    if server_before is not None and server_after is not None:
        server = (server_after - server_before) * 1000 / len(probe)
    return {
        "p50": cuts[49],
        "p95": cuts[94],
        "max": max(samples),
        "cpu_p50": cpu_cuts[49],
        "cpu_p95": cpu_cuts[94],
        "found": found / len(probe),
        "server_cpu_mean": server,
        "wall_mean": statistics.fmean(samples),
        "cpu_mean": statistics.fmean(cpu),
    }


def _backend_pid(session) -> int | None:
    return session.execute(text("SELECT pg_backend_pid()")).scalar()


def _process_cpu_s(pid: int | None) -> float | None:
    """User + system CPU seconds of a local process (the PostgreSQL backend serving the look-ups:
    the server runs on this machine), from /proc; None where it cannot be read."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pg_schema(name: str | None = None) -> tuple[Database, str, Database]:
    from sqlalchemy.engine import make_url

    admin = Database(PG_URL)
    schema = name or f"bench_{uuid.uuid4().hex[:8]}"
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return Database(url.render_as_string(hide_password=False)), schema, admin


def _empty(db: Database, engine: str, schema: str | None) -> None:
    if engine == "sqlite":
        db.dispose()
        for path in Path(db.engine.url.database or "").parent.glob(
            Path(db.engine.url.database or "").name + "*"
        ):
            path.unlink()
    else:
        with db.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))


def measure(engine: str, pool: list[Template], n: int, probe: list[Complaint]) -> str:
    """Load `n` open complaints into a fresh database and time the look-ups. With
    BENCH_DEDUP_KEEP=<directory> the loaded database is kept (SQLite file there, PostgreSQL
    schema `bench_keep_<n>`) and a later run probes it again without loading (the load's figures
    are those recorded when it was loaded); drop them by hand afterwards."""
    keep = Path(os.environ["BENCH_DEDUP_KEEP"]) if os.environ.get("BENCH_DEDUP_KEEP") else None
    tmp = Path(tempfile.mkdtemp(prefix="dedup-bench-"))
    admin = schema = None
    marker = keep / f"dedup-{engine}-{n}.json" if keep else None
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
    if engine == "sqlite":
        db = Database(f"sqlite:///{(keep or tmp) / f'dedup-{n}.db'}")
    else:
        db, schema, admin = _pg_schema(f"bench_keep_{n}" if keep else None)
    try:
        if marker is not None and marker.exists():
            timing = json.loads(marker.read_text())
        else:
            if keep is not None:  # a load that did not finish: start again from nothing
                _empty(db, engine, schema)
            upgrade(db.engine)
            timing = load(db, pool, n)
            if marker is not None:
                marker.write_text(json.dumps(timing))
        settings = load_settings(
            _env_file=None,
            database_url=db.url,
            data_dir=tmp,
            scheduler_enabled=False,
            secret_key="bench-only-not-a-secret",  # noqa: S106
        )
        gateway = Gateway.create(settings, db=db)
        before = os.getloadavg()[0]
        server = "-"
        result = time_lookups(gateway, probe)
        after = os.getloadavg()[0]
        if result["server_cpu_mean"] is not None:
            server = f"{result['server_cpu_mean']:.2f}"
        print(f"{engine} {n:,}: {result} load {before:.1f}->{after:.1f} {timing}", flush=True)
        return (
            f"| {engine} | {n:,} | {result['p50']:.2f} | {result['p95']:.2f} | "
            f"{result['max']:.1f} | {result['cpu_p50']:.2f} | {result['cpu_p95']:.2f} | "
            f"{server} | {result['wall_mean']:.2f} | "
            f"{before:.1f} → {after:.1f} | {result['found']:.0%} | "
            f"{timing['load_s']:.0f} s | {timing['index_s']:.1f} s | "
            f"{sizes(db)} |"
        )
    finally:
        db.dispose()
        if admin is not None:
            if keep is None:
                with admin.engine.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
        for path in tmp.glob("*"):
            path.unlink()
        tmp.rmdir()


def run(quick: bool = False) -> str:
    sizes_wanted: tuple[int, ...] = (10_000,) if quick else (100_000, 1_000_000)
    if os.environ.get("BENCH_DEDUP_SIZES"):  # e.g. "100000" on a busy shared machine
        sizes_wanted = tuple(int(n) for n in os.environ["BENCH_DEDUP_SIZES"].split(","))
    pool = templates(500 if quick else 3000)
    probe = probes(pool, 100 if quick else 300)
    lines = [
        "| engine | open complaints | p50 ms | p95 ms | max ms | CPU p50 ms | CPU p95 ms | "
        "server CPU, mean ms | wall mean ms | load average (1 min) before → after the probes | "
        "probes with a match | bulk load | indexes built | size |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    engines = tuple(os.environ.get("BENCH_DEDUP_ENGINES", "sqlite,postgresql").split(","))
    for n in sizes_wanted:
        for engine in engines:
            lines.append(measure(engine, pool, n, probe))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        "\n".join(lines)
        + f"\n\nLoad average (1/5/15 min) at the end: {load}, on {os.cpu_count()} cores; above the "
        "core count, other work competed for the CPU and the wall-clock columns include the "
        "wait for it (each row gives the load during its probes). CPU ms is this process's CPU "
        "time per look-up (SQLite runs in it); server CPU is the PostgreSQL backend's CPU time "
        "per look-up (read from /proc: the server runs on this machine), so CPU p95 + server "
        "CPU is what one look-up costs without waiting."
        + "\n\nEach look-up is `gateway.complaints.dedup.find()` for a new complaint: its "
        "reporter's recent complaints plus the buckets of its keys within the time window (text "
        "keys for every complaint, village-scoped keys where the village is known), then "
        f"`judge()` on every candidate found. {len(probe)} probes; peak memory of the benchmark "
        f"process {peak:.0f} MiB. The open complaints are {VARIANTS_PER_TEMPLATE} variants of "
        f"each of {len(pool):,} generated complaints spread over two years; the bulk load is "
        "one transaction (COPY on PostgreSQL, executemany on SQLite) with the secondary indexes "
        "built afterwards. The 1,000,000 run is long on a shared machine: "
        "`BENCH_DEDUP_SIZES=100000` runs 100k alone. Targets: p95 < 10 ms at 100k, < 20 ms "
        "at 1M."
        + (
            " This run probed databases loaded earlier and kept (`BENCH_DEDUP_KEEP`): the load "
            "and index columns are the figures recorded when they were loaded."
            if os.environ.get("BENCH_DEDUP_KEEP")
            else ""
        )
    )
