"""The life of a report inside the simulated SP4N-LAPOR core: statuses, actions, transitions.

Pure data and one function. A report starts `unverified` ("Belum Terverifikasi"); the LAPOR!
admin verifies it, disposes it to an agency, the agency marks it in process and answers, and the
report is closed. Archive and return are the admin's ways out. Every accepted action produces
one event of the kind in `TRANSITIONS`.
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
}


class Action(StrEnum):
    VERIFY = "verify"
    DISPOSE = "dispose"
    PROCESS = "process"
    ANSWER = "answer"
    CLOSE = "close"
    ARCHIVE = "archive"
    RETURN = "return"


ACTION_LABELS: dict[Action, str] = {
    Action.VERIFY: "Verifikasi",
    Action.DISPOSE: "Disposisikan",
    Action.PROCESS: "Tandai diproses",
    Action.ANSWER: "Jawab",
    Action.CLOSE: "Tutup",
    Action.ARCHIVE: "Arsipkan",
    Action.RETURN: "Kembalikan",
}

# Event kinds as the API sends them; the same words as forwarder.base.CoreEventKind.
KIND_STATUS = "status"
KIND_DISPOSITION = "disposition"
KIND_ANSWER = "answer"
KIND_CLOSED = "closed"


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
    Action.ARCHIVE: Transition(frozenset({_S.UNVERIFIED, _S.VERIFIED}), _S.ARCHIVED, KIND_STATUS),
    Action.RETURN: Transition(
        frozenset({_S.UNVERIFIED, _S.VERIFIED, _S.DISPOSED}), _S.RETURNED, KIND_STATUS
    ),
}

# What the regency's integration (the gateway) does for the agency through the API. The regency
# verified and disposed the report itself before filing it, so an agency may say "in process"
# or answer while LAPOR!'s own admin has not clicked through verify and dispose yet.
_OPEN_FOR_AGENCY = frozenset({_S.UNVERIFIED, _S.VERIFIED, _S.DISPOSED, _S.IN_PROCESS})
FOLLOWUP_TRANSITIONS: dict[Action, Transition] = {
    Action.PROCESS: Transition(_OPEN_FOR_AGENCY, _S.IN_PROCESS, KIND_STATUS),
    Action.ANSWER: Transition(_OPEN_FOR_AGENCY | {_S.ANSWERED}, _S.ANSWERED, KIND_ANSWER),
    Action.CLOSE: Transition(frozenset({_S.ANSWERED}), _S.CLOSED, KIND_CLOSED),
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
    transition = TRANSITIONS[action]
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


def allowed_actions(current: SimStatus) -> list[Action]:
    """The actions a person may take on a report in `current`, in workflow order."""
    return [action for action, t in TRANSITIONS.items() if current in t.allowed_from]
