"""Encryption at rest for the outbox: AES-256-GCM, keys in a file only the kiosk's user reads.

The key file (DATA_DIR/keys/outbox.keys) holds one key a line, `<key id> <base64 key>`; the last
line is the key new rows use, earlier ones still decrypt older rows, so keys can be rotated by
appending. It is created atomically (0600 from the first byte) at first start, and every start
refuses a file that others can read. Losing it loses the queue's personal data: README, "Back up".

Each encrypted value records its algorithm id and key id beside it, so that SM4 can replace AES
and keys can change without rewriting old rows. The row's idempotency key is the associated data:
a ciphertext moved to another row does not decrypt.
"""

from __future__ import annotations

import base64
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ALG: Final = "AES-256-GCM"
NONCE: Final = 12


class KeyFileError(Exception):
    """The key file is missing, unreadable, readable by others, or damaged."""


@dataclass(frozen=True)
class Sealed:
    alg: str
    key_id: str
    blob: bytes  # nonce + ciphertext + tag


class KeyRing:
    def __init__(self, keys: dict[str, bytes], current: str) -> None:
        self._keys, self.current = keys, current

    @classmethod
    def open(cls, path: Path) -> KeyRing:
        """Load the key file, making it (with one fresh key) on first start."""
        if not path.exists():
            _create(path)
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise KeyFileError(f"{path} is readable by others (mode {mode:o}); it must be 0600")
        keys: dict[str, bytes] = {}
        current = ""
        try:
            for line in path.read_text(encoding="ascii").splitlines():
                if not line.strip():
                    continue
                key_id, text = line.split()
                key = base64.b64decode(text, validate=True)
                if len(key) != 32:
                    raise ValueError("not a 256-bit key")
                keys[key_id] = key
                current = key_id
        except (ValueError, UnicodeDecodeError):
            raise KeyFileError(f"{path} is damaged (each line: key id, base64 key)") from None
        if not keys:
            raise KeyFileError(f"{path} holds no key")
        return cls(keys, current)

    def seal(self, data: bytes, associated: bytes) -> Sealed:
        nonce = secrets.token_bytes(NONCE)
        blob = nonce + AESGCM(self._keys[self.current]).encrypt(nonce, data, associated)
        return Sealed(ALG, self.current, blob)

    def open_sealed(self, sealed: Sealed, associated: bytes) -> bytes:
        if sealed.alg != ALG:
            raise KeyFileError(f"unknown algorithm {sealed.alg!r}")
        key = self._keys.get(sealed.key_id)
        if key is None:
            raise KeyFileError(f"key {sealed.key_id!r} is not in the key file (a lost key?)")
        try:
            return AESGCM(key).decrypt(sealed.blob[:NONCE], sealed.blob[NONCE:], associated)
        except InvalidTag:
            raise KeyFileError("a row's personal data does not decrypt (altered?)") from None


def _create(path: Path) -> None:
    write_private_file(path, f"k1 {base64.b64encode(secrets.token_bytes(32)).decode()}\n".encode())


def write_private_file(path: Path, data: bytes) -> None:
    """Write a secret file atomically, 0600 from the first byte, and durably (the file and its
    folder are synced): never readable by others, never half-written, never lost in a power
    cut after this returns. Used for every key file of the kiosk."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
