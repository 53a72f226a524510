"""Run by tests/screens/test_service.py in its own process, on the harness's Xvfb: the kiosk as
`kiosk run` runs it (the metrics endpoint, systemd's notifications), while the test owns
NOTIFY_SOCKET. The script reads the metrics, walks one resident through a session, reads them
again, then blocks the main loop for a while (as a hang would) and says when."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from kiosk.config import load_config
from kiosk.logs import file_log
from screens.main import prepare_kivy

CONFIG = load_config(None, demo=True, environ=os.environ)
prepare_kivy(CONFIG, fullscreen=False)

from screens.demo import drive  # noqa: E402
from screens.driver import Driver, Wait, tap  # noqa: E402

BLOCK_S = 3.0
FLAG = Path(os.environ["RUNTIME_DIRECTORY"]) / "restart-when-idle"


def metrics() -> str:
    url = f"http://{CONFIG.monitoring.metrics}/metrics"
    with urllib.request.urlopen(url, timeout=5) as answer:
        return str(answer.read().decode("utf-8"))


class Service(Driver):
    def script(self) -> Iterator[Wait | float]:
        app = self.app
        yield self.on("idle")
        yield 1.5  # a few watchdog pings
        # Built after the first frame: the residents' screens, one per frame, and the platform
        # link; the staff screens only when staff open them.
        self.facts["screens_built"] = sorted(app.manager.screen_names)
        self.facts["sync_started"] = app.kiosk.link is not None
        self.facts["metrics_before"] = metrics()
        self.facts["quiet_until"] = time.time()
        # Nobody for five minutes: the idle screen dims; the first touch only brightens it.
        app.last_touch = app.idle_since = time.monotonic() - 301
        yield lambda: app.dimmed
        self.facts["dimmed_after_5_min"] = app.dimmed
        self.shot("idle-dimmed")
        tap(self.screen.ids.no_card)
        yield self.frames()
        self.facts["after_first_touch"] = [app.dimmed, app.manager.current]
        yield from super().script()  # the demo's resident: a residence certificate
        yield self.on("idle")
        yield self.frames()
        self.facts["dimmed_after_session"] = app.dimmed
        yield lambda: self.app.kiosk.sync_state.queued == 0
        self.facts["metrics_after"] = metrics()
        self.facts["block_from"] = time.time()
        time.sleep(BLOCK_S)  # the main loop hangs
        self.facts["block_to"] = time.time()
        yield 1.5
        # A new version is installed during the next resident's session: the kiosk waits for
        # the idle screen, then stops to start again (exit status 75: `kiosk run` re-executes).
        yield from self.identify()
        FLAG.write_text("")
        yield 3.0
        self.facts["during_session"] = [app.exit_status, app.manager.current]
        yield from self.fill_in()
        yield from self.rate_and_leave()
        yield 10.0  # the app stops before this ends
        self.facts["still_running"] = True


def main() -> None:
    report_path = Path(sys.argv[1])
    # As `kiosk run` logs: JSON lines at INFO into the data folder.
    file_log(CONFIG.data_dir, CONFIG.monitoring.log_days)
    logging.getLogger().setLevel(logging.INFO)
    summary, driver = drive(CONFIG, report_path.parent / "service-out", Service, service=True)
    report = {
        "summary": summary,
        **driver.facts,
        "exit_status": driver.app.exit_status,
        "flag_left": FLAG.exists(),
    }
    report_path.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
