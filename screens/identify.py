"""Identify: the card was read (or could not be); who we think you are, and how to go on."""

from __future__ import annotations

from pathlib import Path

from kivy.app import App
from kivy.lang import Builder
from kivy.properties import BooleanProperty, StringProperty

from kiosk.i18n import N_, Text
from kiosk.identity import CardType
from screens.widgets import ResidentScreen

Builder.load_file(str(Path(__file__).with_name("identify.kv")))
NAME = "identify"


class IdentifyScreen(ResidentScreen):
    greeting = StringProperty("")
    detail = StringProperty("")
    problem = StringProperty("")
    typed = BooleanProperty(False)  # identified by a typed number, not a card

    def spoken_prompt(self) -> str:
        if self.problem:
            return Text("请重新放置卡片。{problem}", problem=self.problem)
        return N_("身份核对成功。请核对屏幕上的信息，确认无误后点击开始办理。")

    def enter(self, problem: str = "") -> None:
        app = App.get_running_app()
        self.problem = problem
        self.typed = False
        if problem or app.session is None:
            self.greeting, self.detail = "", ""
            return
        identity = app.session.identity
        if identity.card_type is CardType.MANUAL:
            self.typed = True
            self.greeting = N_("您好")
            self.detail = Text(
                "已核对您输入的证件号码（{number}）。没带卡只能办理排队取号、群众诉求等事项。",
                number=identity.masked_id,
            )
            return
        self.greeting = Text("您好，{name}", name=identity.masked_name)
        self.detail = Text(
            "已读取您的{card}（{number}）。",
            card=identity.card_type.words,
            number=identity.masked_id,
        )

    def wipe(self) -> None:
        self.greeting = self.detail = self.problem = ""
        self.typed = False

    def start(self) -> None:
        app = App.get_running_app()
        app.session.start_choosing()
        app.go("menu")


SCREEN = IdentifyScreen
