"""The REST backend: an httpx client for an SP4N-LAPOR! integration API.

The real integration API is documented only to accounts with integration access, so every path,
header and field name is a `RestMapping` a deployment can override from a JSON/YAML file
(`CORE_REST_MAPPING_FILE`); the defaults speak our simulator's API (docs/core-api.md).

Safety rules, in the order they matter:
- every submit and every follow-up (progress, answer, close, verify, dispose, return, archive,
  ask) carries an `Idempotency-Key`;
- a submit or follow-up whose outcome is unknown (timeout, dropped connection, 500/502/504) is
  reconciled: we ask the core for the key before raising, so what it did accept is returned,
  not sent twice; a connect error or 503 means nothing reached the core, so there is nothing
  to ask;
- reads (`find`, `updates`, `incoming`) are retried here with exponential backoff; a submit is
  not: the
  gateway's outbox owns its retries (and should call `find(key)` before re-submitting);
- 5xx, 408, 425, 429 and network failures raise `CoreUnavailable`; other 4xx `CoreRejected`.

Incoming reports (filed in LAPOR!, disposed to the regency) are read through the mapping's
`incoming_fields`; one that cannot be mapped becomes an `UnreadableReport` with its raw JSON,
never an exception that would stall the cursor.

`verify_push` checks and parses the events a core pushes to the gateway (`POST /core/events`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import yaml

from forwarder.base import (
    CoreAttachment,
    CoreClient,
    CoreEvent,
    CoreEventKind,
    CoreReceipt,
    CoreRef,
    CoreRejected,
    CoreReport,
    CoreUnavailable,
    CoreUpdates,
    IncomingPage,
    IncomingReport,
    UnreadableReport,
)
from forwarder.jsonpath import get_path, parse_attachments, parse_time, set_path
from forwarder.lapor_words import CATEGORIES, category_of, channel_of, flag_of
from forwarder.signing import (
    DEFAULT_TOLERANCE_SECONDS,
    PushSignatureError,
    check_push_signature,
)

if TYPE_CHECKING:
    from config.settings import Settings

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

# Statuses worth another try: the core is down, overloaded or asks us to slow down.
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
# After these a submit may or may not have been stored, so we ask before giving up.
AMBIGUOUS_SUBMIT_STATUS = frozenset({500, 502, 504})
_DETAIL_CHARS = 300


class PushPayloadError(Exception):
    """A correctly signed push whose body we cannot read (answer 400, change nothing)."""


def _frozen(mapping: dict[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


# CoreReport attribute -> dotted path in the core's JSON ("location.text" nests). An empty
# path leaves the field out (for a core that does not take it).
DEFAULT_REPORT_FIELDS = _frozen({f.name: f.name for f in dataclasses.fields(CoreReport)})
DEFAULT_ATTACHMENT_FIELDS = _frozen(
    {"url": "url", "filename": "filename", "content_type": "content_type"}
)
DEFAULT_EVENT_FIELDS = _frozen(
    {
        "event_id": "event_id",
        "core_id": "report_id",
        "kind": "kind",
        "occurred_at": "occurred_at",
        "status": "status",
        "text": "text",
        "agency_code": "agency_code",
        "attachments": "attachments",
        "origin_key": "origin_key",
        "report": "report",  # an `incoming` event's report, read by `incoming_fields`
    }
)
# IncomingReport attribute -> dotted path in one incoming report of the core's JSON.
DEFAULT_INCOMING_FIELDS = _frozen(
    {
        f.name: ("id" if f.name == "core_id" else f.name)
        for f in dataclasses.fields(IncomingReport)
        if f.name != "raw"
    }
)
DEFAULT_EVENT_KINDS = _frozen({kind.value: kind.value for kind in CoreEventKind})


@dataclass(frozen=True)
class RestMapping:
    """Where things are in the core's API. Defaults follow the simulator (docs/core-api.md)."""

    submit_path: str = "/api/v1/reports"
    find_path: str = "/api/v1/reports"
    find_key_param: str = "idempotency_key"
    find_list_field: str = "reports"  # empty: the answer is the report (or a list) itself
    events_path: str = "/api/v1/events"
    since_param: str = "since"
    limit_param: str = "limit"
    feedback_path: str = "/api/v1/reports/{core_id}/feedback"
    disposition_path: str = "/api/v1/reports/{core_id}/disposition"
    # The agency's follow-ups; an empty path: this core takes no such follow-up (CoreRejected).
    progress_path: str = "/api/v1/reports/{core_id}/progress"
    answer_path: str = "/api/v1/reports/{core_id}/answer"
    close_path: str = "/api/v1/reports/{core_id}/close"
    followup_find_path: str = "/api/v1/reports/{core_id}/followups"  # with find_key_param
    followup_find_list_field: str = "followups"  # empty: the answer is the list itself
    followup_text_field: str = "text"
    followup_attachments_field: str = "attachments"
    close_reason_field: str = "reason"
    receipt_id_field: str = "event_id"
    receipt_status_field: str = "status"
    idempotency_header: str = "Idempotency-Key"
    api_key_header: str = "X-API-Key"
    api_key_prefix: str = ""  # e.g. "Bearer " with api_key_header "Authorization"
    report_fields: Mapping[str, str] = field(default_factory=lambda: DEFAULT_REPORT_FIELDS)
    attachment_fields: Mapping[str, str] = field(default_factory=lambda: DEFAULT_ATTACHMENT_FIELDS)
    ref_id_field: str = "id"
    ref_status_field: str = "status"
    events_field: str = "events"
    cursor_field: str = "cursor"
    more_field: str = "more"
    event_fields: Mapping[str, str] = field(default_factory=lambda: DEFAULT_EVENT_FIELDS)
    # the core's kind word -> CoreEventKind value
    event_kinds: Mapping[str, str] = field(default_factory=lambda: DEFAULT_EVENT_KINDS)
    default_event_kind: str = ""  # for a core that sends no kind: e.g. "status"
    feedback_text_field: str = "text"
    feedback_rating_field: str = "rating"
    naive_timezone: str = "UTC"  # for timestamps the core sends without an offset
    # Intake: reports filed in LAPOR! and disposed to the regency, by cursor (since_param and
    # limit_param as for events). An empty path: this core offers none (an empty page).
    incoming_path: str = "/api/v1/incoming"
    incoming_list_field: str = "reports"  # empty: the answer is the list itself
    incoming_cursor_field: str = "cursor"
    incoming_more_field: str = "more"
    incoming_fields: Mapping[str, str] = field(default_factory=lambda: DEFAULT_INCOMING_FIELDS)
    # The core's words for a class / a channel -> ours (added to forwarder/lapor_words.py).
    category_values: Mapping[str, str] = field(default_factory=lambda: _frozen({}))
    channel_values: Mapping[str, str] = field(default_factory=lambda: _frozen({}))
    # The regency admin's actions (keyed like follow-ups; an empty path: the core takes none).
    verify_path: str = "/api/v1/reports/{core_id}/verify"
    dispose_path: str = "/api/v1/reports/{core_id}/dispose"
    return_path: str = "/api/v1/reports/{core_id}/return"
    archive_path: str = "/api/v1/reports/{core_id}/archive"
    ask_path: str = "/api/v1/reports/{core_id}/ask"
    dispose_agency_field: str = "agency_code"
    action_reason_field: str = "reason"  # of a return or an archive
    ask_question_field: str = "question"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RestMapping:
        """Override the defaults; the dict-valued fields are merged key by key."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown core mapping keys: {', '.join(unknown)}")
        defaults = cls()
        values: dict[str, Any] = {}
        for name, value in data.items():
            default = getattr(defaults, name)
            if isinstance(default, Mapping):
                if not isinstance(value, Mapping):
                    raise ValueError(f"core mapping {name} must be a mapping")
                values[name] = _frozen({**default, **{str(k): str(v) for k, v in value.items()}})
            elif not isinstance(value, str):
                raise ValueError(f"core mapping {name} must be a string")
            else:
                values[name] = value
        bad_fields = set(values.get("report_fields", {})) - set(DEFAULT_REPORT_FIELDS)
        if bad_fields:
            raise ValueError(f"report_fields names unknown fields: {', '.join(sorted(bad_fields))}")
        bad_kinds = set(values.get("event_kinds", {}).values()) - {k.value for k in CoreEventKind}
        if bad_kinds:
            raise ValueError(f"event_kinds maps to unknown kinds: {', '.join(sorted(bad_kinds))}")
        bad_incoming = set(values.get("incoming_fields", {})) - set(DEFAULT_INCOMING_FIELDS)
        if bad_incoming:
            raise ValueError(
                f"incoming_fields names unknown fields: {', '.join(sorted(bad_incoming))}"
            )
        bad_classes = set(values.get("category_values", {}).values()) - CATEGORIES
        if bad_classes:
            raise ValueError(
                f"category_values maps to unknown classes: {', '.join(sorted(bad_classes))}"
            )
        return cls(**values)

    @classmethod
    def for_settings(cls, settings: Settings) -> RestMapping:
        """The simulator always speaks the defaults; a mapping file is for a real core."""
        if settings.core_backend == "rest" and settings.core_rest_mapping_file:
            return cls.from_file(settings.core_rest_mapping_file)
        return cls()

    @classmethod
    def from_file(cls, path: str | Path) -> RestMapping:
        """Read a JSON or YAML file (YAML is a superset of JSON)."""
        data = yaml.safe_load(Path(path).read_text("utf-8")) or {}
        if not isinstance(data, Mapping):
            raise ValueError(f"{path}: the core mapping must be a mapping at the top level")
        return cls.from_dict(data)


# --- reports out ------------------------------------------------------------------------------


def report_payload(report: CoreReport, mapping: RestMapping = RestMapping()) -> dict[str, Any]:
    """The JSON body of a submit: the report's fields at the mapped paths, empty ones left out."""
    payload: dict[str, Any] = {}
    for name, path in mapping.report_fields.items():
        value = getattr(report, name)
        if not path or value is None:
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        elif name == "attachments":
            value = [_attachment_json(a, mapping) for a in value]
        set_path(payload, path, value)
    return payload


