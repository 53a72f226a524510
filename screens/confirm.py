"""Confirm: every value in large type, then one large 确认提交. The transaction's key was made
when this screen opened (Session.review), and the button is spent after one tap, so a double
tap makes one transaction."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder

from kiosk.catalog import Field
from kiosk.i18n import N_, Text, words
from screens.i18n import _
from screens.widgets import KLabel, ResidentScreen

Builder.load_file(str(Path(__file__).with_name("confirm.kv")))
NAME = "confirm"


class ConfirmScreen(ResidentScreen):
    def spoken_prompt(self) -> str:
        return N_("请核对屏幕上的信息，确认无误后点击提交。")

    def enter(self) -> None:
        self._rows()
        self.ids.submit.disabled = False

    def relabel(self) -> None:
        self._rows()

    def _rows(self) -> None:
        session = App.get_running_app().session
        item, identity = session.item, session.identity
        rows: list[tuple[str, Any]] = [
            (N_("办理事项"), words(item, "name")),
            (N_("申请人"), identity.name or identity.name_en),
            (N_("证件号码"), identity.id_number),
        ]
        rows += [
            (words(f, "label"), _shown(f, session.values[f.name]))
            for f in item.fields
            if session.values.get(f.name) not in (None, "")
        ]
        box = self.ids.value_rows
        box.clear_widgets()
        for label, value in rows:
            box.add_widget(KLabel(text=_(Text("{label}：{value}", label=label, value=value))))

    def wipe(self) -> None:
        self.ids.value_rows.clear_widgets()

    def submit(self) -> None:
        self.ids.submit.disabled = True  # one tap, one transaction
        app = App.get_running_app()
        app.go("submitting")
        Clock.schedule_once(lambda _dt: app.screen("submitting").commit(), 0)


def _shown(field: Field, value: Any) -> Any:
    """A value as the resident chose it, in their language. The confirm screen is the
    resident's own: a phone number is shown in full here (a receipt masks it)."""
    if field.type == "choice":
        return next((words(c, "label") for c in field.choices if c.value == value), str(value))
    if field.type == "date":
        return date.fromisoformat(str(value))  # written out in the language's way
    if field.type == "number":
        return Text("{value}{unit}", value=value, unit=field.unit)
    return str(value)


SCREEN = ConfirmScreen
