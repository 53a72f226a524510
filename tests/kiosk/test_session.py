"""The resident session through the kiosk core, with simulated devices and a real outbox."""

from __future__ import annotations

import gc
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import fields, is_dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from devices.registry import open_reader
from devices.simulators.reader import SimReader
from kiosk.config import Config, load_config
from kiosk.core import Kiosk, Refusal
from kiosk.identity import CardType, ResidentIdentity
from kiosk.session import (
    LIMITS,
    MIN_WARNING_S,
    Session,
    SessionError,
    SessionEvent,
    State,
    TimeLimits,
)

TODAY = date(2026, 11, 29)
RESIDENT_ID = "110101196205170316"
ELDERLY_ID = "310101194102280027"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def config(tmp_path: Path) -> Config:
    env = {
        "HOME": str(tmp_path),
        "KIOSK_DATA_DIR": str(tmp_path / "data"),
        "KIOSK_COUNTER_HOURS": "每天 0:00-24:00",  # staffed items, whatever the hour of the run
    }
    return load_config(None, demo=True, environ=env)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def events() -> list[SessionEvent]:
    return []


@pytest.fixture
def kiosk(config: Config, clock: Clock, events: list[SessionEvent]) -> Iterator[Kiosk]:
    k = Kiosk(config, clock=clock, today=lambda: TODAY, listener=events.append)
    k.card_removed()  # the reader reports it is empty, as the card monitor does at start-up
    yield k
    k.close()


def reader(profile: str) -> SimReader:
    r = open_reader(f"sim://{profile}")
    assert isinstance(r, SimReader)
    return r


def start(kiosk: Kiosk, profile: str = "resident") -> Session:
    record = reader(profile).read_card(timeout=1)
    assert record is not None
    session = kiosk.card_read(record, kiosk.generation)
    assert isinstance(session, Session)
    return session


def outbox_rows(kiosk: Kiosk) -> list[dict[str, Any]]:
    db = sqlite3.connect(kiosk.outbox.path)
    db.row_factory = sqlite3.Row
    rows = [dict(r) for r in db.execute("SELECT * FROM outbox ORDER BY id")]
    db.close()
    return rows


def session_in(kiosk: Kiosk, state: State) -> Session:
    session = start(kiosk)
    if state is State.IDENTIFIED:
        return session
    session.start_choosing()
    if state is State.CHOOSING:
        return session
    session.choose("queue-ticket")
    if state is State.FILLING:
        return session
    session.set_value("business", "other")
    session.review()
    if state is State.CONFIRMING:
        return session
    kiosk.commit_transaction(session)
    if state is State.DONE:
        return session
    session.start_rating()
    return session


# --- whole sessions ------------------------------------------------------------------------------


def test_a_whole_session_card_to_wipe_with_a_rating(
    kiosk: Kiosk, events: list[SessionEvent]
) -> None:
    session = start(kiosk, "elderly")
    assert session.state is State.IDENTIFIED
    session.start_choosing()
    session.choose("old-age-allowance")
    assert session.set_value("payment_method", "social_security_card") is None
    assert session.set_value("phone", "13800138000") is None
    assert session.review() == {}
    key = session.transaction_key
    number = kiosk.commit_transaction(session)
    assert number == "DEMO-0001-20261129-00001"
    assert session.state is State.DONE
    session.start_rating()
    rating = kiosk.commit_rating(session, 2, contact_consent=True)
    assert session.state is State.WIPED
    assert kiosk.session is None  # the kiosk heard the session end by itself
    assert kiosk.generation == session.generation + 1
    assert kiosk.closing_message() == "您的信息已从本机清除。请取走您的卡片。"

    transaction, rated = outbox_rows(kiosk)
    assert (transaction["kind"], transaction["number"], transaction["status"]) == (
        "transaction",
        number,
        "queued",
    )
    payload = json.loads(transaction["payload"])
    assert payload["key"] == key == transaction["key"]
    assert payload["item"] == "old-age-allowance"
    assert "applicant" not in payload  # the personal part is sealed, not in the readable JSON
    assert ELDERLY_ID.encode() not in bytes(transaction["secret"])
    personal = kiosk.outbox.personal(kiosk.outbox.rows()[0])
    assert personal is not None
    assert personal["fields"] == {"payment_method": "social_security_card", "phone": "13800138000"}
    assert personal["applicant"]["id_number"] == ELDERLY_ID
    assert personal["applicant"]["card_valid_until"] == "long_term"
    assert "created_at" not in payload  # the row's own created_at: a retry is the same bytes
    assert transaction["created_at"] > 1.7e9
    assert (rated["kind"], rated["parent_key"], rated["number"]) == ("rating", key, f"{number}-R")
    assert json.loads(rated["payload"]) == {
        "schema": 1,
        "transaction_key": key,
        "transaction_number": number,
        "level": 2,
        "level_label": "不满意",
        "contact_consent": True,
    }
    assert rating.key == rated["key"]
    assert [e.kind for e in events][-1] == "ended"
    assert [e.state for e in events if e.kind == "state"] == [
        State.IDENTIFIED,
        State.CHOOSING,
        State.FILLING,
        State.CONFIRMING,
        State.SUBMITTING,
        State.DONE,
        State.RATING,
    ]


