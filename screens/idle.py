"""Idle / attract: time, hall, hours, the platform's notices, whether the kiosk is online and what
waits to be sent, the privacy notice, and where to put the card."""

from __future__ import annotations

from pathlib import Path

from kivy.app import App
from kivy.lang import Builder
from kivy.properties import BooleanProperty

from kiosk.i18n import N_
from screens.widgets import ResidentScreen

Builder.load_file(str(Path(__file__).with_name("idle.kv")))
NAME = "idle"


class IdleScreen(ResidentScreen):
    manual_allowed = BooleanProperty(False)  # some item may be done with a typed ID number

    def enter(self) -> None:
        catalog = App.get_running_app().kiosk.catalog
        self.manual_allowed = any("manual" in item.identification for item in catalog.items)

    def spoken_prompt(self) -> str:
        return N_("您好，请将身份证或社保卡放在下方读卡区。")

    def demo_card(self) -> None:
        """Demo mode only: place the next synthetic resident's card on the simulated reader."""
        App.get_running_app().reader.present()


SCREEN = IdleScreen
