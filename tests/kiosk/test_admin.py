"""The staff PIN: argon2id at rest, 0600, checked; a demo kiosk without one uses the demo PIN."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from kiosk.admin import (
    DEMO_PIN,
    PIN_FILE,
    PinError,
    check_pin,
    pin_is_set,
    set_pin,
    unlock,
    verify_pin,
)
from kiosk.staff import read_audit
from tests.kiosk.test_cli import KIOSK


def test_a_pin_is_stored_hashed_and_private_and_verified(tmp_path: Path) -> None:
    assert not pin_is_set(tmp_path)
    set_pin(tmp_path, "246810")
    stored = (tmp_path / PIN_FILE).read_bytes()
    assert stored.startswith(b"$argon2id$")
    assert b"246810" not in stored
    assert stat.S_IMODE((tmp_path / PIN_FILE).stat().st_mode) == 0o600
    assert verify_pin(tmp_path, "246810", demo=False)
    assert not verify_pin(tmp_path, "246811", demo=False)
    assert not verify_pin(tmp_path, DEMO_PIN, demo=True)  # a set PIN replaces the demo one


@pytest.mark.parametrize(
    ("pin", "message"),
    [
        ("12345", "6 to 12 digits"),
        ("1234567890123", "6 to 12 digits"),
        ("12345a", "6 to 12 digits"),
        ("１２３４５６", "6 to 12 digits"),  # full-width digits
        ("000000", "one repeated digit or a run"),
        ("345678", "one repeated digit or a run"),
    ],
)
def test_weak_or_malformed_pins_are_refused(tmp_path: Path, pin: str, message: str) -> None:
    with pytest.raises(PinError, match=message):
        set_pin(tmp_path, pin)
    assert not pin_is_set(tmp_path)


def test_without_a_pin_only_a_demo_kiosk_can_be_left(tmp_path: Path) -> None:
    assert verify_pin(tmp_path, DEMO_PIN, demo=True)
    assert not verify_pin(tmp_path, DEMO_PIN, demo=False)


def test_a_damaged_pin_file_is_reported_not_accepted(tmp_path: Path) -> None:
    (tmp_path / "admin").mkdir()
    (tmp_path / PIN_FILE).write_text("not a hash")
    with pytest.raises(PinError, match="set the PIN again"):
        verify_pin(tmp_path, "246810", demo=False)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_wrong_pins_lock_out_with_growing_capped_delays_kept_on_disk(tmp_path: Path) -> None:
    set_pin(tmp_path, "246810")
    clock = Clock()
    results = [check_pin(tmp_path, "111112", demo=False, clock=clock) for _ in range(3)]
    assert [(r.ok, r.wait_s, r.failures) for r in results] == [
        (False, 0.0, 1),
        (False, 0.0, 2),
        (False, 30.0, 3),
    ]
    # While locked, even the right PIN is not tried.
    locked = check_pin(tmp_path, "246810", demo=False, clock=clock)
    assert (locked.ok, locked.wait_s) == (False, 30.0)
    clock.now += 31
    assert check_pin(tmp_path, "111112", demo=False, clock=clock).wait_s == 60.0  # doubles
    for _ in range(10):
        clock.now += 10_000
        last = check_pin(tmp_path, "111112", demo=False, clock=clock)
    assert last.wait_s == 900.0  # capped at a quarter of an hour
    assert unlock(tmp_path) is True
    assert check_pin(tmp_path, "246810", demo=False, clock=clock).ok
    assert unlock(tmp_path) is False  # a right PIN cleared the record


def test_from_a_shell_the_pin_is_set_tried_locked_and_unlocked_and_never_written(
    tmp_path: Path,
) -> None:
    """The done-when of the staff entry: the PIN is in no file, its hash verifies with argon2,
    five wrong PINs lock the pad, `kiosk admin unlock` lifts it, and both are audited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env |= {"HOME": str(tmp_path), "KIOSK_DATA_DIR": str(tmp_path / "data")}

    def admin(command: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [KIOSK, "--demo", "admin", command],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )

    assert admin("set-pin", "975310\n").returncode == 0
    data = tmp_path / "data"
    PasswordHasher().verify((data / PIN_FILE).read_text(encoding="ascii"), "975310")
    clock = Clock()
    tries = [check_pin(data, "111112", demo=True, clock=clock) for _ in range(5)]
    assert tries[-1].wait_s > 0  # locked
    assert not check_pin(data, "975310", demo=True, clock=clock).ok  # not even tried
    done = admin("unlock")
    assert (done.returncode, done.stdout.strip()) == (0, "the PIN lockout is lifted")
    assert check_pin(data, "975310", demo=True, clock=clock).ok
    written = [p for p in data.rglob("*") if p.is_file() and b"975310" in p.read_bytes()]
    assert written == []
    assert [a["action"] for a in read_audit(data)] == ["pin_set", "pin_unlocked"]
