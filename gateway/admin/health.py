"""Each channel's health, for the admins' health page, `/healthz` and the alarms (issue 13).

Read from what the gateway already records, no bookkeeping of its own: the last message in
(`inbound_message`), the last send out and the failures since (`outbox_item`: a row with an
error that was not sent after it), the dead letters, the core's last event and what waits for
it, and the webhooks waiting in the spool. A channel is

- `failing` when its last `CHANNEL_FAILURE_ALARM` deliveries in a row failed (the provider
  answers 500, the credentials were revoked...),
- `silent` when it received messages before but nothing for `CHANNEL_SILENT_HOURS`,
- `ok` otherwise (`idle` when it never carried anything yet).

`raise_alarms` tells the koordinators (WhatsApp, through a channel that is not failing itself)
once per incident: the outbox key names the incident (the first failure of the run, the last
message before the silence, the hour of new dead letters), so a repeat sweep queues nothing.

The polled sources (X mentions and DMs, YouTube comments, the mailbox) have rows of their own,
read from `poller_state` (written by `gateway/jobs/pollers.py`): last poll, last success, last
error, failures in a row, the daily budget left. A source is `failing` after
`CHANNEL_FAILURE_ALARM` failed polls in a row (an incident: until a poll succeeds again),
`paused` when its daily budget is spent (it resumes on the provider's next day by itself: no
alarm), `idle` before its first poll.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlmodel import Session, col

from channels.base import BUDGET_SPENT
from channels.registry import build_pollers
from config.messages import t
from gateway.clock import as_utc, utcnow
from gateway.intake import spool
from gateway.outbox import queue as outbox
from gateway.outbox.delivery import NOTIFY_ADMIN
from gateway.outbox.payloads import ChannelPayload
from gateway.outbox.recipients import koordinators_on_whatsapp
from gateway.store.models import (
    CoreEventLog,
    InboundMessage,
    InboundStatus,
    OutboxItem,
    OutboxStatus,
    PollerState,
)

if TYPE_CHECKING:
    from gateway.parts import Receiving

OK, FAILING, SILENT, IDLE, PAUSED = "ok", "failing", "silent", "idle", "paused"
# A poll failed but not yet CHANNEL_FAILURE_ALARM in a row: shown, not yet an incident.
RETRYING = "retrying"
# Koordinators are reached on their WhatsApp number (as the daily digest is).
ALARM_CHANNELS = ("twilio_whatsapp", "whatsapp_cloud")
CORE_KINDS = ("core_submit", "core_feedback", "core_redispose", "core_followup", "core_close")


@dataclass(frozen=True)
class ChannelHealth:
    channel: str
    state: str
    last_inbound: datetime | None
    last_inbound_id: int | None
    last_sent: datetime | None
    sent_24h: int
    failed_24h: int
    consecutive_failures: int
    first_failure_id: int | None  # the first failed delivery of the current run
    last_error: str | None
    dead_letters: int
    unreadable: int


@dataclass(frozen=True)
class CoreHealth:
    last_event: datetime | None
    waiting: int  # submissions and follow-ups not yet delivered to the core
    dead: int
    last_error: str | None


@dataclass(frozen=True)
class PollerHealth:
    source: str  # the cursor's name: x_mentions, x_dm, youtube_comments, email
    channel: str
    state: str
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    next_poll_at: datetime | None
    consecutive_failures: int
    polls: int
    messages: int
    unreadable: int
    budget: int | None  # the daily budget (None: none, or the source is not configured now)
    budget_left: int | None

    @property
    def failing(self) -> bool:
        return self.state == FAILING

    @property
    def incident(self) -> str:
        """Names the current run of failures: it starts after the last success."""
        return self.last_success_at.isoformat() if self.last_success_at else "never"


@dataclass(frozen=True)
class Health:
    channels: list[ChannelHealth]
    core: CoreHealth
    dead_letters: int
    spooled: int
    pollers: list[PollerHealth] = field(default_factory=list)

    @property
    def degraded(self) -> list[str]:
        return [c.channel for c in self.channels if c.state in (FAILING, SILENT)]

    @property
    def failing_pollers(self) -> list[str]:
        return [p.source for p in self.pollers if p.state == FAILING]


def _channel(
    session: Session, name: str, now: datetime, failure_alarm: int, silent: timedelta
) -> ChannelHealth:
    last_in = session.execute(
        select(col(InboundMessage.id), col(InboundMessage.created_at))
        .where(col(InboundMessage.channel) == name)
        .order_by(col(InboundMessage.id).desc())
        .limit(1)
    ).first()
    rows = select(OutboxItem).where(col(OutboxItem.channel) == name)
    last_sent = session.scalar(
        select(func.max(col(OutboxItem.sent_at))).where(col(OutboxItem.channel) == name)
    )
    day = now - timedelta(days=1)
    sent_24h = session.scalar(
        select(func.count()).select_from(rows.where(col(OutboxItem.sent_at) >= day).subquery())
    )
    failed_since = (
        rows.where(col(OutboxItem.last_error).is_not(None))
        .where(col(OutboxItem.status) != OutboxStatus.SENT.value)
        .where(col(OutboxItem.updated_at) > (last_sent or datetime.min.replace(tzinfo=now.tzinfo)))
    )
    failures = failed_since.subquery()
    run = session.execute(select(func.count(), func.min(failures.c.id))).one()
    failed_24h = session.scalar(
        select(func.count()).select_from(
            rows.where(col(OutboxItem.last_error).is_not(None))
            .where(col(OutboxItem.status) != OutboxStatus.SENT.value)
            .where(col(OutboxItem.updated_at) >= day)
            .subquery()
        )
    )
    last_error = session.scalar(
        rows.with_only_columns(col(OutboxItem.last_error))
        .where(col(OutboxItem.last_error).is_not(None))
        .where(col(OutboxItem.status) != OutboxStatus.SENT.value)
        .order_by(col(OutboxItem.updated_at).desc())
        .limit(1)
    )
    dead = session.scalar(
        select(func.count()).select_from(
            rows.where(col(OutboxItem.status) == OutboxStatus.DEAD.value).subquery()
        )
    )
    unreadable = session.scalar(
        select(func.count())
        .select_from(InboundMessage)
        .where(col(InboundMessage.channel) == name)
        .where(col(InboundMessage.status) == InboundStatus.UNREADABLE.value)
    )
    consecutive, first_failure = int(run[0] or 0), run[1]
    last_inbound = last_in[1] if last_in else None
    if consecutive >= failure_alarm:
        state = FAILING
    elif last_inbound is not None and now - last_inbound > silent:
        state = SILENT
    elif last_inbound is None and last_sent is None:
        state = IDLE
    else:
        state = OK
    return ChannelHealth(
        channel=name,
        state=state,
        last_inbound=last_inbound,
        last_inbound_id=last_in[0] if last_in else None,
        last_sent=last_sent,
        sent_24h=int(sent_24h or 0),
        failed_24h=int(failed_24h or 0),
        consecutive_failures=consecutive,
        first_failure_id=first_failure,
        last_error=last_error,
        dead_letters=int(dead or 0),
        unreadable=int(unreadable or 0),
    )


def _core(session: Session) -> CoreHealth:
    core_rows = select(OutboxItem).where(col(OutboxItem.kind).in_(CORE_KINDS))
    waiting = session.scalar(
        select(func.count()).select_from(
            core_rows.where(
                col(OutboxItem.status).in_(
                    [OutboxStatus.PENDING.value, OutboxStatus.IN_FLIGHT.value]
                )
            ).subquery()
        )
    )
    dead = session.scalar(
        select(func.count()).select_from(
            core_rows.where(col(OutboxItem.status) == OutboxStatus.DEAD.value).subquery()
        )
    )
    last_error = session.scalar(
        core_rows.with_only_columns(col(OutboxItem.last_error))
        .where(col(OutboxItem.last_error).is_not(None))
        .where(col(OutboxItem.status) != OutboxStatus.SENT.value)
        .order_by(col(OutboxItem.updated_at).desc())
        .limit(1)
    )
    return CoreHealth(
        last_event=session.scalar(select(func.max(col(CoreEventLog.received_at)))),
        waiting=int(waiting or 0),
        dead=int(dead or 0),
        last_error=last_error,
    )


def _pollers(
    session: Session, gateway: Receiving, now: datetime, failure_alarm: int
) -> list[PollerHealth]:
    configured = build_pollers(gateway.channels)
    rows = {r.source: r for r in session.scalars(select(PollerState)).all()}
    found = []
    for source in sorted(set(configured) | set(rows)):
        poller, row = configured.get(source), rows.get(source)
        budget = poller.daily_budget if poller else None
        left = (
            poller.budget_left(row.budget_day, row.budget_used, now) if poller and row else budget
        )
        failures = row.consecutive_errors if row else 0
        # The runner notes a spent budget on the row, so a source polled under another
        # configuration (or by another instance) shows paused too.
        spent = bool(
            row
            and row.last_error == BUDGET_SPENT
            and row.next_poll_at
            and as_utc(row.next_poll_at) > now
        )
        if failures >= failure_alarm:
            state = FAILING
        elif left == 0 or spent:
            state = PAUSED
        elif failures:
            state = RETRYING
        elif row is None or row.polls == 0:
            state = IDLE
        else:
            state = OK
        found.append(
            PollerHealth(
                source=source,
                channel=poller.channel if poller else (row.channel if row else ""),
                state=state,
                last_poll_at=row.last_poll_at if row else None,
                last_success_at=row.last_success_at if row else None,
                last_error_at=row.last_error_at if row else None,
                last_error=row.last_error if row else None,
                next_poll_at=row.next_poll_at if row else None,
                consecutive_failures=failures,
                polls=row.polls if row else 0,
                messages=row.messages if row else 0,
                unreadable=row.unreadable if row else 0,
                budget=budget,
                budget_left=left,
            )
        )
    return found


def overview(gateway: Receiving, now: datetime | None = None) -> Health:
    """Every configured channel (the web form included), every polled source, the core and the
    spool, now."""
    now = now or utcnow()
    settings = gateway.settings
    silent = timedelta(hours=settings.channel_silent_hours)
    with gateway.db.read_session() as session:
        channels = [
            _channel(session, name, now, settings.channel_failure_alarm, silent)
            for name in sorted(gateway.channels)
        ]
        core = _core(session)
        pollers = _pollers(session, gateway, now, settings.channel_failure_alarm)
        dead = session.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .where(col(OutboxItem.status) == OutboxStatus.DEAD.value)
        )
    return Health(channels, core, int(dead or 0), spool.pending(gateway), pollers)


def raise_alarms(gateway: Receiving, now: datetime | None = None) -> int:
    """Tell the koordinators about a failing or silent channel and new dead letters, once per
    incident; returns how many messages were queued."""
    now = now or utcnow()
    health = overview(gateway, now)
    incidents: list[tuple[str, str, dict[str, object]]] = []
    for c in health.channels:
        if c.state == FAILING:
            key = f"alarm:failing:{c.channel}:{c.first_failure_id}"
            values = {"channel": c.channel, "n": c.consecutive_failures}
            incidents.append((key, "admin.health.alarm_failing", values))
        elif c.state == SILENT:
            key = f"alarm:silent:{c.channel}:{c.last_inbound_id}"
            hours = int((now - c.last_inbound).total_seconds() // 3600) if c.last_inbound else 0
            incidents.append(
                (key, "admin.health.alarm_silent", {"channel": c.channel, "hours": hours})
            )
    for p in health.pollers:
        if p.state == FAILING:
            key = f"alarm:poller:{p.source}:{p.incident}"
            values = {"source": p.source, "n": p.consecutive_failures}
            incidents.append((key, "admin.health.alarm_poller", values))
    with gateway.db.read_session() as session:
        new_dead = session.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .where(col(OutboxItem.status) == OutboxStatus.DEAD.value)
            .where(col(OutboxItem.kind) != NOTIFY_ADMIN)
            .where(col(OutboxItem.updated_at) >= now - timedelta(hours=1))
        )
    if new_dead:
        key = f"alarm:dead:{now:%Y%m%d%H}"
        incidents.append((key, "admin.health.alarm_dead", {"n": health.dead_letters}))
    if not incidents:
        return 0
    working = {c.channel for c in health.channels if c.state != FAILING}
    channel = next((name for name in ALARM_CHANNELS if name in working), None)
    if channel is None:
        return 0  # nothing left to reach anyone with; the health page still says it
    queued = 0
    with gateway.db.session() as session:
        recipients = koordinators_on_whatsapp(session)
        for key, text_key, values in incidents:
            for user in recipients:
                text = t(user.language, text_key, **values)
                queued += outbox.enqueue(
                    session,
                    outbox.OutboxMessage(
                        kind=NOTIFY_ADMIN,
                        key=f"{key}:user:{user.id}",
                        channel=channel,
                        recipient=user.whatsapp,
                        payload=ChannelPayload(
                            text,
                            kind="notice",
                            language=user.language,
                            template_variables={"text": text},
                        ),
                    ),
                )
        session.commit()
    return queued
