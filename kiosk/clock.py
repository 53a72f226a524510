"""Time as the kiosk shows and prints it: Asia/Shanghai, whatever the machine's zone.
Timeouts and backoff never use this; they use time.monotonic."""

from __future__ import annotations

from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

SHANGHAI: Final = ZoneInfo("Asia/Shanghai")


def now_local() -> datetime:
    return datetime.now(SHANGHAI)


def today_local() -> date:
    return now_local().date()
