"""The PC/SC reader through a real pcscd with vpcd, a virtual social security card inserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devices.base import HealthLevel, Outcome
from devices.registry import open_reader
from devices.simulators.sscard import ATR, SocialSecurityCard
from devices.simulators.vpcd import VirtualCard
from tests.harness.services import Service

KIOSK = str(Path(sys.executable).with_name("kiosk"))


def read(*extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    return subprocess.run(
        [KIOSK, "card", "read", "--reader", "pcsc://Virtual PCD 00 00", *extra],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def inserted(pcscd: Service, quirks: tuple[str, ...] = ()) -> VirtualCard:
    card = SocialSecurityCard("sscard", quirks)
    virtual = VirtualCard(int(pcscd.env["KIOSK_TEST_VPCD_PORT"]), ATR, card.respond)
    virtual.insert()
    time.sleep(0.6)  # pcscd notices an inserted card within about 0.4 s
    return virtual


@pytest.mark.parametrize("quirks", [(), ("61xx", "6cxx")])
def test_a_social_security_card_reads_every_field(pcscd: Service, quirks: tuple[str, ...]) -> None:
    card = inserted(pcscd, quirks)
    try:
        result = read("--json", "--full", "--timeout", "5")
    finally:
        card.remove()
        time.sleep(0.6)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    wanted = (
        "card_type",
        "name",
        "sex",
        "nation",
        "birth_date",
        "id_number",
        "card_number",
        "valid_from",
        "valid_until",
    )
    assert {k: shown[k] for k in wanted} == {
        "card_type": "social_security",
        "name": "测试八",
        "sex": "男",
        "nation": "汉",
        "birth_date": "1955-10-01",
        "id_number": "320102195510010037",
        "card_number": "A00000008",
        "valid_from": "2019-06-01",
        "valid_until": "2029-06-01",
    }


def test_no_card_on_the_reader_exits_3(pcscd: Service) -> None:
    assert read("--timeout", "0.5").returncode == 3


def test_the_card_number_and_atr_reach_the_technician(pcscd: Service) -> None:
    card = inserted(pcscd)
    try:
        reader = open_reader("pcsc://Virtual PCD 00 00")
        record = reader.read_card(timeout=5)
        health = reader.check_health(HealthLevel.EXTERNAL)
        reader.close()
    finally:
        card.remove()
        time.sleep(0.6)
    assert record is not None
    assert record.fields["card_number"] == "A00000008"
    assert health.outcome is Outcome.PASSED
    assert health.data["atr"] == ATR.hex()


def test_a_card_that_needs_a_pin_is_refused_in_plain_words(pcscd: Service) -> None:
    card = inserted(pcscd, ("pin",))
    try:
        result = read("--timeout", "3")
    finally:
        card.remove()
        time.sleep(0.6)
    assert result.returncode == 4
    assert "needs a PIN" in result.stderr


def test_a_reader_name_that_matches_nothing_is_unavailable(pcscd: Service) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    result = subprocess.run(
        [KIOSK, "card", "read", "--reader", "pcsc://No Such Reader"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 4
    assert "no PC/SC reader matches 'No Such Reader'" in result.stderr


def test_the_reader_recovers_when_pcscd_restarts(pcscd: Service) -> None:
    from devices.errors import DeviceUnavailable
    from tests.harness.services import restart_pcscd

    reader = open_reader("pcsc://Virtual PCD 00 00")
    card = inserted(pcscd)
    try:
        assert reader.read_card(timeout=5) is not None
    finally:
        card.remove()
    restart_pcscd(pcscd)  # the PC/SC service restarts underneath the kiosk
    card = inserted(pcscd)
    try:
        record = None
        deadline = time.monotonic() + 10
        while record is None and time.monotonic() < deadline:
            try:
                record = reader.read_card(timeout=1)
            except DeviceUnavailable:
                time.sleep(0.2)  # pcscd still coming up: the kiosk says so and waits
        assert record is not None  # the same reader object answers again: nothing restarted
        assert record.fields["name"] == "测试八"
    finally:
        card.remove()
        reader.close()
        time.sleep(0.6)
