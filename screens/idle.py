"""Idle / attract: time, hall, hours, notices, the privacy notice, and where to put the card."""

from __future__ import annotations

from pathlib import Path

from kivy.app import App
from kivy.lang import Builder
from kivy.properties import StringProperty

from screens.widgets import ResidentScreen

Builder.load_file(str(Path(__file__).with_name("idle.kv")))
NAME = "idle"
NOTICE_FILE = "notices.txt"  # emergency notices for the idle screen, one a line (staff edit it)


class IdleScreen(ResidentScreen):
    notices = StringProperty("")

    def enter(self) -> None:
        app = App.get_running_app()
        path = app.config_.data_dir / NOTICE_FILE
        try:
            lines = path.read_text(encoding="utf-8").splitlines()[:3]
        except (OSError, UnicodeDecodeError):
            lines = []
        self.notices = "\n".join(f"【通知】{line.strip()}" for line in lines if line.strip())

    def demo_card(self) -> None:
        """Demo mode only: place the next synthetic resident's card on the simulated reader."""
        App.get_running_app().reader.present()


SCREEN = IdleScreen
