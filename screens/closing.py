"""Closing: the card data is cleared; take your card. Back to idle once the card is gone."""

from __future__ import annotations

from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import StringProperty

from kiosk.i18n import N_, Text
from screens.widgets import ResidentScreen

Builder.load_file(str(Path(__file__).with_name("closing.kv")))
NAME = "closing"
BACK_TO_IDLE_S = 12.0


class ClosingScreen(ResidentScreen):
    message = StringProperty("")
    reason = StringProperty("")

    def spoken_prompt(self) -> str:
        return Text("{reason}{message}", reason=self.reason, message=self.message)

    def enter(self, message: str = "", reason: str = "") -> None:
        self.back_enabled = False
        self.message = message
        self.reason = N_("本次办理已超时结束。") if reason == "timeout" else N_("感谢您的使用。")
        Clock.unschedule(self._idle)
        Clock.schedule_once(self._idle, BACK_TO_IDLE_S)

    def _idle(self, _dt: float) -> None:
        app = App.get_running_app()
        if app.manager.current == NAME and not app.kiosk.card_must_be_removed:
            app.go("idle")


SCREEN = ClosingScreen
