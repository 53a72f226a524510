"""Small value checks shared by the configuration and the service catalog.

A check takes a value read from a file and returns the problem in words ("must be from 20 to
300 s"), or None when the value is acceptable; the caller adds the file, line and key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

Check = Callable[[Any], str | None]


def one_of(*choices: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"

    return check


def between(low: float, high: float, unit: str = "") -> Check:
    def check(value: Any) -> str | None:
        return None if low <= value <= high else f"must be from {low:g} to {high:g}{unit}"

    return check


def whole_number(low: int, high: int) -> Check:
    in_range = between(low, high)

    def check(value: Any) -> str | None:
        if not isinstance(value, int) or isinstance(value, bool):
            return "must be a whole number"
        return in_range(value)

    return check


def matches(pattern: str, words: str) -> Check:
    def check(value: Any) -> str | None:
        ok = isinstance(value, str) and re.fullmatch(pattern, value)
        return None if ok else f"must be {words}"

    return check


def text(max_len: int = 400) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, str) or not value.strip():
            return "must be non-empty text in quotes"
        return None if len(value) <= max_len else f"must be at most {max_len} characters"

    return check


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def list_of(choices: Sequence[str], *, allow_empty: bool = False) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, list) or (not value and not allow_empty):
            return f"must be a list of {', '.join(choices)}"
        bad = [x for x in value if x not in choices]
        if bad:
            return f"{bad[0]!r} is not one of {', '.join(choices)}"
        return "lists a value twice" if len(set(value)) != len(value) else None

    return check
