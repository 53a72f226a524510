"""The few widgets every resident screen is built from, styled only by the design tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder
from kivy.metrics import dp, sp
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen
from kivy.uix.textinput import TextInput
from kivy.uix.togglebutton import ToggleButton

from screens.tokens import FONT, T

Builder.load_file(str(Path(__file__).with_name("widgets.kv")))


class KLabel(Label):
    """Body text that wraps to its width and takes the height it needs."""


class KHeading(KLabel):
    pass


class KTitle(KLabel):
    pass


class KSmall(KLabel):
    pass


class KProblem(KLabel):
    """A problem in words, with a mark: colour is never the only cue."""


class KButton(Button):
    pass


class KPrimary(KButton):
    pass


class KChoice(ToggleButton):
    """A choice: when chosen it is filled and shows a tick, not only a colour."""

    label = StringProperty("")


class KUnavailable(BoxLayout):
    title = StringProperty("")
    reason = StringProperty("")


class KHeaderBar(BoxLayout):
    """The hall's name and the time, light on dark, at the top of every resident screen."""


class KWarningBar(BoxLayout):
    """The time-out warning: calm colours, words, a countdown and one large button."""

    def on_touch_down(self, touch: Any) -> bool:
        # Hidden, it must not exist for touches: Kivy lets disabled widgets swallow them.
        if self.opacity == 0:
            return False
        # Shown, it takes every touch inside it: nothing underneath may be pressed through it.
        return bool(super().on_touch_down(touch)) or bool(self.collide_point(*touch.pos))


class ResidentScreen(Screen):
    """Header (hall, time, 演示), a body the subclass fills, and the footer every resident
    screen has: 返回 (back) and 呼叫工作人员 (call staff)."""

    back_enabled = BooleanProperty(True)
    title = StringProperty("")
    spoken = StringProperty("")  # what the voice says on this screen; shown as its caption
    body = ObjectProperty(None, allownone=True)

    def add_widget(self, widget: Any, *args: Any, **kwargs: Any) -> None:
        if self.body is not None:
            self.body.add_widget(widget, *args, **kwargs)
        else:
            super().add_widget(widget, *args, **kwargs)

    def spoken_prompt(self) -> str:
        """What this screen says aloud: labels and instructions, never a personal value (a
        public hall hears it). The caption shows the same words."""
        return ""

    def wipe(self) -> None:
        """Forget everything shown about the resident (called when the session ends)."""

    def relabel(self) -> None:
        """The language changed: rebuild what this screen made in code (its kv rules follow
        the translator by themselves)."""

    def go_back(self) -> None:
        from kivy.app import App

        App.get_running_app().back()

    def call_staff(self) -> None:
        from kivy.app import App

        App.get_running_app().call_staff(self.name)


def url_field(text: str) -> Any:
    """A one-line field for URLs, ids and numbers (ASCII: the docked keyboard types them)."""
    return TextInput(
        text=text,
        multiline=False,
        font_name=FONT,
        font_size=sp(T.text_small),
        size_hint_y=None,
        height=dp(T.target_min),
        padding=(dp(16), dp(T.target_min - T.text_small * 1.3) / 2),
        write_tab=False,
    )
