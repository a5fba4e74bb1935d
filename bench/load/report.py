"""The load benchmark's figures as one Markdown table: figure | target | gateway | ceiling | met?"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One row: what was measured, the issue's target, both measurements and the verdict.

    `met` is None when the target cannot be judged from this run (e.g. nothing was measured).
    """

    figure: str
    target: str
    gateway: str
    ceiling: str = "—"
    met: bool | None = None


def verdict(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "—"}[met]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(figures: list[Figure]) -> str:
    lines = ["| figure | target | gateway | ceiling | met? |", "|---|---|---|---|---|"]
    for f in figures:
        cells = (f.figure, f.target, f.gateway, f.ceiling, verdict(f.met))
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def all_met(*checks: bool | None) -> bool | None:
    """Met when every check is; unknown when one is unknown and none failed."""
    if any(c is False for c in checks):
        return False
    if any(c is None for c in checks):
        return None
    return True
