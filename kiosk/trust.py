"""Keys and signatures: who may issue a certificate, and how anyone checks one offline.

    district root key ──certifies──▶ kiosk key ──signs──▶ certificate payload (in the QR)

A certificate's QR holds one printable-ASCII string:

    KV1.<alg>.<fields>.<signature>.<kiosk certificate>

- <alg> names the signature algorithm ("Ed25519"); SM2 with SM3 can take its place later
  without changing the format. Every part travels with its algorithm.
- <fields> is the certified content: canonical JSON (sorted keys, no spaces, UTF-8), base64url
  without padding. The signature covers the ASCII bytes of "KV1.<alg>.<fields>".
- <kiosk certificate> is the kiosk's public key, its id and validity, certified by a root key;
  so a verifier needs only the root keys it already holds, and no network.

Verification refuses: a malformed payload, an unknown root, a kiosk certificate whose signature
fails or whose validity does not cover the day of issue, a kiosk key revoked on or before that
day (its earlier certificates stay good), an altered payload, a document dated in the future or
valid for longer than its template allows (so that a stolen key cannot back-date its way past a
revocation), a number or issuing hall that is not the signing kiosk's, and an expired document.

Key files (data folder, 0700): keys/kiosk.key (PKCS#8, 0600, written atomically),
keys/kiosk.cert, trust/roots/*.pub (base64 raw public keys), trust/revoked.json.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from offline_cache.crypto import write_private_file

FORMAT: Final = "KV1"
ALG: Final = "Ed25519"
KIOSK_CERT_DAYS: Final = 3 * 365
MAX_CERT_DAYS: Final = 20 * 365
DEMO_MARKER: Final = "DEMO"  # trust/DEMO: this data folder belongs to demo mode


class NotGenuine(Exception):
    """A payload that must not be trusted. `code` is stable; the message says why in words."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    """Strict base64url: the one spelling b64() would give, so that no two strings (differing
    in the unused bits of the last character) decode to the same signed bytes."""
    if not text or any(c not in _B64 for c in text):
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64(data) != text:
        raise ValueError("not canonical base64url")
    return data


_B64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def canonical(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def key_id(public: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: the first 8 bytes of its SHA-256, in hex."""
    return hashlib.sha256(_raw(public)).hexdigest()[:16]


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class KioskCertificate:
    kiosk_id: str
    hall: str  # the hall the district installed the kiosk in; certificates must name it
    public_key: bytes  # raw Ed25519
    not_before: date
    not_after: date
    root_id: str
    signature: bytes = b""
    alg: str = ALG

    def body(self) -> bytes:
        return canonical(
            {
                "alg": self.alg,
                "kid": self.kiosk_id,
                "hall": self.hall,
                "pub": b64(self.public_key),
                "nbf": self.not_before.isoformat(),
                "exp": self.not_after.isoformat(),
                "root": self.root_id,
            }
        )

    def encode(self) -> str:
        return b64(self.body()) + "~" + b64(self.signature)

    @classmethod
    def decode(cls, text: str) -> KioskCertificate:
        try:
            body_text, sig_text = text.split("~")
            body = json.loads(unb64(body_text))
            if not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
                raise ValueError("not a table of texts")
            cert = cls(
                body["kid"],
                body["hall"],
                unb64(body["pub"]),
                date.fromisoformat(body["nbf"]),
                date.fromisoformat(body["exp"]),
                body["root"],
                unb64(sig_text),
                body["alg"],
            )
        except (ValueError, KeyError, TypeError, RecursionError) as error:
            raise NotGenuine(
                "malformed", f"the kiosk certificate cannot be read ({error})"
            ) from None
        if cert.body() != unb64(body_text):
            raise NotGenuine("malformed", "the kiosk certificate is not in canonical form")
        return cert

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.public_key).hexdigest()[:16]


