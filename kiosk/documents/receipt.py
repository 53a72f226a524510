"""Receipts: one description, rendered as ESC/POS bytes for 58 mm or 80 mm thermal printers,
or as plain text of the same layout (previews, logs without personal data, tests).

Why not python-escpos's text(): it picks GB18030 only for lines holding a common Chinese
character, so a line of full-width punctuation, a ¥ amount or a rare character falls back to a
Western code page and prints "?". Here every job enters Chinese mode once (FS &) and every
character is sent as GB18030 two-byte code (the GBK range printer fonts have). Characters
outside it become 〓, and ¥ becomes the full-width ￥ (GB18030 puts ¥ in a four-byte sequence).

ESC/POS used: ESC @ (init), FS & (Chinese mode), ESC a (align), GS ! (size), ESC E (bold),
GS ( k (native QR: model 2, module size, error level M, store, print) or GS v 0 (the QR as a
raster image, for printers without GS ( k), ESC d (feed) and GS V 1 (partial cut).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from kiosk.documents.qr import Matrix, qr_matrix

COLUMNS: Final = {58: 32, 80: 48}  # font A, 12 x 24 dots
DOTS: Final = {58: 384, 80: 576}
MISSING: Final = "〓"

ESC, GS, FS = b"\x1b", b"\x1d", b"\x1c"
INIT = ESC + b"@"
CHINESE = FS + b"&"
ALIGN = {"left": ESC + b"a\x00", "center": ESC + b"a\x01", "right": ESC + b"a\x02"}
NORMAL, DOUBLE = GS + b"!\x00", GS + b"!\x11"
BOLD_ON, BOLD_OFF = ESC + b"E\x01", ESC + b"E\x00"
FEED_AND_CUT = ESC + b"d\x04" + GS + b"V\x01"


@dataclass(frozen=True)
class Line:
    text: str = ""
    style: str = "text"  # title (double size), heading (bold), text, rule, qr, blank
    align: str = "left"


@dataclass(frozen=True)
class Receipt:
    title: str  # the job's title: a transaction number, never personal data
    lines: tuple[Line, ...]


def _printer_text(text: str) -> str:
    out = []
    for ch in text.replace("¥", "￥"):
        try:
            ok = len(ch.encode("gb18030")) <= 2
        except UnicodeEncodeError:
            ok = False
        out.append(ch if ok and (ch.isprintable() or ch == " ") else MISSING)
    return "".join(out)


def _width(ch: str) -> int:
    return 1 if ord(ch) < 0x80 else 2


def wrap(text: str, columns: int) -> list[str]:
    """Lines of at most `columns` printer columns; Chinese characters take two."""
    lines, current, used = [], "", 0
    for ch in _printer_text(text):
        if used + _width(ch) > columns:
            lines.append(current.rstrip())
            current, used = "", 0
            if ch == " ":
                continue
        current += ch
        used += _width(ch)
    lines.append(current.rstrip())
    return lines


def _layout(receipt: Receipt, paper_mm: int) -> Iterator[tuple[Line, list[str]]]:
    if paper_mm not in COLUMNS:
        raise ValueError(f"paper width must be one of {sorted(COLUMNS)} mm")
    columns = COLUMNS[paper_mm]
    for line in receipt.lines:
        if line.style == "rule":
            yield line, ["-" * columns]
        elif line.style == "qr":
            yield line, []
        elif line.style == "blank":
            yield line, [""]
        else:
            yield line, wrap(line.text, columns // 2 if line.style == "title" else columns)


def render_text(receipt: Receipt, paper_mm: int = 58) -> str:
    columns = COLUMNS.get(paper_mm, 0)  # _layout refuses other widths
    out = []
    for line, wrapped in _layout(receipt, paper_mm):
        if line.style == "qr":
            out.append(_place("[QR] " + line.text, columns, line.align))
            continue
        for text in wrapped:
            if line.style == "title":  # double size: placed by its printed width
                printed = 2 * sum(_width(c) for c in text)
                out.append(_place(" ".join(text), columns, line.align, printed))
            else:
                out.append(_place(text, columns, line.align))
    return "\n".join(out) + "\n"


def _place(text: str, columns: int, align: str, printed: int | None = None) -> str:
    used = printed if printed is not None else sum(_width(c) for c in text)
    free = max(0, columns - used)
    if align == "center":
        return " " * (free // 2) + text
    if align == "right":
        return " " * free + text
    return text


def render_escpos(receipt: Receipt, paper_mm: int = 58, *, native_qr: bool = True) -> bytes:
    out = bytearray(INIT + CHINESE)
    for line, wrapped in _layout(receipt, paper_mm):
        out += ALIGN[line.align]
        if line.style == "qr":
            out += _qr_native(line.text) if native_qr else _qr_raster(line.text, paper_mm)
            out += b"\n"
            continue
        if line.style == "title":
            out += DOUBLE
        elif line.style == "heading":
            out += BOLD_ON
        for text in wrapped:
            out += text.encode("gb18030") + b"\n"
        if line.style == "title":
            out += NORMAL
        elif line.style == "heading":
            out += BOLD_OFF
    out += ALIGN["left"] + FEED_AND_CUT
    return bytes(out)


def _qr_native(data: str, module: int = 6) -> bytes:
    payload = data.encode("ascii")
    store = len(payload) + 3
    return (
        GS
        + b"(k\x04\x001A2\x00"  # fn 165: model 2
        + GS
        + b"(k\x03\x001C"
        + bytes([module])  # fn 167: module size in dots
        + GS
        + b"(k\x03\x001E1"  # fn 169: error correction M
        + GS
        + b"(k"
        + store.to_bytes(2, "little")
        + b"1P0"
        + payload  # fn 180: store
        + GS
        + b"(k\x03\x001Q0"
    )  # fn 181: print


def _qr_raster(data: str, paper_mm: int) -> bytes:
    return raster(qr_matrix(data.encode("ascii")), DOTS[paper_mm] // 2)


def raster(matrix: Matrix, max_dots: int) -> bytes:
    """GS v 0: the matrix scaled to whole dots per module, at most `max_dots` wide."""
    scale = max(1, max_dots // len(matrix))
    width = len(matrix) * scale
    row_bytes = (width + 7) // 8
    body = bytearray()
    for row in matrix:
        bits = [dark for dark in row for _ in range(scale)]
        bits += [False] * (row_bytes * 8 - len(bits))
        packed = bytes(
            sum(1 << (7 - i) for i in range(8) if bits[byte * 8 + i]) for byte in range(row_bytes)
        )
        body += packed * scale
    rows = len(matrix) * scale
    return GS + b"v0\x00" + row_bytes.to_bytes(2, "little") + rows.to_bytes(2, "little") + body
