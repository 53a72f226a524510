"""The GA/T 467 reader through a real pty (socat) with the SAM simulator on the other end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devices.base import HealthLevel, Outcome
from devices.errors import DeviceUnavailable
from devices.registry import open_reader
from devices.simulators.ga467_sam import SamSimulator
from tests.harness.services import Service

KIOSK = str(Path(sys.executable).with_name("kiosk"))
Sam = Callable[..., SamSimulator]


@pytest.fixture
def sam(pty_pair: Service) -> Iterator[Sam]:
    started: list[SamSimulator] = []

    def start(card: str | None = "resident", fault: str = "none") -> SamSimulator:
        simulator = SamSimulator(pty_pair.env["KIOSK_TEST_PTY_DEVICE"], card, fault).start()
        started.append(simulator)
        time.sleep(0.05)
        return simulator

    yield start
    for simulator in started:
        simulator.stop()


def url(pty_pair: Service) -> str:
    return f"ga467://{pty_pair.env['KIOSK_TEST_PTY_HOST']}?baud=115200"


def read(pty_pair: Service, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    return subprocess.run(
        [KIOSK, "card", "read", "--reader", url(pty_pair), *extra],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_a_resident_card_with_long_term_validity_reads_every_field(
    pty_pair: Service, sam: Sam
) -> None:
    sam("elderly")
    result = read(pty_pair, "--json", "--full")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "card_type": "resident_id",
        "card_type_zh": "居民身份证",
        "name": "测试二",
        "sex": "女",
        "nation": "回",
        "birth_date": "1941-02-28",
        "age": json.loads(result.stdout)["age"],
        "id_number": "310101194102280027",
        "address": "上海市黄浦区示例路88弄6号",
        "issuer": "上海市公安局黄浦分局",
        "valid_from": "2006-01-15",
        "valid_until": "长期",
        "expired": False,
        "masked": False,
    }


def test_a_hong_kong_permit_reads(pty_pair: Service, sam: Sam) -> None:
    sam("hmt")
    card = json.loads(read(pty_pair, "--json", "--full").stdout)
    assert (card["card_type"], card["name"], card["id_number"]) == (
        "hmt_permit",
        "测试五",
        "81000019850701002X",
    )
    assert (card["valid_from"], card["valid_until"]) == ("2024-01-01", "2029-01-01")
    assert card["permit_number"] == "H60000001"


def test_a_2017_foreign_permanent_residence_card_reads(pty_pair: Service, sam: Sam) -> None:
    sam("foreign2017")
    card = json.loads(read(pty_pair, "--json", "--full").stdout)
    assert (card["card_type"], card["name"], card["name_en"], card["nationality"]) == (
        "foreign_permanent_2017",
        "测试七",
        "TEST, SEVEN",
        "CAN",
    )
    assert (card["id_number"], card["birth_date"]) == ("CAN119006150111", "1990-06-15")


@pytest.mark.parametrize("fault", ["noise", "split"])
def test_noise_and_split_answers_still_read(pty_pair: Service, sam: Sam, fault: str) -> None:
    sam("resident", fault)
    result = read(pty_pair, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["id_number"] == "1101**********0316"


def test_a_corrupted_frame_exits_4_with_a_clear_message(pty_pair: Service, sam: Sam) -> None:
    sam("resident", "bad-checksum")
    result = read(pty_pair, "--timeout", "2")
    assert result.returncode == 4
    assert "the reader sent a damaged frame" in result.stderr
    assert "110101196205170316" not in result.stderr + result.stdout


def test_no_card_exits_3(pty_pair: Service, sam: Sam) -> None:
    sam(None)
    assert read(pty_pair, "--timeout", "0.5").returncode == 3


def test_a_card_pulled_mid_read_never_shows_half_a_card(pty_pair: Service, sam: Sam) -> None:
    sam("resident", "pulled")
    result = read(pty_pair, "--timeout", "2", "--json")
    assert result.returncode == 4
    assert result.stdout == ""
    assert "the card could not be read" in result.stderr


def test_the_sam_status_and_id_for_self_test(pty_pair: Service, sam: Sam) -> None:
    sam("resident")
    reader = open_reader(url(pty_pair))
    health = reader.check_health(HealthLevel.INTERNAL)
    assert health.outcome is Outcome.PASSED
    assert health.data["sam_id"] == "0501000020230601000000000000a1b2"
    reader.close()


def test_a_failed_sam_self_test_is_reported(pty_pair: Service, sam: Sam) -> None:
    sam("resident", "sam-fail")
    reader = open_reader(url(pty_pair))
    health = reader.check_health(HealthLevel.INTERNAL)
    assert health.outcome is Outcome.FAILED
    assert "SAM self-test failed" in health.summary
    reader.close()


def test_the_reader_recovers_when_its_device_node_goes_and_comes_back(
    pty_pair: Service, sam: Sam
) -> None:
    sam("resident")
    reader = open_reader(url(pty_pair))
    assert reader.card_present()
    host, device = pty_pair.env["KIOSK_TEST_PTY_HOST"], pty_pair.env["KIOSK_TEST_PTY_DEVICE"]
    os.killpg(pty_pair.pid, signal.SIGTERM)  # unplugged: the device node disappears
    pty_pair.process.wait(10)
    with pytest.raises(DeviceUnavailable):
        reader.card_present()
    again = subprocess.Popen(
        ["socat", f"pty,raw,echo=0,link={host}", f"pty,raw,echo=0,link={device}"],
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        while not (Path(host).exists() and Path(device).exists()):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        simulator = SamSimulator(device, "elderly").start()
        try:
            assert reader.card_present()  # opened again by itself
            record = reader.read_card(timeout=2)
            assert record is not None
            assert record.fields["name"] == "测试二"
        finally:
            simulator.stop()
    finally:
        reader.close()
        os.killpg(again.pid, signal.SIGTERM)
        again.wait(10)
