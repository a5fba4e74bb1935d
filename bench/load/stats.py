"""Percentiles, rates and stalls from the load generators' samples (pure)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile: the smallest sample with at least q % of samples at or below it.

    Nearest rank never invents a value between two samples, so a p99.9 of 1,000 samples is the
    slowest one, as it should be for latency.
    """
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, not {q}")
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def peak_rate(times: Sequence[float], window: float = 1.0) -> float:
    """The most events in any `window` seconds (sliding, starting at an event), per second."""
    if not times:
        return 0.0
    ordered = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best / window


def longest_gap(intervals: Sequence[tuple[float, float]]) -> float:
    """The longest time with requests outstanding and none of them finishing.

    `intervals` are (sent, finished) pairs; a stall is a gap between consecutive finishes
    (or between a send and the first finish after it) while something was in flight.
    """
    # Sweep sends (+1) and finishes (-1) in time order; at equal times finishes come first.
    events = sorted([(sent, 1) for sent, _ in intervals] + [(done, -1) for _, done in intervals])
    gap, in_flight, progress = 0.0, 0, 0.0
    for t, step in events:
        if step == 1:
            if in_flight == 0:
                progress = t  # the clock starts when something is waiting
            in_flight += 1
        else:
            gap = max(gap, t - progress)
            progress = t
            in_flight -= 1
    return gap


def fmt_ms(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    ms = seconds * 1000
    if ms >= 10_000:
        return f"{ms / 1000:.1f} s"
    if ms >= 100:
        return f"{ms:,.0f} ms"
    return f"{ms:.1f} ms"


def fmt_rate(value: float | None, unit: str = "/s") -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}{unit}" if value >= 10 else f"{value:.1f}{unit}"
