"""The item's form, one question at a time, answered with big buttons and a keypad only."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.lang import Builder
from kivy.metrics import dp
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout

from kiosk.catalog import Field
from kiosk.clock import today_local
from kiosk.i18n import N_, Text, format_day, words
from screens.i18n import _, tr
from screens.tokens import T
from screens.widgets import KButton, KChoice, KHeading, ResidentScreen

Builder.load_file(str(Path(__file__).with_name("form.kv")))
NAME = "form"
CLEAR, DELETE = N_("清空"), N_("删除")
DATE_BUTTONS = 14  # up to two weeks as buttons; longer ranges use year/month/day steppers


class FormScreen(ResidentScreen):
    question = StringProperty("")
    progress = StringProperty("")
    problem = StringProperty("")
    answer = StringProperty("")

    def spoken_prompt(self) -> str:
        return Text(
            "{progress}。{question}，请选择后点击下一步。",
            progress=self.progress,
            question=self.question,
        )

    def enter(self, last: bool = False) -> None:
        # Items without questions never come here (the menu takes them to the confirm screen).
        app = App.get_running_app()
        self.fields: list[Field] = list(app.session.item.fields) if app.session.item else []
        self.index = len(self.fields) - 1 if last and self.fields else 0
        if self.fields:
            self._show()

    def relabel(self) -> None:
        if self.fields:
            problem = self.problem
            self._show()
            self.problem = problem  # a complaint already made stays, in the new language

    @property
    def field(self) -> Field:
        return self.fields[self.index]

    def _value(self) -> Any:
        return App.get_running_app().session.values.get(self.field.name)

    def _show(self) -> None:
        app = App.get_running_app()
        f = self.field
        self.problem = ""
        label = words(f, "label")
        self.question = label if f.required else Text("{label}（可不填）", label=label)
        self.progress = Text(
            "{item} · 第 {index} 项，共 {count} 项",
            item=words(app.session.item, "name"),
            index=self.index + 1,
            count=len(self.fields),
        )
        box = self.ids.answer_box
        box.clear_widgets()
        {
            "choice": self._choices,
            "number": self._number,
            "date": self._date,
            "phone": self._keypad,
        }[f.type](box, f)

    def _set(self, value: Any) -> None:
        app = App.get_running_app()
        self.problem = app.session.set_value(self.field.name, value) or ""

    # --- the pickers -------------------------------------------------------------------------
    def _choices(self, box: Any, f: Field) -> None:
        grid = GridLayout(cols=1, spacing=dp(24), size_hint_y=None)
        grid.bind(minimum_height=grid.setter("height"))
        current = self._value()
        for choice in f.choices:
            button = KChoice(
                label=words(choice, "label"),
                group=f"field-{f.name}",
                state="down" if choice.value == current else "normal",
            )
            button.bind(on_release=lambda _b, v=choice.value: self._set(v))
            grid.add_widget(button)
        box.add_widget(grid)

    def _number(self, box: Any, f: Field) -> None:
        value = self._value()
        unit = f.unit  # English shows the number alone: its label names the unit
        self.answer = "" if value is None else _(Text("{value}{unit}", value=value, unit=unit))
        row = BoxLayout(spacing=dp(24), size_hint_y=None, height=dp(T.target_primary) * 1.3)
        minus, plus = KButton(text=_(N_("－ 减少"))), KButton(text=_(N_("＋ 增加")))
        shown = self._shown = KHeading(text=self.answer or _(N_("请选择")), halign="center")

        def step(delta: int) -> None:
            current = self._value()
            new = f.min if current is None else max(f.min, min(f.max, int(current) + delta))
            self._set(new)
            self.answer = _(Text("{value}{unit}", value=new, unit=unit))
            shown.text = self.answer

        minus.bind(on_release=lambda _b: step(-1))
        plus.bind(on_release=lambda _b: step(1))
        for widget in (minus, shown, plus):
            row.add_widget(widget)
        box.add_widget(row)

    def _date(self, box: Any, f: Field) -> None:
        today = today_local()
        first, last = today + timedelta(f.min_days), today + timedelta(f.max_days)
        current = self._value()
        if (last - first).days < DATE_BUTTONS:
            grid = GridLayout(cols=2, spacing=dp(24), size_hint_y=None)
            grid.bind(minimum_height=grid.setter("height"))
            day = first
            while day <= last:
                button = KChoice(
                    label=format_day(day, tr.lang, N_("M月d日 EEEE")),
                    group=f"field-{f.name}",
                    state="down" if current == day.isoformat() else "normal",
                )
                button.bind(on_release=lambda _b, d=day: self._set(d.isoformat()))
                grid.add_widget(button)
                day += timedelta(days=1)
            box.add_widget(grid)
            return
        chosen = date.fromisoformat(current) if current else last
        self._set(chosen.isoformat())
        shown = KHeading(halign="center")

        def show() -> None:
            d = date.fromisoformat(self._value())
            shown.text = format_day(d, tr.lang)

        def step(days: int) -> None:
            d = date.fromisoformat(self._value()) + timedelta(days=days)
            self._set(min(last, max(first, d)).isoformat())
            show()

        show()
        box.add_widget(shown)
        grid = GridLayout(cols=2, spacing=dp(24), size_hint_y=None)
        grid.bind(minimum_height=grid.setter("height"))
        for text, days in (
            (N_("－ 一年"), -365),
            (N_("＋ 一年"), 365),
            (N_("－ 一个月"), -30),
            (N_("＋ 一个月"), 30),
            (N_("－ 一天"), -1),
            (N_("＋ 一天"), 1),
        ):
            button = KButton(text=_(text))
            button.bind(on_release=lambda _b, n=days: step(n))
            grid.add_widget(button)
        box.add_widget(grid)

    def _keypad(self, box: Any, f: Field) -> None:
        value = self._value() or ""
        self.answer = value
        self._shown = KHeading(text=value or _(N_("请输入")), halign="center")
        box.add_widget(self._shown)
        grid = GridLayout(cols=3, spacing=dp(20), size_hint_y=None)
        grid.bind(minimum_height=grid.setter("height"))
        for key in ("1", "2", "3", "4", "5", "6", "7", "8", "9", CLEAR, "0", DELETE):
            button = KButton(text=_(key))
            button.bind(on_release=lambda _b, k=key: self._key(k))
            grid.add_widget(button)
        box.add_widget(grid)

    def _key(self, key: str) -> None:
        text = self.answer
        if key == CLEAR:
            text = ""
        elif key == DELETE:
            text = text[:-1]
        elif len(text) < 12:
            text += key
        self.answer = text
        self._shown.text = text or _(N_("请输入"))
        self._set(text)
        if len(text) < 11:
            self.problem = ""  # not finished typing: no complaint yet

    def wipe(self) -> None:
        self.ids.answer_box.clear_widgets()
        self.answer = self.question = self.progress = self.problem = ""
        self.fields = []

    # --- moving --------------------------------------------------------------------------------
    def next_field(self) -> None:
        app = App.get_running_app()
        app.touch()
        problem = self.field.problem(self._value(), today_local())
        if problem:
            self.problem = problem
            return
        if self.index + 1 < len(self.fields):
            self.index += 1
            self._show()
            app.speak_current()
        else:
            self.review()

    def previous_field(self) -> bool:
        if self.index == 0:
            return False
        self.index -= 1
        self._show()
        App.get_running_app().speak_current()
        return True

    def review(self) -> None:
        app = App.get_running_app()
        problems = app.session.review()
        if problems:
            names = [f.name for f in self.fields]
            first = min(problems, key=lambda n: names.index(n) if n in names else 0)
            if first in names:
                self.index = names.index(first)
                self._show()
            self.problem = problems[first]
            return
        app.go("confirm")


SCREEN = FormScreen
