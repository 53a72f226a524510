"""What every benchmark shares: medians of many repetitions, and the row each ratio becomes."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def median_s(work: Callable[[], object], runs: int) -> float:
    """Median seconds of `runs` calls, after one unmeasured call (imports, caches)."""
    work()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def row(
    name: str,
    measured: float,
    baseline: float,
    *,
    goal: float | None = None,
    at_least: bool = False,
    unit: str = "s",
    note: str = "",
) -> dict[str, Any]:
    """One ratio, measured / baseline, with the two medians behind it. `at_least`: the goal is
    a floor (rates), not a ceiling (times)."""
    ratio = measured / baseline
    met = None if goal is None else (ratio >= goal if at_least else ratio <= goal)
    return {
        "name": name,
        "ratio": float(f"{ratio:.4g}"),
        "goal": goal,
        "goal_is": None if goal is None else (">=" if at_least else "<="),
        "met": met,
        "median": round(measured, 6),
        "baseline_median": round(baseline, 6),
        "unit": unit,
        "note": note,
    }
