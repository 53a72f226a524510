"""Staff PIN: the only way out of the kiosk's full screen. Reached by Ctrl+Alt+M on a staff
keyboard (never by a resident's touch); the digits can be touched or typed. A right PIN stops
the touchscreen into maintenance mode (exit status 5, for the service manager to act on)."""

from __future__ import annotations

import threading
from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import StringProperty

from kiosk.admin import MAX_LENGTH, PinCheck, PinError, check_pin, pin_is_set
from kiosk.i18n import N_, Text
from screens.widgets import ResidentScreen

Builder.load_file(str(Path(__file__).with_name("pin.kv")))
NAME = "pin"


class PinScreen(ResidentScreen):
    typed = StringProperty("")
    message = StringProperty("")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._checking = False  # one argon2 check at a time (each takes memory and time)

    def spoken_prompt(self) -> str:
        return N_("工作人员请输入管理密码。")

    def enter(self) -> None:
        app = App.get_running_app()
        self.typed = ""
        configured = pin_is_set(app.config_.data_dir) or app.config_.demo
        self.message = (
            N_("请输入管理密码，然后按确定。")
            if configured
            else N_("本机尚未设置管理密码：请在终端运行 kiosk admin set-pin。")
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
        if self._checking:
            return
        pin, self.typed = self.typed, ""
        self._checking = True
        self.message = N_("正在核对……")

        def check() -> None:
            # argon2 takes a noticeable moment by design: not on the UI thread.
            try:
                result = check_pin(app.config_.data_dir, pin, demo=app.config_.demo)
                problem = ""
            except (PinError, OSError) as error:
                result, problem = PinCheck(False), str(error)
            Clock.schedule_once(lambda _dt: self._checked(result, problem))

        threading.Thread(target=check, name="pin-check", daemon=True).start()

    def _checked(self, result: PinCheck, problem: str) -> None:
        app = App.get_running_app()
        self._checking = False
        if app.manager.current != NAME or app.session is not None:
            return  # staff left the screen meanwhile, or a resident began: the answer is moot
        if result.ok:
            app.staff_enter()
            return
        app.note(
            "pin_refused",
            {"reason": problem or "wrong PIN or locked", "in_a_row": result.failures},
        )
        if problem:
            self.message = N_("密码文件无法读取，请重新设置。")
        elif result.wait_s > 0:
            # Growing, capped delays, kept on disk: guessing must take longer than a shift.
            self.message = Text(
                "密码错误次数过多，请 {seconds} 秒后再试。", seconds=int(result.wait_s) + 1
            )
        else:
            self.message = N_("密码不正确。")


SCREEN = PinScreen
