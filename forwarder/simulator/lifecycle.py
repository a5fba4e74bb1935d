"""The life of a report inside the simulated SP4N-LAPOR core: statuses, actions, transitions.

Pure data and a few functions. A report starts `unverified` ("Belum Terverifikasi"); the LAPOR!
admin verifies it, disposes it to an agency, the agency marks it in process and answers, and the
report is closed. Archive and return are the admin's ways out; a question to the reporter pends
it until the reporter answers. Every accepted action produces one event of the kind in
`TRANSITIONS` (a person on the page) or `FOLLOWUP_TRANSITIONS` (the regency's gateway).

A report a citizen filed in LAPOR! itself sits with the national admin until it is disposed to
the regency (`Origin.LAPOR`, see core.py); only then may anyone act on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SimStatus(StrEnum):
    """The simulator's machine words for a report's status (sent in the API)."""

    UNVERIFIED = "unverified"
    VERIFIED = "verified"
    DISPOSED = "disposed"
    IN_PROCESS = "in_process"
    ANSWERED = "answered"
    CLOSED = "closed"
    ARCHIVED = "archived"
    RETURNED = "returned"
    PENDING = "pending"  # a question to the reporter is open


# What SP4N-LAPOR! shows a person for each status (the simulator's web page and the API's
# `status_label`).
STATUS_LABELS: dict[SimStatus, str] = {
    SimStatus.UNVERIFIED: "Belum Terverifikasi",
    SimStatus.VERIFIED: "Terverifikasi",
    SimStatus.DISPOSED: "Didisposisikan",
    SimStatus.IN_PROCESS: "Proses",
    SimStatus.ANSWERED: "Ditindaklanjuti",
    SimStatus.CLOSED: "Ditutup",
    SimStatus.ARCHIVED: "Diarsipkan",
    SimStatus.RETURNED: "Dikembalikan",
    SimStatus.PENDING: "Menunggu Tanggapan Pelapor",
}


class Origin(StrEnum):
    """Who put the report into the simulated core."""

    GATEWAY = "gateway"  # the regency's gateway submitted it through the API
    LAPOR = "lapor"  # a citizen filed it in LAPOR! itself (web, app, SMS 1708)


# How a citizen reaches LAPOR! (the words of forwarder.base.LAPOR_CHANNELS).
CITIZEN_CHANNELS: dict[str, str] = {"web": "Situs web", "app": "Aplikasi", "sms1708": "SMS 1708"}


class Action(StrEnum):
    VERIFY = "verify"
    DISPOSE = "dispose"
    PROCESS = "process"
    ANSWER = "answer"
    CLOSE = "close"
    ARCHIVE = "archive"
    RETURN = "return"
    ASK = "ask"  # a question to the reporter (from the gateway)


ACTION_LABELS: dict[Action, str] = {
    Action.VERIFY: "Verifikasi",
    Action.DISPOSE: "Disposisikan",
    Action.PROCESS: "Tandai diproses",
    Action.ANSWER: "Jawab",
    Action.CLOSE: "Tutup",
    Action.ARCHIVE: "Arsipkan",
    Action.RETURN: "Kembalikan",
    Action.ASK: "Tanya pelapor",
}

# Event kinds as the API sends them; the same words as forwarder.base.CoreEventKind.
KIND_STATUS = "status"
KIND_DISPOSITION = "disposition"
KIND_ANSWER = "answer"
KIND_CLOSED = "closed"
KIND_INCOMING = "incoming"  # disposed to the regency: the report is the regency's now
KIND_REPORTER_REPLY = "reporter_reply"  # the reporter answered a question


@dataclass(frozen=True)
class Transition:
    allowed_from: frozenset[SimStatus]
    to: SimStatus
    kind: str


_S = SimStatus
TRANSITIONS: dict[Action, Transition] = {
    Action.VERIFY: Transition(frozenset({_S.UNVERIFIED}), _S.VERIFIED, KIND_STATUS),
    # Re-disposition after a mistake is allowed until the agency has answered.
    Action.DISPOSE: Transition(
        frozenset({_S.VERIFIED, _S.DISPOSED, _S.IN_PROCESS}), _S.DISPOSED, KIND_DISPOSITION
    ),
    # From `answered` too: a dissatisfied reporter reopens the follow-up.
    Action.PROCESS: Transition(frozenset({_S.DISPOSED, _S.ANSWERED}), _S.IN_PROCESS, KIND_STATUS),
    Action.ANSWER: Transition(
        frozenset({_S.DISPOSED, _S.IN_PROCESS, _S.ANSWERED}), _S.ANSWERED, KIND_ANSWER
    ),
    Action.CLOSE: Transition(frozenset({_S.ANSWERED}), _S.CLOSED, KIND_CLOSED),
    Action.ARCHIVE: Transition(
        frozenset({_S.UNVERIFIED, _S.VERIFIED, _S.PENDING}), _S.ARCHIVED, KIND_STATUS
    ),
    Action.RETURN: Transition(
        frozenset({_S.UNVERIFIED, _S.VERIFIED, _S.DISPOSED, _S.PENDING}), _S.RETURNED, KIND_STATUS
    ),
}

# What the regency's integration (the gateway) does for the agency through the API. The regency
# verified and disposed the report itself before filing it, so an agency may say "in process"
# or answer while LAPOR!'s own admin has not clicked through verify and dispose yet.
# The regency admin's own SOP actions come the same way (on reports filed in LAPOR! and
# disposed to the regency, mostly): verify, dispose to an agency (a verified report, or one the
# regency verifies and disposes at once), return to the national admin, archive, ask the reporter.
_OPEN_FOR_AGENCY = frozenset({_S.UNVERIFIED, _S.VERIFIED, _S.DISPOSED, _S.IN_PROCESS})
_BEFORE_DISPOSITION = frozenset({_S.UNVERIFIED, _S.VERIFIED, _S.PENDING})
FOLLOWUP_TRANSITIONS: dict[Action, Transition] = {
    Action.PROCESS: Transition(_OPEN_FOR_AGENCY, _S.IN_PROCESS, KIND_STATUS),
    Action.ANSWER: Transition(_OPEN_FOR_AGENCY | {_S.ANSWERED}, _S.ANSWERED, KIND_ANSWER),
    Action.CLOSE: Transition(frozenset({_S.ANSWERED}), _S.CLOSED, KIND_CLOSED),
    Action.VERIFY: Transition(frozenset({_S.UNVERIFIED}), _S.VERIFIED, KIND_STATUS),
    Action.DISPOSE: Transition(_OPEN_FOR_AGENCY, _S.DISPOSED, KIND_DISPOSITION),
    Action.RETURN: Transition(_BEFORE_DISPOSITION | {_S.DISPOSED}, _S.RETURNED, KIND_STATUS),
    Action.ARCHIVE: Transition(_BEFORE_DISPOSITION, _S.ARCHIVED, KIND_STATUS),
    Action.ASK: Transition(_BEFORE_DISPOSITION, _S.PENDING, KIND_STATUS),
}

# Where a follow-up is already done, so that it changes nothing (no event, no error): the
# core's own people did it first (LAPOR!'s admin verified it; the report was closed already).
_PAST_VERIFICATION = frozenset({_S.VERIFIED, _S.DISPOSED, _S.IN_PROCESS, _S.ANSWERED, _S.CLOSED})
ALREADY_DONE: dict[Action, frozenset[SimStatus]] = {
    Action.CLOSE: frozenset({_S.CLOSED}),
    Action.VERIFY: _PAST_VERIFICATION,
    Action.RETURN: frozenset({_S.RETURNED}),
    Action.ARCHIVE: frozenset({_S.ARCHIVED}),
}

# Auto-answer for demos walks a report one step per period along this path.
AUTO_PATH: dict[SimStatus, Action] = {
    _S.UNVERIFIED: Action.VERIFY,
    _S.VERIFIED: Action.DISPOSE,
    _S.DISPOSED: Action.PROCESS,
    _S.IN_PROCESS: Action.ANSWER,
}


class TransitionError(Exception):
    """The action is not allowed in the report's current status."""


