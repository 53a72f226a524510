"""Run by tests/screens/test_ui.py in its own process (Kivy allows one window per process), on
the harness's Xvfb: the real app, driven through one session with simulated touches, checked
on every resident screen. Writes a JSON report to the path given."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PIL import ImageFont

from kiosk.config import load_config
from screens.main import prepare_kivy

# Kivy reads its settings when first imported: prepare it before anything imports it.
CONFIG = load_config(None, demo=True, environ=os.environ)
# The whole session runs in this language; in Chinese, each screen is also switched to English
# and back, and must come back exactly as it was.
LANGUAGE = os.environ.get("UI_CHECK_LANGUAGE", "zh_CN")
CONFIG = dataclasses.replace(CONFIG, kiosk=dataclasses.replace(CONFIG.kiosk, language=LANGUAGE))
prepare_kivy(CONFIG, fullscreen=False)

from screens.demo import drive  # noqa: E402
from screens.driver import Driver, Wait, button_with, tap  # noqa: E402
from screens.tokens import (  # noqa: E402
    MIN_BODY_SP,
    MIN_CONTRAST,
    MIN_CONTRAST_UNAVAILABLE,
    MIN_HEADING_SP,
    MIN_LINE_HEIGHT,
    MIN_TARGET_DP,
    T,
    contrast,
    rgba,
)

PERSONAL = (
    "测试一",
    "110101196205170316",
    "1101**********0316",
    "测**",
    "北京市东城区测试街道示例社区1号楼2单元301室",
)
NO_BACK = {"idle", "closing", "submitting"}
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


@functools.cache
def has_glyph(font: str, char: str) -> bool:
    """Whether `font` draws `char` (not the empty box it draws for what it lacks). Kivy's SDL2
    text renderer draws from the same font file, glyph for glyph."""
    if not font.endswith((".ttf", ".ttc", ".otf")) or char.isspace():
        return True
    face = ImageFont.truetype(font, 40)
    box, drawn = face.getmask(NOT_A_CHARACTER), face.getmask(char)
    return not (drawn.size == box.size and bytes(drawn) == bytes(box))


NOT_A_CHARACTER = "\U0010fffd"  # a private-use code point no font here draws


class CheckingDriver(Driver):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.violations: list[str] = []
        self.checked: list[str] = []

    def shot(self, name: str) -> None:
        super().shot(name)
        self.inspect(name)

    def visible(self, widget: Any) -> bool:
        seen: set[int] = set()  # the window is its own parent: stop at the first repeat
        while widget is not None and id(widget) not in seen:
            seen.add(id(widget))
            if getattr(widget, "opacity", 1) == 0 or getattr(widget, "height", 1) == 0:
                return False
            widget = widget.parent
        return True

    def background(self, widget: Any, screen: Any) -> tuple[str, float]:
        from screens.widgets import KHeaderBar, KUnavailable, KWarningBar

        node, seen = widget.parent, set()
        while node is not None and id(node) not in seen:
            seen.add(id(node))
            if isinstance(node, KUnavailable):
                return T.unavailable_bg, MIN_CONTRAST_UNAVAILABLE
            if isinstance(node, KHeaderBar):
                return T.header_bg, MIN_CONTRAST
            if isinstance(node, KWarningBar):
                return T.warning_bg, MIN_CONTRAST
            node = node.parent
        return T.background, MIN_CONTRAST

    def inspect(self, name: str) -> None:
        from kivy.core.window import Window
        from kivy.metrics import dp, sp
        from kivy.uix.button import Button

        from screens.widgets import KHeading, KLabel, KPrimary, KTitle, KWarningBar

        screen = self.app.manager.current_screen
        self.checked.append(name)
        if name == "idle":
            self.facts["idle_texts"] = [str(getattr(w, "text", "")) for w in screen.walk()]
        widgets = [w for w in screen.walk(restrict=True) if self.visible(w)]
        if self.app.warning_text:
            bars = [w for w in self.app.root.children if isinstance(w, KWarningBar)]
            widgets += [w for bar in bars for w in bar.walk(restrict=True) if self.visible(w)]
        for w in widgets:
            what = f"{name}: {type(w).__name__} {str(getattr(w, 'text', ''))[:16]!r}"
            text = str(getattr(w, "text", ""))
            if text.strip() and hasattr(w, "font_size"):
                minimum = MIN_HEADING_SP if isinstance(w, KHeading | KTitle) else MIN_BODY_SP
                if w.font_size < sp(minimum) - 0.01:
                    self.violations.append(f"{what}: text {w.font_size:.1f}px < {minimum}sp")
            if text.strip() and hasattr(w, "texture_size"):
                # No text may overflow its widget, nor a widget the window (a cut-off word is a
                # lost word): labels grow with their text, so a long one pushes others out.
                w.texture_update()
                tw, th = w.texture_size
                if tw > w.width + 2 or th > w.height + 2:
                    self.violations.append(
                        f"{what}: text {tw:.0f}x{th:.0f} overflows {w.width:.0f}x{w.height:.0f}"
                    )
                left, bottom = w.to_window(w.x, w.y)
                if (
                    left < -1
                    or bottom < -1
                    or left + w.width > Window.width + 1
                    or (bottom + w.height > Window.height + 1)
                ):
                    self.violations.append(f"{what}: outside the window")
            missing = sorted({c for c in text if not has_glyph(getattr(w, "font_name", ""), c)})
            if missing:
                # The font has no such character: it would be drawn as an empty box.
                self.violations.append(f"{what}: no glyph for {''.join(missing)!r}")
            if isinstance(w, KLabel) and w.line_height < MIN_LINE_HEIGHT:
                self.violations.append(f"{what}: line height {w.line_height}")
            if isinstance(w, Button) and w.disabled:
                # A button not ready yet is still read: what it will do, in plain grey.
                ratio = contrast(w.disabled_color, w.background_color)
                if text.strip() and ratio < MIN_CONTRAST_UNAVAILABLE:
                    self.violations.append(f"{what}: disabled, contrast {ratio:.2f}")
            elif isinstance(w, Button):
                if w.width < dp(MIN_TARGET_DP) or w.height < dp(MIN_TARGET_DP):
                    self.violations.append(f"{what}: target {w.width:.0f}x{w.height:.0f}px")
                ratio = contrast(w.color, w.background_color)
                if text.strip() and ratio < MIN_CONTRAST:
                    self.violations.append(f"{what}: contrast {ratio:.2f}")
            elif text.strip() and hasattr(w, "color"):
                background, needed = self.background(w, screen)
                ratio = contrast(w.color, rgba(background))
                if ratio < needed:
                    self.violations.append(f"{what}: contrast {ratio:.2f} < {needed}")
            if isinstance(w, KPrimary) and not w.disabled:
                _, y = w.to_window(*w.center)
                if y > Window.height / 2:
                    self.violations.append(f"{what}: primary action in the upper half")
        ids = screen.ids
        # Every screen speaks, and its caption shows exactly what it says.
        from screens.i18n import _, tr

        if not screen.spoken or ids.caption.text != _("语音提示：") + screen.spoken:
            self.violations.append(f"{name}: no spoken prompt, or a caption that differs")
        if not self.visible(ids.repeat):
            self.violations.append(f"{name}: no 再听一遍")
        if "call_staff" not in ids or not self.visible(ids.call_staff):
            self.violations.append(f"{name}: no 呼叫工作人员")
        if name.split("-", maxsplit=1)[0] not in NO_BACK and not self.visible(ids.back):
            self.violations.append(f"{name}: no 返回")
        if not self.visible(ids.language):
            self.violations.append(f"{name}: no language switch")
        if tr.lang == "en":
            self.untranslated(name, [*self.shown(screen), screen.spoken])
        if name == "closing":
            self.facts["closing_in"] = tr.lang
        if not self.app.warning_text:  # the switch is a touch: it would answer the warning
            self.switch_and_back(name, screen)
        if name == "rating" and LANGUAGE == "zh_CN":
            # The resident chooses English here and reads the rest of the session in it.
            self.app.switch_language("en")
            self.app.ignore_touches_until = 0.0
            self.settle()

    def shown(self, screen: Any) -> list[str]:
        """Every text on the screen (and over it) that is not hidden."""
        from screens.widgets import KWarningBar

        overlay = [w for w in self.app.root.children if w is not self.app.manager]
        widgets = [*screen.walk(restrict=True)]
        widgets += [w for o in overlay for w in o.walk(restrict=True)]
        texts = []
        for w in widgets:
            node, hidden, seen = w, False, set()
            while node is not None and id(node) not in seen:
                seen.add(id(node))
                hidden = hidden or getattr(node, "opacity", 1) == 0
                node = node.parent
            text = str(getattr(w, "text", ""))
            if text.strip() and not hidden and not isinstance(w, KWarningBar):
                texts.append(text)
        return texts

    def steady(self, screen: Any) -> list[str]:
        """The texts, with the header's clock as a mark: a minute may turn during the check,
        and the clock is re-rendered by every switch anyway."""
        clock = self.app.clock_text
        return [t.replace(clock, "{clock}") for t in self.shown(screen)]

    def untranslated(self, name: str, texts: list[str]) -> None:
        """In English nothing Chinese may remain but names: the hall's, the resident's own, the
        platform's notices (written in Chinese only), and 中文 on the switch back."""
        app = self.app
        names = [app.hall_name, "中文", *app.kiosk.sync_state.notices]
        if app.session is not None:
            names += [app.session.identity.name, app.session.identity.masked_name]
        for text in texts:
            rest = text
            for words in sorted(filter(None, names), key=len, reverse=True):
                rest = rest.replace(words, "")
            if CJK.search(rest):
                self.violations.append(f"{name} in English: untranslated {text[:40]!r}")

    def switch_and_back(self, name: str, screen: Any) -> None:
        """One tap to the other language re-renders the whole screen; one tap back restores it
        exactly."""
        from screens.i18n import tr

        before, spoken, lang = self.steady(screen), screen.spoken, tr.lang
        self.app.switch_language()
        if tr.lang == "en":
            self.untranslated(name, [*self.shown(screen), screen.spoken])
        if self.steady(screen) == before or screen.spoken == spoken:
            self.violations.append(f"{name}: switching to {tr.lang} changed nothing")
        self.app.switch_language()
        if tr.lang != lang or self.steady(screen) != before or screen.spoken != spoken:
            self.violations.append(f"{name}: not the same after switching back to {lang}")
        self.facts.setdefault("switched", []).append(name)
        # The checker's taps are not a finger's: the script's next tap must not be held back.
        self.app.ignore_touches_until = 0.0
        self.settle()

    def settle(self) -> None:
        """Lay the window out now, as the next frames would: the script taps right after this
        check, and a rebuilt widget must be where a finger would find it."""
        from kivy.uix.layout import Layout

        for _ in range(4):
            for w in self.app.root.walk():
                if hasattr(w, "texture_update"):
                    w.texture_update()
            for w in self.app.root.walk():
                if isinstance(w, Layout):
                    w.do_layout()

    def identify(self) -> Iterator[Wait | float]:
        # The screens around the session first: the keypad (a few digits typed) and the PIN.
        yield self.on("idle")
        yield self.frames()
        tap(self.screen.ids.no_card)
        yield self.on("keypad")
        yield self.frames()
        for digit in "1101011962":
            tap(button_with(self.screen, digit))
        yield self.frames()
        self.shot("keypad")
        self.facts["keypad_typed"] = self.screen.typed
        tap(self.screen.ids.back)
        yield self.on("idle")
        self.app.go("pin")  # Ctrl+Alt+M on a staff keyboard (test_lockin sends the keys)
        yield self.frames()
        self.shot("pin")
        tap(self.screen.ids.back)
        # Then a card that could not be read: the refusal screen, and 返回 back to the start.
        yield self.on("idle")
        yield self.frames()
        self.app.go("identify", problem="卡片无法读取，请重新放置。")
        yield self.frames()
        self.shot("identify-refused")
        tap(self.screen.ids.back)
        yield self.on("idle")
        self.facts["back_from_refusal"] = True
        yield from super().identify()

    def fill_in(self) -> Iterator[Wait | float]:
        # Hold the commit back a moment, so that the submitting screen can be inspected.
        from kivy.clock import Clock

        # 查询我的办件进度 from the menu's categories, and back to them.
        from kiosk.i18n import N_

        tap(button_with(self.screen, self.said("查询我的办件进度")))
        yield self.on("lookup")
        yield lambda: self.screen.found not in ("", N_("正在查询，请稍候……"))
        yield self.frames()
        self.shot("lookup")
        tap(self.screen.ids.done)
        yield self.on("menu")
        yield self.frames()
        screen = self.app.screen("submitting")
        commit = screen.commit
        screen.commit = lambda: Clock.schedule_once(lambda _dt: commit(), 1.0)
        yield from super().fill_in()

    def while_submitting(self) -> Iterator[Wait | float]:
        yield self.on("submitting")
        yield self.frames()
        self.shot("submitting")

    def rate_and_leave(self) -> Iterator[Wait | float]:
        yield from self.wait_and_call()
        yield from super().rate_and_leave()
        texts = [
            str(getattr(w, "text", ""))
            for screen in self.app.manager.screens
            for w in screen.walk()
        ]
        self.facts["leftovers"] = sorted({p for p in PERSONAL for t in texts if p in t})
        self.facts["settings_panel_opens"] = self.app.open_settings()  # F1's Kivy panel
        self.facts["session_after_wipe"] = self.app.session is not None
        from screens.i18n import tr

        self.facts["language_at_idle"] = tr.lang  # the next resident starts in the default
        if LANGUAGE != "zh_CN":
            return
        # At the idle screen: a hurried double tap on English switches once, not back again;
        # a minute with nobody touching the screen brings the default back.
        yield self.frames()
        tap(self.screen.ids.language)
        tap(self.screen.ids.language)
        yield self.frames()
        self.facts["after_a_double_tap"] = tr.lang
        self.app.last_touch -= 61
        yield 0.6
        self.facts["a_minute_later"] = tr.lang

    def wait_and_call(self) -> Iterator[Wait | float]:
        app = self.app
        session = app.session
        real = session._clock
        offset = [0.0]
        session._clock = lambda: real() + offset[0]
        offset[0] += session.limits.limit(session.state) + 0.1  # the resident did nothing
        yield 1.0
        self.facts["warning_shown"] = bool(app.warning_text)
        self.facts["warning_seconds"] = session.seconds_left()
        self.shot("result-warning")
        tap(button_with(app.root, self.said("我还在")))
        yield 0.6  # longer than a clock tick: the warning must not come back
        self.facts["continued_after_one_tap"] = (
            not app.warning_text and app.manager.current == "result" and app.session is session
        )
        tap(self.screen.ids.call_staff)
        yield self.frames()
        self.facts["call_staff_confirmation"] = app.toast_text
        events = app.config_.data_dir / "events.jsonl"
        self.facts["call_staff_events"] = events.read_text().splitlines() if events.exists() else []


def main() -> None:
    report_path = Path(sys.argv[1])
    config = CONFIG
    summary, driver = drive(config, report_path.parent / "out", CheckingDriver)
    report = {
        "summary": summary,
        "checked": driver.checked,
        "violations": driver.violations,
        **driver.facts,
    }
    report_path.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
