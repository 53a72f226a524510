"""TLS is verified, always, against the system's CAs or the configured bundle; and the reference
platform enrols kiosks as the design says: certified on first contact in demo, only with a
district's certificate otherwise."""

from __future__ import annotations

import datetime
import ipaddress
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID
from werkzeug.serving import make_server

from kiosk.clock import today_local
from kiosk.trust import KioskCertificate, TrustStore, certify, public_text, read_private
from offline_cache.client import KioskRefused, PlatformClient, PlatformError, Transient
from offline_cache.platform_server import Store, create_app
from tests.offline_cache.platform_kit import HALL, KIOSK_ID, credentials, served


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A private CA's certificate for 127.0.0.1 (what a district's own CA would issue)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "测试政务平台")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "ca.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextmanager
def https_platform(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    cert, key = self_signed(tmp_path)
    store = Store(tmp_path / "platform")
    server = make_server(
        "127.0.0.1", 0, create_app(store), threaded=True, ssl_context=(str(cert), str(key))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.port}", cert
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        store.close()


def test_tls_is_verified_and_a_private_ca_bundle_is_honoured(tmp_path: Path) -> None:
    with https_platform(tmp_path) as (url, ca):
        unverified = PlatformClient(url, credentials())
        try:
            with pytest.raises(Transient):  # not signed by a CA the system trusts
                unverified.enrol()
        finally:
            unverified.close()
        trusted = PlatformClient(url, credentials(), ca_bundle=ca)
        try:
            assert trusted.enrol()["kiosk_id"] == KIOSK_ID
        finally:
            trusted.close()


def test_plain_http_is_refused_except_on_this_machine() -> None:
    with pytest.raises(PlatformError, match="https"):
        PlatformClient("http://zwfw.example.gov.cn/kiosk", credentials())
    PlatformClient("http://localhost:9", credentials()).close()


def test_in_demo_the_platform_certifies_a_kiosk_on_first_contact(tmp_path: Path) -> None:
    data = tmp_path / "platform"
    key = Ed25519PrivateKey.generate()
    with served("--data", str(data)) as (url, _):
        client = PlatformClient(url, credentials(key=key))
        try:
            answer = client.enrol()
        finally:
            client.close()
    cert = KioskCertificate.decode(answer["certificate"])
    assert (cert.kiosk_id, cert.hall) == (KIOSK_ID, HALL)
    assert cert.public_key == credentials(key=key).public_key
    roots = data / "roots"
    roots.mkdir()
    (roots / "platform.pub").write_text(public_text(read_private(data / "root.key").public_key()))
    TrustStore.load(data).check_certificate(cert, today_local())  # raises if not genuine


def test_without_auto_enrolment_only_a_district_certified_kiosk_may_join(tmp_path: Path) -> None:
    data = tmp_path / "platform"
    district = Ed25519PrivateKey.generate()
    (data / "roots").mkdir(parents=True)
    (data / "roots" / "district.pub").write_text(public_text(district.public_key()))
    key = Ed25519PrivateKey.generate()
    plain = credentials(key=key)
    with served("--data", str(data), "--no-auto-enrol") as (url, _):
        stranger = PlatformClient(url, plain)
        with pytest.raises(KioskRefused) as refused:
            stranger.enrol()
        stranger.close()
        assert (refused.value.status, refused.value.code) == (403, "ENROLMENT_CLOSED")
        cert = certify(
            district,
            kiosk_id=KIOSK_ID,
            hall=HALL,
            public=key.public_key(),
            not_before=today_local() - datetime.timedelta(days=1),
        )
        forged = certify(
            Ed25519PrivateKey.generate(),
            kiosk_id=KIOSK_ID,
            hall=HALL,
            public=key.public_key(),
            not_before=today_local() - datetime.timedelta(days=1),
        )
        impostor = PlatformClient(url, replace(plain, certificate=forged.encode()))
        with pytest.raises(KioskRefused) as bad:
            impostor.enrol()
        impostor.close()
        assert bad.value.code == "BAD_CERTIFICATE"
        member = PlatformClient(url, replace(plain, certificate=cert.encode()))
        try:
            assert member.enrol()["kiosk_id"] == KIOSK_ID
            assert member.query("11010519491231002X") == []  # signed requests now pass
        finally:
            member.close()
