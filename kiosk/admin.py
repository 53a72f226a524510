"""The staff PIN: what it takes to leave the kiosk's full screen (into maintenance mode).

Stored as an argon2id hash (argon2-cffi's defaults, RFC 9106's second recommendation), written
as every key file is (0600, atomically): a copied data folder does not give the PIN away, and a
guess costs real time. A demo kiosk without a PIN set uses DEMO_PIN, printed in the README; a
real kiosk without one cannot be left from the screen at all, only stopped from a shell.
Growing delays after wrong PINs and `kiosk admin unlock` come with the staff screens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from offline_cache.crypto import write_private_file

PIN_FILE: Final = Path("admin") / "pin.argon2"
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