def certify(
    root: Ed25519PrivateKey,
    *,
    kiosk_id: str,
    hall: str,
    public: Ed25519PublicKey,
    not_before: date,
    days: int = KIOSK_CERT_DAYS,
) -> KioskCertificate:
    """What a district does for each kiosk (and the demo root does in demo mode)."""
    if not 1 <= days <= MAX_CERT_DAYS:
        raise NotGenuine("days", f"a kiosk certificate lasts from 1 to {MAX_CERT_DAYS} days")
    unsigned = KioskCertificate(
        kiosk_id,
        hall,
        _raw(public),
        not_before,
        not_before + timedelta(days=days),
        key_id(root.public_key()),
    )
    return replace(unsigned, signature=root.sign(unsigned.body()))


@dataclass(frozen=True)
class Signer:
    """The kiosk's own key with its certificate."""

    private_key: Ed25519PrivateKey
    certificate: KioskCertificate

    def sign(self, fields: Mapping[str, Any]) -> str:
        certified = f"{FORMAT}.{ALG}.{b64(canonical(fields))}"
        signature = self.private_key.sign(certified.encode("ascii"))
        return f"{certified}.{b64(signature)}.{self.certificate.encode()}"

    def check(self, kiosk_id: str, hall: str, today: date) -> None:
        """Before signing anything a resident takes home: is this certificate really ours,
        for this kiosk and hall, and valid today? Otherwise every certificate would fail."""
        cert = self.certificate
        if cert.public_key != _raw(self.private_key.public_key()):
            raise NotGenuine(
                "key_file",
                "keys/kiosk.cert is for another key than "
                "keys/kiosk.key: ask the district to certify this key",
            )
        if cert.kiosk_id != kiosk_id:
            raise NotGenuine(
                "key_file", f"the key is certified for kiosk {cert.kiosk_id}, not {kiosk_id}"
            )
        if cert.hall != hall:
            raise NotGenuine(
                "key_file",
                f"the key is certified for the hall {cert.hall!r}, but kiosk.hall_name is {hall!r}",
            )
        if not cert.not_before <= today <= cert.not_after:
            raise NotGenuine(
                "key_expired",
                f"the kiosk's certificate is valid from "
                f"{cert.not_before} to {cert.not_after}, not today",
            )


@dataclass(frozen=True)
class TrustStore:
    roots: Mapping[str, Ed25519PublicKey] = field(default_factory=dict)
    revoked: Mapping[str, date] = field(default_factory=dict)  # kiosk key id -> revoked from

    @classmethod
    def load(cls, folder: Path) -> TrustStore:
        """TrustStoreError (the kiosk's problem, not the certificate's) when it is unreadable."""
        roots: dict[str, Ed25519PublicKey] = {}
        for path in sorted((folder / "roots").glob("*.pub")):
            try:
                public = Ed25519PublicKey.from_public_bytes(unb64(path.read_text().strip()))
            except (ValueError, OSError):
                raise TrustStoreError(f"{path} is not a root public key") from None
            roots[key_id(public)] = public
        revoked: dict[str, date] = {}
        revocations = folder / "revoked.json"
        if revocations.exists():
            try:
                entries = json.loads(revocations.read_text(encoding="utf-8"))
                revoked = {e["key_id"]: date.fromisoformat(e["from"]) for e in entries}
            except (ValueError, KeyError, TypeError, OSError) as error:
                raise TrustStoreError(
                    f"{revocations} cannot be read ({error}); refusing to "
                    "verify without a readable revocation list"
                ) from None
        return cls(roots, revoked)

    def check_certificate(self, cert: KioskCertificate, today: date) -> None:
        """A kiosk's certificate, as a platform checks it at enrolment: issued by one of these
        roots, valid today, its key not revoked. NotGenuine says why not."""
        root = self.roots.get(cert.root_id)
        if root is None:
            raise NotGenuine("unknown_key", "the kiosk's key is not certified by a known root")
        try:
            root.verify(cert.signature, cert.body())
        except InvalidSignature:
            raise NotGenuine("altered", "the kiosk certificate's signature is wrong") from None
        if not cert.not_before <= today <= cert.not_after:
            raise NotGenuine("key_expired", "the kiosk certificate is not valid today")
        revoked_from = self.revoked.get(cert.key_id)
        if revoked_from is not None and today >= revoked_from:
            raise NotGenuine("revoked", f"the kiosk's key was revoked from {revoked_from}")


class TrustStoreError(Exception):
    """This kiosk's own trust store is broken: nothing can be verified until it is mended."""


