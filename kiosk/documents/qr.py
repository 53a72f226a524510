"""QR codes for documents: one matrix, drawn as vectors on certificates and as a raster image
on receipt printers that lack the native QR command."""

from __future__ import annotations

from typing import Any

Matrix = list[list[bool]]


def qr_matrix(data: bytes, *, border: int = 4) -> Matrix:
    """The modules of a QR code (error correction M), quiet zone included; True is dark."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=border)
    code.add_data(data)
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


def draw_qr(page: Any, matrix: Matrix, x: float, y: float, size: float) -> None:
    """Draw on a reportlab canvas: one filled path, a rectangle per run of dark modules."""
    module = size / len(matrix)
    path = page.beginPath()
    for row_index, row in enumerate(matrix):
        top = y + size - (row_index + 1) * module
        start = None
        for col, dark in enumerate([*row, False]):
            if dark and start is None:
                start = col
            elif not dark and start is not None:
                path.rect(x + start * module, top, (col - start) * module, module)
                start = None
    page.saveState()
    page.setFillColorRGB(0, 0, 0)
    page.drawPath(path, stroke=0, fill=1)
    page.restoreState()
