"""Start the Kivy application. Kivy reads its settings when first imported, so everything it
must know (density, window, input, where to keep its files) is decided here, before."""

from __future__ import annotations

import logging
import os
import signal
from typing import Any

from kiosk.config import Config
from screens import tokens
from screens.tokens import panel_density


def prepare_kivy(config: Config, *, fullscreen: bool | None = None) -> None:
    display = config.display
    tokens.use(display.elderly_mode)
    density = panel_density(display.width_px, display.height_px, display.panel_diagonal_in)
    os.environ["KIVY_METRICS_DENSITY"] = f"{density:.4f}"  # dp = 1/160 inch on this panel
    os.environ["KIVY_NO_ARGS"] = "1"
    os.environ["KIVY_NO_CONSOLELOG"] = "1"
    # Kivy logs through Python's logging like the rest (the kiosk's handlers: masked, JSON,
    # rotated), not into files of its own or by capturing stderr.
    os.environ["KIVY_LOG_MODE"] = "PYTHON"
    os.environ.setdefault("KIVY_HOME", str(config.data_dir / "kivy"))
    os.makedirs(os.environ["KIVY_HOME"], mode=0o700, exist_ok=True)
    from kivy.config import Config as KivyConfig

    KivyConfig.set("graphics", "width", str(display.width_px))
    KivyConfig.set("graphics", "height", str(display.height_px))
    KivyConfig.set("graphics", "resizable", "0")
    full = display.fullscreen if fullscreen is None else fullscreen
    KivyConfig.set("graphics", "fullscreen", "auto" if full else "0")
    KivyConfig.set("graphics", "borderless", "1" if full else "0")
    # One input provider, so that a tap never counts twice (a touchscreen reaches SDL as
    # touches, which Kivy already turns into one event); no right-click multitouch emulation.
    for option in list(KivyConfig.options("input")):
        KivyConfig.remove_option("input", option)
    KivyConfig.set("input", "mouse", "mouse,disable_multitouch")
    KivyConfig.set("kivy", "exit_on_escape", "0")
    # The staff screen's address fields get an on-screen keyboard beside any plugged-in one;
    # residents' screens have no text fields (their keypads are buttons).
    KivyConfig.set("kivy", "keyboard_mode", "systemanddock")
    KivyConfig.set("kivy", "log_dir", os.path.join(os.environ["KIVY_HOME"], "logs"))


def run_app(config: Config, **kwargs: Any) -> int:
    """Run the touchscreen; its exit status (5 when staff left into maintenance mode)."""
    prepare_kivy(config)
    apps: list[Any] = []

    def stop(_signum: int, _frame: Any) -> None:
        # A service manager's stop (or shutdown): leave cleanly. Installed before SDL starts,
        # which then keeps it instead of turning SIGTERM into a close request the kiosk
        # would refuse.
        if apps:
            from kivy.clock import Clock

            apps[0].stopping_on_signal = True
            Clock.schedule_once(lambda _dt: apps[0].stop())

    signal.signal(signal.SIGTERM, stop)
    from screens.app import KioskApp

    app = KioskApp(config, **kwargs)
    app.service = True
    logging.getLogger().setLevel(logging.INFO)  # Kivy's import may have changed it
    apps.append(app)
    app.run()
    return int(app.exit_status)