@dataclass(frozen=True)
class Verified:
    fields: Mapping[str, Any]
    kiosk_id: str
    key_id: str
    root_id: str


def verify(
    payload: str,
    trust: TrustStore,
    today: date,
    max_days: Callable[[str], int | None] = lambda kind: None,
) -> Verified:
    """The certified fields of a genuine, unexpired payload; NotGenuine otherwise.
    `max_days(type)` is the longest validity a document type may have (None: unknown type)."""
    parts = payload.strip().split(".")
    if len(parts) != 5 or parts[0] != FORMAT:
        raise NotGenuine("malformed", "this is not a kiosk certificate code")
    _, alg, fields_text, sig_text, cert_text = parts
    cert = KioskCertificate.decode(cert_text)
    if alg != ALG or cert.alg != alg:
        raise NotGenuine("algorithm", f"unknown or mixed signature algorithms ({alg}, {cert.alg})")
    root = trust.roots.get(cert.root_id)
    if root is None:
        raise NotGenuine("unknown_key", "the issuing kiosk is not certified by any known root key")
    try:
        root.verify(cert.signature, cert.body())
        kiosk_key = Ed25519PublicKey.from_public_bytes(cert.public_key)
        kiosk_key.verify(unb64(sig_text), f"{FORMAT}.{alg}.{fields_text}".encode("ascii"))
        fields = json.loads(unb64(fields_text))
    except InvalidSignature:
        raise NotGenuine(
            "altered",
            "the signature does not match: the certificate was altered "
            "or not issued by a certified kiosk",
        ) from None
    except (ValueError, UnicodeError, binascii.Error, RecursionError):
        raise NotGenuine("malformed", "this certificate code is damaged") from None
    if not isinstance(fields, dict):
        raise NotGenuine("malformed", "this certificate code is damaged")
    try:
        issued = date.fromisoformat(fields["issued"])
        valid_until = date.fromisoformat(fields["valid_until"])
        kind, number, issuer = str(fields["type"]), str(fields["number"]), fields["issuer"]
    except (KeyError, TypeError, ValueError):
        raise NotGenuine(
            "malformed", "the certificate lacks its type, number, issuer or dates"
        ) from None
    if issued > today:
        raise NotGenuine("future", f"the certificate is dated {issued}, after today")
    if not cert.not_before <= issued <= cert.not_after:
        raise NotGenuine("key_expired", "the kiosk's key was not valid on the day of issue")
    revoked_from = trust.revoked.get(cert.key_id)
    if revoked_from is not None and issued >= revoked_from:
        raise NotGenuine("revoked", f"the issuing kiosk's key was revoked from {revoked_from}")
    if not number.startswith(f"{cert.kiosk_id}-") or issuer != cert.hall:
        raise NotGenuine("foreign", "the number or issuing hall is not the signing kiosk's")
    longest = max_days(kind)
    if longest is None or (valid_until - issued).days > longest:
        raise NotGenuine("validity", f"a {kind!r} certificate cannot be valid that long")
    if today > valid_until:
        raise NotGenuine("expired", f"the certificate expired on {valid_until}")
    return Verified(fields, cert.kiosk_id, cert.key_id, cert.root_id)


# --- key files -----------------------------------------------------------------------------------


