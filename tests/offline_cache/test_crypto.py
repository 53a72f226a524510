"""The outbox key file and the sealing of personal data."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from offline_cache.crypto import ALG, KeyFileError, KeyRing


def test_the_key_file_is_made_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "outbox.keys"
    ring = KeyRing.open(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    sealed = ring.seal(b"secret", b"row-1")
    assert (sealed.alg, sealed.key_id) == (ALG, "k1")
    assert KeyRing.open(path).open_sealed(sealed, b"row-1") == b"secret"


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "outbox.keys"
    KeyRing.open(path)
    path.chmod(0o640)
    with pytest.raises(KeyFileError, match="readable by others"):
        KeyRing.open(path)


def test_a_damaged_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "outbox.keys"
    path.write_text("k1 not-base64!\n")
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="damaged"):
        KeyRing.open(path)


def test_a_sealed_value_moved_to_another_row_does_not_open(tmp_path: Path) -> None:
    ring = KeyRing.open(tmp_path / "outbox.keys")
    sealed = ring.seal(b"secret", b"row-1")
    with pytest.raises(KeyFileError, match="does not decrypt"):
        ring.open_sealed(sealed, b"row-2")


def test_keys_rotate_by_appending_and_old_rows_still_open(tmp_path: Path) -> None:
    path = tmp_path / "outbox.keys"
    old = KeyRing.open(path).seal(b"old row", b"a")
    with path.open("a") as keys:
        keys.write(f"k2 {base64.b64encode(bytes(range(32))).decode()}\n")
    ring = KeyRing.open(path)
    assert ring.current == "k2"
    assert ring.seal(b"new row", b"b").key_id == "k2"
    assert ring.open_sealed(old, b"a") == b"old row"


def test_a_lost_key_is_named(tmp_path: Path) -> None:
    sealed = KeyRing.open(tmp_path / "one.keys").seal(b"x", b"a")
    with pytest.raises(KeyFileError, match="not in the key file"):
        KeyRing({"k9": bytes(32)}, "k9").open_sealed(sealed, b"a")
