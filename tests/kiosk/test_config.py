"""The configuration file: defaults, validation with key and line, environment, demo mode."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from kiosk.config import (
    DEMO_PLATFORM_URL,
    SECTIONS,
    Config,
    ConfigError,
    find_config_file,
    is_demo,
    load_config,
    render_config,
)

REPO = Path(__file__).resolve().parents[2]
VALID = """\
[kiosk]
id = "BJ-DC-0042"
hall_name = "示例街道示例社区党群服务中心"
data_dir = "/var/lib/kiosk"

[devices]
readers = ["ga467:///dev/ttyUSB0?baud=115200", "pcsc://"]
receipt_printer = "escpos+usb://0416:5011"
certificate_printer = "cups://A4"

[platform]
url = "https://zwfw.example.gov.cn/kiosk"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(
    path: Path | None, *, demo: bool = False, env: dict[str, str] | None = None
) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_config(path, demo=demo, environ=env or {})
    return raised.value.problems


def test_a_complete_file_loads_with_typed_values(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID), environ={})
    assert config.kiosk.id == "BJ-DC-0042"
    assert config.devices.readers == ("ga467:///dev/ttyUSB0?baud=115200", "pcsc://")
    assert config.devices.certificate_printer == "cups://A4"
    assert config.session.warning_s == 30
    assert config.session.time_multiplier == 1.0
    assert config.display.elderly_mode is True
    assert not config.demo
    assert config.data_dir == Path("/var/lib/kiosk")


def test_the_shipped_default_file_is_the_rendered_defaults() -> None:
    shipped = (REPO / "packaging" / "kiosk.toml").read_text(encoding="utf-8")
    assert shipped == render_config()


def test_every_setting_is_documented_in_the_default_file() -> None:
    text = render_config()
    data = tomllib.loads(text)
    assert set(data) == set(SECTIONS)
    for section, cls in SECTIONS.items():
        for name in cls.__dataclass_fields__:
            assert name in data[section], f"{section}.{name} missing from the default file"
            doc = cls.__dataclass_fields__[name].metadata["doc"]
            assert doc.split()[0] in text


def test_the_default_file_alone_names_what_must_still_be_set(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, render_config()))
    assert any("kiosk.id is empty" in p for p in problems)
    assert any("devices.readers is empty" in p for p in problems)
    assert any("platform.url is empty" in p for p in problems)
    assert all(" line " in p for p in problems)


def test_an_unknown_key_names_its_line_and_suggests_the_right_one(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "\n[session]\nwarnings_s = 40\n")
    assert problems_of(path) == [
        f"{path} line 15: session.warnings_s is not a setting (did you mean warning_s?)"
    ]


def test_an_unknown_section_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "\n[platfrom]\nurl = 'x'\n")
    assert problems_of(path) == [
        f"{path} line 14: [platfrom] is not a section of the configuration (did you mean platform?)"
    ]


def test_a_value_out_of_range_names_key_line_value_and_the_rule(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "\n[session]\nwarning_s = 10\n")
    assert problems_of(path) == [
        f"{path} line 15: session.warning_s = 10: must be from 20 to 300 s"
    ]


def test_a_value_of_the_wrong_type_names_the_expected_type(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + '\n[session]\nstep_timeout_s = "90"\n')
    assert problems_of(path) == [
        f'{path} line 15: session.step_timeout_s = "90": must be a whole number'
    ]


def test_true_is_not_a_number(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "\n[session]\ntime_multiplier = true\n")
    assert problems_of(path) == [
        f"{path} line 15: session.time_multiplier = true: must be a number"
    ]


def test_a_bad_device_url_says_what_is_wrong_with_it(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("cups://A4", "escpos+tcp://printer:9100"))
    assert problems_of(path) == [
        f'{path} line 9: devices.certificate_printer = "escpos+tcp://printer:9100": '
        "device URL 'escpos+tcp://printer:9100': escpos+tcp:// is a receipt printer, "
        "not a certificate printer"
    ]


