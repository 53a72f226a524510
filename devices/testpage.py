"""What a technician's test print carries: an A4 page for certificate printers and a slip for
receipt printers. Latin text only, so that it prints on any printer before fonts are set up;
no personal data."""

from __future__ import annotations

import io
import time

TEST_SLIP = (
    b"\x1b@"  # ESC @: initialise
    b"\x1ba\x01"  # ESC a 1: centre
    b"KIOSK RECEIPT PRINTER TEST\n"
    b"1234567890 ABCDEFGHIJ abcdefghij\n"
    b"\x1ba\x00"
    b"If this slip is cut cleanly and readable, the printer works.\n\n\n\n"
    b"\x1dVB\x00"  # GS V 66 0: feed and cut
)


def a4_test_page(where: str) -> bytes:
    """One A4 page with a frame to check margins and alignment."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    page = Canvas(out, pagesize=A4, invariant=True)
    width, height = A4
    page.setTitle("Kiosk printer test page")
    page.rect(10 * mm, 10 * mm, width - 20 * mm, height - 20 * mm)
    page.setFont("Helvetica-Bold", 24)
    page.drawCentredString(width / 2, height - 50 * mm, "KIOSK CERTIFICATE PRINTER TEST")
    page.setFont("Helvetica", 12)
    page.drawCentredString(width / 2, height - 65 * mm, f"printer: {where}")
    page.drawCentredString(width / 2, height - 75 * mm, time.strftime("%Y-%m-%d %H:%M"))
    page.drawCentredString(
        width / 2, 30 * mm, "The frame should sit 10 mm inside every edge of the paper."
    )
    page.showPage()
    page.save()
    return out.getvalue()
