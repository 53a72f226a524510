"""Run by tests/screens/test_ui.py in its own process, on the harness's Xvfb: the paths a
resident takes less often, each through the real screens with simulated touches. Writes a
JSON report of what happened to the path given."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kiosk.config import load_config
from screens.main import prepare_kivy

CONFIG = load_config(None, demo=True, environ=os.environ)
prepare_kivy(CONFIG, fullscreen=False)

from screens.demo import drive, write_report  # noqa: E402
from screens.driver import DemoFailed, Driver, Wait, button_with, tap  # noqa: E402


class Paths(Driver):
    def quick_double_tap(self, widget: Any) -> None:
        tap(widget)
        tap(widget)  # the same finger again, at once

    def script(self) -> Iterator[Wait | float]:
        app = self.app
        yield self.on("idle")
        yield self.frames()
        app.reader.present("elderly")  # 85: may do the pension qualification
        yield self.on("identify")
        yield self.frames()
        tap(self.screen.ids.start)
        yield self.on("menu")
        yield self.frames()
        # 查询我的办件进度: this resident has done nothing here yet; then back to the menu.
        tap(button_with(self.screen, "查询我的办件进度"))
        yield self.on("lookup")
        yield lambda: not self.screen.found.startswith("正在查询")
        self.facts["lookup"] = [self.screen.found, self.screen.source]
        yield self.frames()
        tap(self.screen.ids.back)
        yield self.on("menu")
        yield self.frames()
        self.quick_double_tap(button_with(self.screen, "养老服务"))
        yield self.frames()
        self.facts["after_double_tap"] = [
            str(getattr(w, "text", "") or getattr(w, "title", ""))
            for w in self.screen.ids.choices.children
        ]
        self.facts["unavailable"] = [
            f"{w.title}|{w.reason}"
            for w in self.screen.ids.choices.children
            if type(w).__name__ == "KUnavailable"
        ]
        self.facts["printer_out_of_order"] = dict(app.kiosk.out_of_order)
        if not self.facts["unavailable"]:
            tap(button_with(self.screen, "居家养老服务预约"))
            yield self.on("form")
            yield self.frames()
            tap(self.screen.ids.back)  # 返回 on the first question
            yield self.frames()
            self.facts["back_from_first_question"] = (
                app.manager.current,
                self.screen.category if app.manager.current == "menu" else "",
            )
        tap(self.screen.ids.back)
        yield self.frames()
        tap(button_with(self.screen, "社保服务"))
        yield self.frames()
        # An item with no questions; not offered when, say, there is no paper for its ticket.
        with contextlib.suppress(DemoFailed):
            tap(button_with(self.screen, "养老资格认证"))
        yield self.frames()
        self.facts["no_field_item_screen"] = app.manager.current
        if app.manager.current == "confirm":
            tap(self.screen.ids.submit)
            yield self.on("result")
            yield self.frames()
            self.facts["no_field_item_committed"] = list(app.numbers)
            self.facts["printed"] = list(app.last_issued.printed) if app.last_issued else []
            self.facts["print_problems"] = list(app.last_issued.problems) if app.last_issued else []
            tap(self.screen.ids.finish)
            yield self.on("closing")
        app.reader.remove()
        yield self.on("idle")
        yield self.frames()
        yield from self.without_a_card()

    def type_number(self, number: str) -> None:
        keys = {w.text: w for w in self.screen.walk() if type(w).__name__ == "KKey"}
        for digit in number:
            tap(keys[digit])

    def without_a_card(self) -> Iterator[Wait | float]:
        """No card: the number typed on the keypad, a slip caught by its check character; a
        queue ticket can be taken, a certificate cannot be reached."""
        app = self.app
        tap(self.screen.ids.no_card)
        yield self.on("keypad")
        yield self.frames()
        self.type_number("11010119620517031")  # 17 digits
        yield self.frames()
        self.facts["keypad_17"] = [self.screen.shown, self.screen.feedback]
        self.type_number("5")  # a wrong check character
        yield self.frames()
        self.facts["keypad_wrong"] = [self.screen.feedback, self.screen.ids.confirm.disabled]
        tap(button_with(self.screen, "删除"))
        yield self.frames()
        self.type_number("6")
        yield self.frames()
        self.facts["keypad_right"] = [self.screen.feedback, self.screen.ids.confirm.disabled]
        self.shot("keypad")
        tap(self.screen.ids.confirm)
        yield self.on("identify")
        yield self.frames()
        self.facts["manual_identify"] = [self.screen.greeting, self.screen.detail]
        tap(self.screen.ids.start)
        yield self.on("menu")
        yield self.frames()
        self.facts["manual_menu"] = [
            str(getattr(w, "text", "")) for w in self.screen.ids.choices.children
        ]
        tap(button_with(self.screen, "证明开具"))
        yield self.frames()
        self.facts["manual_certificates"] = [
            f"{w.title}|{w.reason}"
            for w in self.screen.ids.choices.children
            if type(w).__name__ == "KUnavailable"
        ]
        self.facts["manual_certificate_buttons"] = [
            w.text for w in self.screen.ids.choices.children if type(w).__name__ == "KButton"
        ]
        tap(self.screen.ids.back)
        yield self.frames()
        if "receipt_printer" in app.kiosk.out_of_order:
            return  # no paper: no ticket to take (the printer tests look at that)
        tap(button_with(self.screen, "排队取号"))
        yield self.frames()
        tap(button_with(self.screen, "窗口取号"))
        yield self.on("form")
        yield self.frames()
        tap(button_with(self.screen, "社保医保"))
        yield self.frames()
        tap(self.screen.ids.next)
        yield self.on("confirm")
        yield self.frames()
        tap(self.screen.ids.submit)
        yield self.on("result")
        yield self.frames()
        self.facts["manual_ticket"] = list(app.last_issued.printed) if app.last_issued else []
        tap(self.screen.ids.finish)
        yield self.on("closing")


def main() -> None:
    report_path = Path(sys.argv[1])
    summary, driver = drive(CONFIG, report_path.parent / "paths-out", Paths)
    write_report(report_path, summary, driver)


if __name__ == "__main__":
    main()
