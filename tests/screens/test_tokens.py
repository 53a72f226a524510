"""The design tokens meet the 适老化 and WCAG numbers, computed from the actual colours."""

from __future__ import annotations

import pytest

from screens.tokens import (
    ELDERLY,
    MIN_BODY_SP,
    MIN_CONTRAST,
    MIN_CONTRAST_UNAVAILABLE,
    MIN_HEADING_SP,
    MIN_LINE_HEIGHT,
    MIN_TARGET_DP,
    STANDARD,
    T,
    Tokens,
    contrast,
    panel_density,
    rgba,
)


@pytest.mark.parametrize("tokens", [ELDERLY, STANDARD], ids=["elderly", "standard"])
def test_sizes_meet_the_elderly_mode_minimums_in_both_modes(tokens: Tokens) -> None:
    assert min(tokens.text_small, tokens.text_body) >= MIN_BODY_SP
    assert min(tokens.text_heading, tokens.text_title) >= MIN_HEADING_SP
    assert tokens.target_min >= MIN_TARGET_DP
    assert tokens.target_primary >= 1.3 * tokens.target_min  # primary actions far larger
    assert tokens.line_height >= MIN_LINE_HEIGHT


def test_elderly_mode_is_the_default_and_larger() -> None:
    assert T is ELDERLY
    assert STANDARD.text_body < ELDERLY.text_body


@pytest.mark.parametrize(
    ("foreground", "background"),
    [
        ("text", "background"),
        ("muted", "background"),
        ("problem", "background"),
        ("primary", "background"),
        ("on_primary", "primary"),
        ("on_secondary", "secondary"),
        ("on_selected", "selected"),
        ("on_warning", "warning_bg"),
        ("on_call", "call_bg"),
        ("on_header", "header_bg"),
        ("demo", "background"),
    ],
)
def test_text_colours_have_at_least_7_to_1_contrast(foreground: str, background: str) -> None:
    ratio = contrast(rgba(getattr(T, foreground)), rgba(getattr(T, background)))
    assert ratio >= MIN_CONTRAST, f"{foreground} on {background}: {ratio:.2f}"


def test_unavailable_items_have_at_least_4_5_to_1() -> None:
    assert contrast(rgba(T.unavailable), rgba(T.unavailable_bg)) >= MIN_CONTRAST_UNAVAILABLE


def test_contrast_matches_wcag_reference_values() -> None:
    assert contrast(rgba("#000000"), rgba("#FFFFFF")) == pytest.approx(21.0)
    assert contrast(rgba("#777777"), rgba("#FFFFFF")) == pytest.approx(4.48, abs=0.01)
    assert contrast(rgba("#FFFFFF"), rgba("#FFFFFF")) == pytest.approx(1.0)


def test_density_makes_dp_a_160th_of_an_inch_on_the_panel() -> None:
    # 1080 x 1920 on a 21.5-inch diagonal: 102.5 pixels per inch.
    assert panel_density(1080, 1920, 21.5) == pytest.approx(102.46 / 160, abs=0.001)


def test_the_mode_is_chosen_before_the_layouts_load() -> None:
    from screens import tokens

    try:
        tokens.use(elderly=False)
        assert tokens.T is STANDARD
    finally:
        tokens.use(elderly=True)
    assert tokens.T is ELDERLY
