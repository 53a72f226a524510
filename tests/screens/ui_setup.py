"""Run by tests/screens/test_ui.py in its own process, on the harness's Xvfb: a staff member sets
the kiosk up on the real screens, with simulated touches: moves an item up the menu, sets the
staffed windows' hours, tries a printer that is not there (refused) and one that is (saved),
is refused a platform change in demo mode, picks a seal (an opaque image refused, a clear
one taken), and starts the kiosk again for the new printer. Writes a JSON report."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from kiosk.config import load_config
from screens.main import prepare_kivy

CONFIG = load_config(None, demo=True, environ=os.environ)
prepare_kivy(CONFIG, fullscreen=False)

from screens.demo import drive, write_report  # noqa: E402
from screens.driver import Driver, Wait, button_with, tap  # noqa: E402
from screens.staff_setup import TRYING  # noqa: E402

NO_PRINTER = "escpos+tcp://127.0.0.1:9"
NO_PLATFORM = "http://127.0.0.1:9/kiosk"


def seals(folder: Path) -> None:
    """A red round seal on a clear background, and the same on white (which would cover
    the certificate's text)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, background in (("clear.png", (0, 0, 0, 0)), ("opaque.png", (255, 255, 255, 255))):
        image = Image.new("RGBA", (400, 400), background)
        ImageDraw.Draw(image).ellipse((20, 20, 380, 380), outline=(220, 0, 0, 255), width=16)
        image.convert("RGB" if name == "opaque.png" else "RGBA").save(folder / name)


class Setup(Driver):
    def script(self) -> Iterator[Wait | float]:
        app = self.app
        yield self.on("idle")
        yield self.frames()
        app.go("pin")  # the hidden sequence itself is walked in ui_staff.py
        yield self.on("pin")
        yield self.frames()
        for digit in "123456":
            tap(next(w for w in self.screen.walk() if getattr(w, "text", None) == digit))
        tap(self.screen.ids.confirm)
        yield self.on("staff")
        yield self.frames()
        self.shot("staff-home")
        yield from self.order()
        yield from self.hours()
        yield from self.devices()
        yield from self.hall()
        yield from self.restart()

    def open(self, button: str, name: str) -> Iterator[Wait | float]:
        tap(self.screen.ids[button])
        yield self.on(name)
        yield self.frames()

    def back(self) -> Iterator[Wait | float]:
        tap(self.screen.ids.back)
        yield self.on("staff")
        yield self.frames()

    def order(self) -> Iterator[Wait | float]:
        yield from self.open("items_button", "staff_items")
        elderly = [i.code for i in self.app.kiosk.menu()["elderly"]]
        self.facts["elderly_before"] = elderly
        _choice, up = self.screen.rows[elderly[-1]]
        self.screen.ids.item_list.parent.scroll_to(up, animate=False)
        yield self.frames()
        tap(up)
        yield self.frames()
        self.facts["elderly_after"] = [i.code for i in self.app.kiosk.menu()["elderly"]]
        self.facts["order_message"] = self.screen.message
        self.shot("staff-items")
        yield from self.back()

    def hours(self) -> Iterator[Wait | float]:
        yield from self.open("hours_button", "staff_hours")
        screen = self.screen
        self.facts["hours_shown"] = screen.written
        tap(screen.ids.days_every)
        tap(screen.ids.first_open_more)  # 8:30 -> 9:00
        yield self.frames()
        tap(screen.ids.two_spans)  # no lunch break: one span...
        yield self.frames()
        for _ in range(11):  # ...from 9:00 to 17:30
            tap(screen.ids.first_close_more)
        yield self.frames()
        self.shot("staff-hours")
        tap(screen.ids.save)
        yield self.frames()
        self.facts["hours_message"] = screen.message
        self.facts["counter_hours"] = str(self.app.counter_hours)
        self.facts["counter_hours_en"] = self.app.counter_hours.in_language("en")
        yield from self.back()

    def devices(self) -> Iterator[Wait | float]:
        yield from self.open("devices_button", "staff_devices")
        screen = self.screen
        yield lambda: screen.message.startswith("点“试一试”")
        yield self.frames()
        printer = ("devices.receipt_printer",)
        field, group = screen.fields[printer[0]], screen.groups[printer]
        self.facts["receipt_offers"] = [w.text for w in group["offers"][printer[0]].children]
        # A printer that is not there: the try fails, and saving is refused.
        yield from self.try_and_save(field, group, NO_PRINTER, "absent_printer")
        # A printer that is there (bytes into a file): tried, then saved for the next start.
        spool = Path(os.environ["KIOSK_DATA_DIR"]).parent / "receipts.bin"
        yield from self.try_and_save(field, group, f"escpos+file://{spool}", "file_printer")
        self.facts["restart_offered"] = screen.ids.restart.text
        self.facts["printer_in_use"] = self.app.config_.devices.receipt_printer
        # A found device fills the field (not saved: the file printer stays for the restart).
        tap(button_with(screen, "使用 模拟小票打印机"))
        self.facts["picked"] = field.text
        # A setting the environment makes (a technician's override) cannot be saved here.
        certificate = ("devices.certificate_printer",)
        screen.fields[certificate[0]].text = "sim://"
        screen.ids.device_box.parent.scroll_to(screen.groups[certificate]["try"], animate=False)
        yield self.frames()
        tap(screen.groups[certificate]["try"])
        yield self.frames()
        self.facts["environment_printer"] = screen.groups[certificate]["result"].text
        # Demo mode's platform cannot be changed: said at once, nothing tried.
        platform = ("platform.url", "kiosk.id")
        screen.fields["platform.url"].text = NO_PLATFORM
        screen.ids.device_box.parent.scroll_to(screen.groups[platform]["try"], animate=False)
        yield self.frames()
        tap(screen.groups[platform]["try"])
        yield self.frames()
        self.facts["demo_platform"] = screen.groups[platform]["result"].text
        self.shot("staff-devices")
        tap(screen.ids.back)
        yield self.on("staff")
        yield self.frames()

    def try_and_save(
        self, field: Any, group: dict[str, Any], text: str, fact: str
    ) -> Iterator[Wait | float]:
        """Type `text`, 试一试, then 保存: the try's result and the save's message as facts."""
        field.text = text
        tap(group["try"])
        yield lambda: group["result"].text not in ("", TRYING)
        self.facts[fact] = group["result"].text
        tap(group["save"])
        yield self.frames()
        self.facts[f"{fact}_save"] = self.screen.message

    def hall(self) -> Iterator[Wait | float]:
        yield from self.open("hall_button", "staff_hall")
        screen = self.screen
        yield lambda: screen.message != "正在查找 U 盘上的印章图片……"  # looked off the UI thread
        yield self.frames()
        self.facts["hall_text"] = [str(getattr(w, "text", "")) for w in screen.walk()]
        self.facts["seal_choices"] = sorted(screen.buttons)
        opaque = next(b for k, b in screen.buttons.items() if k.endswith("opaque.png"))
        tap(opaque)
        yield lambda: screen.message != "正在检查图片……"  # checked off the UI thread
        yield self.frames()
        self.facts["opaque_message"] = screen.message
        clear = next(b for k, b in screen.buttons.items() if k.endswith("clear.png"))
        tap(clear)
        yield lambda: screen.message != "正在检查图片……"
        yield self.frames()
        self.facts["clear_message"] = screen.message
        self.facts["seal_image"] = self.app.config_.kiosk.seal_image
        self.shot("staff-hall")
        yield from self.back()

    def restart(self) -> Iterator[Wait | float]:
        """Back on the screen later: the saved printer is shown as waiting for the restart."""
        yield from self.open("devices_button", "staff_devices")
        screen = self.screen
        printer = ("devices.receipt_printer",)
        self.facts["field_after_return"] = screen.fields[printer[0]].text
        self.facts["result_after_return"] = screen.groups[printer]["result"].text
        self.facts["restart_after_return"] = screen.ids.restart.text
        tap(screen.ids.restart)
        self.facts["exit_status"] = self.app.exit_status


def main() -> None:
    report_path = Path(sys.argv[1])
    seals(Path(os.environ["KIOSK_DATA_DIR"]) / "admin" / "seals")
    summary, driver = drive(CONFIG, report_path.parent / "setup-out", Setup)
    write_report(report_path, summary, driver)


if __name__ == "__main__":
    main()
