"""Run by tests/screens/test_ui.py in its own process, on the harness's Xvfb: a staff member and
a technician at the real screens, with simulated touches. The staff member enters with the
hidden sequence on the idle screen and the PIN, lengthens the time limits, turns an item off and
leaves; the technician runs the self-test with its interactive checks. Writes a JSON report."""

from __future__ import annotations

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
from screens.driver import Driver, Wait, tap  # noqa: E402


def press(x: float, y: float) -> Any:
    from kivy.tests.common import UnitTestTouch

    touch = UnitTestTouch(x, y)
    touch.touch_down()
    return touch


class Staff(Driver):
    def script(self) -> Iterator[Wait | float]:
        app = self.app
        yield self.on("idle")
        yield self.frames()
        screen = self.screen
        # A short press on the clock, then the corner: nothing (a resident's stray touches).
        touch = press(screen.right - 20, screen.top - 20)
        touch.touch_up()
        tap_at(screen.x + 20, screen.y + 20)
        yield self.frames()
        self.facts["after_a_short_press"] = app.manager.current
        # The sequence: a long press on the clock, then a tap in the opposite corner.
        touch = press(screen.right - 20, screen.top - 20)
        yield 2.2
        touch.touch_up()
        tap_at(screen.x + 20, screen.y + 20)
        yield self.on("pin")
        yield self.frames()
        for digit in "123456":  # the demo's PIN
            tap(next(w for w in self.screen.walk() if getattr(w, "text", None) == digit))
        tap(self.screen.ids.confirm)
        yield self.on("staff")
        yield self.frames()
        self.shot("staff")
        # Time limits: twice as long, then saved.
        tap(self.screen.ids.settings)
        yield self.on("staff_settings")
        yield self.frames()
        tap(self.screen.ids.multiplier_more)
        tap_later = self.screen.ids.multiplier_more
        yield self.frames()
        tap(tap_later)
        yield self.frames()
        tap(self.screen.ids.save)
        yield self.frames()
        self.facts["settings_message"] = self.screen.message
        self.shot("staff-settings")
        tap(self.screen.ids.back)
        yield self.on("staff")
        yield self.frames()
        # Items: the queue ticket off.
        tap(self.screen.ids.items_button)
        yield self.on("staff_items")
        yield self.frames()
        ticket = app.kiosk.catalog["queue-ticket"]
        button = next(w for w in self.screen.walk() if getattr(w, "label", None) == ticket.name)
        self.facts["ticket_on_before"] = button.state == "down"
        self.screen.ids.item_list.parent.scroll_to(button, animate=False)  # as a finger would
        yield self.frames()
        tap(button)
        yield self.frames()
        self.facts["ticket_on_after"] = button.state == "down"
        self.facts["items_message"] = self.screen.message
        self.shot("staff-items")
        self.facts["ticket_unavailable"] = str(app.kiosk.unavailable(ticket) or "")
        self.facts["multiplier_in_effect"] = app.kiosk.limits.multiplier
        tap(self.screen.ids.back)
        yield self.on("staff")
        yield self.frames()
        yield from self.queue()
        yield from self.technician()
        # A resident lays a card while staff are still there: nothing starts, and when staff
        # leave, the screen asks for the card to be lifted and laid again.
        self.present_card()
        yield 1.0
        self.facts["screen_with_card_in_staff"] = app.manager.current
        tap(self.screen.ids.logout)
        yield self.on("identify")
        yield self.frames()
        self.facts["after_logout_with_card"] = self.screen.problem
        self.remove_card()
        yield self.on("idle")
        yield self.frames()

    def queue(self) -> Iterator[Wait | float]:
        """The queue: a reprint, "sync now", and the platform's offered configuration."""
        app = self.app
        yield lambda: app.kiosk.sync_state.offered_config is not None
        tap(self.screen.ids.queue)
        yield self.on("staff_queue")
        yield self.frames()
        screen = self.screen
        self.facts["queue_text"] = [str(getattr(w, "text", "")) for w in screen.walk()]
        reprints = sorted(k for k in screen.buttons if k.startswith("reprint "))
        self.facts["reprint_buttons"] = reprints
        screen.ids.queue_box.parent.scroll_to(screen.buttons[reprints[0]], animate=False)
        yield self.frames()
        tap(screen.buttons[reprints[0]])
        yield lambda: screen.message.startswith(("已补打", "未能补打"))
        self.facts["reprint_message"] = screen.message
        # A number from a resident's receipt, typed (lower case, with spaces around it).
        screen.number_field.text = f"  {reprints[-1].removeprefix('reprint ').lower()} "
        tap(screen.buttons["reprint_typed"])
        yield lambda: screen.message.startswith(("已补打", "未能补打"))
        self.facts["typed_reprint_message"] = screen.message
        screen.number_field.text = "DEMO-0001-NOPE"
        tap(screen.buttons["reprint_typed"])
        yield lambda: screen.message.startswith("未能补打")
        self.facts["unknown_reprint_message"] = screen.message
        tap(screen.buttons["sync_now"])
        yield self.frames()
        self.facts["sync_message"] = screen.message
        screen.ids.queue_box.parent.scroll_to(screen.buttons["accept"], animate=False)
        yield self.frames()
        tap(screen.buttons["accept"])
        yield self.frames()
        self.facts["accept_message"] = screen.message
        self.facts["counter_hours"] = app.counter_hours
        self.shot("staff-queue")
        tap(screen.ids.back)
        yield self.on("staff")
        yield self.frames()

    def technician(self) -> Iterator[Wait | float]:
        tap(self.screen.ids.technician)
        yield self.on("technician")
        screen = self.screen
        yield lambda: screen.stage == "grid"
        yield self.frames()
        self.facts["automatic"] = {c.name: c.ok for c in screen.checks}
        grid = screen.ids.stage_box.children[-1]  # the first thing the stage shows
        for cell in list(reversed(grid.children)):
            tap(cell)
        yield lambda: screen.stage == "voice"
        yield self.frames()
        self.shot("technician-voice")
        tap(screen.buttons["heard"])
        yield lambda: screen.stage == "colours"
        yield self.frames()
        self.shot("technician-colours")
        tap(screen.buttons["clear"])
        yield lambda: screen.stage == "done"
        yield self.frames()
        self.facts["interactive"] = {
            c.name: c.ok for c in screen.checks if c.level.value == "interactive"
        }
        self.facts["technician_message"] = screen.message
        tap(screen.ids.back)
        yield self.on("staff")
        yield self.frames()


def tap_at(x: float, y: float) -> None:
    press(x, y).touch_up()


def main() -> None:
    report_path = Path(sys.argv[1])
    summary, driver = drive(CONFIG, report_path.parent / "staff-out", Staff)
    write_report(report_path, summary, driver)


if __name__ == "__main__":
    main()
