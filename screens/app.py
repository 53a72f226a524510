"""The Kivy application: the screens, one navigation method, and the threads that feed it.

Only the UI thread touches widgets. The card reader runs on a thread of its own and posts what
it reads onto the Kivy clock with the generation it was read for; the kiosk core drops a read
for an older generation. Printing runs on a worker thread while the session is paused.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.text import LabelBase
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.screenmanager import NoTransition, ScreenManager

from devices.base import CardReader, Printer, Role
from devices.registry import open_device
from devices.simulators.reader import SimReader
from kiosk.clock import now_local
from kiosk.config import Config
from kiosk.core import Kiosk, Refusal
from kiosk.issuing import Issued, issue_documents
from kiosk.session import Session, SessionEvent, State
from kiosk.trust import NotGenuine, Signer, demo_signer, kiosk_signer
from screens.tokens import FONT, FONT_BOLD, T, rgba
from screens.widgets import KWarningBar  # noqa: F401 - used by app.kv

Builder.load_file(str(Path(__file__).with_name("app.kv")))

TICK_S = 0.25
READ_POLL_S = 0.3


class Root(FloatLayout):
    pass


class KioskApp(App):
    hall_name = StringProperty("")
    counter_hours = StringProperty("")
    clock_text = StringProperty("")
    demo = BooleanProperty(False)
    warning_text = StringProperty("")
    toast_text = StringProperty("")

    def __init__(self, config: Config, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config_ = config
        self.kiosk = Kiosk(config, listener=self._session_event)
        self.hall_name = config.kiosk.hall_name
        self.counter_hours = config.kiosk.counter_hours
        self.demo = config.demo
        self.title = "社区政务服务自助机"
        self.session: Session | None = None
        self.last_issued: Issued | None = None
        self.reader: CardReader | None = None
        self.printers: dict[Role, Printer] = {}
        self._stopping = threading.Event()
        self._card_on_reader: bool | None = None  # unknown until the reader first answers
        self.screen_log: list[str] = []  # screens passed, in order (for kiosk demo)
        self.numbers: list[str] = []  # transactions committed since start (for kiosk demo)
        self.signer: Signer | None = None

    # --- building --------------------------------------------------------------------------
    def build(self) -> Root:
        LabelBase.register("Roboto", FONT, fn_bold=FONT_BOLD)  # every label speaks Chinese
        Window.clearcolor = rgba(T.background)
        from screens import closing, confirm, form, identify, idle, menu, rating, result, submitting

        root = Root()
        self.manager = ScreenManager(transition=NoTransition())
        for module in (idle, identify, menu, form, confirm, submitting, result, rating, closing):
            self.manager.add_widget(module.SCREEN(name=module.NAME))
        # Screens at the bottom; the warning bar and the call-staff confirmation above them.
        root.add_widget(self.manager, index=len(root.children))
        self._open_devices()
        Clock.schedule_interval(self._tick, TICK_S)
        self._tick(0)
        threading.Thread(target=self._read_cards, name="card-reader", daemon=True).start()
        self.go("idle")
        return root

    def _open_devices(self) -> None:
        devices = self.config_.devices
        for url in devices.readers[:1]:
            device = open_device(url, Role.READER)
            assert isinstance(device, CardReader)
            self.reader = device
        for role, url in (
            (Role.RECEIPT_PRINTER, devices.receipt_printer),
            (Role.CERTIFICATE_PRINTER, devices.certificate_printer),
        ):
            if url:
                printer = open_device(url, role)
                assert isinstance(printer, Printer)
                self.printers[role] = printer
        if isinstance(self.reader, SimReader):
            self.reader.remove()  # the demo starts with an empty reader
        try:
            args = (
                self.config_.data_dir,
                self.config_.kiosk.id,
                self.config_.kiosk.hall_name,
                now_local().date(),
            )
            self.signer = (demo_signer(*args) if self.config_.demo else kiosk_signer(*args))[0]
        except NotGenuine:
            self.signer = None  # certificate items then say so, and send residents to a window

    def on_stop(self) -> None:
        self._stopping.set()
        self.kiosk.close()

    # --- navigation: the one way screens change ----------------------------------------------
    def go(self, name: str, **kwargs: Any) -> None:
        screen = self.manager.get_screen(name)
        if hasattr(screen, "enter"):
            screen.enter(**kwargs)
        self.manager.current = name
        self.screen_log.append(name)

    def back(self) -> None:
        session = self.session
        current = self.manager.current
        if session is None or current in ("idle", "closing"):
            return
        if current == "menu" and self.manager.get_screen("menu").back_to_categories():
            return
        if current in ("identify", "menu"):
            self.end("cancelled")
        elif current == "form":
            if not self.manager.get_screen("form").previous_field():
                session.back()
                self.go("menu")
        elif current == "confirm":
            session.back()
            self.go("form", last=True)
        elif current in ("result", "rating"):
            self.end("finished")

    def call_staff(self, screen: str) -> None:
        self.kiosk.call_staff(screen)
        self.show_toast("已通知工作人员，请稍候，工作人员马上过来。")

    def show_toast(self, text: str, seconds: float = 8.0) -> None:
        self.toast_text = text
        Clock.unschedule(self._hide_toast)
        Clock.schedule_once(self._hide_toast, seconds)

    def _hide_toast(self, _dt: float) -> None:
        self.toast_text = ""

    # --- the session ---------------------------------------------------------------------------
    def touch(self) -> None:
        if self.session is not None:
            self.session.touch()

    def still_here(self) -> None:
        self.touch()
        self.warning_text = ""  # the banner goes at once, not at the next tick

    def _tick(self, _dt: float) -> None:
        self.clock_text = now_local().strftime("%m月%d日 %H:%M")
        session = self.session
        if session is None:
            return
        session.tick()
        if session.warning:
            left = session.seconds_left() or 0
            unsaved = session.state in (State.CHOOSING, State.FILLING, State.CONFIRMING)
            self.warning_text = f"您还在吗？\n{int(left + 0.99)} 秒后将结束本次办理。" + (
                "\n尚未提交的内容不会保存。" if unsaved else ""
            )
        else:
            self.warning_text = ""

    def _session_event(self, event: SessionEvent) -> None:
        # Called on the UI thread (the session is only driven from it).
        if (
            event.kind == "ended"
            and self.session is not None
            and event.generation == self.session.generation
        ):
            self.session = None
            self.last_issued = None
            self.warning_text = ""
            for screen in self.manager.screens:
                screen.wipe()
            self.go("closing", message=self.kiosk.closing_message(), reason=event.data["reason"])

    def end(self, reason: str) -> None:
        if self.session is not None:
            self.session.end(reason)

    def on_card(self, record: Any, generation: int) -> None:
        result = self.kiosk.card_read(record, generation)
        if result is None:
            return
        if isinstance(result, Refusal):
            if self.manager.current in ("idle", "identify"):
                self.go("identify", problem=result.message)
            return
        self.session = result
        self.go("identify")

    def on_card_removed(self) -> None:
        self.kiosk.card_removed()
        if self.manager.current == "closing" or (
            self.manager.current == "identify" and self.session is None
        ):
            self.go("idle")

    def _read_cards(self) -> None:
        """The reader thread: reads when a card comes, reports when it goes (and, at start-up,
        that the reader is empty, which the kiosk waits for before taking any card)."""
        reader = self.reader
        if reader is None:
            return
        while not self._stopping.is_set():
            generation = self.kiosk.generation
            present = reader.card_present()
            if present and self._card_on_reader is not True:
                record = reader.read_card(timeout=READ_POLL_S)
                if record is not None:
                    self._card_on_reader = True
                    Clock.schedule_once(lambda _dt, r=record, g=generation: self.on_card(r, g))
            elif not present and self._card_on_reader is not False:
                self._card_on_reader = False
                Clock.schedule_once(lambda _dt: self.on_card_removed())
            time.sleep(READ_POLL_S)

    def run_in_background(self, work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """Device work off the UI thread, with the session's clock stopped meanwhile."""
        pause = self.session.paused() if self.session is not None else nullcontext()
        pause.__enter__()

        def worker() -> None:
            result = work()
            Clock.schedule_once(lambda _dt: finish(result))

        def finish(result: Any) -> None:
            pause.__exit__(None, None, None)
            done(result)

        threading.Thread(target=worker, name="device-work", daemon=True).start()

    def issue(self, done: Callable[[Issued], None]) -> None:
        session = self.session
        assert session is not None

        def work() -> Issued:
            return issue_documents(
                self.config_,
                session,
                receipt_printer=self.printers.get(Role.RECEIPT_PRINTER),
                certificate_printer=self.printers.get(Role.CERTIFICATE_PRINTER),
                signer=self.signer,
            )

        def finished(issued: Issued) -> None:
            self.last_issued = issued
            done(issued)

        self.run_in_background(work, finished)

    def session_state(self) -> State | None:
        return None if self.session is None else self.session.state
