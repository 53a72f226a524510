"""Run by tests/screens/test_ui.py in its own process: one whole session through the real
screens with a real reader driver configured (KIOSK_READER), the card laid down and taken away
on a simulator in this process: the GA/T 467 SAM on a pty, or the virtual social security
card on vpcd. Writes the demo summary as JSON to the path given."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from kiosk.config import load_config
from screens.main import prepare_kivy

CONFIG = load_config(None, demo=True, environ=os.environ)
prepare_kivy(CONFIG, fullscreen=False)

from devices.simulators.ga467_sam import SamSimulator  # noqa: E402
from devices.simulators.sscard import ATR, SocialSecurityCard  # noqa: E402
from devices.simulators.vpcd import VirtualCard  # noqa: E402
from screens.demo import run_demo  # noqa: E402
from screens.driver import Driver  # noqa: E402


def main() -> None:
    kind, report = sys.argv[1], Path(sys.argv[2])
    if kind == "ga467":
        sam = SamSimulator(os.environ["KIOSK_TEST_PTY_DEVICE"], card=None).start()
        place: Any = lambda: sam.present("resident")  # noqa: E731
        take: Any = sam.remove
    else:
        card = VirtualCard(
            int(os.environ["KIOSK_TEST_VPCD_PORT"]), ATR, SocialSecurityCard("sscard").respond
        )
        place, take = card.insert, card.remove

    class RealReader(Driver):
        def present_card(self) -> None:
            place()

        def remove_card(self) -> None:
            take()

    summary = run_demo(CONFIG, report.parent / f"{kind}-out", driver_class=RealReader)
    report.write_text(json.dumps(summary, ensure_ascii=False), encoding="utf-8")
    if kind == "ga467":
        sam.stop()


if __name__ == "__main__":
    main()
