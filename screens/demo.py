"""`kiosk demo --out DIR`: one complete resident session through the real screens, with nobody
at the kiosk (screens/driver.py is the scripted resident).

Writes DIR/screens/NN-name.png (the window's real size), DIR/voice/NN-name.wav (each spoken
prompt), DIR/receipt.bin, DIR/certificate.pdf and DIR/summary.json (items, transaction numbers,
what was printed, the captions of the prompts, timings).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kiosk.config import Config
from screens.main import prepare_kivy

if TYPE_CHECKING:
    from screens.driver import Driver, Wait

D = TypeVar("D", bound="Driver")


def run_demo(
    config: Config,
    out: Path,
    extra: Callable[[Driver], Iterator[Wait | float]] | None = None,
    driver_class: type[Driver] | None = None,
) -> dict[str, Any]:
    prepare_kivy(config, fullscreen=False)  # before the driver's import: Kivy reads it then
    from screens.driver import Driver

    return drive(config, out, driver_class or Driver, extra)[0]


def drive(
    config: Config,
    out: Path,
    driver_class: type[D],
    extra: Callable[[Driver], Iterator[Wait | float]] | None = None,
    *,
    service: bool = False,
) -> tuple[dict[str, Any], D]:
    """run_demo, also giving back the driver (the UI tests read what it found). `service`:
    as `kiosk run` (the metrics endpoint, systemd's notifications)."""
    prepare_kivy(config, fullscreen=False)
    from kivy.clock import Clock
    from kivy.core.window import Window

    from screens.app import KioskApp

    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / "screens", ignore_errors=True)
    app = KioskApp(config)
    app.service = service
    shutil.rmtree(out / "voice", ignore_errors=True)
    app.voice_record_to = out / "voice"  # each spoken prompt, as the resident would hear it
    driver = driver_class(app, out, extra)
    Clock.schedule_once(lambda _dt: driver.start(), 0.5)
    app.run()
    issued = driver.issued
    voice = app.speaker.recorded  # the speaker was closed with the app: everything is written
    if issued is not None:
        (out / "receipt.bin").write_bytes(issued.receipt)
        if issued.certificate:
            (out / "certificate.pdf").write_bytes(issued.certificate)
    summary = {
        "ok": not driver.error and issued is not None,
        "error": driver.error,
        "demo": config.demo,
        "kiosk_id": config.kiosk.id,
        "window": [int(Window.width), int(Window.height)],
        "items": ["residence-certificate"],
        "transactions": app.numbers,
        "printed": issued.printed if issued else [],
        "print_problems": issued.problems if issued else [],
        "screens": driver.shots,
        "voice": [{"file": file, "caption": caption} for file, caption in voice],
        "voice_problem": app.speaker.last_error,
        "timings": driver.timings,
    }
    (out / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    return summary, driver


def write_report(path: Path, summary: dict[str, Any], driver: Driver, **more: Any) -> None:
    """A UI test script's findings, for the test that ran it: the summary, the driver's
    facts, and anything more."""
    report = {"summary": summary, **driver.facts, **more}
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