@pytest.mark.parametrize(
    ("profile", "code", "values"),
    [
        ("resident", "queue-ticket", {"business": "other"}),
        (
            "resident",
            "volunteer-registration",
            {
                "service_area": "elderly_help",
                "availability": "weekday_daytime",
                "phone": "13912345678",
            },
        ),
        (
            "expired",
            "resident-request",
            {"topic": "noise", "place": "inside_compound", "reply_wanted": "no_reply"},
        ),
        (
            "elderly",
            "home-care-booking",
            {
                "service": "meal_help",
                "service_date": "2026-12-01",
                "time_slot": "morning",
                "phone": "13800138000",
            },
        ),
        ("sscard", "unemployment-registration", None),
    ],
)
def test_sessions_for_several_items_end_committed_and_skipping_the_rating(
    kiosk: Kiosk, profile: str, code: str, values: dict[str, Any] | None
) -> None:
    session = start(kiosk, profile)
    session.start_choosing()
    refusals = session.available(code)
    if values is None:  # 测试八 is 71: too old for unemployment registration
        assert refusals == ["未满60周岁（法定劳动年龄内）"]
        with pytest.raises(SessionError) as raised:
            session.choose(code)
        assert raised.value.resident_message.startswith("不符合办理条件：")
        kiosk.end_session("cancelled")
        assert outbox_rows(kiosk) == []
        return
    assert refusals == []
    session.choose(code)
    for name, value in values.items():
        assert session.set_value(name, value) is None, name
    assert session.review() == {}
    kiosk.commit_transaction(session)
    kiosk.end_session("finished")
    (row,) = kiosk.outbox.rows()
    personal = kiosk.outbox.personal(row)
    assert personal is not None
    assert personal["fields"] == values


def test_the_volunteer_field_names_used_above_exist() -> None:
    from kiosk.catalog import load_catalog

    names = {f.name for f in load_catalog()["volunteer-registration"].fields}
    assert names == {"service_area", "availability", "phone"}


# --- the confirm screen and the commit ---------------------------------------------------------


def test_the_key_is_made_when_the_confirm_screen_opens_and_survives_going_back(
    kiosk: Kiosk,
) -> None:
    session = start(kiosk)
    session.start_choosing()
    session.choose("queue-ticket")
    assert session.transaction_key is None
    assert session.review() == {"business": "请填写“办理业务”。"}
    assert session.state is State.FILLING
    session.set_value("business", "other")
    session.review()
    key = session.transaction_key
    assert key is not None
    assert len(key) == 36
    assert key[14] == "7"  # a UUIDv7
    session.back()
    session.review()
    assert session.transaction_key == key


def test_a_failed_commit_returns_to_confirm_and_the_retry_makes_one_row(kiosk: Kiosk) -> None:
    session = session_in(kiosk, State.CONFIRMING)
    states: list[State] = []

    def failing(key: str) -> str:
        states.append(session.state)
        raise OSError("disk went away")

    with pytest.raises(OSError, match="disk went away"):
        session.submit(failing)
    assert states == [State.SUBMITTING]
    assert session.state is State.CONFIRMING
    first = kiosk.commit_transaction(session)
    assert session.state is State.DONE
    assert len(outbox_rows(kiosk)) == 1
    assert first.endswith("-00001")


