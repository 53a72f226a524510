"""Certificates, checked with the tools other offices use: pdftotext, pdffonts, zbarimg."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.documents.certificate import Certificate, longest_validity, render_certificate
from kiosk.trust import Signer, TrustStore, Verified, certify, key_id
from kiosk.trust import verify as verify_payload

ISSUED = date(2026, 11, 29)
ROOT = Ed25519PrivateKey.generate()
KIOSK = Ed25519PrivateKey.generate()
SIGNER = Signer(
    KIOSK,
    certify(
        ROOT,
        kiosk_id="K1",
        hall="示例街道示例社区居民委员会",
        public=KIOSK.public_key(),
        not_before=date(2026, 1, 1),
    ),
)
TRUST = TrustStore({key_id(ROOT.public_key()): ROOT.public_key()})


def verify(payload: str, trust: TrustStore, today: date) -> Verified:
    return verify_payload(payload, trust, today, longest_validity)


def certificate(**changes: object) -> Certificate:
    values: dict[str, object] = {
        "template": "residence",
        "number": "K1-20261129-00001",
        "issued": ISSUED,
        "issuer": "示例街道示例社区居民委员会",
        "name": "测试一",
        "sex": "男",
        "id_number": "110101196205170316",
        "address": "北京市东城区测试街道示例社区1号楼2单元301室",
        "purpose": "子女入学",
        "demo": False,
    }
    values.update(changes)
    return Certificate(**values)  # type: ignore[arg-type]


def write(tmp_path: Path, cert: Certificate) -> Path:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(render_certificate(cert, SIGNER.sign(cert.fields())))
    return path


def pdftotext(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def test_pdftotext_extracts_the_chinese_text(tmp_path: Path) -> None:
    text = "".join(pdftotext(write(tmp_path, certificate())).split())
    for expected in (
        "居住证明",
        "测试一",
        "110101196205170316",
        "本证明用于：子女入学。",
        "示例街道示例社区居民委员会",
        "2026年11月29日",
        "K1-20261129-00001",
    ):
        assert expected in text
    assert "演示" not in text


def test_every_font_but_the_standard_ones_is_embedded(tmp_path: Path) -> None:
    fonts = subprocess.run(
        ["pdffonts", str(write(tmp_path, certificate()))],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    rows = fonts.splitlines()[2:]
    assert rows, fonts
    for row in rows:
        columns = row.split()
        embedded = columns[-5]
        assert embedded == "yes", row


def test_zbar_decodes_the_qr_from_the_rendered_page_and_it_verifies(tmp_path: Path) -> None:
    pdf = write(tmp_path, certificate())
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    decoded = subprocess.run(
        ["zbarimg", "-q", "--raw", "-Sbinary", str(tmp_path / "page.png")],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    payload = decoded.decode("ascii").strip()
    assert payload == SIGNER.sign(certificate().fields())
    verified = verify(payload, TRUST, ISSUED)
    assert verified.fields["name"] == "测试一"
    assert verified.fields["valid_until"] == "2027-02-27"


def test_a_rare_character_the_font_lacks_prints_as_a_visible_mark(tmp_path: Path) -> None:
    text = pdftotext(write(tmp_path, certificate(name="测试\u4dae")))
    assert "测试〓" in text
    # The signed fields keep the real name: the QR is the truth, the mark only shows a gap.
    assert certificate(name="测试\u4dae").fields()["name"] == "测试\u4dae"


def test_a_long_address_wraps_and_is_printed_whole(tmp_path: Path) -> None:
    address = "新疆维吾尔自治区" + "示例地区示例县示例乡示例村" * 12 + "末尾999号"
    text = pdftotext(write(tmp_path, certificate(address=address)))
    flat = "".join(text.split())
    assert address in flat
    assert "特此证明。" in flat  # what follows the long paragraph is still on the page


def test_demo_certificates_say_demo(tmp_path: Path) -> None:
    text = pdftotext(write(tmp_path, certificate(demo=True)))
    assert "演示 DEMO" in text
    assert certificate(demo=True).fields()["demo"] is True


def test_the_same_input_gives_the_same_bytes() -> None:
    cert = certificate()
    payload = SIGNER.sign(cert.fields())
    assert render_certificate(cert, payload) == render_certificate(cert, payload)


def test_markup_characters_in_names_are_printed_not_interpreted(tmp_path: Path) -> None:
    text = pdftotext(write(tmp_path, certificate(name="<b>测试&一</b>")))
    assert "<b>测试&一</b>" in text


@settings(max_examples=40)
@given(
    name=st.text(
        st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=60
    ),
    address=st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=400),
)
def test_fuzzed_names_and_addresses_never_crash_the_template(name: str, address: str) -> None:
    cert = certificate(name=name, address=address)
    pdf = render_certificate(cert, SIGNER.sign(cert.fields()))
    assert pdf.startswith(b"%PDF-")
    assert verify(SIGNER.sign(cert.fields()), TRUST, ISSUED).fields["name"] == name


@pytest.mark.parametrize(
    "name", ["测试\U00020bb7", "TEST, SEVEN 测试七", "Мария 测试", "测试·阿依古丽"]
)
def test_mixed_scripts_and_astral_characters(tmp_path: Path, name: str) -> None:
    assert write(tmp_path, certificate(name=name)).stat().st_size > 1000


def test_a_configured_seal_image_is_printed_instead_of_the_drawn_seal(tmp_path: Path) -> None:
    from PIL import Image, ImageDraw

    seal = tmp_path / "seal.png"
    image = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((10, 10, 190, 190), outline=(200, 0, 0, 255), width=8)
    image.save(seal)
    cert = certificate()
    with_image = render_certificate(cert, SIGNER.sign(cert.fields()), seal)
    drawn = render_certificate(cert, SIGNER.sign(cert.fields()))
    assert b"/Subtype /Image" in with_image
    assert b"/Subtype /Image" not in drawn


def test_the_printed_sex_is_certified_too() -> None:
    assert certificate().fields()["sex"] == "男"
