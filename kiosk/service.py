"""Running as a service: telling systemd the kiosk is ready and still alive (sd_notify), and
keeping a crashed kiosk from leaving personal data in a core dump.

The watchdog pings come from the touchscreen's main loop (screens.app schedules them on its
clock), so a loop that hangs stops them and systemd restarts the kiosk. Outside systemd
(NOTIFY_SOCKET unset) every call does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import resource
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import sdnotify

log = logging.getLogger("kiosk.service")
PR_SET_DUMPABLE = 4


class Notifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.enabled = bool(env.get("NOTIFY_SOCKET"))
        self._notifier = sdnotify.SystemdNotifier() if self.enabled else None

    def _send(self, message: str) -> None:
        if self._notifier is not None:
            self._notifier.notify(message)

    def ready(self) -> None:
        self._send("READY=1")

    def ping(self) -> None:
        self._send("WATCHDOG=1")

    def status(self, words: str) -> None:
        self._send(f"STATUS={words}")

    def stopping(self) -> None:
        self._send("STOPPING=1")

    def reloading(self) -> None:
        self._send("RELOADING=1")


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds between pings: half systemd's WatchdogSec, as sd_watchdog_enabled(3) advises;
    None when no watchdog is asked of this process."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        # Meant for another process (cage, which started us): systemd allows NotifyAccess=all,
        # so the kiosk pings all the same; the pid only says who systemd started.
        log.debug("watchdog asked of pid %s; this is %s", pid, os.getpid())
    return int(usec) / 2e6


def no_core_dumps() -> None:
    """A core dump of the kiosk would hold whatever resident was on screen: none is written,
    and no other process of the same user may read this one's memory (ptrace)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        log.warning("prctl(PR_SET_DUMPABLE) failed: errno %d", ctypes.get_errno())


RESTART_FLAG: Final = "restart-when-idle"
STOP_FLAG: Final = "stop-when-idle"  # a package upgrade waits for the kiosk to leave
EXIT_STATUS_FILE: Final = "exit-status"


def idle_flags(environ: Mapping[str, str] | None = None) -> dict[str, Path]:
    """Where the service leaves word for the kiosk's next idle moment (the idle screen, no
    session): `restart` (systemctl reload: start again, e.g. with new settings) and `stop` (a
    package upgrade waits for it to leave). In the service's RuntimeDirectory; none outside."""
    env = os.environ if environ is None else environ
    folder = env.get("RUNTIME_DIRECTORY", "").split(":")[0]
    if not folder:
        return {}
    return {"restart": Path(folder) / RESTART_FLAG, "stop": Path(folder) / STOP_FLAG}


def leave_exit_status(status: int, environ: Mapping[str, str] | None = None) -> None:
    """For kiosk-session (the service's main process): the kiosk's own exit status, which
    cage does not pass on. Outside the service (no RUNTIME_DIRECTORY) nothing is written."""
    env = os.environ if environ is None else environ
    folder = env.get("RUNTIME_DIRECTORY", "").split(":")[0]
    if not folder:
        return
    try:
        (Path(folder) / EXIT_STATUS_FILE).write_text(f"{status}\n")
    except OSError as error:
        log.error("could not leave the exit status for the service: %s", error)