def test_done_is_reached_only_after_the_commit_returned(kiosk: Kiosk) -> None:
    session = session_in(kiosk, State.CONFIRMING)
    seen: list[tuple[State, int]] = []

    def commit(key: str) -> str:
        seen.append((session.state, len(outbox_rows(kiosk))))
        return kiosk.outbox.enqueue_transaction(key, {"x": 1}, kiosk_id="K", day="20261129").number

    session.submit(commit)
    assert seen == [(State.SUBMITTING, 0)]
    assert session.state is State.DONE


def test_a_rating_is_tied_to_one_transaction_and_only_1_to_5(kiosk: Kiosk) -> None:
    session = session_in(kiosk, State.CONFIRMING)
    kiosk.commit_transaction(session)
    session.start_rating()
    with pytest.raises(SessionError, match=r"1\.\.5"):
        kiosk.commit_rating(session, 6)
    with pytest.raises(ValueError, match="contact consent is asked only after"):
        kiosk.commit_rating(session, 5, contact_consent=True)
    kiosk.commit_rating(session, 5)
    assert [r["kind"] for r in outbox_rows(kiosk)] == ["transaction", "rating"]


def test_illegal_moves_are_refused(kiosk: Kiosk) -> None:
    session = start(kiosk)
    with pytest.raises(SessionError):
        session.choose("queue-ticket")  # the menu was not opened
    with pytest.raises(SessionError):
        session.review()
    with pytest.raises(SessionError):
        session.start_rating()


# --- time ---------------------------------------------------------------------------------------


TIMED = [s for s, limit in LIMITS.items() if limit is not None]


@pytest.mark.parametrize("state", TIMED)
@pytest.mark.parametrize("multiplier", [1.0, 10.0])
def test_a_warning_of_at_least_20_s_precedes_every_timeout(
    config: Config, clock: Clock, state: State, multiplier: float
) -> None:
    events: list[SessionEvent] = []
    limits = TimeLimits(step_s=120, warning_s=30, multiplier=multiplier)
    kiosk = Kiosk(config, clock=clock, today=lambda: TODAY, listener=events.append)
    kiosk.card_removed()
    kiosk.limits = limits
    session = session_in(kiosk, state)
    assert session.state is state
    limit = limits.limit(state)
    assert limit is not None
    events.clear()
    clock.now += limit - 0.01
    session.tick()
    assert events == []
    clock.now += 0.01
    session.tick()
    assert [(e.kind, e.data["seconds"]) for e in events] == [("warning", 30 * multiplier)]
    assert 30 * multiplier >= MIN_WARNING_S
    clock.now += 30 * multiplier - 0.01
    session.tick()
    assert session.state is state
    clock.now += 0.01
    session.tick()
    assert session.state is State.WIPED
    assert session.end_reason == "timeout"
    assert [e.kind for e in events] == ["warning", "ended"]
    kiosk.close()


def test_i_am_still_here_lifts_the_warning_and_restarts_the_limit(
    kiosk: Kiosk, clock: Clock
) -> None:
    session = session_in(kiosk, State.FILLING)
    clock.now += 120
    session.tick()
    assert session.warning
    clock.now += 25
    session.touch()  # what the 我还在 button calls
    assert not session.warning
    clock.now += 119
    session.tick()
    assert session.state is State.FILLING
    assert not session.warning


def test_time_stops_while_a_device_or_the_platform_works(kiosk: Kiosk, clock: Clock) -> None:
    session = session_in(kiosk, State.CHOOSING)
    clock.now += 100
    with session.paused():
        clock.now += 3600
        session.tick()
        assert not session.warning
    clock.now += 19
    session.tick()
    assert not session.warning
    clock.now += 1
    session.tick()
    assert session.warning


def test_limits_refuse_a_warning_under_20_s_and_more_than_ten_fold() -> None:
    with pytest.raises(ValueError, match="at least 20"):
        TimeLimits(warning_s=19)
    with pytest.raises(ValueError, match="from 1 to 10"):
        TimeLimits(multiplier=11)


# --- cards, generations, wiping ----------------------------------------------------------------


def test_a_card_left_on_the_reader_starts_nothing(kiosk: Kiosk) -> None:
    sim = reader("resident")
    record = sim.read_card(1)
    assert record is not None
    session = kiosk.card_read(record, kiosk.generation)
    assert isinstance(session, Session)
    assert kiosk.end_session("cancelled").endswith("请取走您的卡片。")
    again = sim.read_card(1)  # the same card, still there
    assert again is not None
    refusal = kiosk.card_read(again, kiosk.generation)
    assert refusal == Refusal("card left on the reader", "请先取走卡片，再重新放置，开始新的业务。")
    assert kiosk.session is None
    sim.remove()
    kiosk.card_removed()
    sim.present()
    record = sim.read_card(1)
    assert record is not None
    assert isinstance(kiosk.card_read(record, kiosk.generation), Session)


