"""Result: the transaction number, what was printed (or what to do when printing failed), a QR
to follow the case, and what happens next."""

from __future__ import annotations

import io
from pathlib import Path

from kivy.app import App
from kivy.core.image import Image as CoreImage
from kivy.lang import Builder
from kivy.properties import ObjectProperty, StringProperty

from screens.widgets import ResidentScreen

Builder.load_file(str(Path(__file__).with_name("result.kv")))
NAME = "result"
COMPLETION = {"kiosk": "已办结", "pre-application": "已受理，待审核", "counter": "请到人工窗口办理"}


class ResultScreen(ResidentScreen):
    status = StringProperty("")
    number = StringProperty("")
    printed = StringProperty("")
    problems = StringProperty("")
    next_steps = StringProperty("")
    qr = ObjectProperty(None, allownone=True)

    def spoken_prompt(self) -> str:
        parts = [self.status + "。"]
        if self.printed:
            parts.append("请取走打印的材料。")
        if self.problems:
            parts.append(self.problems.replace("⚠ ", ""))
        parts.append("您可以评价本次服务，或点击结束办理。")
        return "".join(parts)

    def enter(self) -> None:
        app = App.get_running_app()
        session, issued = app.session, app.last_issued
        item = session.item
        self.status = COMPLETION[item.completion]
        self.number = session.number or ""
        self.printed = (
            "已为您打印：" + "、".join(issued.printed) + "，请从出纸口取走。"
            if issued and issued.printed
            else ""
        )
        self.problems = "\n".join(f"⚠ {p}" for p in issued.problems) if issued else ""
        self.next_steps = item.completion_note
        self.qr = _qr_texture(f"{app.config_.platform.url.rstrip('/')}/track/{self.number}")

    def wipe(self) -> None:
        self.status = self.number = self.printed = self.problems = self.next_steps = ""
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
