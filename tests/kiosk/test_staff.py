"""Staff settings: checked as the configuration checks them, written where the configuration
finds them again, audited line by line in a chain that shows a removed or edited line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.config import ConfigError, load_config
from kiosk.core import Kiosk
from kiosk.staff import (
    AUDIT_FILE,
    SettingRefused,
    audit,
    change,
    pending,
    read_audit,
    refuse_offer,
    refused_offer,
    verify_audit,
)
from tests.kiosk.test_config import VALID
from tests.kiosk.test_platform import demo_config


def test_a_change_is_checked_written_audited_and_read_back(tmp_path: Path) -> None:
    config = demo_config(tmp_path)
    updated = change(config, {"session.time_multiplier": 2.5, "kiosk.items_off": ("queue-ticket",)})
    assert updated.session.time_multiplier == 2.5
    assert updated.kiosk.items_off == ("queue-ticket",)
    # The next start reads the same: staff settings win over the file, and say where they live.
    again = demo_config(tmp_path)
    assert again.session.time_multiplier == 2.5
    assert again.kiosk.items_off == ("queue-ticket",)
    staff_file = str(tmp_path / "data" / "admin" / "staff.toml")
    assert again.origins["session.time_multiplier"] == staff_file
    assert (tmp_path / "data" / "admin" / "staff.toml").stat().st_mode & 0o777 == 0o600
    lines = read_audit(tmp_path / "data")
    assert [(a["action"], a["setting"], a["before"], a["after"]) for a in lines] == [
        ("set", "session.time_multiplier", 1.0, 2.5),
        ("set", "kiosk.items_off", [], ["queue-ticket"]),
    ]
    assert all(a["who"] == "staff" and a["at"] for a in lines)
    assert verify_audit(tmp_path / "data") is None


def test_values_the_configuration_would_refuse_are_refused_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    config = demo_config(tmp_path)
    with pytest.raises(SettingRefused, match=r"session\.time_multiplier"):
        change(config, {"session.time_multiplier": 11.0})
    with pytest.raises(SettingRefused, match="not a setting staff change"):
        change(config, {"platform.timeout_s": 30.0})
    assert not (tmp_path / "data" / "admin" / "staff.toml").exists()
    assert read_audit(tmp_path / "data") == []


def test_a_staff_file_holding_other_settings_is_refused_with_its_line(tmp_path: Path) -> None:
    staff = tmp_path / "data" / "admin" / "staff.toml"
    staff.parent.mkdir(parents=True)
    staff.write_text("[session]\ntime_multiplier = 2.0\n\n[platform]\ntimeout_s = 30.0\n")
    with pytest.raises(ConfigError) as raised:
        load_config(
            None,
            demo=True,
            environ={"HOME": str(tmp_path), "KIOSK_DATA_DIR": str(staff.parents[1])},
        )
    assert f"{staff} line 5" in str(raised.value)
    assert "platform.timeout_s is not a setting staff change" in str(raised.value)


def test_an_edited_or_removed_audit_line_breaks_the_chain(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for n in range(3):
        audit(data, "staff", "set", {"setting": "voice.volume", "before": n, "after": n + 1})
    assert verify_audit(data) is None
    path = data / AUDIT_FILE
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    edited = json.loads(lines[1]) | {"after": 99}
    path.write_text(lines[0] + json.dumps(edited) + "\n" + lines[2], encoding="utf-8")
    assert verify_audit(data) == "line 3 does not follow line 2: removed or edited"
    path.write_text(lines[0] + lines[2], encoding="utf-8")
    assert verify_audit(data) == "line 2 does not follow line 1: removed or edited"


def test_an_item_staff_turned_off_is_unavailable_and_says_where_to_go(tmp_path: Path) -> None:
    config = demo_config(tmp_path)
    kiosk = Kiosk(config)
    try:
        ticket = kiosk.catalog["queue-ticket"]
        assert kiosk.unavailable(ticket) is None
        kiosk.reconfigure(change(config, {"kiosk.items_off": ("queue-ticket",)}))
        reason = kiosk.unavailable(ticket)
        assert reason == f"暂停办理：工作人员已暂停本事项，请到{ticket.where_else}办理。"
        assert reason is not None
        assert ticket.where_else_en in reason.in_language("en")
        kiosk.reconfigure(change(kiosk.config, {"session.step_timeout_s": 300}))
        assert kiosk.limits.step_s == 300.0
    finally:
        kiosk.close()


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("session.step_timeout_s", 300.0, "a whole number"),
        ("voice.enabled", 1, "true or false"),
        ("display.elderly_mode", "no", "true or false"),
        ("session.time_multiplier", "2", "a number"),
        ("voice.volume", True, "a whole number"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_as_the_file_would_refuse_it(
    tmp_path: Path, name: str, value: object, words: str
) -> None:
    # A wrong type written to staff.toml would stop the next start: it never gets there.
    config = demo_config(tmp_path)
    with pytest.raises(SettingRefused, match=words):
        change(config, {name: value})
    assert not (tmp_path / "data" / "admin" / "staff.toml").exists()


def test_a_change_to_the_same_value_writes_and_audits_nothing(tmp_path: Path) -> None:
    config = demo_config(tmp_path)
    assert change(config, {"voice.volume": config.voice.volume}) is config
    assert read_audit(tmp_path / "data") == []


def test_without_its_audit_line_a_change_is_not_made(tmp_path: Path) -> None:
    config = demo_config(tmp_path)
    (tmp_path / "data" / AUDIT_FILE).mkdir(parents=True)  # the log cannot be appended to
    with pytest.raises(IsADirectoryError):
        change(config, {"voice.volume": 40})
    assert not (tmp_path / "data" / "admin" / "staff.toml").exists()
    assert demo_config(tmp_path).voice.volume == config.voice.volume


def test_a_refused_offer_is_remembered_and_audited(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert refused_offer(data) is None
    refuse_offer(data, {"kiosk.counter_hours": "每天 8:00-20:00"})
    assert refused_offer(data) == {"kiosk.counter_hours": "每天 8:00-20:00"}
    (line,) = read_audit(data)
    assert (line["action"], line["offered"]) == (
        "config_refused",
        {"kiosk.counter_hours": "每天 8:00-20:00"},
    )


def test_a_device_or_platform_setting_is_kept_for_the_next_start_but_never_emptied(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text(VALID.replace("/var/lib/kiosk", str(tmp_path / "data")), encoding="utf-8")
    config = load_config(path, environ={})
    with pytest.raises(SettingRefused, match=r"devices\.readers: cannot be empty"):
        change(config, {"devices.readers": ()})
    with pytest.raises(SettingRefused, match=r"platform\.url: .*https"):
        change(config, {"platform.url": "http://zwfw.example.gov.cn/kiosk"})
    effective = change(config, {"devices.readers": ("pcsc://",), "kiosk.id": "BJ-DC-0043"})
    # The running kiosk keeps the devices and the id it opened with, until it starts again.
    assert (effective.devices.readers, effective.kiosk.id) == (config.devices.readers, "BJ-DC-0042")
    assert pending(effective) == {"devices.readers": ["pcsc://"], "kiosk.id": "BJ-DC-0043"}
    change(effective, {"kiosk.id": "BJ-DC-0042"})  # thought better of it before the restart
    assert pending(effective) == {"devices.readers": ["pcsc://"]}
    assert [(a["setting"], a["before"], a["after"]) for a in read_audit(tmp_path / "data")] == [
        ("devices.readers", list(config.devices.readers), ["pcsc://"]),
        ("kiosk.id", "BJ-DC-0042", "BJ-DC-0043"),
        ("kiosk.id", "BJ-DC-0043", "BJ-DC-0042"),
    ]
    change(effective, {"kiosk.id": "BJ-DC-0043"})
    again = load_config(path, environ={})
    assert (again.devices.readers, again.kiosk.id) == (("pcsc://",), "BJ-DC-0043")
    assert again.platform.url == "https://zwfw.example.gov.cn/kiosk"  # from the file still