def test_a_read_for_an_older_generation_is_dropped(kiosk: Kiosk) -> None:
    record = reader("resident").read_card(1)
    assert record is not None
    stale = kiosk.generation
    session = kiosk.card_read(record, stale)
    assert isinstance(session, Session)
    kiosk.end_session("cancelled")
    kiosk.card_removed()
    assert kiosk.card_read(record, stale) is None
    assert kiosk.session is None
    assert isinstance(kiosk.card_read(record, kiosk.generation), Session)


def test_a_second_card_during_a_session_changes_nothing(kiosk: Kiosk) -> None:
    session = start(kiosk, "resident")
    record = reader("elderly").read_card(1)
    assert record is not None
    assert kiosk.card_read(record, kiosk.generation) is None
    assert kiosk.session is session
    assert session.identity.id_number == RESIDENT_ID


def test_a_bad_card_is_refused_in_plain_words(kiosk: Kiosk) -> None:
    record = reader("garbled").read_card(1)
    assert record is not None
    refusal = kiosk.card_read(record, kiosk.generation)
    assert isinstance(refusal, Refusal)
    assert refusal.message.startswith("卡片信息无法识别")
    assert RESIDENT_ID[:17] not in refusal.reason


def test_below_the_disk_floor_no_session_starts_and_the_kiosk_says_why(kiosk: Kiosk) -> None:
    kiosk.outbox.min_free_bytes = 2**62
    record = reader("resident").read_card(1)
    assert record is not None
    refusal = kiosk.card_read(record, kiosk.generation)
    assert isinstance(refusal, Refusal)
    assert "存储空间不足" in refusal.message
    assert kiosk.session is None


