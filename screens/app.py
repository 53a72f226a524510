"""The Kivy application: the screens, one navigation method, and the threads that feed it.

Only the UI thread touches widgets. The card reader runs on a thread of its own and posts what
it reads onto the Kivy clock with the generation it was read for; the kiosk core drops a read
for an older generation. Printing runs on a worker thread while the session is paused.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from importlib.metadata import version
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

from devices.base import CardReader, Fault, HealthLevel, Outcome, Printer, Role
from devices.errors import DeviceError
from devices.registry import open_device
from devices.simulators.reader import SimReader
from devices.speaker import Speaker
from kiosk.cardmonitor import CardMonitor
from kiosk.clock import now_local
from kiosk.config import Config
from kiosk.core import Kiosk, Refusal
from kiosk.i18n import N_, Joined, Text, format_clock
from kiosk.issuing import Issued, issue_documents, reprint
from kiosk.selftest import Held
from kiosk.session import Session, SessionEvent, State
from kiosk.staff import audit, refused_offer
from kiosk.trust import NotGenuine, Signer, demo_signer, kiosk_signer
from screens.i18n import _, tr
from screens.tokens import FONT, FONT_BOLD, T, rgba
from screens.widgets import ResidentScreen  # importing it registers the widgets app.kv uses

Builder.load_file(str(Path(__file__).with_name("app.kv")))

log = logging.getLogger("kiosk.screens")
TICK_S = 0.25
EXIT_MAINTENANCE = 5  # `kiosk run` exits with it when staff left with the PIN
EXIT_RESTART = 75  # staff saved settings that apply from the next start: `kiosk run` starts again
KEY_ESCAPE, KEY_F4, KEY_ENTER, KEY_KEYPAD_ENTER, KEY_BACKSPACE = 27, 285, 13, 271, 8
PRINTER_CHECK_S = 5.0  # a printer's own status, asked this often (and after each job)
TOUCH_GUARD_S = 0.4  # after a screen change or the warning closing, touches are ignored
READER_DOWN = N_(
    "读卡器暂时无法使用。没带卡可输入身份证号码办理排队取号等事项，其他业务请到人工窗口办理。"
)
LANGUAGE_AT_IDLE_S = 60.0  # a language chosen at the idle screen, then nobody: back to default
IDLE_FLAGS_S = 2.0  # how often the idle screen looks for the service's word to restart or stop
FIRST_FRAME_WAIT_S = 10.0  # sync starts by then even if no frame was ever shown (no display)
# Each the NAME of the module screens.<name>; built after the first frame (KioskApp.screen).
RESIDENT_SCREENS = (
    "idle",
    "identify",
    "menu",
    "form",
    "confirm",
    "submitting",
    "result",
    "rating",
    "closing",
    "lookup",
    "keypad",
    "pin",
)
# Built when staff first open them: the SCREEN_NAME of a class in screens.staff or staff_setup.
STAFF_SCREENS = (
    "staff",
    "staff_items",
    "staff_settings",
    "staff_queue",
    "technician",
    "staff_hours",
    "staff_devices",
    "staff_hall",
)
DIM_AFTER_S = 300.0  # the idle screen untouched this long is dimmed, against burn-in


class Root(FloatLayout):
    def on_touch_down(self, touch: Any) -> bool:
        app = App.get_running_app()
        app.last_touch = time.monotonic()  # someone is there (the idle screen keeps its language)
        if app.dimmed:
            app.dimmed = False  # the first touch only brightens the screen; it presses nothing
            return True
        if time.monotonic() < getattr(app, "ignore_touches_until", 0.0):
            return True
        return bool(super().on_touch_down(touch))


class KioskApp(App):
    hall_name = StringProperty("")
    counter_hours = StringProperty("")
    clock_text = StringProperty("")
    demo = BooleanProperty(False)
    warning_text = StringProperty("")
    toast_text = StringProperty("")
    network_text = StringProperty("")  # online or not, and what waits to be sent
    notices = StringProperty("")  # emergency notices from the platform's heartbeat answers
    languages_problem = StringProperty("")  # why English cannot be offered: the switch hides
    dimmed = BooleanProperty(False)
    reader_problem = StringProperty("")  # no card reader can be opened: said on the idle screen

    def __init__(self, config: Config, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config_ = config
        self.kiosk = Kiosk(config, listener=self._session_event)
        self.hall_name = config.kiosk.hall_name
        self.counter_hours = self.kiosk.hours_words()
        self.demo = config.demo
        self.title = "社区政务服务自助机"
        self.session: Session | None = None
        self.last_issued: Issued | None = None
        self.printers: dict[Role, Printer] = {}
        post = Clock.schedule_once
        self.monitor = CardMonitor(
            config.devices.readers,
            generation=lambda: self.kiosk.generation,
            on_card=lambda record, gen: post(lambda _dt: self.on_card(record, gen)),
            on_removed=lambda: post(lambda _dt: self.on_card_removed()),
            on_refused=lambda message: post(lambda _dt: self.on_card_refused(message)),
            opener=self._open_reader,
        )
        self.numbers: list[str] = []  # transactions committed since start (for kiosk demo)
        self.signer: Signer | None = None
        self.ignore_touches_until = 0.0
        self.voice_record_to: Path | None = None  # kiosk demo keeps each prompt as a WAV here
        self.exit_status = 0  # EXIT_MAINTENANCE once staff left with the PIN
        # Platform configuration staff refused: not offered again until it changes.
        self.refused_config: dict[str, Any] | None = refused_offer(config.data_dir)
        self.stopping_on_signal = False  # SIGTERM (a service manager) stops it, cleanly
        self.service = False  # `kiosk run`: the metrics endpoint and systemd's watchdog
        self._metrics: Any = None
        self._notifier: Any = None
        self._first_frame_shown = False
        self._link_starting: threading.Thread | None = None
        self._watchdog_s: float | None = None
        self._speaker: Speaker | None = None
        # Printers are used by the printer watch and by printing, both off the UI thread.
        self.printer_lock = threading.Lock()
        self._printer_wake = threading.Event()
        self._stopping = threading.Event()
        self._warned_near_end: set[str] = set()
        self.printers_checked = 0  # how many looks have reached the screen (tests wait on it)
        # The language is the visitor's: it lasts until they leave (their session ended, their
        # typed number expired, or nobody touched the idle screen for a minute).
        self.visit_over = False
        self.last_touch = time.monotonic()
        self.idle_since = time.monotonic()  # when the idle screen was last shown
        self._printer_watch: threading.Thread | None = None

    # --- building -------------------------------------------------------------------------------
    def build(self) -> Root:
        LabelBase.register("Roboto", FONT, fn_bold=FONT_BOLD)  # every label speaks Chinese
        Window.clearcolor = rgba(T.background)
        self._check_languages()
        root = Root()
        self.manager = ScreenManager(transition=NoTransition())
        self.screen("idle")  # the others after the first frame (_build_next) or when needed
        # Screens at the bottom; the warning bar and the call-staff confirmation above them.
        root.add_widget(self.manager, index=len(root.children))
        self._open_devices()
        # What the first frame does not need waits for it: a resident sees the screen sooner.
        Window.bind(on_flip=self._after_first_frame)
        Clock.schedule_once(self._after_first_frame, FIRST_FRAME_WAIT_S)  # should none come
        # Locked in: no key and no close request leaves the kiosk; only the staff PIN does.
        Window.bind(on_request_close=self._refuse_close, on_keyboard=self._on_key)
        Clock.schedule_interval(self._tick, TICK_S)
        self._tick(0)
        self.monitor.start()
        if self.service:
            self._start_service()
        self.go("idle")
        return root

    def _start_service(self) -> None:
        """`kiosk run`: the metrics endpoint, and systemd told the kiosk is ready once the first
        frame is drawn, then pinged from this main loop: a loop that hangs stops the pings."""
        from kiosk.metrics import KioskCollector, serve
        from kiosk.service import Notifier, idle_flags, watchdog_interval

        self._metrics = serve(
            self.config_.monitoring.metrics, KioskCollector(self.kiosk, self.device_states)
        )
        self._notifier = Notifier()  # READY once the first frame is on the screen, then pings
        self._watchdog_s = watchdog_interval()
        self._idle_flags = idle_flags()
        if self._idle_flags:
            Clock.schedule_interval(self._leave_when_idle, IDLE_FLAGS_S)

    def _after_first_frame(self, *_args: Any) -> None:
        """The idle screen is showing: systemd hears READY, the platform link starts, and the
        other screens are built."""
        if self._first_frame_shown:
            return
        self._first_frame_shown = True
        Window.unbind(on_flip=self._after_first_frame)
        if self._notifier is not None:
            self._notifier.ready()
            if self._watchdog_s:
                Clock.schedule_interval(lambda _dt: self._notifier.ping(), self._watchdog_s)
        self._link_starting = threading.Thread(
            target=self._start_link, name="platform-link", daemon=True
        )
        self._link_starting.start()
        Clock.schedule_once(self._build_next, 0)

    def _start_link(self) -> None:
        """Off the UI thread: the link loads the keys and makes its client, and in demo mode
        starts the reference platform, whose web framework alone takes a fifth of a second to
        import. Until it is there the screens show the outbox's own counts."""
        try:
            self.kiosk.start_sync(report=self._report)
        except Exception as error:
            log.exception("the platform link did not start")
            self.note("sync_unavailable", {"reason": error.__class__.__name__})

    def _build_next(self, _dt: float) -> None:
        """One more resident screen, one per frame, so that the idle screen answers a touch
        meanwhile; the staff screens wait for staff."""
        for name in RESIDENT_SCREENS:
            if not self.manager.has_screen(name):
                self.screen(name)
                Clock.schedule_once(self._build_next, 0)
                return

    def _leave_when_idle(self, _dt: float) -> None:
        """Word from the service (kiosk.service.idle_flags): start again, or stop for a package
        upgrade, now that nobody is being served (the idle screen, no session), never under a
        resident."""
        if self.manager.current != "idle" or self.session is not None:
            return
        for what, flag in self._idle_flags.items():
            if flag.exists():
                flag.unlink(missing_ok=True)
                self.note(f"{what}_when_idle", {})
                self.exit_status = EXIT_RESTART if what == "restart" else 0
                self.stop()
                return

    def device_states(self) -> list[Any]:
        """Each configured device and whether it can be used now (for the metrics; called from
        the endpoint's thread, reading what the monitor and the printer watch last saw)."""
        from kiosk.metrics import DeviceState

        states = [
            DeviceState(Role.READER.value, w.url, w.reader is not None)
            for w in self.monitor.watched
        ]
        devices = self.config_.devices
        for role, url in (
            (Role.RECEIPT_PRINTER, devices.receipt_printer),
            (Role.CERTIFICATE_PRINTER, devices.certificate_printer),
        ):
            if url:
                up = role in self.printers and role.value not in self.kiosk.out_of_order
                states.append(DeviceState(role.value, url, up))
        return states

    def _check_languages(self) -> None:
        """Every catalog loads now, or the kiosk starts without the switch (and says why) rather
        than stopping at a resident's first tap."""
        from kiosk.i18n import LANGUAGES, CatalogMissing, catalog

        for lang in LANGUAGES:
            try:
                catalog(lang)
            except CatalogMissing as error:
                self.languages_problem = str(error)
                log.error("language switch hidden: %s", error)
                self.note("languages_unavailable", {"reason": str(error)})
        default = self.config_.kiosk.language
        tr.switch(default if not self.languages_problem else "zh_CN")

    def _open_devices(self) -> None:
        """Open what can be opened; a device that cannot is retried later, and the items that
        need it are shown as unavailable meanwhile. The kiosk starts either way."""
        self._printer_watch = threading.Thread(
            target=self._watch_printers, name="printer-watch", daemon=True
        )
        self._printer_watch.start()
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

    @staticmethod
    def _open_reader(url: str) -> CardReader:
        device = open_device(url, Role.READER)
        assert isinstance(device, CardReader)
        if isinstance(device, SimReader):
            device.remove()  # a simulated reader starts empty; the demo presents cards
        return device

    @property
    def reader(self) -> CardReader | None:
        """The first configured reader, once the monitor has opened it."""
        return self.monitor.watched[0].reader if self.monitor.watched else None

    def refresh_printers(self) -> None:
        """Ask the printer watch to look now (it runs on its own thread: a printer that does not
        answer must not freeze the screen). The menu shows what the last look found."""
        self._printer_wake.set()

    def _watch_printers(self) -> None:
        """Every PRINTER_CHECK_S, and when asked: open missing printers and ask each for its
        status (no side effect); what cannot print makes its items unavailable, with the
        reason in words. Paper near its end is told to staff once."""
        while not self._stopping.is_set():
            try:
                with self.printer_lock:
                    if self._stopping.is_set():
                        return
                    found = self._check_printers()
                Clock.schedule_once(lambda _dt, found=found: self._apply_printers(found))
            except Exception:
                # The watch must outlive a surprise (a full disk for the events file, say):
                # without it the menu would show the last printer state for ever.
                log.exception("printer check failed; trying again")
            self._printer_wake.wait(PRINTER_CHECK_S)
            self._printer_wake.clear()

    def _check_printers(self) -> dict[str, str | None]:
        wanted = (
            (Role.RECEIPT_PRINTER, self.config_.devices.receipt_printer, "receipt_printer"),
            (
                Role.CERTIFICATE_PRINTER,
                self.config_.devices.certificate_printer,
                "certificate_printer",
            ),
        )
        found: dict[str, str | None] = {}
        for role, url, need in wanted:
            if not url:
                continue
            printer = self.printers.get(role)
            if printer is None:
                try:
                    opened = open_device(url, role)
                except DeviceError:
                    found[need] = N_("打印机未连接")
                    continue
                assert isinstance(opened, Printer)
                printer = self.printers[role] = opened
            health = printer.check_health(HealthLevel.INTERNAL)
            if health.outcome is Outcome.FAILED:
                consumables = health.fault is Fault.CONSUMABLES
                found[need] = N_("打印机缺纸") if consumables else N_("打印机故障")
            else:
                found[need] = None
            near_end = health.data.get("paper") == "near_end"
            if near_end and need not in self._warned_near_end:
                self.kiosk.record_event("paper_near_end", {"printer": need})
            (self._warned_near_end.add if near_end else self._warned_near_end.discard)(need)
        return found

    def _apply_printers(self, found: dict[str, str | None]) -> None:
        for need, reason in found.items():
            if reason is None:
                self.kiosk.out_of_order.pop(need, None)
            else:
                self.kiosk.out_of_order[need] = reason
        self.printers_checked += 1

    @property
    def speaker(self) -> Speaker:
        if self._speaker is None:
            voice = self.config_.voice
            self._speaker = Speaker(
                voice=voice.voice,
                volume=voice.volume,
                play=voice.enabled and self.voice_record_to is None,
                record_to=self.voice_record_to,
                other_voices=(voice.voice_en,),
            )
        return self._speaker

    def on_stop(self) -> None:
        if self._notifier is not None:
            # Starting again (exit 75: `kiosk run` replaces itself) is a reload to systemd; the
            # new process says READY again. Anything else is a stop.
            if self.exit_status == EXIT_RESTART:
                self._notifier.reloading()
            else:
                self._notifier.stopping()
        if self._metrics is not None:
            self._metrics.stop()
        if self._speaker is not None:
            self._speaker.close()
        self._stopping.set()
        self._printer_wake.set()
        if self._printer_watch is not None:
            self._printer_watch.join(5)
        if self._link_starting is not None:
            self._link_starting.join(5)  # a link made after the outbox closed would never stop
        # Printers hold serial ports and sockets: give them back (a shell's `kiosk print`
        # may want them next). A job still printing keeps the lock; then leave them to exit.
        if self.printer_lock.acquire(timeout=2):
            try:
                for printer in self.printers.values():
                    printer.close()
                self.printers.clear()
            finally:
                self.printer_lock.release()
        self.monitor.stop()
        self.kiosk.close(sync_timeout_s=2.0)  # on the UI thread: do not wait out a request

    # --- navigation: the one way screens change -------------------------------------------------
    def go(self, name: str, **kwargs: Any) -> None:
        # A second tap meant for the old screen must not land on the new one.
        self.ignore_touches_until = time.monotonic() + TOUCH_GUARD_S
        if name == "idle":
            self._next_visitor()
            self.idle_since = time.monotonic()
        screen = self.screen(name)
        if hasattr(screen, "enter"):
            screen.enter(**kwargs)
        self.manager.current = name
        self.speak_current()

    def screen(self, name: str) -> Any:
        """The screen called `name`, built now if it was not yet: only the idle screen is built
        before the first frame, the other residents' screens follow one per frame, and the
        staff screens are built (and their modules imported) when staff first open them."""
        if not self.manager.has_screen(name):
            if name in STAFF_SCREENS:
                from screens import staff, staff_setup

                classes = {c.SCREEN_NAME: c for c in staff.SCREENS + staff_setup.SCREENS}
                self.manager.add_widget(classes[name](name=name))
            elif name in RESIDENT_SCREENS:
                module = importlib.import_module(f"screens.{name}")  # loads its .kv rules too
                self.manager.add_widget(module.SCREEN(name=module.NAME))
        return self.manager.get_screen(name)

    # --- lock-in --------------------------------------------------------------------------------
    def _refuse_close(self, *_args: Any, **_kwargs: Any) -> bool:
        """A window close request (Alt+F4 from a window manager, a close button): refused,
        and recorded for staff; True tells Kivy the request was handled."""
        if self.exit_status in (EXIT_MAINTENANCE, EXIT_RESTART) or self.stopping_on_signal:
            return False
        self.note("close_refused", {"screen": self.manager.current})
        return True

    def note(self, kind: str, fields: dict[str, Any]) -> None:
        """An event for staff that must never take the kiosk down (a full disk, say)."""
        try:
            self.kiosk.record_event(kind, fields)
        except OSError:
            log.exception("could not record the %s event", kind)

    def open_settings(self, *_args: Any) -> bool:
        """Kivy's own settings panel (F1) stays shut: it would change the kiosk under a
        resident and write Kivy's configuration."""
        return False

    def _on_key(self, _window: Any, key: int, _scancode: int, text: str | None, mods: Any) -> bool:
        """Keys a resident (or a stray keyboard) might use to leave do nothing; Ctrl+Alt+M asks
        for the staff PIN; on the PIN screen, digits and Enter work from a staff keyboard."""
        modifiers = set(mods or ())
        if self.manager.current == "pin":
            screen = self.screen("pin")
            if text and text.isascii() and text.isdigit():
                screen.press(text)
                return True
            if key == KEY_BACKSPACE:
                screen.press("del")
                return True
            if key in (KEY_ENTER, KEY_KEYPAD_ENTER):
                screen.confirm()
                return True
        if {"ctrl", "alt"} <= modifiers and text in ("m", "M") and self.session is None:
            if self.manager.current in STAFF_SCREENS:
                self.leave_for_maintenance()  # the same chord, from the staff screens: stop
            else:
                self.go("pin")
            return True
        if key == KEY_ESCAPE or (key == KEY_F4 and "alt" in modifiers):
            self.note("key_refused", {"key": "escape" if key == KEY_ESCAPE else "alt+f4"})
            return True
        return False

    def leave_for_maintenance(self) -> None:
        """Staff chose to stop the touchscreen into maintenance mode (exit status 5)."""
        self.exit_status = EXIT_MAINTENANCE
        self.note("maintenance", {"screen": self.manager.current})
        self.audit_action("maintenance", {})
        self.stop()

    def restart(self) -> None:
        """Staff saved settings the running kiosk cannot take over (devices, platform, kiosk id):
        stop, and `kiosk run` starts again with them."""
        self.exit_status = EXIT_RESTART
        self.audit_action("restart", {})
        self.stop()

    # --- staff ----------------------------------------------------------------------------------
    def staff_enter(self) -> None:
        """The staff PIN was right."""
        self.audit_action("login", {})
        self.go("staff")

    def staff_leave(self, reason: str) -> None:
        """Back to self-service: `logout`, or `timeout` when a staff screen was left open."""
        self.audit_action(reason, {})
        if self.kiosk.card_must_be_removed and self.monitor.card_present():
            self.go("identify", problem=N_("请先取走卡片，再重新放置，开始新的业务。"))
            return
        self.go("idle")

    def reprint(self, number: str, done: Callable[[Any], None]) -> None:
        """Staff reprint a transaction's documents (kiosk.issuing.reprint), off the UI thread."""

        def work() -> Issued:
            with self.printer_lock:
                return reprint(
                    self.config_,
                    self.kiosk.outbox,
                    self.kiosk.catalog,
                    number,
                    receipt_printer=self.printers.get(Role.RECEIPT_PRINTER),
                    certificate_printer=self.printers.get(Role.CERTIFICATE_PRINTER),
                    signer=None if self.kiosk.certificates_withheld() else self.signer,
                )

        def finished(result: Any) -> None:
            self.audit_action(
                "reprint", {"number": number, "ok": not isinstance(result, Exception)}
            )
            done(result)

        self.run_in_background(work, finished)

    def selftest_held(self) -> dict[tuple[Role, str], Held]:
        """The devices this touchscreen holds, for the technician's self-test to use in turn
        with the card monitor and the printer watch (never through a second handle)."""
        held = {
            (Role.READER, w.url): Held(w.reader, self.monitor.lock) for w in self.monitor.watched
        }
        devices = self.config_.devices
        for role, url in (
            (Role.RECEIPT_PRINTER, devices.receipt_printer),
            (Role.CERTIFICATE_PRINTER, devices.certificate_printer),
        ):
            if url:
                held[role, url] = Held(self.printers.get(role), self.printer_lock)
        return held

    def reconfigure(self, config: Config) -> None:
        """Staff changed settings: in effect from now (kiosk.staff wrote and audited them)."""
        self.config_ = config
        self.kiosk.reconfigure(config)
        self.counter_hours = self.kiosk.hours_words()
        if self._speaker is not None:
            self._speaker.volume = config.voice.volume
            self._speaker.play = config.voice.enabled and self.voice_record_to is None

    def audit_action(self, action: str, what: dict[str, Any]) -> None:
        """A staff action into the audit log. A log that cannot be written (a full disk) must
        not take the touchscreen down: it is said in the kiosk's log and events instead."""
        try:
            audit(self.config_.data_dir, "staff", action, what)
        except OSError as error:
            log.error("could not write the audit log (%s): %s", action, error)
            self.note("audit_failed", {"action": action})

    # --- voice ----------------------------------------------------------------------------------
    def speak_current(self) -> None:
        """Say the current screen's prompt (and show it as the caption). Returns at once: the
        speaker synthesises and plays on its own thread."""
        screen = self.manager.current_screen
        if not isinstance(screen, ResidentScreen):
            return  # staff screens do not speak: a public hall need not hear them
        screen.spoken = _(screen.spoken_prompt())
        if self.config_.voice.enabled or self.voice_record_to is not None:
            voice = self.config_.voice
            self.speaker.say(
                screen.name, screen.spoken, voice.voice if tr.lang == "zh_CN" else voice.voice_en
            )

    # --- language -------------------------------------------------------------------------------
    def switch_language(self, lang: str = "") -> None:
        """One tap: the other language. Static words follow at once (kv rules bind to the
        translator); the current screen rebuilds what it made in code; the prompt is said again
        in the new language."""
        self.touch()
        # The button changes its words where it stands: a second tap of a double tap must not
        # switch straight back.
        self.ignore_touches_until = time.monotonic() + TOUCH_GUARD_S
        # On the closing screen the visit is over but the resident still reads: their choice
        # holds until the screen goes (the next visitor then starts in the default).
        tr.switch(lang or tr.other)
        self._tick(0)
        screen = self.manager.current_screen
        screen.relabel()
        self.speak_current()

    def end_visit(self) -> None:
        """The resident has gone: the next screen they would have seen is the next visitor's."""
        self.visit_over = True

    def _next_visitor(self) -> None:
        if self.visit_over:
            self.visit_over = False
            tr.switch(self.config_.kiosk.language if not self.languages_problem else "zh_CN")
            self.clock_text = format_clock(now_local(), tr.lang)

    def repeat_prompt(self) -> None:
        self.touch()
        self.speak_current()

    def back(self) -> None:
        session = self.session
        current = self.manager.current
        if session is None:
            if current in ("identify", "keypad", "pin"):  # refused card, no number, no PIN
                self.go("idle")
            return
        if current == "menu" and self.screen("menu").back_to_categories():
            return
        if current in ("identify", "menu"):
            self.end("cancelled")
        elif current == "form":
            if not self.screen("form").previous_field():
                self._back_to_items()
        elif current == "confirm":
            session.back()
            if session.item is not None and not session.item.fields:
                self._back_to_items()
            else:
                self.go("form", last=True)
        elif current == "rating":
            session.back()
            self.go("result")
        elif current == "result":
            self.end("finished")
        elif current == "lookup":
            self.go("menu")

    def _back_to_items(self) -> None:
        session = self.session
        assert session is not None
        category = session.item.category if session.item else ""
        session.back()
        self.go("menu", category=category)

    def call_staff(self, screen: str) -> None:
        try:
            self.kiosk.call_staff(screen)
        except OSError:
            self.show_toast(N_("呼叫未能发出，请到人工窗口找工作人员。"))
            return
        self.show_toast(N_("已发出呼叫，请稍候。如无人应答，请到人工窗口找工作人员。"))

    def show_toast(self, text: str, seconds: float = 8.0) -> None:
        self.toast_text = text
        Clock.unschedule(self._hide_toast)
        Clock.schedule_once(self._hide_toast, seconds)

    def _hide_toast(self, _dt: float) -> None:
        self.toast_text = ""

    # --- the session ----------------------------------------------------------------------------
    def touch(self) -> None:
        if self.session is not None:
            self.session.touch()

    def still_here(self) -> None:
        self.touch()
        self.warning_text = ""  # the banner goes at once, not at the next tick
        self.ignore_touches_until = time.monotonic() + TOUCH_GUARD_S

    def _watch_readers(self) -> None:
        """No reader that opens (each tried at least once): the idle screen says so and what
        can still be done; staff learn it from the events, once per outage."""
        watched = self.monitor.watched
        down = bool(watched) and all(w.reader is None and w.retry_at > 0 for w in watched)
        problem = READER_DOWN if down else ""
        if problem != self.reader_problem:
            self.reader_problem = problem
            self.note("reader_down" if down else "reader_back", {})
            if self.manager.current == "idle":
                self.speak_current()

    def _report(self) -> dict[str, Any]:
        """What the heartbeat tells the platform of this kiosk (read on the sync thread)."""
        return {
            "version": version("community-kiosk"),
            "devices": dict(self.kiosk.out_of_order),  # a copy: the UI thread changes it
        }

    def _tick(self, _dt: float) -> None:
        self._watch_readers()
        self.dimmed = (
            self.manager.current == "idle"
            and self.session is None
            and time.monotonic() - max(self.last_touch, self.idle_since) > DIM_AFTER_S
        )
        if (
            tr.lang != self.config_.kiosk.language
            and self.manager.current == "idle"
            and time.monotonic() - self.last_touch > LANGUAGE_AT_IDLE_S
        ):
            # Chosen at the idle screen by someone who then left: quietly back to the default.
            self.end_visit()
            self._next_visitor()
            self.manager.current_screen.spoken = _(self.manager.current_screen.spoken_prompt())
        self.clock_text = format_clock(now_local(), tr.lang)
        # A snapshot the sync thread replaces (the outbox's counts until the link started).
        state = self.kiosk.sync_state
        if state.paused:
            network = N_("● 数据上传已暂停，业务照常受理，请工作人员处理")
        elif self.kiosk.platform_reachable:
            network = N_("● 网络正常")
        else:
            network = N_("○ 网络中断，业务照常受理，恢复后自动上传")
        if state.queued:
            network = Text("{status} · 待上传 {count} 件", status=network, count=state.queued)
        self.network_text = network
        # The platform writes its notices in Chinese only; they are shown as they come.
        self.notices = Joined([Text("【通知】{text}", text=t) for t in state.notices[:3]])
        session = self.session
        if session is None:
            return
        session.tick()
        if session.warning:
            left = session.seconds_left() or 0
            unsaved = session.state in (State.CHOOSING, State.FILLING, State.CONFIRMING)
            seconds = int(left + 0.99)
            self.warning_text = (
                Text(
                    "您还在吗？\n{seconds} 秒后将结束本次办理。\n尚未提交的内容不会保存。",
                    seconds=seconds,
                )
                if unsaved
                else Text("您还在吗？\n{seconds} 秒后将结束本次办理。", seconds=seconds)
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
            self.end_visit()  # the closing screen is still theirs, in their language
            self.go("closing", message=self.kiosk.closing_message(), reason=event.data["reason"])

    def end(self, reason: str) -> None:
        if self.session is not None:
            self.session.end(reason)

    def on_card(self, record: Any, generation: int) -> None:
        if self.manager.current in (*STAFF_SCREENS, "pin"):
            # Staff are at the kiosk: a card laid down now starts nothing; it must be lifted
            # and laid again, and the screen says so when staff leave.
            self.kiosk.card_must_be_removed = True
            return
        result = self.kiosk.card_read(record, generation)
        if result is None:
            return
        if isinstance(result, Refusal):
            if self.manager.current in ("idle", "identify"):
                self.go("identify", problem=result.message)
            return
        self.begin(result)

    def begin(self, session: Session) -> None:
        """A new session: a card read, or a typed number accepted."""
        self._next_visitor()  # a card laid down during the last one's closing screen
        self.session = session
        self.go("identify")

    def on_card_removed(self) -> None:
        self.kiosk.card_removed()
        if self.manager.current == "closing" or (
            self.manager.current == "identify" and self.session is None
        ):
            self.go("idle")

    def on_card_refused(self, message: str) -> None:
        if self.session is None and self.manager.current in ("idle", "identify"):
            self.go("identify", problem=message)

    def run_in_background(self, work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """Device work off the UI thread, with the session's clock stopped meanwhile."""
        pause = self.session.paused() if self.session is not None else nullcontext()
        pause.__enter__()

        def worker() -> None:
            try:
                result = work()
            except Exception as error:  # noqa: BLE001 - turned into words for the resident
                result = error
            Clock.schedule_once(lambda _dt: finish(result))

        def finish(result: Any) -> None:
            pause.__exit__(None, None, None)
            done(result)

        threading.Thread(target=worker, name="device-work", daemon=True).start()

    def issue(self, done: Callable[[Issued], None]) -> None:
        session = self.session
        assert session is not None

        def work() -> Issued:
            with self.printer_lock:
                return issue_documents(
                    self.config_,
                    session,
                    receipt_printer=self.printers.get(Role.RECEIPT_PRINTER),
                    certificate_printer=self.printers.get(Role.CERTIFICATE_PRINTER),
                    # Asked again now: the clock may have been found off since the menu was built.
                    signer=None if self.kiosk.certificates_withheld() else self.signer,
                )

        def finished(issued: Issued | Exception) -> None:
            self.refresh_printers()  # a job that failed says something about the printer
            if isinstance(issued, Exception):
                # The transaction is committed whatever happened to the paper.
                issued = Issued(
                    problems=[N_("打印出现故障。您的业务已经受理，请联系工作人员补打。")]
                )
            self.last_issued = issued
            done(issued)

        self.run_in_background(work, finished)
