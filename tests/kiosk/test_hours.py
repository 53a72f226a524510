"""Opening hours as staff write them: read into days and times, refused with a reason when they
cannot be read, and deciding whether items that need staff are offered."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from kiosk.clock import SHANGHAI
from kiosk.config import load_config
from kiosk.core import Kiosk
from kiosk.hours import HoursError, parse_hours
from kiosk.staff import change
from tests.kiosk.test_cli import kiosk as kiosk_cli

# 2026-11-30 is a Monday.
MONDAY, SATURDAY, SUNDAY = 30, 5, 6


def at(day: int, hour: int, minute: int = 0) -> datetime:
    month = 11 if day == MONDAY else 12
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("text", "moment", "open_"),
    [
        ("工作日 8:30-12:00，14:00-17:30", at(MONDAY, 8, 29), False),
        ("工作日 8:30-12:00，14:00-17:30", at(MONDAY, 8, 30), True),
        ("工作日 8:30-12:00，14:00-17:30", at(MONDAY, 12, 0), False),  # closing time is closed
        ("工作日 8:30-12:00，14:00-17:30", at(MONDAY, 14, 0), True),
        ("工作日 8:30-12:00，14:00-17:30", at(SATURDAY, 10, 0), False),
        ("周一至周六 9:00-17:00；周日 9:00-12:00", at(SATURDAY, 16, 59), True),
        ("周一至周六 9:00-17:00；周日 9:00-12:00", at(SUNDAY, 12, 30), False),
        ("周一至周六 9:00-17:00；周日 9:00-12:00", at(SUNDAY, 11, 0), True),
        ("周六、周日 9:00-12:00", at(MONDAY, 10, 0), False),
        ("周六、周天 9:00-12:00", at(SUNDAY, 10, 0), True),
        ("每天 0:00-24:00", at(SUNDAY, 23, 59), True),
        ("每天 0:00-24:00", at(MONDAY, 0, 0), True),
        ("每天 9:00-24:00", datetime(2026, 12, 6, 23, 59, 59, 999999, tzinfo=SHANGHAI), True),
        ("周日至周六 9:00-10:00", at(SATURDAY, 9, 30), True),  # a week from Sunday: every day
        ("周五至周一 9:00-10:00", at(SUNDAY, 9, 30), True),  # round the weekend
        ("周五至周一 9:00-10:00", at(30 - 29 + 2, 9, 30), False),  # Wednesday 2 December
        ("工作日 9:00-17:00（节假日除外）", at(MONDAY, 9, 0), True),  # a note for people
    ],
)
def test_hours_say_when_the_windows_are_open(text: str, moment: datetime, open_: bool) -> None:
    assert parse_hours(text).open_at(moment) is open_


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("工作日 8:30-12:00，14:00-17:30", "Weekdays 8:30-12:00, 14:00-17:30"),
        ("每天 9:00-24:00", "Daily 9:00-24:00"),
        ("周一至周六 9:00-17:00；周日 9:00-12:00", "Mon-Sat 9:00-17:00; Sun 9:00-12:00"),
        ("周一、周三 9:00-11:00", "Mon, Wed 9:00-11:00"),
    ],
)
def test_hours_are_said_again_in_english(text: str, english: str) -> None:
    assert parse_hours(text).in_english() == english


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("全天", "'全天': write the days, then the times"),
        ("每天 9-17", "'9-17': a time span is written 8:30-12:00"),
        ("每天 17:00-9:00", "'17:00-9:00': closes before it opens"),
        ("每天 25:00-26:00", "'25:00-26:00': not a time of day"),
        ("9:00-17:00", "'9:00-17:00': write the days, then the times"),
    ],
)
def test_hours_that_cannot_be_read_say_why(text: str, problem: str) -> None:
    with pytest.raises(HoursError) as raised:
        parse_hours(text)
    assert str(raised.value).startswith(problem)


def test_hours_that_cannot_be_read_are_shown_as_written_and_govern_nothing(
    tmp_path: Path,
) -> None:
    """Hours written before they governed anything must not stop a kiosk after an update."""
    path = tmp_path / "kiosk.toml"
    path.write_text('[kiosk]\ncounter_hours = "上午九点到下午五点"\n', encoding="utf-8")
    env = {"HOME": str(tmp_path), "KIOSK_DATA_DIR": str(tmp_path / "data")}
    kiosk = Kiosk(load_config(path, demo=True, environ=env), now=lambda: at(SUNDAY, 3))
    assert kiosk.unavailable(kiosk.catalog["queue-ticket"]) is None
    assert kiosk.hours_words().in_language("en") == "上午九点到下午五点"
    checked = kiosk_cli("--demo", "--config", str(path), "config", "check", env=env)
    assert checked.returncode == 0
    assert (
        "note: kiosk.counter_hours cannot be read ('上午九点到下午五点': write the days, then "
        "the times"
    ) in checked.stdout


def demo_kiosk(tmp_path: Path, moment: datetime) -> Kiosk:
    env = {"HOME": str(tmp_path), "KIOSK_DATA_DIR": str(tmp_path / "data")}
    return Kiosk(load_config(None, demo=True, environ=env), now=lambda: moment)


def test_items_that_need_staff_follow_the_hours_and_self_service_does_not(tmp_path: Path) -> None:
    kiosk = demo_kiosk(tmp_path, at(SATURDAY, 10))  # the default hours: weekdays only
    ticket, certificate = kiosk.catalog["queue-ticket"], kiosk.catalog["residence-certificate"]
    assert ticket.staffed
    assert not certificate.staffed
    reason = kiosk.unavailable(ticket)
    assert reason == (
        "暂不可用：本事项需要工作人员，人工窗口现在不开放（工作日 8:30-12:00，14:00-17:30），"
        "请在开放时间再来。"
    )
    assert reason is not None
    assert reason.in_language("en") == (
        "Not available now: this service needs staff, and the staffed counter is closed "
        "(open Weekdays 8:30-12:00, 14:00-17:30). Please come back when it is open."
    )
    assert kiosk.unavailable(certificate) is None
    # Staff open the windows on Saturday mornings: offered at once, and said so in the log.
    kiosk.reconfigure(change(kiosk.config, {"kiosk.counter_hours": "周一至周六 9:00-12:00"}))
    assert kiosk.unavailable(ticket) is None


def test_the_menu_follows_the_order_staff_set(tmp_path: Path) -> None:
    kiosk = demo_kiosk(tmp_path, at(MONDAY, 10))
    shipped = [i.code for i in kiosk.catalog.by_category()["elderly"]]
    assert [i.code for i in kiosk.menu()["elderly"]] == shipped
    assert len(shipped) == 3
    last = shipped[-1]
    kiosk.reconfigure(change(kiosk.config, {"kiosk.items_order": (last,)}))
    assert [i.code for i in kiosk.menu()["elderly"]] == [last, *shipped[:-1]]