def _attachment_json(attachment: CoreAttachment, mapping: RestMapping) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for name, path in mapping.attachment_fields.items():
        if path:
            set_path(item, path, getattr(attachment, name))
    return item


# --- events in --------------------------------------------------------------------------------


class _BadEvent(ValueError):
    pass


def _parse_time(value: Any, naive_timezone: str) -> datetime:
    try:
        return parse_time(value, naive_timezone, "occurred_at")
    except ValueError as exc:
        raise _BadEvent(str(exc)) from None


def _optional_text(item: Mapping[str, Any], path: str) -> str | None:
    if not path:
        return None
    value = get_path(item, path)
    return None if value is None else str(value)


def _parse_attachments(value: Any, mapping: RestMapping) -> tuple[CoreAttachment, ...]:
    return parse_attachments(value, mapping.attachment_fields)


def parse_event(item: Any, mapping: RestMapping = RestMapping()) -> CoreEvent | None:
    """One event from the core; None for a kind we do not know (logged); `_BadEvent` if broken."""
    if not isinstance(item, Mapping):
        raise _BadEvent("an event must be a JSON object")
    fields = mapping.event_fields
    event_id = get_path(item, fields["event_id"])
    core_id = get_path(item, fields["core_id"])
    if event_id in (None, "") or core_id in (None, ""):
        raise _BadEvent("an event needs an id and a report id")
    raw_kind = _optional_text(item, fields.get("kind", "")) or mapping.default_event_kind
    kind = mapping.event_kinds.get(raw_kind) if raw_kind else None
    if kind is None:
        log.warning("core event %s has an unknown kind %r; ignored", event_id, raw_kind)
        return None
    report = None
    if kind == CoreEventKind.INCOMING.value and fields.get("report"):
        carried = get_path(item, fields["report"])
        if carried is not None:
            report = parse_incoming(carried, mapping)
    return CoreEvent(
        event_id=str(event_id),
        core_id=str(core_id),
        kind=CoreEventKind(kind),
        occurred_at=_parse_time(get_path(item, fields["occurred_at"]), mapping.naive_timezone),
        status=_optional_text(item, fields.get("status", "")),
        text=_optional_text(item, fields.get("text", "")),
        agency_code=_optional_text(item, fields.get("agency_code", "")),
        origin_key=_optional_text(item, fields.get("origin_key", "")),
        attachments=_parse_attachments(get_path(item, fields.get("attachments", "")), mapping)
        if fields.get("attachments")
        else (),
        report=report,
    )


