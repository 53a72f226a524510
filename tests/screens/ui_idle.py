"""Run by tests/screens/test_ui.py in its own process, on the harness's Xvfb: the kiosk with a
card reader that cannot be opened. The idle screen must say so, and what can still be done.
Writes a JSON report to the path given."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kiosk.config import load_config
from screens.main import prepare_kivy

CONFIG = load_config(None, demo=True, environ=os.environ)
prepare_kivy(CONFIG, fullscreen=False)

from screens.demo import drive  # noqa: E402
from screens.driver import Driver, Wait  # noqa: E402


class ReaderDown(Driver):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.facts: dict[str, Any] = {}

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
    report = {"summary": summary, **driver.facts}
    report_path.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
