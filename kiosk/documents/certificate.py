"""Certificates: A4 PDFs with the resident's details and a QR holding the signed payload.

One template per certificate item (templates/*.toml: title, body with placeholders, validity).
Text wraps with Chinese line breaking and, should it still not fit, shrinks: it never clips. The
font is embedded with its outlines, so text stays extractable. The QR is drawn as vectors, so it
stays sharp at any printer resolution. The output is byte-for-byte reproducible for the same
input (no creation time inside), which keeps tests exact and spool files free of surprises.
"""

from __future__ import annotations

import io
import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Final
from xml.sax.saxutils import escape

from kiosk.documents.fonts import pdf_font, printable
from kiosk.documents.qr import draw_qr, qr_matrix

TEMPLATES: Final = Path(__file__).with_name("templates")
SEAL_RED: Final = (0.8, 0.05, 0.05)


@dataclass(frozen=True)
class Template:
    code: str
    title: str
    title_en: str
    valid_days: int
    body: str
    purpose: str
    closing: str
    footer: str


@cache
def template(code: str) -> Template:
    path = TEMPLATES / f"{code}.toml"
    if not path.exists():
        raise KeyError(f"no certificate template {code!r} in {TEMPLATES}")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return Template(code=code, **data)


def template_codes() -> set[str]:
    return {p.stem for p in TEMPLATES.glob("*.toml")}


def longest_validity(code: str) -> int | None:
    """The longest validity a certificate type may claim, for verification; None if unknown."""
    return template(code).valid_days if code in template_codes() else None


@dataclass(frozen=True, repr=False)
class Certificate:
    template: str
    number: str
    issued: date
    issuer: str  # the community (hall) that issues it
    name: str
    sex: str
    id_number: str
    address: str
    purpose: str
    demo: bool

    @property
    def valid_until(self) -> date:
        return self.issued + timedelta(days=template(self.template).valid_days)

    def fields(self) -> dict[str, Any]:
        """What the signature certifies: everything a checker must be able to compare."""
        return {
            "type": self.template,
            "number": self.number,
            "issued": self.issued.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            "issuer": self.issuer,
            "name": self.name,
            "sex": self.sex,
            "id_number": self.id_number,
            "address": self.address,
            "purpose": self.purpose,
            "demo": self.demo,
        }

    def __repr__(self) -> str:
        return f"Certificate({self.template} {self.number})"