# --- incoming reports -------------------------------------------------------------------------


def _id_text(value: Any) -> str | None:
    if value is None or isinstance(value, bool | Mapping | list):
        return None
    text = str(value).strip().lstrip("#")
    return text or None


def _clean(value: Any, limit: int = 20000) -> str | None:
    if value is None or isinstance(value, Mapping | list):
        return None
    text = str(value).strip()
    return text[:limit] or None


def _coordinate(value: Any, bound: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if -bound <= number <= bound and number == number else None


def parse_incoming(
    item: Any, mapping: RestMapping = RestMapping()
) -> IncomingReport | UnreadableReport:
    """One incoming report of the core's JSON, or an `UnreadableReport` saying why not.

    Strict about what a complaint cannot be without (the tracking id, the text, the time it was
    filed); lenient about the rest (an unknown class is None, a broken coordinate left out).
    """
    if not isinstance(item, Mapping):
        return UnreadableReport(error="an incoming report must be a JSON object", raw=item)
    fields = mapping.incoming_fields

    def value(name: str) -> Any:
        return get_path(item, fields.get(name, ""))

    core_id = _id_text(value("core_id"))
    try:
        if core_id is None:
            raise ValueError(f"no tracking id at {fields.get('core_id')!r}")
        description = _clean(value("description"))
        if description is None:
            raise ValueError(f"no report text at {fields.get('description')!r}")
        received_at = parse_time(value("received_at"), mapping.naive_timezone, "received_at")
        disposed = value("disposed_at")
        disposed_at = (
            None
            if disposed in (None, "")
            else parse_time(disposed, mapping.naive_timezone, "disposed_at")
        )
    except ValueError as exc:
        # The id and the reason only: the report's text and reporter stay out of the log.
        log.warning("incoming report %s kept unreadable: %s", core_id or "(no id)", exc)
        return UnreadableReport(error=str(exc), raw=item, core_id=core_id)
    latitude = _coordinate(value("latitude"), 90)
    longitude = _coordinate(value("longitude"), 180)
    if latitude is None or longitude is None:
        latitude = longitude = None  # half a coordinate places nothing
    anonim = flag_of(value("anonim"))
    return IncomingReport(
        core_id=core_id,
        title=_clean(value("title"), 300) or "",
        description=description,
        received_at=received_at,
        category=category_of(value("category"), mapping.category_values),
        topic=_clean(value("topic"), 200),
        source_channel=channel_of(value("source_channel"), mapping.channel_values),
        disposed_at=disposed_at,
        agency_code=_clean(value("agency_code"), 50),
        status=_clean(value("status"), 60),
        location_text=_clean(value("location_text"), 500),
        latitude=latitude,
        longitude=longitude,
        kecamatan=_clean(value("kecamatan"), 100),
        kelurahan=_clean(value("kelurahan"), 100),
        # Privacy by default: an anonymous report names nobody, whatever the core sent.
        reporter_name=None if anonim else _clean(value("reporter_name"), 200),
        reporter_contact=None if anonim else _clean(value("reporter_contact"), 200),
        anonim=anonim,
        rahasia=flag_of(value("rahasia")),
        attachments=_parse_attachments(value("attachments"), mapping),
        raw=item,
    )


def split_incoming(
    items: list[Any], mapping: RestMapping = RestMapping()
) -> tuple[list[IncomingReport], list[UnreadableReport]]:
    """The mapped reports and the unreadable ones of a list, each in the core's order. A
    tracking id listed twice (re-disposed meanwhile) is one report: its last listing."""
    latest: dict[str, IncomingReport] = {}
    unreadable: list[UnreadableReport] = []
    for item in items:
        parsed = parse_incoming(item, mapping)
        if isinstance(parsed, IncomingReport):
            latest.pop(parsed.core_id, None)
            latest[parsed.core_id] = parsed
        else:
            unreadable.append(parsed)
    return list(latest.values()), unreadable


def _event_items(data: Any, mapping: RestMapping) -> list[Any]:
    if isinstance(data, list):
        return data
    if isinstance(data, Mapping):
        items = get_path(data, mapping.events_field) if mapping.events_field else None
        if items is None:
            return [data]  # a core that pushes one bare event per request
        if isinstance(items, list):
            return items
    raise _BadEvent("expected a list of events")


def parse_events(
    data: Any, mapping: RestMapping = RestMapping(), *, strict: bool
) -> list[CoreEvent]:
    """The events in a poll answer or push body, oldest first.

    `strict` (push): any broken event rejects the whole body, so nothing half-applies.
    Not strict (poll): a broken event is logged and skipped so one bad row cannot stall the
    cursor forever.
    """
    try:
        items = _event_items(data, mapping)
    except _BadEvent as exc:
        raise PushPayloadError(str(exc)) from None
    events = []
    for item in items:
        try:
            event = parse_event(item, mapping)
        except _BadEvent as exc:
            if strict:
                raise PushPayloadError(str(exc)) from None
            log.warning("core event skipped: %s", exc)
            continue
        if event is not None:
            events.append(event)
    return events


def verify_push(
    body: bytes,
    headers: Mapping[str, str],
    secret: str | None,
    now: datetime,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    mapping: RestMapping = RestMapping(),
) -> list[CoreEvent]:
    """The events of a signed push. `PushSignatureError` → 403; `PushPayloadError` → 400.

    The signature is checked on the raw bytes before anything is parsed.
    """
    check_push_signature(body, headers, secret, now, tolerance)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise PushPayloadError("push body is not JSON") from None
    except RecursionError:  # a signed body nested a thousand levels deep: refused, not a 500
        raise PushPayloadError("push body is nested too deeply") from None
    try:
        return parse_events(data, mapping, strict=True)
    except RecursionError:
        raise PushPayloadError("push body is nested too deeply") from None


# --- the client -------------------------------------------------------------------------------


def _describe(exc: httpx.RequestError) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _detail(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:_DETAIL_CHARS]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: use our own backoff


@dataclass(eq=False)  # a client is compared by identity, like any connection holder
class RestCoreClient(CoreClient):
    """`CoreClient` over HTTP. Build with `from_settings` or the explicit parameters."""

    base_url: str
    api_key: str | None = field(default=None, repr=False)
    mapping: RestMapping = field(default_factory=RestMapping, repr=False)
    timeout_seconds: float = 10.0
    retries: int = 2
    backoff_seconds: float = 0.5
    backoff_max_seconds: float = 8.0
    page_size: int = 100
    transport: httpx.AsyncBaseTransport | None = field(default=None, repr=False)
    sleep: Sleep = field(default=asyncio.sleep, repr=False)
    name: str = "rest"

    def __post_init__(self) -> None:
        headers = {"Accept": "application/json", "User-Agent": "lapor-gateway"}
        if self.api_key:
            headers[self.mapping.api_key_header] = self.mapping.api_key_prefix + self.api_key
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(self.timeout_seconds, connect=min(self.timeout_seconds, 5.0)),
            transport=self.transport,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> RestCoreClient:
        return cls(
            base_url=settings.core_base_url,
            api_key=settings.core_api_key.get_secret_value() if settings.core_api_key else None,
            mapping=RestMapping.for_settings(settings),
            timeout_seconds=settings.core_timeout_seconds,
            retries=settings.core_retries,
            backoff_seconds=settings.core_retry_backoff_seconds,
            page_size=settings.core_page_size,
            transport=transport,
            sleep=sleep,
            name=settings.core_backend,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- submit and reconciliation ---------------------------------------------------------

    async def submit(self, report: CoreReport, idempotency_key: str) -> CoreRef:
        headers = {self.mapping.idempotency_header: idempotency_key}
        payload = report_payload(report, self.mapping)
        try:
            response = await self._http.post(
                self.mapping.submit_path, json=payload, headers=headers
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            # No connection, so no request reached the core: nothing to reconcile.
            raise CoreUnavailable(f"submit: {_describe(exc)}") from exc
        except httpx.RequestError as exc:
            return await self._reconcile(idempotency_key, f"submit: {_describe(exc)}")
        if response.status_code in AMBIGUOUS_SUBMIT_STATUS:
            return await self._reconcile(idempotency_key, f"submit: HTTP {response.status_code}")
        self._raise_for_status(response, "submit")
        return self._ref(self._json(response, "submit"), "submit")

    async def _reconcile(self, idempotency_key: str, reason: str) -> CoreRef:
        """After an unknown outcome: the report if the core has it, else CoreUnavailable."""
        try:
            ref = await self.find(idempotency_key)
        except CoreUnavailable as exc:
            raise CoreUnavailable(f"{reason}; outcome unknown, find failed too: {exc}") from exc
        if ref is None:
            raise CoreUnavailable(f"{reason}; the core does not have the report, retry is safe")
        log.info("core submit reconciled: the core already had report %s", ref.core_id)
        return ref

    async def find(self, idempotency_key: str) -> CoreRef | None:
        response = await self._get(
            self.mapping.find_path, {self.mapping.find_key_param: idempotency_key}, "find"
        )
        data = self._json(response, "find")
        list_field = self.mapping.find_list_field
        found = get_path(data, list_field) if list_field else data
        if isinstance(found, list):
            found = found[0] if found else None
        if not found:
            return None
        return self._ref(found, "find")

    # --- updates and feedback --------------------------------------------------------------

    async def updates(self, since: str | None) -> CoreUpdates:
        params: dict[str, Any] = {self.mapping.limit_param: self.page_size}
        if since is not None:
            params[self.mapping.since_param] = since
        response = await self._get(self.mapping.events_path, params, "updates")
        data = self._json(response, "updates")
        try:
            events = parse_events(data, self.mapping, strict=False)
        except PushPayloadError as exc:
            raise CoreUnavailable(f"updates: unreadable answer: {exc}") from None
        cursor = get_path(data, self.mapping.cursor_field) if isinstance(data, Mapping) else None
        more = get_path(data, self.mapping.more_field) if isinstance(data, Mapping) else None
        return CoreUpdates(
            events=events,
            cursor=str(cursor) if cursor not in (None, "") else since,
            more=bool(more),
        )

    async def incoming(self, since: str | None) -> IncomingPage:
        if not self.mapping.incoming_path:
            return IncomingPage(reports=[], cursor=since, more=False)
        params: dict[str, Any] = {self.mapping.limit_param: self.page_size}
        if since is not None:
            params[self.mapping.since_param] = since
        response = await self._get(self.mapping.incoming_path, params, "incoming")
        data = self._json(response, "incoming")
        list_field = self.mapping.incoming_list_field
        items = get_path(data, list_field) if list_field else data
        if not isinstance(items, list):
            # A page we cannot read at all says nothing about where the cursor should go.
            raise CoreUnavailable("incoming: unreadable answer: expected a list of reports")
        reports, unreadable = split_incoming(items, self.mapping)
        is_object = isinstance(data, Mapping)
        cursor = get_path(data, self.mapping.incoming_cursor_field) if is_object else None
        more = get_path(data, self.mapping.incoming_more_field) if is_object else None
        return IncomingPage(
            reports=reports,
            unreadable=unreadable,
            cursor=str(cursor) if cursor not in (None, "") else since,
            more=bool(more),
        )

    async def send_feedback(self, core_id: str, text: str, rating: int | None) -> None:
        # Not retried here: a repeated POST would record the feedback twice.
        path = self.mapping.feedback_path.format(core_id=quote(core_id, safe=""))
        body = {self.mapping.feedback_text_field: text, self.mapping.feedback_rating_field: rating}
        try:
            response = await self._http.post(path, json=body)
        except httpx.RequestError as exc:
            raise CoreUnavailable(f"feedback: {_describe(exc)}") from exc
        self._raise_for_status(response, "feedback")

    # --- the agency's follow-ups -------------------------------------------------------------

    async def progress(self, core_id: str, text: str, idempotency_key: str) -> CoreReceipt:
        body: dict[str, Any] = {}
        set_path(body, self.mapping.followup_text_field, text)
        return await self._followup(
            "progress", self.mapping.progress_path, core_id, body, idempotency_key
        )

    async def answer(
        self,
        core_id: str,
        text: str,
        attachments: tuple[CoreAttachment, ...],
        idempotency_key: str,
    ) -> CoreReceipt:
        body: dict[str, Any] = {}
        set_path(body, self.mapping.followup_text_field, text)
        if self.mapping.followup_attachments_field:
            set_path(
                body,
                self.mapping.followup_attachments_field,
                [_attachment_json(a, self.mapping) for a in attachments],
            )
        return await self._followup(
            "answer", self.mapping.answer_path, core_id, body, idempotency_key
        )

    async def close(self, core_id: str, reason: str, idempotency_key: str) -> CoreReceipt:
        body: dict[str, Any] = {}
        if self.mapping.close_reason_field:
            set_path(body, self.mapping.close_reason_field, reason)
        return await self._followup(
            "close", self.mapping.close_path, core_id, body, idempotency_key
        )

    # --- the regency admin's actions ---------------------------------------------------------

    def _note_body(self, note: str) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if note and self.mapping.followup_text_field:
            set_path(body, self.mapping.followup_text_field, note)
        return body

    async def verify(self, core_id: str, note: str, idempotency_key: str) -> CoreReceipt:
        return await self._followup(
            "verify", self.mapping.verify_path, core_id, self._note_body(note), idempotency_key
        )

    async def dispose(
        self, core_id: str, agency_code: str, note: str, idempotency_key: str
    ) -> CoreReceipt:
        body = self._note_body(note)
        set_path(body, self.mapping.dispose_agency_field, agency_code)
        return await self._followup(
            "dispose", self.mapping.dispose_path, core_id, body, idempotency_key
        )

    def _reason_body(self, reason: str) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.mapping.action_reason_field:
            set_path(body, self.mapping.action_reason_field, reason)
        return body

    async def return_to_national(
        self, core_id: str, reason: str, idempotency_key: str
    ) -> CoreReceipt:
        return await self._followup(
            "return", self.mapping.return_path, core_id, self._reason_body(reason), idempotency_key
        )

    async def archive(self, core_id: str, reason: str, idempotency_key: str) -> CoreReceipt:
        return await self._followup(
            "archive",
            self.mapping.archive_path,
            core_id,
            self._reason_body(reason),
            idempotency_key,
        )

    async def ask_reporter(self, core_id: str, question: str, idempotency_key: str) -> CoreReceipt:
        body: dict[str, Any] = {}
        set_path(body, self.mapping.ask_question_field, question)
        return await self._followup("ask", self.mapping.ask_path, core_id, body, idempotency_key)

    async def find_followup(self, core_id: str, idempotency_key: str) -> CoreReceipt | None:
        if not self.mapping.followup_find_path:
            return None  # this core cannot tell: the idempotency key is all we have
        path = self.mapping.followup_find_path.format(core_id=quote(core_id, safe=""))
        response = await self._get(path, {self.mapping.find_key_param: idempotency_key}, "find")
        data = self._json(response, "find follow-up")
        list_field = self.mapping.followup_find_list_field
        found = get_path(data, list_field) if list_field else data
        if isinstance(found, list):
            found = found[0] if found else None
        if not found:
            return None
        return self._receipt(found)

    async def _followup(
        self, what: str, path_template: str, core_id: str, body: dict[str, Any], key: str
    ) -> CoreReceipt:
        """POST one follow-up; an unknown outcome is reconciled like a submit."""
        if not path_template:
            raise CoreRejected(f"{what}: this core takes no {what} (no path in the mapping)")
        path = path_template.format(core_id=quote(core_id, safe=""))
        headers = {self.mapping.idempotency_header: key}
        try:
            response = await self._http.post(path, json=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise CoreUnavailable(f"{what}: {_describe(exc)}") from exc
        except httpx.RequestError as exc:
            return await self._reconcile_followup(core_id, key, f"{what}: {_describe(exc)}")
        if response.status_code in AMBIGUOUS_SUBMIT_STATUS:
            return await self._reconcile_followup(
                core_id, key, f"{what}: HTTP {response.status_code}"
            )
        self._raise_for_status(response, what)
        return self._receipt(self._json(response, what))

    async def _reconcile_followup(self, core_id: str, key: str, reason: str) -> CoreReceipt:
        try:
            receipt = await self.find_followup(core_id, key)
        except CoreUnavailable as exc:
            raise CoreUnavailable(f"{reason}; outcome unknown, find failed too: {exc}") from exc
        if receipt is None:
            raise CoreUnavailable(f"{reason}; the core does not have it, retry is safe")
        log.info("core follow-up reconciled: the core already had %s", key)
        return receipt

    def _receipt(self, data: Any) -> CoreReceipt:
        receipt_id = get_path(data, self.mapping.receipt_id_field)
        status = get_path(data, self.mapping.receipt_status_field)
        return CoreReceipt(
            receipt_id=None if receipt_id in (None, "") else str(receipt_id),
            status="" if status is None else str(status),
        )

    async def redispose(self, core_id: str, agency_code: str, reason: str) -> None:
        # Idempotent on the core's side (disposing to the agency it already has changes
        # nothing), so a retry after a timeout is harmless.
        path = self.mapping.disposition_path.format(core_id=quote(core_id, safe=""))
        try:
            response = await self._http.post(
                path, json={"agency_code": agency_code, "reason": reason}
            )
        except httpx.RequestError as exc:
            raise CoreUnavailable(f"disposition: {_describe(exc)}") from exc
        self._raise_for_status(response, "disposition")

    # --- plumbing --------------------------------------------------------------------------

    async def _get(self, path: str, params: Mapping[str, Any], what: str) -> httpx.Response:
        """GET with retries and exponential backoff (reads are safe to repeat)."""
        attempt = 0
        while True:
            wait: float | None = None
            try:
                response = await self._http.get(path, params=params)
            except httpx.RequestError as exc:
                error = CoreUnavailable(f"{what}: {_describe(exc)}")
            else:
                if response.status_code not in RETRYABLE_STATUS:
                    self._raise_for_status(response, what)
                    return response
                error = CoreUnavailable(f"{what}: HTTP {response.status_code}")
                wait = _retry_after(response)
            if attempt >= self.retries:
                raise error
            await self.sleep(self._delay(attempt, wait))
            attempt += 1

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.backoff_max_seconds)
        delay = min(self.backoff_max_seconds, self.backoff_seconds * 2**attempt)
        return delay * random.uniform(0.5, 1.0)  # jitter: many gateways must not retry in step

    @staticmethod
    def _raise_for_status(response: httpx.Response, what: str) -> None:
        code = response.status_code
        if 200 <= code < 300:
            return
        message = f"{what}: HTTP {code} {_detail(response)}".rstrip()
        if code in RETRYABLE_STATUS or code >= 500:
            raise CoreUnavailable(message)
        raise CoreRejected(message)

    @staticmethod
    def _json(response: httpx.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise CoreRejected(f"{what}: the core did not answer JSON") from None

    def _ref(self, data: Any, what: str) -> CoreRef:
        core_id = get_path(data, self.mapping.ref_id_field)
        if core_id in (None, ""):
            raise CoreRejected(f"{what}: the core's answer has no {self.mapping.ref_id_field!r}")
        status = get_path(data, self.mapping.ref_status_field)
        return CoreRef(core_id=str(core_id), status="" if status is None else str(status))


__all__ = [
    "PushPayloadError",
    "PushSignatureError",
    "RestCoreClient",
    "RestMapping",
    "get_path",
    "parse_events",
    "parse_incoming",
    "report_payload",
    "set_path",
    "split_incoming",
    "verify_push",
]
