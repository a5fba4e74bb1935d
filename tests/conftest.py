"""Shared fixtures. Every test that asks for `db` runs twice: on SQLite and on PostgreSQL.

PostgreSQL comes from TEST_DATABASE_URL (CI sets it and REQUIRE_POSTGRES=1, so an unreachable
server fails the run); on a developer machine without it the PostgreSQL half is skipped with
the reason shown. Each test session migrates its own PostgreSQL schema, so parallel runs do not
collide; tables are emptied between tests.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text
from sqlalchemy.engine import make_url

from channels.fakes.meta_graph import FakeMetaGraph
from channels.fakes.server import FakeServer, closed_port_url
from channels.fakes.telegram_api import FakeTelegram
from channels.fakes.twilio_api import FakeTwilio
from config.settings import Settings, load_settings
from gateway.context import Gateway
from gateway.store.db import Database
from gateway.store.migrate import upgrade
from tests.channels.cases import (
    INSTAGRAM_ID,
    PAGE_ID,
    PHONE_NUMBER_ID,
    TEST_FACEBOOK_TOKEN,
    TEST_INSTAGRAM_TOKEN,
    TEST_TELEGRAM_TOKEN,
    TEST_TWILIO_ACCOUNT_SID,
    TEST_TWILIO_TOKEN,
    TEST_WHATSAPP_CLOUD_TOKEN,
)

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# Every property and fuzz test runs the same examples on every run (`make test`, CI): a
# failure is reproduced by running again, and a green run is not luck. Each test bounds its own
# `max_examples`. HYPOTHESIS_PROFILE=explore draws new examples, for a session spent looking.
hypothesis_settings.register_profile("deterministic", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
TABLES_IN_DELETE_ORDER: list[str] | None = None

# No test reaches a demo running beside it: with the default CORE_BASE_URL (127.0.0.1:8100) a
# test that drains its outbox filed its complaints in the developer's `make run` simulator
# (seen). A test that talks to a core starts its own and says where; a `serve` a test starts
# runs its simulator on this free port instead of 8100.
os.environ["CORE_BASE_URL"] = closed_port_url()


def _pg_base_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG


def _pg_reachable(url: str) -> str | None:
    db = Database(url)
    try:
        return None if db.ping() else f"PostgreSQL not reachable at {make_url(url).host}"
    finally:
        db.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db.engine)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    base = _pg_base_url()
    problem = _pg_reachable(base)
    if problem:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{problem}; REQUIRE_POSTGRES=1 (CI) needs it")
        pytest.skip(f"{problem}: PostgreSQL half of the database tests skipped")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = Database(base)
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    url_text = url.render_as_string(hide_password=False)
    db = Database(url_text)
    upgrade(db.engine)
    db.dispose()
    try:
        yield url_text
    finally:
        with admin.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _truncate_pg(db: Database) -> None:
    with db.engine.begin() as conn:
        tables = (
            conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                    "AND tablename <> 'alembic_version'"
                )
            )
            .scalars()
            .all()
        )
        if tables:
            names = ", ".join(f'"{name}"' for name in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "gateway.store.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    if database.is_postgres:
        _truncate_pg(database)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return load_settings(
        app_env="test",
        database_url=db_url,
        data_dir=tmp_path / "var",
        scheduler_enabled=False,
        secret_key="test-secret-key-not-for-production",
        _env_file=None,
    )


@pytest.fixture
def gateway(settings: Settings, db: Database) -> Gateway:
    return Gateway.create(settings, db=db)


@pytest.fixture
def app(settings: Settings, gateway: Gateway):  # type: ignore[no-untyped-def]
    from gateway.app import create_app

    return create_app(settings, gateway)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://127.0.0.1:8000") as test_client:
        yield test_client


# --- fake providers: started once per session, emptied before each test -------------------


@dataclass
class RunningTwilio:
    fake: FakeTwilio
    url: str


@dataclass
class RunningTelegram:
    fake: FakeTelegram
    url: str


@dataclass
class RunningMeta:
    fake: FakeMetaGraph
    url: str


@pytest.fixture(scope="session")
def _twilio_server() -> Iterator[RunningTwilio]:
    fake = FakeTwilio(account_sid=TEST_TWILIO_ACCOUNT_SID, auth_token=TEST_TWILIO_TOKEN)
    server = FakeServer(fake.app)
    yield RunningTwilio(fake, server.start())
    server.stop()


@pytest.fixture(scope="session")
def _telegram_server() -> Iterator[RunningTelegram]:
    fake = FakeTelegram(token=TEST_TELEGRAM_TOKEN)
    server = FakeServer(fake.app)
    yield RunningTelegram(fake, server.start())
    server.stop()


@pytest.fixture
def twilio(_twilio_server: RunningTwilio) -> RunningTwilio:
    _twilio_server.fake.reset()
    return _twilio_server


@pytest.fixture
def telegram(_telegram_server: RunningTelegram) -> RunningTelegram:
    _telegram_server.fake.reset()
    return _telegram_server


@pytest.fixture(scope="session")
def _meta_server() -> Iterator[RunningMeta]:
    fake = FakeMetaGraph(
        tokens={
            TEST_WHATSAPP_CLOUD_TOKEN: PHONE_NUMBER_ID,
            TEST_INSTAGRAM_TOKEN: INSTAGRAM_ID,
            TEST_FACEBOOK_TOKEN: PAGE_ID,
        }
    )
    server = FakeServer(fake.app)
    yield RunningMeta(fake, server.start())
    server.stop()


@pytest.fixture
def meta(_meta_server: RunningMeta) -> RunningMeta:
    _meta_server.fake.reset()
    return _meta_server


# --- an S3-compatible object store: moto's server mode on 127.0.0.1 ------------------------


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A real S3 HTTP endpoint (moto's server mode) for the session; boto3 talks to it over
    HTTP exactly as it would to AWS or MinIO."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_settings(s3_server: str) -> dict[str, object]:
    """Settings overrides for a fresh bucket of this test's own (created)."""
    from gateway.store.files import S3FileStore

    values: dict[str, object] = {
        "storage_backend": "s3",
        "s3_bucket": f"lapor-{uuid.uuid4().hex[:12]}",
        "s3_endpoint_url": s3_server,
        "s3_access_key_id": "moto-test-key",
        "s3_secret_access_key": "moto-test-secret",
    }
    S3FileStore(
        str(values["s3_bucket"]),
        endpoint_url=s3_server,
        access_key_id="moto-test-key",
        secret_access_key="moto-test-secret",
    ).ensure_bucket()
    return values
