"""Signed certificate payloads: genuine ones verify offline; every kind of forgery is refused."""

from __future__ import annotations

import json
import stat
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from kiosk.trust import (
    ALG,
    NotGenuine,
    Signer,
    TrustStore,
    b64,
    certify,
    demo_signer,
    key_id,
    read_private,
    unb64,
    verify,
    write_private,
)

ISSUED = date(2026, 11, 29)
FIELDS = {
    "type": "residence",
    "number": "K1-20261129-00001",
    "issued": "2026-11-29",
    "valid_until": "2027-02-27",
    "name": "测试一",
    "id_number": "110101196205170316",
}


@pytest.fixture(scope="module")
def root() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def signer(root: Ed25519PrivateKey) -> Signer:
    kiosk = Ed25519PrivateKey.generate()
    return Signer(kiosk, certify(root, "K1", kiosk.public_key(), date(2026, 1, 1)))


@pytest.fixture(scope="module")
def trust(root: Ed25519PrivateKey) -> TrustStore:
    return TrustStore({key_id(root.public_key()): root.public_key()})


def test_a_signed_payload_is_printable_ascii_and_verifies(
    signer: Signer, trust: TrustStore
) -> None:
    payload = signer.sign(FIELDS)
    assert payload.isascii()
    assert payload.isprintable()
    assert payload.startswith(f"KV1.{ALG}.")
    verified = verify(payload, trust, ISSUED)
    assert verified.fields == FIELDS
    assert verified.kiosk_id == "K1"


def test_every_single_character_change_is_refused(signer: Signer, trust: TrustStore) -> None:
    payload = signer.sign(FIELDS)
    for position, original in enumerate(payload):
        for replacement in {"A", "B", "x", "_", "-", "0", "."} - {original}:
            changed = payload[:position] + replacement + payload[position + 1 :]
            with pytest.raises(NotGenuine):
                verify(changed, trust, ISSUED)


def test_changing_a_field_and_re_encoding_it_is_refused_as_altered(
    signer: Signer, trust: TrustStore
) -> None:
    head, alg, _fields, sig, cert = signer.sign(FIELDS).split(".")
    forged = dict(FIELDS, name="测试二")
    forged_text = b64(
        json.dumps(forged, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    )
    with pytest.raises(NotGenuine) as raised:
        verify(".".join([head, alg, forged_text, sig, cert]), trust, ISSUED)
    assert raised.value.code == "altered"


def test_a_kiosk_certified_by_an_unknown_root_is_refused(trust: TrustStore) -> None:
    stranger = Ed25519PrivateKey.generate()
    kiosk = Ed25519PrivateKey.generate()
    rogue = Signer(kiosk, certify(stranger, "K1", kiosk.public_key(), date(2026, 1, 1)))
    with pytest.raises(NotGenuine) as raised:
        verify(rogue.sign(FIELDS), trust, ISSUED)
    assert raised.value.code == "unknown_key"


def test_an_uncertified_key_signing_under_a_real_certificate_is_refused(
    signer: Signer, trust: TrustStore
) -> None:
    thief = Signer(Ed25519PrivateKey.generate(), signer.certificate)
    with pytest.raises(NotGenuine) as raised:
        verify(thief.sign(FIELDS), trust, ISSUED)
    assert raised.value.code == "altered"


def test_a_revoked_key_is_refused_from_its_revocation_day_on(
    signer: Signer, trust: TrustStore
) -> None:
    payload = signer.sign(FIELDS)
    kid = signer.certificate.key_id
    revoked_before = TrustStore(trust.roots, {kid: date(2026, 11, 29)})
    with pytest.raises(NotGenuine) as raised:
        verify(payload, revoked_before, ISSUED)
    assert raised.value.code == "revoked"
    revoked_after = TrustStore(trust.roots, {kid: date(2026, 11, 30)})
    assert verify(payload, revoked_after, ISSUED).fields == FIELDS  # issued before: still good


def test_an_expired_certificate_is_refused(signer: Signer, trust: TrustStore) -> None:
    payload = signer.sign(FIELDS)
    assert verify(payload, trust, date(2027, 2, 27)).fields == FIELDS  # its last day
    with pytest.raises(NotGenuine) as raised:
        verify(payload, trust, date(2027, 2, 28))
    assert raised.value.code == "expired"


def test_a_document_issued_outside_the_kiosk_keys_validity_is_refused(
    signer: Signer, trust: TrustStore
) -> None:
    early = dict(FIELDS, issued="2025-12-31")
    with pytest.raises(NotGenuine) as raised:
        verify(signer.sign(early), trust, ISSUED)
    assert raised.value.code == "key_expired"


def test_base64_is_strict() -> None:
    assert unb64(b64(b"\x00\xff")) == b"\x00\xff"
    with pytest.raises(ValueError, match="canonical"):
        unb64("AP9")  # the same bytes as "AP8", spelled with unused bits set
    assert b64(b"\x00\xff") == "AP8"


@given(st.text(max_size=300))
def test_any_text_is_refused_with_not_genuine_only(text: str) -> None:
    with pytest.raises(NotGenuine):
        verify(text, TrustStore(), ISSUED)


def test_private_keys_are_written_0600_and_refused_when_readable_by_others(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "kiosk.key"
    key = Ed25519PrivateKey.generate()
    write_private(path, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key_id(read_private(path).public_key()) == key_id(key.public_key())
    path.chmod(0o644)
    with pytest.raises(NotGenuine, match="readable by others"):
        read_private(path)


def test_the_demo_chain_is_made_once_and_then_reused(tmp_path: Path) -> None:
    signer, trust = demo_signer(tmp_path, "DEMO-0001", ISSUED)
    again, _ = demo_signer(tmp_path, "DEMO-0001", ISSUED)
    assert again.certificate == signer.certificate
    assert verify(signer.sign(FIELDS), trust, ISSUED).kiosk_id == "DEMO-0001"


def test_a_revocation_list_that_cannot_be_read_stops_verification(tmp_path: Path) -> None:
    (tmp_path / "roots").mkdir()
    (tmp_path / "revoked.json").write_text("{not json")
    with pytest.raises(NotGenuine, match="revocation list"):
        TrustStore.load(tmp_path)
