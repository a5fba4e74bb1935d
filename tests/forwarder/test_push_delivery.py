"""The simulator pushes each event, signed, to the gateway; a gateway that is down gets it again
later, in order. The receiving end here is a tiny app around `verify_push`, as the gateway's
POST /core/events will be."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from forwarder.base import CoreEvent, CoreEventKind
from forwarder.rest import PushPayloadError, PushSignatureError, verify_push
from forwarder.simulator import Action, CoreSimulator, create_app

from .conftest import FakeClock, make_report

pytestmark = pytest.mark.anyio


@dataclass
class Receiver:
    secret: str
    clock: FakeClock
    down: bool = False
    events: list[CoreEvent] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/core/events")
        async def core_events(request: Request) -> Response:
            if self.down:
                return Response(status_code=503)
            body = await request.body()
            try:
                events = verify_push(body, request.headers, self.secret, self.clock())
            except PushSignatureError:
                self.refused.append(403)
                return Response(status_code=403)
            except PushPayloadError:
                self.refused.append(400)
                return Response(status_code=400)
            self.events.extend(events)
            return Response(status_code=200)

        return app


def _pushing_core(
    tmp_path: Path, clock: FakeClock, receiver: Receiver, secret: str, **options: object
) -> CoreSimulator:
    app = create_app(
        tmp_path / "push.db",
        push_url="http://gateway.test/core/events",
        push_secret=secret,
        clock=clock,
        push_transport=httpx.ASGITransport(app=receiver.app()),
    )
    core: CoreSimulator = app.state.core
    for name, value in options.items():
        setattr(core, name, value)
    return core


@pytest.fixture
def secret() -> str:
    return secrets.token_hex(16)


async def test_events_are_pushed_signed_and_in_order(
    tmp_path: Path, clock: FakeClock, secret: str
) -> None:
    receiver = Receiver(secret, clock)
    core = _pushing_core(tmp_path, clock, receiver, secret)
    report, _ = core.submit("complaint-1", {"agency_code": "DPUPR"})
    core.act(report.core_id, Action.VERIFY)
    core.act(report.core_id, Action.DISPOSE)
    # acting does not wait for the gateway: nothing went out yet
    assert receiver.events == []
    assert await core.push_due() == 2
    assert [(e.kind, e.status) for e in receiver.events] == [
        (CoreEventKind.STATUS, "verified"),
        (CoreEventKind.DISPOSITION, "disposed"),
    ]
    assert receiver.events[1].agency_code == "DPUPR"
    assert await core.push_due() == 0  # delivered once
    await core.aclose()


async def test_a_gateway_that_is_down_gets_the_events_later(
    tmp_path: Path, clock: FakeClock, secret: str
) -> None:
    receiver = Receiver(secret, clock, down=True)
    core = _pushing_core(tmp_path, clock, receiver, secret)
    report, _ = core.submit("complaint-1", {})
    core.act(report.core_id, Action.VERIFY)
    core.act(report.core_id, Action.ARCHIVE)
    assert await core.push_due() == 0
    assert core.store.push_counts() == {"delivered": 0, "gave_up": 0, "waiting": 2}
    receiver.down = False
    assert await core.push_due() == 0  # the retry is not due yet
    clock.advance(1)
    assert await core.push_due() == 2
    assert [e.status for e in receiver.events] == ["verified", "archived"]
    await core.aclose()


async def test_backoff_grows_and_gives_up_on_one_event_at_last(
    tmp_path: Path, clock: FakeClock, secret: str
) -> None:
    receiver = Receiver(secret, clock, down=True)
    core = _pushing_core(tmp_path, clock, receiver, secret, push_max_attempts=3)
    report, _ = core.submit("complaint-1", {})
    core.act(report.core_id, Action.VERIFY)
    due_times = []
    for _ in range(3):
        await core.push_due()
        due_times.append(core.store.next_push_due_at())
        clock.advance(10)
    assert core.store.push_counts()["gave_up"] == 1
    assert due_times[0] < due_times[1]
    # a later event still goes out once the gateway is back
    receiver.down = False
    core.act(report.core_id, Action.ARCHIVE)
    assert await core.push_due() == 1
    assert [e.status for e in receiver.events] == ["archived"]
    await core.aclose()


async def test_a_wrong_secret_is_refused_by_the_gateway(
    tmp_path: Path, clock: FakeClock, secret: str
) -> None:
    receiver = Receiver(secrets.token_hex(16), clock)
    core = _pushing_core(tmp_path, clock, receiver, secret)
    report, _ = core.submit("complaint-1", {})
    core.act(report.core_id, Action.VERIFY)
    assert await core.push_due() == 0
    assert receiver.refused == [403]
    assert receiver.events == []
    await core.aclose()


async def test_push_events_equal_polled_events(
    tmp_path: Path, clock: FakeClock, secret: str
) -> None:
    """Push and poll carry the same event ids, so the gateway applies each once either way."""
    from forwarder.rest import RestCoreClient

    receiver = Receiver(secret, clock)
    app = create_app(
        tmp_path / "both.db",
        push_url="http://gateway.test/core/events",
        push_secret=secret,
        clock=clock,
        push_transport=httpx.ASGITransport(app=receiver.app()),
    )
    core: CoreSimulator = app.state.core
    client = RestCoreClient(base_url="http://core.test", transport=httpx.ASGITransport(app=app))
    ref = await client.submit(make_report(), "complaint-1")
    core.act(ref.core_id, Action.VERIFY)
    core.act(ref.core_id, Action.DISPOSE)
    core.act(ref.core_id, Action.ANSWER, text="Sudah ditangani.")
    await core.push_due()
    polled = (await client.updates(None)).events
    assert polled == receiver.events
    await client.aclose()
    await core.aclose()


def test_push_needs_a_secret(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="push_secret"):
        create_app(tmp_path / "x.db", push_url="http://gateway.test/core/events")
