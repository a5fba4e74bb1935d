"""The gateway's figures for Prometheus (`GET /metrics`, issue 13), read from the database at
each scrape (a few grouped counts), so every instance answers the same and nothing is lost on
a restart: inbound per channel, processing lag, outbox depth and age, sends and failures per
channel, dead letters, the core's round trip, deadlines overdue, and the spool."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import func, select
from sqlmodel import col

from gateway.clock import as_utc, utcnow
from gateway.intake import spool
from gateway.reports.digest import ANSWERING, VERIFYING
from gateway.store.models import (
    Complaint,
    CoreEventLog,
    InboundMessage,
    InboundStatus,
    OutboxItem,
    OutboxStatus,
)

if TYPE_CHECKING:
    from gateway.parts import Stored

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _age(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - as_utc(since)).total_seconds()) if since else 0.0


class GatewayCollector:
    def __init__(self, gateway: Stored) -> None:
        self.gateway = gateway

    def collect(self) -> Iterator[Metric]:
        now = utcnow()
        with self.gateway.db.read_session() as session:
            inbound = session.execute(
                select(
                    col(InboundMessage.channel), col(InboundMessage.status), func.count()
                ).group_by(col(InboundMessage.channel), col(InboundMessage.status))
            ).all()
            oldest_pending_in = session.scalar(
                select(func.min(col(InboundMessage.created_at))).where(
                    col(InboundMessage.status) == InboundStatus.PENDING.value
                )
            )
            outbox = session.execute(
                select(col(OutboxItem.channel), col(OutboxItem.status), func.count()).group_by(
                    col(OutboxItem.channel), col(OutboxItem.status)
                )
            ).all()
            oldest_due = session.scalar(
                select(func.min(col(OutboxItem.created_at))).where(
                    col(OutboxItem.status).in_(
                        [OutboxStatus.PENDING.value, OutboxStatus.IN_FLIGHT.value]
                    )
                )
            )
            last_core = session.scalar(select(func.max(col(CoreEventLog.received_at))))
            verify_overdue = session.scalar(
                select(func.count())
                .select_from(Complaint)
                .where(col(Complaint.status).in_(VERIFYING))
                .where(col(Complaint.verify_due_at) < now)
            )
            answer_overdue = session.scalar(
                select(func.count())
                .select_from(Complaint)
                .where(col(Complaint.status).in_(ANSWERING))
                .where(col(Complaint.answer_due_at) < now)
            )
        received = CounterMetricFamily(
            "lapor_inbound_messages",
            "Inbound messages stored, per channel and status",
            labels=["channel", "status"],
        )
        for channel, status, n in inbound:
            received.add_metric([channel, status], n)
        yield received
        yield GaugeMetricFamily(
            "lapor_inbound_processing_lag_seconds",
            "Age of the oldest stored message not processed yet (0: none waiting)",
            value=_age(now, oldest_pending_in),
        )
        sent = CounterMetricFamily(
            "lapor_outbox_messages",
            "Outbox rows per channel and status (sent, dead = failures)",
            labels=["channel", "status"],
        )
        depth = 0
        dead = 0
        for channel, status, n in outbox:
            sent.add_metric([channel or "core", status], n)
            if status in (OutboxStatus.PENDING.value, OutboxStatus.IN_FLIGHT.value):
                depth += n
            if status == OutboxStatus.DEAD.value:
                dead += n
        yield sent
        yield GaugeMetricFamily("lapor_outbox_depth", "Outbox rows waiting to be sent", value=depth)
        yield GaugeMetricFamily(
            "lapor_outbox_oldest_age_seconds",
            "Age of the oldest waiting outbox row",
            value=_age(now, oldest_due),
        )
        yield GaugeMetricFamily(
            "lapor_dead_letters", "Messages that could not be delivered", value=dead
        )
        yield GaugeMetricFamily(
            "lapor_core_last_event_age_seconds",
            "Seconds since the last event from the SP4N-LAPOR! core (its round trip back)",
            value=_age(now, last_core),
        )
        overdue = GaugeMetricFamily(
            "lapor_deadlines_overdue", "Open complaints past a deadline", labels=["deadline"]
        )
        overdue.add_metric(["verify"], int(verify_overdue or 0))
        overdue.add_metric(["answer"], int(answer_overdue or 0))
        yield overdue
        yield GaugeMetricFamily(
            "lapor_webhook_spool",
            "Webhooks waiting in the local spool for the database",
            value=spool.pending(self.gateway),
        )


def render(gateway: Stored) -> bytes:
    registry = CollectorRegistry()
    registry.register(GatewayCollector(gateway))
    return generate_latest(registry)
