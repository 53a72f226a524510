"""Idle / attract: time, hall, hours, the platform's notices, whether the kiosk is online and what
waits to be sent, the privacy notice, and where to put the card."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.lang import Builder
from kivy.properties import BooleanProperty

from kiosk.i18n import N_
from screens.widgets import ResidentScreen

Builder.load_file(str(Path(__file__).with_name("idle.kv")))
NAME = "idle"
# Staff enter with a sequence a resident will not make by chance: a long press on the clock
# (the header's right end, where nothing else answers), then, within a few seconds, a tap in
# the opposite corner (the bottom left, empty on this screen). Ctrl+Alt+M does the same.
HOLD_S = 2.0
ARMED_S = 5.0
CORNER = 0.2  # of the width


def in_header_right(screen: Any, touch: Any) -> bool:
    from kivy.metrics import dp

    from screens.tokens import T

    return bool(
        touch.x > screen.width * (1 - CORNER) and touch.y > screen.top - dp(T.header_height)
    )


def in_bottom_left(screen: Any, touch: Any) -> bool:
    from kivy.metrics import dp

    from screens.tokens import T

    return bool(touch.x < screen.width * CORNER and touch.y < screen.y + dp(T.footer_height))


class IdleScreen(ResidentScreen):
    manual_allowed = BooleanProperty(False)  # some item may be done with a typed ID number
    _armed_until = 0.0  # the long press was made; the corner tap is awaited until then

    def on_touch_down(self, touch: Any) -> bool:
        app = App.get_running_app()
        if in_header_right(self, touch):
            touch.ud["staff_hold"] = time.monotonic()
        elif in_bottom_left(self, touch) and time.monotonic() < self._armed_until:
            self._armed_until = 0.0
            if app.session is None:
                app.go("pin")
                return True
        return bool(super().on_touch_down(touch))

    def on_touch_up(self, touch: Any) -> bool:
        started = touch.ud.get("staff_hold")
        if started is not None and time.monotonic() - started >= HOLD_S:
            self._armed_until = time.monotonic() + ARMED_S
        return bool(super().on_touch_up(touch))

    def enter(self) -> None:
        catalog = App.get_running_app().kiosk.catalog
        self.manual_allowed = any("manual" in item.identification for item in catalog.items)

    def spoken_prompt(self) -> str:
        problem = App.get_running_app().reader_problem
        return problem or N_("您好，请将身份证或社保卡放在下方读卡区。")

    def demo_card(self) -> None:
        """Demo mode only: place the next synthetic resident's card on the simulated reader."""
        App.get_running_app().reader.present()


SCREEN = IdleScreen