def apply(current: SimStatus, action: Action) -> Transition:
    """The transition `action` makes from `current`; raise `TransitionError` if not allowed."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise TransitionError(f"{action.value} is for the regency's gateway, not for the page")
    if current not in transition.allowed_from:
        raise TransitionError(
            f"cannot {action.value} a report that is {current.value} ({STATUS_LABELS[current]})"
        )
    return transition


def apply_followup(current: SimStatus, action: Action) -> Transition:
    """The transition a follow-up from the gateway makes; `TransitionError` if not allowed."""
    transition = FOLLOWUP_TRANSITIONS.get(action)
    if transition is None:
        raise TransitionError(f"{action.value} is not a follow-up")
    if current not in transition.allowed_from:
        raise TransitionError(
            f"cannot {action.value} a report that is {current.value} ({STATUS_LABELS[current]})"
        )
    return transition


def already_done(
    current: SimStatus,
    action: Action,
    agency_code: str | None = None,
    current_agency: str | None = None,
) -> bool:
    """True when the follow-up would change nothing: the report is there already (a disposal
    to the agency a disposed report already has counts too)."""
    if action is Action.DISPOSE:
        return current in (_S.DISPOSED, _S.IN_PROCESS) and agency_code == current_agency
    return current in ALREADY_DONE.get(action, frozenset())


def allowed_actions(current: SimStatus) -> list[Action]:
    """The actions a person may take on a report in `current`, in workflow order."""
    return [action for action, t in TRANSITIONS.items() if current in t.allowed_from]
