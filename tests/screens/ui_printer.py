"""Run by tests/screens/test_ui.py in its own process: the touchscreen with a real ESC/POS
driver (escpos+serial over a socat pty) and the printer simulator on the other end, in this
process. The paper runs out while a resident fills in a form: the receipt is refused and the
resident told so; the menu then marks printing items unavailable; the printer's health check
says why; with paper back, staff reprint the receipt with `kiosk print reprint`. Writes a JSON
report to the path given."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from kiosk.config import load_config
from screens.main import prepare_kivy

CONFIG = load_config(None, demo=True, environ=os.environ)
prepare_kivy(CONFIG, fullscreen=False)

from devices.base import HealthLevel, Role  # noqa: E402
from devices.simulators.escpos_printer import EscposPrinterSimulator  # noqa: E402
from screens.demo import drive  # noqa: E402
from screens.driver import Driver, Wait, button_with, tap  # noqa: E402

SIM = EscposPrinterSimulator(os.environ["KIOSK_TEST_PTY_DEVICE"])


class PaperOut(Driver):
    def script(self) -> Iterator[Wait | float]:
        app, facts = self.app, self.facts
        yield from self.identify()
        tap(button_with(self.screen, "证明开具"))
        yield self.frames()
        tap(button_with(self.screen, "居住证明"))
        yield self.on("form")
        yield self.frames()
        SIM.set_paper("out")  # the roll ends while the resident answers
        tap(button_with(self.screen, "子女入学"))
        yield self.frames()
        tap(self.screen.ids.next)
        yield self.frames()
        tap(button_with(self.screen, "增加"))
        yield self.frames()
        tap(self.screen.ids.next)
        yield self.on("confirm")
        yield self.frames()
        tap(self.screen.ids.submit)
        yield self.on("result")
        yield self.frames()
        facts["number"] = list(app.numbers)[-1]
        facts["result_problems"] = self.screen.problems
        facts["printed"] = list(app.last_issued.printed)
        self.shot("result-paper-out")
        tap(self.screen.ids.finish)
        yield self.on("closing")
        self.remove_card()
        yield self.on("idle")
        yield lambda: app.kiosk.out_of_order.get("receipt_printer") == "打印机缺纸"
        with app.printer_lock:
            health = app.printers[Role.RECEIPT_PRINTER].check_health(HealthLevel.INTERNAL)
        facts["health"] = [
            health.outcome.value,
            health.fault.value if health.fault else "",
            health.summary,
        ]
        yield self.frames()
        self.present_card()
        yield self.on("identify")
        yield self.frames()
        tap(self.screen.ids.start)
        yield self.on("menu")
        yield self.frames()
        tap(button_with(self.screen, "证明开具"))
        yield self.frames()
        facts["unavailable"] = [
            f"{w.title}|{w.reason}"
            for w in self.screen.ids.choices.children
            if type(w).__name__ == "KUnavailable"
        ]
        self.shot("menu-paper-out")
        app.end("cancelled")
        yield self.on("closing")
        self.remove_card()
        yield self.on("idle")
        yield self.frames()


def main() -> None:
    report = Path(sys.argv[1])
    SIM.start()
    try:
        summary, driver = drive(CONFIG, report.parent / "printer-out", PaperOut)
        facts = driver.facts
        facts["discarded"] = len(SIM.discarded)
        SIM.take_printed()
        SIM.set_paper("ok")  # staff put a new roll in, then reprint from a shell
        kiosk = str(Path(sys.executable).with_name("kiosk"))
        reprint = subprocess.run(
            [kiosk, "print", "reprint", facts.get("number", "?"), "--receipt"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        facts["reprint"] = [reprint.returncode, reprint.stdout, reprint.stderr]
        facts["reprinted"] = SIM.take_printed().decode("gb18030", "replace")
    finally:
        SIM.stop()
    report.write_text(
        json.dumps({"summary": summary, **facts}, ensure_ascii=False), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