def write_private(path: Path, key: Ed25519PrivateKey) -> None:
    """A private key, written as every key file is (offline_cache.crypto.write_private_file)."""
    write_private_file(
        path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def read_private(path: Path) -> Ed25519PrivateKey:
    try:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise NotGenuine(
                "key_file", f"{path} is readable by others (mode {mode:o}); it must be 0600"
            )
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as error:
        raise NotGenuine("key_file", f"cannot read {path}: {error.strerror}") from None
    except (ValueError, TypeError):
        raise NotGenuine("key_file", f"{path} is not a readable, unencrypted key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise NotGenuine("key_file", f"{path} is not an Ed25519 key")
    return key


def demo_signer(data_dir: Path, kiosk_id: str, hall: str, today: date) -> tuple[Signer, TrustStore]:
    """Demo mode: a demo root and a kiosk key in the demo data folder, made on first use.
    A folder holding a production key is never touched, whatever KIOSK_DATA_DIR says."""
    keys, trust_dir = data_dir / "keys", data_dir / "trust"
    marker = trust_dir / DEMO_MARKER
    if not marker.exists():
        if (keys / "kiosk.key").exists() or (trust_dir / "roots").exists():
            raise NotGenuine(
                "not_demo",
                f"{data_dir} holds a production kiosk's keys; demo "
                "mode will not use or change them",
            )
        trust_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        marker.write_text("keys in this folder are for demonstration only\n")
    root_path = trust_dir / "demo-root.key"
    if not root_path.exists():
        write_private(root_path, Ed25519PrivateKey.generate())
    root = read_private(root_path)
    (trust_dir / "roots").mkdir(mode=0o700, parents=True, exist_ok=True)
    (trust_dir / "roots" / "demo-root.pub").write_text(public_text(root.public_key()) + "\n")
    kiosk_key = make_kiosk_key(data_dir)
    cert_path = keys / "kiosk.cert"
    signer = None
    if cert_path.exists():
        signer = Signer(
            read_private(keys / "kiosk.key"), KioskCertificate.decode(cert_path.read_text().strip())
        )
        try:
            signer.check(kiosk_id, hall, today)
        except NotGenuine:
            signer = None
    if signer is None:
        cert = certify(root, kiosk_id=kiosk_id, hall=hall, public=kiosk_key, not_before=today)
        cert_path.write_text(cert.encode() + "\n")
        signer = Signer(read_private(keys / "kiosk.key"), cert)
    return signer, TrustStore.load(trust_dir)


def kiosk_signer(
    data_dir: Path, kiosk_id: str, hall: str, today: date
) -> tuple[Signer, TrustStore]:
    """A production kiosk's key and certificate, as installed by its district, checked."""
    key_path, cert_path = data_dir / "keys" / "kiosk.key", data_dir / "keys" / "kiosk.cert"
    if not key_path.exists() or not cert_path.exists():
        raise NotGenuine(
            "no_key",
            f"this kiosk has no certified key yet ({key_path} and "
            f"{cert_path}); the district certifies it at installation",
        )
    signer = Signer(read_private(key_path), KioskCertificate.decode(cert_path.read_text().strip()))
    signer.check(kiosk_id, hall, today)
    return signer, TrustStore.load(data_dir / "trust")


# --- the key ceremony (kiosk keys ...) --------------------------------------------------------


def public_text(public: Ed25519PublicKey) -> str:
    return b64(_raw(public))


def public_from_text(text: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(unb64(text.strip()))
    except ValueError:
        raise NotGenuine(
            "key_file", "that is not an Ed25519 public key (base64url, 43 characters)"
        ) from None


def make_kiosk_key(data_dir: Path) -> Ed25519PublicKey:
    """The kiosk's own key, made once; its public half goes to the district."""
    path = data_dir / "keys" / "kiosk.key"
    if path.exists():
        return read_private(path).public_key()
    key = Ed25519PrivateKey.generate()
    write_private(path, key)
    return key.public_key()


def install_certificate(
    data_dir: Path, cert_text: str, root_text: str, *, kiosk_id: str, hall: str, today: date
) -> KioskCertificate:
    """Install the district's certificate for this kiosk's key, and trust the root behind it,
    after checking that they belong together and to this kiosk, and that it is valid."""
    cert = KioskCertificate.decode(cert_text.strip())
    root = public_from_text(root_text)
    if cert.root_id != key_id(root):
        raise NotGenuine("unknown_key", "this certificate was not issued by that root key")
    try:
        root.verify(cert.signature, cert.body())
    except InvalidSignature:
        raise NotGenuine(
            "altered", "the certificate's signature does not match the root key"
        ) from None
    Signer(read_private(data_dir / "keys" / "kiosk.key"), cert).check(kiosk_id, hall, today)
    roots = data_dir / "trust" / "roots"
    roots.mkdir(mode=0o700, parents=True, exist_ok=True)
    (roots / f"{key_id(root)}.pub").write_text(public_text(root) + "\n")
    (data_dir / "keys" / "kiosk.cert").write_text(cert.encode() + "\n")
    return cert