def reachable(root: object) -> Iterator[object]:
    """Every object reachable from `root` through attributes, containers and closures."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type):
            continue
        seen.add(id(obj))
        yield obj
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
        elif is_dataclass(obj):
            stack.extend(getattr(obj, f.name) for f in fields(obj))
        elif hasattr(obj, "__dict__") and not callable(obj):
            stack.extend(vars(obj).values())


@pytest.mark.parametrize("ending", ["rated", "finished", "timeout", "cancelled_in_form"])
def test_a_wiped_session_holds_no_personal_data(kiosk: Kiosk, clock: Clock, ending: str) -> None:
    session = session_in(kiosk, State.FILLING if ending == "cancelled_in_form" else State.DONE)
    if ending == "cancelled_in_form":
        session.set_value("business", "other")
        kiosk.end_session("cancelled")
    elif ending == "rated":
        session.start_rating()
        kiosk.commit_rating(session, 5)
    elif ending == "finished":
        kiosk.end_session("finished")
    else:
        clock.now += 10_000
        session.tick()
        clock.now += 10_000
        session.tick()
    assert session.state is State.WIPED
    personal = {RESIDENT_ID, "测试一", "北京市东城区测试街道示例社区1号楼2单元301室", "19620517"}
    for obj in reachable(session):
        assert not isinstance(obj, ResidentIdentity)
        if isinstance(obj, str):
            assert not any(p in obj for p in personal), obj
    with pytest.raises(SessionError):
        session.identity  # noqa: B018
    gc.collect()


def test_unavailable_items_say_why_and_where_to_go(kiosk: Kiosk) -> None:
    catalog = kiosk.catalog
    kiosk.platform_reachable = False  # demo mode starts with a (simulated) reachable platform
    assert kiosk.unavailable(catalog["queue-ticket"]) is None
    zh = kiosk.unavailable(catalog["social-insurance-record"])
    assert zh is not None
    assert zh.startswith("暂不可用：网络暂时中断")
    assert catalog["social-insurance-record"].where_else in zh
    en = zh.in_language("en")  # the same reason, for a resident who chose English
    assert en.startswith("Unavailable: the network is down")
    assert en.endswith(f"Where to go instead: {catalog['social-insurance-record'].where_else_en}.")
    kiosk.platform_reachable = True
    assert kiosk.unavailable(catalog["social-insurance-record"]) is None


def test_after_a_restart_a_card_already_on_the_reader_starts_nothing(config: Config) -> None:
    restarted = Kiosk(config, today=lambda: TODAY)  # nobody has said the reader is empty yet
    record = reader("resident").read_card(1)
    assert record is not None
    refusal = restarted.card_read(record, restarted.generation)
    assert isinstance(refusal, Refusal)
    assert refusal.reason == "card left on the reader"
    restarted.card_removed()
    assert isinstance(restarted.card_read(record, restarted.generation), Session)
    restarted.close()


def test_a_card_taken_off_and_put_back_during_a_session_must_be_taken_off_again(
    kiosk: Kiosk,
) -> None:
    session = start(kiosk)
    kiosk.card_removed()  # the resident lifts the card mid-session ...
    record = reader("resident").read_card(1)  # ... and puts it back
    assert record is not None
    assert kiosk.card_read(record, kiosk.generation) is None  # changes nothing now
    kiosk.end_session("finished")
    assert kiosk.closing_message().endswith("请取走您的卡片。")
    assert isinstance(kiosk.card_read(record, kiosk.generation), Refusal)
    assert session.state is State.WIPED


def test_a_timeout_moves_the_kiosk_to_the_next_generation(kiosk: Kiosk, clock: Clock) -> None:
    session = start(kiosk)
    old = kiosk.generation
    clock.now += 10_000
    session.tick()
    clock.now += 10_000
    session.tick()
    assert session.end_reason == "timeout"
    assert kiosk.session is None
    assert kiosk.generation == old + 1
    kiosk.card_removed()
    record = reader("elderly").read_card(1)
    assert record is not None
    assert kiosk.card_read(record, old) is None  # a late read for the ended session


def test_another_item_or_other_answers_get_another_key(kiosk: Kiosk) -> None:
    session = session_in(kiosk, State.CONFIRMING)
    first = session.transaction_key
    session.back()
    session.review()
    assert session.transaction_key == first  # looked again, changed nothing: same key
    session.back()
    session.set_value("business", "civil_affairs_assistance")
    session.review()
    second = session.transaction_key
    assert second not in (None, first)
    session.back()
    session.back()  # to the menu: another item is another transaction
    session.choose("resident-request")
    assert session.transaction_key is None


def test_a_printer_out_of_order_makes_its_items_unavailable_with_the_reason(kiosk: Kiosk) -> None:
    kiosk.out_of_order["receipt_printer"] = "打印机缺纸"
    reason = kiosk.unavailable(kiosk.catalog["queue-ticket"])
    where = kiosk.catalog["queue-ticket"].where_else
    assert reason == "暂不可用：打印机缺纸，请到" + where + "办理。"
    assert reason is not None
    assert reason.in_language("en") == (
        "Unavailable: Printer out of paper. Where to go instead: "
        + kiosk.catalog["queue-ticket"].where_else_en
        + "."
    )
    del kiosk.out_of_order["receipt_printer"]
    assert kiosk.unavailable(kiosk.catalog["queue-ticket"]) is None


def test_back_from_the_rating_returns_to_the_result(kiosk: Kiosk) -> None:
    session = session_in(kiosk, State.RATING)
    session.back()
    assert session.state is State.DONE


def test_a_typed_id_number_reaches_a_queue_ticket_but_never_a_certificate(kiosk: Kiosk) -> None:
    slip = kiosk.identify_manually("110101196205170315")  # the check character is wrong
    assert isinstance(slip, Refusal)
    assert "校验" in slip.message
    assert kiosk.session is None
    session = kiosk.identify_manually(" 110101 19620517 0316 ")
    assert isinstance(session, Session)
    identity = session.identity
    assert (identity.card_type, identity.id_number, identity.name) == (
        CardType.MANUAL,
        RESIDENT_ID,
        "",
    )
    assert identity.birth_date.isoformat() == "1962-05-17"
    session.start_choosing()
    assert session.available("queue-ticket") == []
    assert session.available("resident-request") == []
    for code in ("residence-certificate", "old-age-allowance", "social-insurance-record"):
        refusal = session.available(code)[0]
        assert refusal == "本事项需要刷身份证或社保卡办理。"
        assert refusal.in_language("en") == "This service needs an ID card or social security card."
        with pytest.raises(SessionError):
            session.choose(code)
    again = kiosk.identify_manually(RESIDENT_ID)  # one session at a time
    assert isinstance(again, Refusal)
