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

from kiosk.documents.certificate import longest_validity
from kiosk.trust import (
    ALG,
    NotGenuine,
    Signer,
    TrustStore,
    TrustStoreError,
    Verified,
    b64,
    certify,
    demo_signer,
    install_certificate,
    key_id,
    kiosk_signer,
    make_kiosk_key,
    public_text,
    read_private,
    unb64,
    write_private,
)
from kiosk.trust import verify as verify_payload

ISSUED = date(2026, 11, 29)
FIELDS = {
    "type": "residence",
    "number": "K1-20261129-00001",
    "issued": "2026-11-29",
    "valid_until": "2027-02-27",
    "issuer": "示例社区居委会",
    "name": "测试一",
    "id_number": "110101196205170316",
}
HALL = "示例社区居委会"


def verify(payload: str, trust: TrustStore, today: date) -> Verified:
    return verify_payload(payload, trust, today, longest_validity)


@pytest.fixture(scope="module")
def root() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def signer(root: Ed25519PrivateKey) -> Signer:
    kiosk = Ed25519PrivateKey.generate()
    return Signer(
        kiosk,
        certify(
            root, kiosk_id="K1", hall=HALL, public=kiosk.public_key(), not_before=date(2026, 1, 1)
        ),
    )


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
    rogue = Signer(
        kiosk,
        certify(
            stranger,
            kiosk_id="K1",
            hall=HALL,
            public=kiosk.public_key(),
            not_before=date(2026, 1, 1),
        ),
    )
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
    signer, trust = demo_signer(tmp_path, "K1", HALL, ISSUED)
    again, _ = demo_signer(tmp_path, "K1", HALL, ISSUED)
    assert again.certificate == signer.certificate
    assert verify(signer.sign(FIELDS), trust, ISSUED).kiosk_id == "K1"


def test_a_revocation_list_that_cannot_be_read_stops_verification(tmp_path: Path) -> None:
    (tmp_path / "roots").mkdir()
    (tmp_path / "revoked.json").write_text("{not json")
    with pytest.raises(TrustStoreError, match="revocation list"):
        TrustStore.load(tmp_path)


def test_a_back_dated_certificate_claiming_a_long_validity_is_refused(
    signer: Signer, trust: TrustStore
) -> None:
    # A stolen key, revoked from 2026-06-01, dates its forgery before that, valid for ever.
    forged = dict(FIELDS, issued="2026-05-01", valid_until="9999-12-31")
    revoked = TrustStore(trust.roots, {signer.certificate.key_id: date(2026, 6, 1)})
    with pytest.raises(NotGenuine) as raised:
        verify(signer.sign(forged), revoked, date(2030, 1, 1))
    assert raised.value.code == "validity"


def test_a_certificate_dated_in_the_future_is_refused(signer: Signer, trust: TrustStore) -> None:
    future = dict(FIELDS, issued="2026-11-30", valid_until="2027-02-27")
    with pytest.raises(NotGenuine) as raised:
        verify(signer.sign(future), trust, ISSUED)
    assert raised.value.code == "future"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"number": "K2-20261129-00001"}, "foreign"),
        ({"issuer": "别的社区"}, "foreign"),
        ({"type": "unknown"}, "validity"),
    ],
)
def test_a_number_hall_or_type_that_is_not_the_kiosks_is_refused(
    signer: Signer, trust: TrustStore, change: dict[str, str], code: str
) -> None:
    with pytest.raises(NotGenuine) as raised:
        verify(signer.sign(dict(FIELDS, **change)), trust, ISSUED)
    assert raised.value.code == code


def test_a_crafted_kiosk_certificate_is_malformed_not_a_crash(
    signer: Signer, trust: TrustStore
) -> None:
    head, alg, fields, sig, _ = signer.sign(FIELDS).split(".")
    body = json.dumps(
        {
            "alg": "Ed25519",
            "kid": "K1",
            "hall": HALL,
            "pub": "AA",
            "nbf": "x",
            "exp": "y",
            "root": [],
        },
        separators=(",", ":"),
    ).encode()
    nested = ("[" * 100_000 + "]" * 100_000).encode()
    for crafted in (body, nested):
        with pytest.raises(NotGenuine) as raised:
            verify(
                ".".join([head, alg, fields, sig, b64(crafted) + "~" + b64(b"x")]), trust, ISSUED
            )
        assert raised.value.code == "malformed"


def test_certify_refuses_a_validity_of_no_days_or_centuries(root: Ed25519PrivateKey) -> None:
    public = Ed25519PrivateKey.generate().public_key()
    for days in (0, -5, 100_000_000):
        with pytest.raises(NotGenuine, match="lasts from 1 to"):
            certify(root, kiosk_id="K1", hall=HALL, public=public, not_before=ISSUED, days=days)


def test_demo_mode_never_touches_a_production_key_folder(tmp_path: Path) -> None:
    make_kiosk_key(tmp_path)  # a production kiosk's key, as `kiosk keys init` makes it
    before = (tmp_path / "keys" / "kiosk.key").read_bytes()
    with pytest.raises(NotGenuine, match="holds a production kiosk's keys"):
        demo_signer(tmp_path, "K1", HALL, ISSUED)
    assert (tmp_path / "keys" / "kiosk.key").read_bytes() == before
    assert not (tmp_path / "trust").exists()


def test_a_kiosk_never_signs_with_a_certificate_that_is_not_its_own(
    tmp_path: Path, root: Ed25519PrivateKey
) -> None:
    public = make_kiosk_key(tmp_path)
    cert = certify(root, kiosk_id="K1", hall=HALL, public=public, not_before=ISSUED, days=30)
    (tmp_path / "keys" / "kiosk.cert").write_text(cert.encode())
    assert kiosk_signer(tmp_path, "K1", HALL, ISSUED)[0].certificate == cert
    for kiosk_id, hall, today, words in (
        ("K2", HALL, ISSUED, "certified for kiosk K1"),
        ("K1", "别的社区", ISSUED, "certified for the hall"),
        ("K1", HALL, date(2027, 1, 1), "not today"),
    ):
        with pytest.raises(NotGenuine, match=words):
            kiosk_signer(tmp_path, kiosk_id, hall, today)
    other = certify(
        root,
        kiosk_id="K1",
        hall=HALL,
        public=Ed25519PrivateKey.generate().public_key(),
        not_before=ISSUED,
    )
    with pytest.raises(NotGenuine, match="for another key"):
        install_certificate(
            tmp_path,
            other.encode(),
            public_text(root.public_key()),
            kiosk_id="K1",
            hall=HALL,
            today=ISSUED,
        )


def test_a_corrupt_key_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.key"
    path.write_bytes(b"-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n")
    path.chmod(0o600)
    with pytest.raises(NotGenuine, match="not a readable, unencrypted key"):
        read_private(path)
