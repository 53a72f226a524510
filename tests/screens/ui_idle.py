"""Run by tests/screens/test_ui.py in its own process, on the harness's Xvfb: the kiosk with a
card reader that cannot be opened. The idle screen must say so, and what can still be done.
Writes a JSON report to the path given."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

from kiosk.config import load_config
from screens.main import prepare_kivy

CONFIG = load_config(None, demo=True, environ=os.environ)
prepare_kivy(CONFIG, fullscreen=False)

from screens.demo import drive, write_report  # noqa: E402
from screens.driver import Driver, Wait  # noqa: E402


class ReaderDown(Driver):
    def script(self) -> Iterator[Wait | float]:
        app = self.app
        yield self.on("idle")
        yield lambda: bool(app.reader_problem)
        yield self.frames()
        screen = self.screen
        self.facts["problem"] = screen.ids.reader_problem.text
        self.facts["spoken"] = screen.spoken
        self.facts["manual_entry_offered"] = screen.ids.no_card.opacity == 1
        self.shot("idle-reader-down")


def main() -> None:
    report_path = Path(sys.argv[1])
    summary, driver = drive(CONFIG, report_path.parent / "idle-out", ReaderDown)
    write_report(report_path, summary, driver)


if __name__ == "__main__":
    main()