def test_plain_http_to_a_remote_platform_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("https://zwfw", "http://zwfw"))
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path} line 12: platform.url")
    assert "must use https://" in problem


def test_plain_http_to_a_platform_on_this_machine_is_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("https://zwfw.example.gov.cn", "http://127.0.0.1:8470"))
    assert load_config(path, environ={}).platform.url == "http://127.0.0.1:8470/kiosk"


def test_a_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "\n[session]\nwarning_s = = 3\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}: not valid TOML:")
    assert "line 15" in problem


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "\n[session]\nwarning_s = 5\nstep_timeout_s = 5\nfoo = 1\n")
    problems = problems_of(path)
    assert len(problems) == 3
    assert [p.split(":")[0].rsplit(" ", 1)[1] for p in problems] == ["15", "16", "17"]


def test_a_missing_required_setting_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace('id = "BJ-DC-0042"\n', ""))
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}: kiosk.id is not set:")


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_bytes(VALID.encode("gb18030"))
    (problem,) = problems_of(path)
    assert "not UTF-8" in problem


def test_a_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path / "nope.toml")
    assert "kiosk config init" in problem


def test_without_a_file_and_without_demo_the_kiosk_refuses_and_says_how(tmp_path: Path) -> None:
    problems = problems_of(None)
    text = "\n".join(problems)
    assert "没有配置文件" in text
    assert "kiosk config init /etc/kiosk/kiosk.toml" in text
    assert "--demo" in text


def test_environment_overrides_win_over_the_file(tmp_path: Path) -> None:
    env = {
        "KIOSK_ID": "TEST-7",
        "KIOSK_DATA_DIR": str(tmp_path / "data"),
        "KIOSK_PLATFORM_URL": "http://127.0.0.1:9000",
        "KIOSK_READER": "sim://elderly  sim://sscard",
        "KIOSK_RECEIPT_PRINTER": "sim://near-end",
        "KIOSK_CERTIFICATE_PRINTER": "pdf-dir:///tmp/certs",
    }
    config = load_config(write(tmp_path, VALID), environ=env)
    assert config.kiosk.id == "TEST-7"
    assert config.kiosk.data_dir == str(tmp_path / "data")
    assert config.platform.url == "http://127.0.0.1:9000"
    assert config.devices.readers == ("sim://elderly", "sim://sscard")
    assert config.devices.receipt_printer == "sim://near-end"
    assert config.devices.certificate_printer == "pdf-dir:///tmp/certs"
    assert config.origins["devices.readers"] == "environment KIOSK_READER"
    assert config.origins["kiosk.hall_name"] == str(tmp_path / "kiosk.toml")


def test_a_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, VALID), env={"KIOSK_READER": "ga467://ttyUSB0"})
    assert problems == [
        'environment KIOSK_READER: devices.readers = ["ga467://ttyUSB0"]: device URL '
        "'ga467://ttyUSB0': needs an absolute path after three slashes, "
        "e.g. ga467:///dev/ttyUSB0?baud=115200"
    ]


def test_demo_mode_needs_no_file_and_selects_simulated_devices(tmp_path: Path) -> None:
    config = load_config(None, demo=True, environ={"HOME": str(tmp_path)})
    assert config.demo
    assert config.devices.readers == ("sim://",)
    assert config.devices.receipt_printer == "sim://"
    assert config.devices.certificate_printer == "sim://"
    assert config.platform.url == DEMO_PLATFORM_URL
    assert config.kiosk.id == "DEMO-0001"
    assert config.kiosk.data_dir == str(tmp_path / ".local" / "share" / "kiosk-demo")


def test_demo_mode_with_a_real_file_still_uses_simulated_devices_and_its_own_data(
    tmp_path: Path,
) -> None:
    config = load_config(write(tmp_path, VALID), demo=True, environ={"HOME": str(tmp_path)})
    assert config.devices.readers == ("sim://",)
    assert config.kiosk.data_dir != "/var/lib/kiosk"
    assert config.kiosk.id == "BJ-DC-0042"  # the file's own id stays


