"""Keypad: a resident without their card types their ID number. Check-character feedback as
they type; the number is shown in groups (region, birth date, sequence) so a slip is easy to
see. Only items whose `identification` allows it can be reached this way (queue tickets,
resident requests): the catalog refuses certificates, benefits and personal queries."""

from __future__ import annotations

from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import BooleanProperty, StringProperty

from kiosk.clock import today_local
from kiosk.core import Refusal
from kiosk.i18n import N_, Text, Words
from kiosk.idnumber import check_id_number
from screens.widgets import ResidentScreen

Builder.load_file(str(Path(__file__).with_name("keypad.kv")))
NAME = "keypad"
LENGTH = 18
IDLE_S = 60.0  # untouched this long, the keypad forgets the number and goes back to the start


def grouped(digits: str) -> str:
    """110101 19620517 031 6: region, birth date, sequence, check character."""
    parts = (digits[:6], digits[6:14], digits[14:17], digits[17:])
    return " ".join(p for p in parts if p)


class KeypadScreen(ResidentScreen):
    typed = StringProperty("")
    shown = StringProperty("")
    feedback = StringProperty("")
    valid = BooleanProperty(False)

    def spoken_prompt(self) -> str:
        return N_(
            "请用下方数字键输入您的18位身份证号码，输完后点击确定。没带卡只能办理排队取号等事项。"
        )

    def enter(self) -> None:
        self.typed = ""
        self._update()
        self._keep_alive()

    def _keep_alive(self) -> None:
        # No session exists yet, so no session timer: a resident who walks away must not leave
        # their number on the screen for the next one.
        Clock.unschedule(self._expire)
        Clock.schedule_once(self._expire, IDLE_S)

    def _expire(self, _dt: float) -> None:
        app = App.get_running_app()
        self.typed = ""
        self._update()
        if app.manager.current == NAME and app.session is None:
            app.end_visit()  # walked away: the next resident starts in the default language
            app.go("idle")

    def relabel(self) -> None:
        self._keep_alive()  # choosing a language is a touch: the number is still wanted

    def wipe(self) -> None:
        self.typed = ""
        self._update()

    def on_leave(self, *_args: object) -> None:
        """Whichever way the resident leaves, the number does not stay behind in the widget."""
        Clock.unschedule(self._expire)
        self.wipe()

    def press(self, key: str) -> None:
        App.get_running_app().touch()
        self._keep_alive()
        if key == "del":
            self.typed = self.typed[:-1]
        elif key == "clear":
            self.typed = ""
        elif len(self.typed) < LENGTH and (key.isdigit() or (key == "X" and len(self.typed) == 17)):
            self.typed += key
        self._update()

    def _update(self) -> None:
        self.shown = grouped(self.typed) or N_("请输入")
        left = LENGTH - len(self.typed)
        self.valid = False
        if left > 1:
            self.feedback = Text(
                "已输入 {typed} 位，还差 {left} 位。", typed=len(self.typed), left=left
            )
        elif left == 1:
            self.feedback = N_("还差最后 1 位（可能是数字或 X）。")
        else:
            check = check_id_number(self.typed, today_local())
            self.valid = check.valid
            self.feedback = (
                N_("✓ 号码有效，请点击确定。")
                if check.valid
                else Text("× {reason}", reason=Words(check.reason_zh, check.reason_en))
            )

    def confirm(self) -> None:
        app = App.get_running_app()
        result = app.kiosk.identify_manually(self.typed)
        if isinstance(result, Refusal):
            self.feedback = Text("× {reason}", reason=result.message)
            return
        Clock.unschedule(self._expire)
        self.typed = ""
        self._update()
        app.begin(result)


SCREEN = KeypadScreen
