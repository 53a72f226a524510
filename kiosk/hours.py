"""The staffed windows' opening hours, as staff write them ("工作日 8:30-12:00，14:00-17:30"),
read into days and times: they decide whether items that need staff are offered now, and the
screens show them in the resident's language.

What staff write stays the setting (it is what the idle screen showed before hours governed
anything); this module only reads it. A day is one of 每天, 工作日 (Monday to Friday),
周一至周五 (a span) or 周一、周三 (a list); several day groups are separated by "；".
Public holidays and the swapped working days around them are not known here: on such a day
staff turn the items off, or the platform pushes the day's hours. Hours that cannot be read
(written before hours governed anything) are shown as written and govern nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

DAY_NAMES: Final = "一二三四五六日"  # Monday first, as datetime.weekday()
EN_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY = r"周[一二三四五六日天]"
_RANGE = re.compile(r"(\d{1,2}):(\d{2})\s*[-–~至]\s*(\d{1,2}):(\d{2})")
_GROUP = re.compile(
    rf"\s*(?P<days>每天|工作日|{_DAY}\s*[至到-]\s*{_DAY}|{_DAY}(?:\s*[、,，]\s*{_DAY})*)"
    r"\s*(?P<ranges>.+?)\s*"
)


class HoursError(ValueError):
    """Hours that cannot be read; the message says what is expected."""


@dataclass(frozen=True)
class Span:
    days: frozenset[int]  # 0 = Monday
    times: tuple[tuple[int, int], ...]  # minutes from midnight: opens, closes (up to 24:00)
    written: str  # the day words as written, for showing


@dataclass(frozen=True)
class Hours:
    spans: tuple[Span, ...]

    def open_at(self, moment: datetime) -> bool:
        """`moment` in the hall's time (kiosk.clock.now_local)."""
        now = moment.hour * 60 + moment.minute + moment.second / 60
        return any(
            moment.weekday() in span.days and any(start <= now < end for start, end in span.times)
            for span in self.spans
        )

    def in_english(self) -> str:
        parts = []
        for span in self.spans:
            times = ", ".join(f"{_clock(a)}-{_clock(b)}" for a, b in span.times)
            parts.append(f"{_days_en(span.days)} {times}")
        return "; ".join(parts)


def parse_hours(text: str) -> Hours:
    """Read hours as staff write them; HoursError says what is wrong. Empty: no hours. A note
    in brackets ("（节假日除外）") is for people and is passed over."""
    spans = []
    bare = re.sub(r"（[^）]*）|\([^)]*\)", " ", text)
    for part in (p for p in re.split(r"[；;]", bare) if p.strip()):
        match = _GROUP.fullmatch(part)
        if match is None:
            raise HoursError(
                f"{part.strip()!r}: write the days, then the times, "
                "e.g. 工作日 8:30-12:00，14:00-17:30 or 每天 9:00-17:00"
            )
        times = _times(match["ranges"])
        spans.append(Span(_days(match["days"]), times, match["days"]))
    return Hours(tuple(spans))


def hours_problem(text: str) -> str | None:
    """For the configuration's checks: None when `text` can be read."""
    try:
        parse_hours(text)
    except HoursError as error:
        return str(error)
    return None


def _days(words: str) -> frozenset[int]:
    if words == "每天":
        return frozenset(range(7))
    if words == "工作日":
        return frozenset(range(5))
    named = [DAY_NAMES.index("日" if c == "天" else c) for c in re.findall(r"周(.)", words)]
    if re.search(r"[至到-]", words):
        first, last = named  # 周日至周六 (a week from Sunday) and 周五至周一 wrap round
        return frozenset((first + n) % 7 for n in range((last - first) % 7 + 1))
    return frozenset(named)


def _times(words: str) -> tuple[tuple[int, int], ...]:
    pieces = [p for p in re.split(r"\s*[，,、]\s*", words) if p]
    out = []
    for piece in pieces:
        match = _RANGE.fullmatch(piece)
        if match is None:
            raise HoursError(f"{piece!r}: a time span is written 8:30-12:00")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise HoursError(f"{piece!r}: not a time of day")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end <= start:
            raise HoursError(f"{piece!r}: closes before it opens")
        out.append((start, end))
    return tuple(out)


def _clock(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def _days_en(days: frozenset[int]) -> str:
    if len(days) == 7:
        return "Daily"
    ordered = sorted(days)
    if ordered == list(range(5)):
        return "Weekdays"
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{EN_DAYS[ordered[0]]}-{EN_DAYS[ordered[-1]]}"
    return ", ".join(EN_DAYS[d] for d in ordered)