def test_a_broken_file_is_an_error_in_demo_mode_too(tmp_path: Path) -> None:
    path = write(tmp_path, VALID + "\n[session]\nwarning_s = 1\n")
    assert problems_of(path, demo=True, env={"HOME": str(tmp_path)})


def test_the_environment_can_pick_a_simulated_profile_in_demo_mode(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "KIOSK_READER": "sim://rare"}
    assert load_config(None, demo=True, environ=env).devices.readers == ("sim://rare",)


@pytest.mark.parametrize(
    ("value", "flag", "expected"),
    [("1", False, True), ("true", False, True), ("0", True, True), ("", False, False)],
)
def test_kiosk_demo_variable(value: str, flag: bool, expected: bool) -> None:
    assert is_demo(flag, {"KIOSK_DEMO": value}) is expected


def test_a_kiosk_demo_value_that_means_nothing_is_an_error() -> None:
    with pytest.raises(ConfigError, match="KIOSK_DEMO"):
        is_demo(False, {"KIOSK_DEMO": "maybe"})


def test_the_config_option_wins_over_kiosk_config(tmp_path: Path) -> None:
    env = {"KIOSK_CONFIG": "/from/env.toml"}
    assert find_config_file("/from/option.toml", env) == Path("/from/option.toml")
    assert find_config_file(None, env) == Path("/from/env.toml")


def test_config_sections_match_the_config_type() -> None:
    assert set(SECTIONS) == {
        name for name in Config.__dataclass_fields__ if name not in ("demo", "source", "origins")
    }


def test_a_required_setting_of_the_wrong_type_is_reported_once(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace('id = "BJ-DC-0042"', "id = 42"))
    assert problems_of(path) == [f"{path} line 2: kiosk.id = 42: must be text in quotes"]


@given(st.text(max_size=300))
@hyp_settings(max_examples=300)
def test_any_file_content_gives_a_config_or_a_config_error(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path, environ={})
    except ConfigError as error:
        assert error.problems
        assert all(isinstance(p, str) and p for p in error.problems)


toml_values = st.one_of(
    st.text(max_size=20),
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.text(max_size=10), max_size=3),
)


@given(
    st.dictionaries(
        st.sampled_from([*sorted(SECTIONS), "extra"]),
        st.dictionaries(st.text(min_size=1, max_size=12), toml_values, max_size=4),
        max_size=4,
    )
)
@hyp_settings(max_examples=300)
def test_any_structured_file_gives_a_config_or_key_precise_errors(
    tmp_path_factory: pytest.TempPathFactory, data: dict[str, dict[str, object]]
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "kiosk.toml"
    lines = []
    for section, body in data.items():
        lines.append(f"[{section}]")
        lines.extend(f"{json.dumps(k)} = {_toml(v)}" for k, v in body.items())
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        load_config(path, demo=True, environ={"HOME": "/nonexistent"})
    except ConfigError as error:
        for problem in error.problems:
            assert problem.startswith(str(path))


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if "e" not in repr(value) and "." in repr(value) else f"{value:.6f}"
    if isinstance(value, list):
        return "[" + ", ".join(json.dumps(v) for v in value) + "]"
    return json.dumps(value)


def test_a_malformed_device_url_is_a_config_error_not_a_crash(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace('"pcsc://"', '"pcsc://[reader"'))
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path} line 7: devices.readers")
    assert "is not a well-formed URL" in problem


def test_reader_names_with_spaces_survive_the_environment(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "KIOSK_READER": "pcsc://ACS ACR39U 00 00  ga467:///dev/ttyS1"}
    config = load_config(None, demo=True, environ=env)
    assert config.devices.readers == ("pcsc://ACS ACR39U 00 00", "ga467:///dev/ttyS1")
