"""Result: the transaction number, what was printed (or what to do when printing failed), a QR
to follow the case, and what happens next."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.core.image import Image as CoreImage
from kivy.lang import Builder
from kivy.properties import ObjectProperty, StringProperty

from kiosk.i18n import N_, Joined, Text, words
from screens.widgets import ResidentScreen

Builder.load_file(str(Path(__file__).with_name("result.kv")))
NAME = "result"
COMPLETION = {
    "kiosk": N_("已办结"),
    "pre-application": N_("已受理，待审核"),
    "counter": N_("请到人工窗口办理"),
}


class ResultScreen(ResidentScreen):
    status = StringProperty("")
    number = StringProperty("")
    printed = StringProperty("")
    problems = StringProperty("")
    next_steps = StringProperty("")
    qr = ObjectProperty(None, allownone=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._problems: list[str] = []

    def spoken_prompt(self) -> str:
        parts: list[str] = [Text("{status}。", status=self.status)]
        if self.printed:
            parts.append(N_("请取走打印的材料。"))
        if self._problems:
            parts.append(Joined(self._problems, separator=""))
        parts.append(N_("您可以评价本次服务，或点击结束办理。"))
        return Joined(parts, separator="")

    def enter(self) -> None:
        app = App.get_running_app()
        session, issued = app.session, app.last_issued
        item = session.item
        self.status = COMPLETION[item.completion]
        self.number = session.number or ""
        self.printed = (
            Text(
                "已为您打印：{documents}，请从出纸口取走。",
                documents=Joined(issued.printed, separator="、"),
            )
            if issued and issued.printed
            else ""
        )
        self._problems = list(issued.problems) if issued else []
        self.problems = Joined(self._problems, prefix="⚠ ")
        self.next_steps = words(item, "completion_note") if item.completion_note else ""
        self.qr = _qr_texture(f"{app.config_.platform.url.rstrip('/')}/track/{self.number}")

    def wipe(self) -> None:
        self.status = self.number = self.printed = self.problems = self.next_steps = ""
        self._problems = []
        self.qr = None

    def rate(self) -> None:
        app = App.get_running_app()
        app.session.start_rating()
        app.go("rating")

    def finish(self) -> None:
        App.get_running_app().end("finished")


def _qr_texture(data: str) -> object:
    import qrcode

    image = qrcode.make(data, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    buffer.seek(0)
    return CoreImage(buffer, ext="png").texture


SCREEN = ResultScreen
