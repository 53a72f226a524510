"""Confirm: every value in large type, then one large 确认提交. The transaction's key was made
when this screen opened (Session.review), and the button is spent after one tap, so a double
tap makes one transaction."""

from __future__ import annotations

from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder

from kiosk.documents.compose import shown_value
from screens.widgets import KLabel, ResidentScreen

Builder.load_file(str(Path(__file__).with_name("confirm.kv")))
NAME = "confirm"


class ConfirmScreen(ResidentScreen):
    def spoken_prompt(self) -> str:
        return "请核对屏幕上的信息，确认无误后点击提交。"

    def enter(self) -> None:
        app = App.get_running_app()
        session = app.session
        item, identity = session.item, session.identity
        rows = [
            ("办理事项", item.name),
            ("申请人", identity.name or identity.name_en),
            ("证件号码", identity.id_number),
        ]
        rows += [
            (f.label, _shown(item, f.name, session.values[f.name], f.type))
            for f in item.fields
            if session.values.get(f.name) not in (None, "")
        ]
        box = self.ids.value_rows
        box.clear_widgets()
        for label, value in rows:
            box.add_widget(KLabel(text=f"{label}：{value}"))
        self.ids.submit.disabled = False

    def wipe(self) -> None:
        self.ids.value_rows.clear_widgets()

    def submit(self) -> None:
        self.ids.submit.disabled = True  # one tap, one transaction
        app = App.get_running_app()
        app.go("submitting")
        Clock.schedule_once(lambda _dt: app.manager.get_screen("submitting").commit(), 0)


def _shown(item: object, name: str, value: object, kind: str) -> str:
    # The confirm screen is the resident's own: a phone number is shown in full here.
    return str(value) if kind == "phone" else shown_value(item, name, value)  # type: ignore[arg-type]


SCREEN = ConfirmScreen
