"""The scripted resident of `kiosk demo` (see screens/demo.py): one complete session through
the real screens, with nobody at the kiosk. It places a card, chooses the residence
certificate, fills the form, confirms, takes the paper, rates the service and takes the card
away. Every tap is a
simulated touch dispatched through the window at the widget's centre, as a finger would be.

Imported only after screens.main.prepare_kivy: Kivy reads its settings on first import.
"""

from __future__ import annotations

import shutil
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kivy.clock import Clock
from kivy.core.window import Window

Wait = Callable[[], bool]
STEP_TIMEOUT_S = 20.0


class DemoFailed(RuntimeError):
    pass


def tap(widget: Any) -> None:
    """A simulated finger on the widget's centre, through the window like a real touch."""
    from kivy.tests.common import UnitTestTouch

    x, y = widget.to_window(*widget.center)
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    touch.touch_up()


def find(root: Any, predicate: Callable[[Any], bool]) -> Any:
    for widget in root.walk(restrict=True):
        if predicate(widget):
            return widget
    raise DemoFailed("no widget matched on the current screen")


def button_with(screen: Any, text: str) -> Any:
    return find(
        screen,
        lambda w: (
            hasattr(w, "on_release")
            and text in str(getattr(w, "text", ""))
            and not getattr(w, "disabled", False)
            and getattr(w, "opacity", 1) > 0
        ),
    )


class Driver:
    def __init__(
        self, app: Any, out: Path, extra: Callable[[Driver], Iterator[Wait | float]] | None = None
    ) -> None:
        self.app, self.out = app, out
        self.shots: list[str] = []
        self.timings: dict[str, float] = {}
        self.error: str = ""
        self.issued: Any = None
        self.facts: dict[str, Any] = {}  # what a test script found, for its report
        self._script = self.script()
        self._extra = extra
        self._waiting: Wait | None = None
        self._deadline = 0.0
        self.started = time.monotonic()

    @property
    def screen(self) -> Any:
        return self.app.manager.current_screen

    def start(self) -> None:
        Clock.schedule_interval(self._pump, 0.05)

    def _pump(self, _dt: float) -> bool | None:
        if self._waiting is not None:
            if not self._waiting():
                if time.monotonic() > self._deadline:
                    self.error = f"timed out at screen {self.app.manager.current!r}"
                    self.app.stop()
                    return False
                return None
            self._waiting = None
        try:
            step = next(self._script)
        except StopIteration:
            self.app.stop()
            return False
        except Exception as error:  # noqa: BLE001 - reported in the summary, then the app stops
            frame = traceback.extract_tb(error.__traceback__)[-1]
            where = f"{Path(frame.filename).name}:{frame.lineno}"
            self.error = f"{type(error).__name__} at {where}: {error}"
            self.app.stop()
            return False
        if isinstance(step, float | int):
            until = time.monotonic() + float(step)
            self._waiting = lambda: time.monotonic() >= until
        else:
            self._waiting = step
        self._deadline = time.monotonic() + STEP_TIMEOUT_S
        return None

    def while_submitting(self) -> Iterator[Wait | float]:
        """A hook for checks of the (brief) submitting screen."""
        return iter(())

    def present_card(self) -> None:
        """The scripted resident lays a card on the (simulated) reader."""
        self.app.reader.present("resident")

    def remove_card(self) -> None:
        self.app.reader.remove()

    def said(self, zh: str) -> str:
        """The words written here in Chinese, as the screen shows them now (the scripted
        resident reads the screen in whichever language it is in)."""
        from kiosk.catalog import CATEGORIES
        from kiosk.i18n import words
        from screens.i18n import _

        for category in CATEGORIES.values():
            if category == zh:
                return _(category)
        for item in self.app.kiosk.catalog.items:
            if item.name == zh:
                return _(words(item, "name"))
            for choice in (c for f in item.fields for c in f.choices):
                if choice.label == zh:
                    return _(words(choice, "label"))
        return _(zh)

    def on(self, name: str) -> Wait:
        return lambda: self.app.manager.current == name

    def frames(self, count: int = 3) -> Wait:
        """A few frames drawn, and the app's guard against stray taps over (taps are ignored
        for a moment after each screen change, as a hurried second finger would be)."""
        target = Clock.frames_displayed + count
        return lambda: (
            Clock.frames_displayed >= target and time.monotonic() >= self.app.ignore_touches_until
        )

    def shot(self, name: str) -> None:
        folder = self.out / "screens"
        folder.mkdir(parents=True, exist_ok=True)
        taken = Window.screenshot(name=str(folder / "shot.png"))
        target = folder / f"{len(self.shots) + 1:02d}-{name}.png"
        shutil.move(taken, target)
        self.shots.append(target.name)

    def script(self) -> Iterator[Wait | float]:
        """Card in, item chosen, form filled, confirmed, printed, rated, card out."""
        yield from self.identify()
        yield from self.fill_in()
        yield from self.rate_and_leave()

    def identify(self) -> Iterator[Wait | float]:
        yield self.on("idle")
        # The idle screen says whether the kiosk is online: wait for the sync worker's first
        # answer (the demo's platform runs on loopback), then for the clock tick that shows it.
        yield lambda: self.app.kiosk.sync_state.online is not None
        yield lambda: self.app.printers_checked > 0  # the printers' first status is known
        yield lambda: self.app.network_text.startswith(
            "●" if self.app.kiosk.sync_state.online else "○"
        )
        yield self.frames(5)
        self.shot("idle")
        started = time.monotonic()
        self.present_card()
        yield self.on("identify")
        yield self.frames()
        self.shot("identify")
        tap(self.screen.ids.start)
        yield self.on("menu")
        yield self.frames()
        self.timings["card_to_menu_s"] = round(time.monotonic() - started, 3)
        self.shot("menu-categories")
        self.started = started

    def fill_in(self) -> Iterator[Wait | float]:
        tap(button_with(self.screen, self.said("证明开具")))
        yield self.frames()
        self.shot("menu-items")
        tap(button_with(self.screen, self.said("居住证明")))
        yield self.on("form")
        yield self.frames()
        tap(button_with(self.screen, self.said("子女入学")))
        yield self.frames()
        self.shot("form-choice")
        tap(self.screen.ids.next)
        yield self.frames()
        tap(button_with(self.screen, self.said("＋ 增加")))
        yield self.frames()
        self.shot("form-number")
        tap(self.screen.ids.next)
        yield self.on("confirm")
        yield self.frames()
        self.shot("confirm")
        confirm = self.screen.ids.submit
        tap(confirm)
        tap(confirm)  # a double tap: still one transaction
        yield from self.while_submitting()
        yield self.on("result")
        yield self.frames()
        self.shot("result")
        self.issued = self.app.last_issued  # wiped from the app when the session ends
        if self._extra is not None:
            yield from self._extra(self)

    def rate_and_leave(self) -> Iterator[Wait | float]:
        tap(self.screen.ids.rate)
        yield self.on("rating")
        yield self.frames()
        tap(button_with(self.screen, self.said("非常满意")))
        yield self.frames()
        self.shot("rating")
        tap(self.screen.ids.submit)
        yield self.on("closing")
        yield self.frames()
        self.timings["session_s"] = round(time.monotonic() - self.started, 3)
        self.shot("closing")
        self.remove_card()
        yield self.on("idle")
        yield self.frames()
