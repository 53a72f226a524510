"""Staff PIN: the only way out of the kiosk's full screen. Reached by Ctrl+Alt+M on a staff
keyboard (never by a resident's touch); the digits can be touched or typed. A right PIN stops
the touchscreen into maintenance mode (exit status 5, for the service manager to act on)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import StringProperty

from kiosk.admin import MAX_LENGTH, PinError, pin_is_set, verify_pin
from screens.widgets import ResidentScreen

Builder.load_file(str(Path(__file__).with_name("pin.kv")))
NAME = "pin"
FREE_TRIES, FIRST_DELAY_S, MAX_DELAY_S = 3, 30.0, 900.0


class PinScreen(ResidentScreen):
    typed = StringProperty("")
    message = StringProperty("")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._checking = False  # one argon2 check at a time (each takes memory and time)
        self._failures = 0  # wrong PINs in a row, since the kiosk started
        self._blocked_until = 0.0

    def spoken_prompt(self) -> str:
        return "工作人员请输入管理密码。"

    def enter(self) -> None:
        app = App.get_running_app()
        self.typed = ""
        configured = pin_is_set(app.config_.data_dir) or app.config_.demo
        self.message = (
            "请输入管理密码，然后按确定。"
            if configured
            else "本机尚未设置管理密码：请在终端运行 kiosk admin set-pin。"
        )
        Clock.unschedule(self._give_up)
        Clock.schedule_once(self._give_up, 60)

    def _give_up(self, _dt: float) -> None:
        app = App.get_running_app()
        if app.manager.current == NAME:
            app.go("idle")

    def on_leave(self, *_args: object) -> None:
        Clock.unschedule(self._give_up)
        self.typed = ""

    def press(self, key: str) -> None:
        Clock.unschedule(self._give_up)
        Clock.schedule_once(self._give_up, 60)
        if key == "del":
            self.typed = self.typed[:-1]
        elif key.isdigit() and len(self.typed) < MAX_LENGTH:
            self.typed += key

    def confirm(self) -> None:
        app = App.get_running_app()
        wait = self._blocked_until - time.monotonic()
        if self._checking or wait > 0:
            if wait > 0:
                self.message = f"密码错误次数过多，请 {int(wait) + 1} 秒后再试。"
            return
        pin, self.typed = self.typed, ""
        self._checking = True
        self.message = "正在核对……"

        def check() -> None:
            # argon2 takes a noticeable moment by design: not on the UI thread.
            try:
                ok = verify_pin(app.config_.data_dir, pin, demo=app.config_.demo)
                problem = ""
            except PinError as error:
                ok, problem = False, str(error)
            Clock.schedule_once(lambda _dt: self._checked(ok, problem))

        threading.Thread(target=check, name="pin-check", daemon=True).start()

    def _checked(self, ok: bool, problem: str) -> None:
        app = App.get_running_app()
        self._checking = False
        if app.manager.current != NAME or app.session is not None:
            return  # staff left the screen meanwhile, or a resident began: the answer is moot
        if ok:
            self._failures = 0
            app.leave_for_maintenance()
            return
        self._failures += 1
        app.note("pin_refused", {"reason": problem or "wrong PIN", "in_a_row": self._failures})
        self.message = "密码不正确。" if not problem else "密码文件无法读取，请重新设置。"
        if self._failures >= FREE_TRIES:
            # Growing, capped delays: guessing six digits must take longer than a shift.
            delay = min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** (self._failures - FREE_TRIES))
            self._blocked_until = time.monotonic() + delay
            self.message += f"请 {int(delay)} 秒后再试。"


SCREEN = PinScreen
