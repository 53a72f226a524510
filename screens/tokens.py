"""The design system as data: one table of sizes and colours, 长辈模式 (elderly mode) values.

Sizes are in sp (text) and dp (everything else). The kiosk sets Kivy's density from the panel's
real size (display.panel_diagonal_in), so that 1 dp is 1/160 inch on the glass, as the MIIT
适老化 rules and WCAG mean it. Minimums from ../shared/reference/accessibility.md: body text
≥ 30 sp, headings ≥ 40 sp, targets ≥ 60 × 60 dp, line spacing ≥ 1.3, text contrast ≥ 7 : 1
(unavailable items ≥ 4.5 : 1, always with an icon and words).

No Kivy import here: tests check these numbers, and the contrast of the colours, without a
window; the laid-out widgets are checked against them in the UI tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from kiosk.documents.fonts import SCREEN_FONT, SCREEN_FONT_BOLD

FONT: Final = str(SCREEN_FONT)
FONT_BOLD: Final = str(SCREEN_FONT_BOLD)


@dataclass(frozen=True)
class Tokens:
    # text (sp)
    text_small: float = 44  # the smallest text a resident ever reads
    text_body: float = 60
    text_heading: float = 76
    text_title: float = 96
    line_height: float = 1.35
    # targets and space (dp)
    target_min: float = 150  # every touch target, both ways
    target_primary: float = 210  # the main action of a screen, in its lower half
    header_height: float = 130
    footer_height: float = 200
    padding: float = 40
    gap: float = 28
    radius: float = 18
    # colours (sRGB hex)
    background: str = "#FFFFFF"
    surface: str = "#EEF3F9"
    text: str = "#1A1A1A"
    muted: str = "#3D3D3D"
    primary: str = "#0B4F9C"
    on_primary: str = "#FFFFFF"
    secondary: str = "#DCE6F2"
    on_secondary: str = "#0A2F5C"
    selected: str = "#0B4F9C"
    on_selected: str = "#FFFFFF"
    unavailable: str = "#5E5E5E"
    unavailable_bg: str = "#F2F2F2"
    problem: str = "#8B1A1A"
    warning_bg: str = "#FFF1C2"
    on_warning: str = "#3D2A00"
    call_bg: str = "#FBE3E3"
    on_call: str = "#6E1010"
    header_bg: str = "#0A2F5C"
    on_header: str = "#FFFFFF"
    demo: str = "#8B1A1A"


ELDERLY: Final = Tokens()  # 长辈模式, the kiosk default
# Standard mode (display.elderly_mode = false): smaller, still above every 适老化 minimum.
STANDARD: Final = Tokens(
    text_small=34,
    text_body=44,
    text_heading=56,
    text_title=72,
    target_min=120,
    target_primary=170,
    footer_height=170,
)
T: Tokens = ELDERLY  # the tokens in force; the layouts read them when they are loaded


def use(elderly: bool) -> None:
    """Choose the mode, once, before any layout is loaded (screens.main.prepare_kivy)."""
    global T  # noqa: PLW0603 - the layouts import the module's choice by name
    T = ELDERLY if elderly else STANDARD


MIN_BODY_SP: Final = 30.0
MIN_HEADING_SP: Final = 40.0
MIN_TARGET_DP: Final = 60.0
MIN_CONTRAST: Final = 7.0
MIN_CONTRAST_UNAVAILABLE: Final = 4.5
MIN_LINE_HEIGHT: Final = 1.3


def rgba(hex_colour: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    value = hex_colour.lstrip("#")
    red, green, blue = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return (red, green, blue, alpha)


def luminance(colour: tuple[float, ...]) -> float:
    """WCAG 2.x relative luminance of an sRGB colour (components 0..1)."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in colour[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(foreground: tuple[float, ...], background: tuple[float, ...]) -> float:
    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def panel_density(width_px: int, height_px: int, diagonal_in: float) -> float:
    """Kivy's density for a panel, so that 1 dp = 1/160 inch on its glass."""
    return float((width_px**2 + height_px**2) ** 0.5 / diagonal_in) / 160


DIM_ALPHA: Final = 0.6  # the idle screen dimmed against burn-in: not dark, still plainly on
