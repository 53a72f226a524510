"""Run by benchmarks/ui.py under its Xvfb: the kiosk's real screens, a simulated tap from the
idle screen to the keypad and back, timed to the first frame drawn after the tap (Window's
on_flip); then, in the same window, a bare ScreenManager with two labels switched the same way.
Prints the two medians as JSON."""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kiosk.config import load_config
from screens.main import prepare_kivy

CONFIG = load_config(None, demo=True, environ=os.environ)
prepare_kivy(CONFIG, fullscreen=False)

from kivy.core.window import Window  # noqa: E402
from kivy.uix.label import Label  # noqa: E402
from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager  # noqa: E402

from screens.demo import drive  # noqa: E402
from screens.driver import Driver, Wait, tap  # noqa: E402
from screens.tokens import FONT  # noqa: E402

TAPS = 20


class Timed(Driver):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tap_s: list[float] = []
        self.bare_s: list[float] = []
        self._flipped: float | None = None
        Window.bind(on_flip=self._flip)

    def _flip(self, *_args: Any) -> None:
        if self._flipped is None:
            self._flipped = time.perf_counter()

    def _until_drawn(self, started: float, into: list[float]) -> Wait:
        def drawn() -> bool:
            if self._flipped is None:
                return False
            into.append(self._flipped - started)
            return True

        return drawn

    def script(self) -> Iterator[Wait | float]:
        app = self.app
        yield self.on("idle")
        yield self.frames(10)
        for _ in range(TAPS):
            for button, target in (("no_card", "keypad"), ("back", "idle")):
                self._flipped = None
                started = time.perf_counter()
                tap(self.screen.ids[button])
                yield self._until_drawn(started, self.tap_s)
                yield self.on(target)
                yield self.frames()
        bare = ScreenManager(transition=NoTransition())
        for name in ("one", "two"):
            screen = Screen(name=name)
            screen.add_widget(Label(text=f"屏幕 {name}", font_name=FONT, font_size="60sp"))
            bare.add_widget(screen)
        app.root.add_widget(bare)
        yield self.frames(5)
        for _ in range(TAPS):
            for name in ("two", "one"):
                self._flipped = None
                started = time.perf_counter()
                bare.current = name
                yield self._until_drawn(started, self.bare_s)
                yield self.frames()


def main() -> None:
    out = Path(os.environ["KIOSK_DATA_DIR"]).parent / "tap-out"
    summary, driver = drive(CONFIG, out, Timed)
    assert not summary["error"], summary["error"]
    print(
        json.dumps(
            {"tap_s": statistics.median(driver.tap_s), "bare_s": statistics.median(driver.bare_s)}
        )
    )


if __name__ == "__main__":
    main()