def render_certificate(cert: Certificate, payload: str, seal_image: Path | None = None) -> bytes:
    """The certificate as PDF bytes, with `payload` (the signed fields) in its QR."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    font = pdf_font()
    t = template(cert.template)
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4, invariant=True, initialFontName=font)
    page.setTitle(f"{t.title} {cert.number}")
    page.setCreator("community kiosk")
    width, height = A4
    if cert.demo:
        _demo_marks(page, font, width, height)
    page.setFillColorRGB(0, 0, 0)
    page.setFont(font, 10)
    page.drawRightString(width - 20 * mm, height - 25 * mm, f"编号：{cert.number}")
    fill = {
        "name": cert.name,
        "sex": cert.sex,
        "id_number": cert.id_number,
        "address": cert.address,
        "purpose": cert.purpose,
        "community": cert.issuer,
        "valid_until": _zh(cert.valid_until),
    }
    _body(page, font, t, fill, (width, height))
    _signature(page, font, cert, seal_image)
    draw_qr(page, qr_matrix(payload.encode("ascii")), 22 * mm, 22 * mm, 52 * mm)
    page.setFont(font, 9)
    page.drawString(25 * mm, 20 * mm, "扫码核验 Scan to verify")
    _paragraphs(
        page,
        font,
        [t.footer.format(**fill)],
        x=80 * mm,
        y=15 * mm,
        w=width - 100 * mm,
        h=25 * mm,
        size=9,
        leading=13,
    )
    page.showPage()
    page.save()
    return out.getvalue()


def _paragraphs(
    page: Any,
    font: str,
    texts: list[str],
    *,
    x: float,
    y: float,
    w: float,
    h: float,
    size: float,
    leading: float,
    align: int = 0,
    indent: float = 0,
    gap: float = 0,
) -> None:
    """Wrapped text in a box: Chinese line breaking, and if it still does not fit, smaller
    type. It never clips: every character given is on the page."""
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Frame, KeepInFrame, Paragraph, Spacer

    style = ParagraphStyle(
        f"p{size}",
        fontName=font,
        fontSize=size,
        leading=leading,
        alignment=align,
        firstLineIndent=indent,
        wordWrap="CJK",
    )
    story: list[Any] = []
    for text in texts:
        story.append(Paragraph(escape(printable(text)), style))
        if gap:
            story.append(Spacer(0, gap))
    frame = Frame(
        x, y, w, h, showBoundary=0, leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0
    )
    frame.addFromList([KeepInFrame(w, h, story, mode="shrink")], page)


def _body(
    page: Any, font: str, t: Template, fill: dict[str, str], size: tuple[float, float]
) -> None:
    width, height = size
    from reportlab.lib.units import mm

    _paragraphs(
        page,
        font,
        [t.title],
        x=25 * mm,
        y=height - 62 * mm,
        w=width - 50 * mm,
        h=22 * mm,
        size=26,
        leading=34,
        align=1,
    )
    _paragraphs(
        page,
        font,
        [part.format(**fill) for part in (t.body, t.purpose, t.closing)],
        x=25 * mm,
        y=125 * mm,
        w=width - 50 * mm,
        h=height - 195 * mm,
        size=15,
        leading=27,
        indent=30,
        gap=3 * mm,
    )


def _signature(page: Any, font: str, cert: Certificate, seal_image: Path | None) -> None:
    """The issuer and date, right-aligned, with the seal beneath them (not over the text)."""
    from reportlab.lib.units import mm

    _paragraphs(
        page,
        font,
        [cert.issuer, _zh(cert.issued)],
        x=95 * mm,
        y=96 * mm,
        w=95 * mm,
        h=24 * mm,
        size=14,
        leading=22,
        align=2,
    )
    if seal_image is not None:
        page.drawImage(str(seal_image), 128 * mm, 52 * mm, 42 * mm, 42 * mm, mask="auto")
    else:
        _draw_seal(page, font, printable(cert.issuer), x=149 * mm, y=73 * mm, r=20 * mm)


def _demo_marks(page: Any, font: str, width: float, height: float) -> None:
    from reportlab.lib.units import mm

    page.saveState()
    page.setFillColorRGB(0.85, 0.85, 0.85)
    page.setFont(font, 120)
    page.translate(width / 2, height / 2)
    page.rotate(35)
    page.drawCentredString(0, -40, "演示")
    page.restoreState()
    page.setFillColorRGB(*SEAL_RED)
    page.setFont(font, 12)
    page.drawCentredString(width / 2, height - 15 * mm, "演示 DEMO：本证明仅用于演示，不具效力")


def _draw_seal(page: Any, font: str, issuer: str, *, x: float, y: float, r: float) -> None:
    """A drawn round seal (when no seal image is configured): ring, star, community name."""
    page.saveState()
    page.setStrokeColorRGB(*SEAL_RED)
    page.setFillColorRGB(*SEAL_RED)
    page.setLineWidth(2.2)
    page.circle(x, y, r, stroke=1, fill=0)
    page.setFont(font, 22)
    page.drawCentredString(x, y - 8, "★")
    label = issuer[:14]
    size = min(9.0, 2 * r * 0.8 / max(1, len(label)))
    page.setFont(font, size)
    page.drawCentredString(x, y + r * 0.45, label)
    page.setFont(font, 7)
    page.drawCentredString(x, y - r * 0.62, "电子证明专用")
    page.restoreState()


def _zh(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"
