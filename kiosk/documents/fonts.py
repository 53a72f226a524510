"""The one Chinese font of printed documents, loaded once.

reportlab embeds TrueType outlines only; Noto CJK is CFF, so certificates use WenQuanYi Micro
Hei (Debian fonts-wqy-microhei), which embeds and keeps text extractable. A character the font
lacks (a rare 生僻字) is printed as 〓, the customary mark for a missing character, so that the
gap is visible instead of silently vanishing.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path
from typing import Final

FONT_NAME: Final = "KioskCJK"
FONT_PATH: Final = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
# The screens' fonts (Debian fonts-noto-cjk), named here so that the self-test checks them too.
SCREEN_FONT: Final = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SCREEN_FONT_BOLD: Final = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")
SCREEN_FONTS: Final = (SCREEN_FONT, SCREEN_FONT_BOLD)
MISSING_MARK: Final = "〓"

_lock = threading.Lock()


class FontMissing(RuntimeError):
    pass


@cache
def _covered() -> frozenset[int]:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    with _lock:
        if not FONT_PATH.exists():
            raise FontMissing(
                f"{FONT_PATH} is missing: run make setup (Debian package fonts-wqy-microhei)"
            )
        font = TTFont(FONT_NAME, str(FONT_PATH), subfontIndex=0)
        pdfmetrics.registerFont(font)
        return frozenset(font.face.charToGlyph)


def pdf_font() -> str:
    """Register the font (once) and return its reportlab name."""
    _covered()
    return FONT_NAME


def printable(text: str) -> str:
    """The text with every character the font lacks replaced by the visible mark."""
    covered = _covered()
    return "".join(ch if ord(ch) in covered or ch in "\n\t" else MISSING_MARK for ch in text)
