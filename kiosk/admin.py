"""The staff PIN: what it takes to leave the kiosk's full screen (into maintenance mode).

Stored as an argon2id hash (argon2-cffi's defaults, RFC 9106's second recommendation), written
as every key file is (0600, atomically): a copied data folder does not give the PIN away, and a
guess costs real time. A demo kiosk without a PIN set uses DEMO_PIN, printed in the README; a
real kiosk without one cannot be left from the screen at all, only stopped from a shell.
After FREE_TRIES wrong PINs in a row every further try waits a growing, capped delay, kept on
disk (admin/lockout.json) so that a restart does not reset it; `kiosk admin unlock` lifts it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from offline_cache.crypto import write_private_file

PIN_FILE: Final = Path("admin") / "pin.argon2"
LOCK_FILE: Final = Path("admin") / "lockout.json"
FREE_TRIES, FIRST_DELAY_S, MAX_DELAY_S = 3, 30.0, 900.0
DEMO_PIN: Final = "123456"
MIN_LENGTH, MAX_LENGTH = 6, 12


class PinError(Exception):
    pass


def check_new_pin(pin: str) -> None:
    if not pin.isascii() or not pin.isdigit() or not MIN_LENGTH <= len(pin) <= MAX_LENGTH:
        raise PinError(f"the PIN must be {MIN_LENGTH} to {MAX_LENGTH} digits")
    if len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210":
        raise PinError("the PIN must not be one repeated digit or a run such as 123456")


def set_pin(data_dir: Path, pin: str) -> None:
    check_new_pin(pin)
    write_private_file(data_dir / PIN_FILE, PasswordHasher().hash(pin).encode("ascii"))


def pin_is_set(data_dir: Path) -> bool:
    return (data_dir / PIN_FILE).exists()


def verify_pin(data_dir: Path, pin: str, *, demo: bool) -> bool:
    path = data_dir / PIN_FILE
    if not path.exists():
        return demo and pin == DEMO_PIN
    try:
        return PasswordHasher().verify(path.read_text(encoding="ascii").strip(), pin)
    except VerifyMismatchError:
        return False
    except (VerificationError, InvalidHashError, OSError, UnicodeDecodeError) as error:
        raise PinError(
            f"{path} cannot be read ({type(error).__name__}); set the PIN again"
        ) from None


@dataclass(frozen=True)
class PinCheck:
    ok: bool
    wait_s: float = 0.0  # > 0: locked out; try again after this long
    failures: int = 0  # wrong PINs in a row so far


def _lockout(data_dir: Path) -> tuple[int, float]:
    try:
        data = json.loads((data_dir / LOCK_FILE).read_text(encoding="utf-8"))
        return int(data["failures"]), float(data["until"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0, 0.0


def check_pin(
    data_dir: Path, pin: str, *, demo: bool, clock: Callable[[], float] = time.time
) -> PinCheck:
    """verify_pin with the lockout: while locked the PIN is not even tried."""
    failures, until = _lockout(data_dir)
    now = clock()
    if until > now:
        return PinCheck(False, until - now, failures)
    if verify_pin(data_dir, pin, demo=demo):
        (data_dir / LOCK_FILE).unlink(missing_ok=True)
        return PinCheck(True)
    failures += 1
    wait = 0.0
    if failures >= FREE_TRIES:
        wait = min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** (failures - FREE_TRIES))
    record = {"failures": failures, "until": now + wait}
    write_private_file(data_dir / LOCK_FILE, json.dumps(record).encode())
    return PinCheck(False, wait, failures)


def unlock(data_dir: Path) -> bool:
    """Lift a lockout (`kiosk admin unlock`, from a shell); True if there was one."""
    path = data_dir / LOCK_FILE
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed
