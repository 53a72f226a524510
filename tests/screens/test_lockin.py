"""Kiosk lock-in with real X events under the harness's Xvfb: Esc and Alt+F4 typed with
xdotool, and a window close request (WM_DELETE_WINDOW, what a window manager sends for Alt+F4
or a close button; this xdotool has no command for it, so it goes through libX11), leave the
kiosk where it was; the staff PIN opens the staff screens, and from there staff stop it into
maintenance mode (exit status 5)."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.harness.services import Service

KIOSK = str(Path(sys.executable).with_name("kiosk"))
NO_EVENT_MASK, CLIENT_MESSAGE = 0, 33


class ClientMessage(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", ctypes.c_ulong),
        ("message_type", ctypes.c_ulong),
        ("format", ctypes.c_int),
        ("data", ctypes.c_long * 5),
    ]


class XEvent(ctypes.Union):
    _fields_ = [("client", ClientMessage), ("pad", ctypes.c_long * 24)]


def request_close(window: int) -> None:
    """Send WM_DELETE_WINDOW to a window, as a window manager does."""
    x11 = ctypes.cdll.LoadLibrary("libX11.so.6")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XSendEvent.argtypes = [
        ctypes.c_void_p,
        ctypes.c_ulong,
        ctypes.c_int,
        ctypes.c_long,
        ctypes.POINTER(XEvent),
    ]
    x11.XFlush.argtypes = [ctypes.c_void_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    display = x11.XOpenDisplay(None)
    assert display, "cannot open the X display"
    try:
        event = XEvent()
        event.client.type = CLIENT_MESSAGE
        event.client.window = window
        event.client.message_type = x11.XInternAtom(display, b"WM_PROTOCOLS", 0)
        event.client.format = 32
        event.client.data[0] = x11.XInternAtom(display, b"WM_DELETE_WINDOW", 0)
        assert x11.XSendEvent(display, window, 0, NO_EVENT_MASK, ctypes.byref(event))
        x11.XFlush(display)
    finally:
        x11.XCloseDisplay(display)


def xdotool(*args: str) -> str:
    return subprocess.run(
        ["xdotool", *args], capture_output=True, text=True, timeout=30, check=True
    ).stdout


def events(data: Path) -> list[dict[str, str]]:
    path = data / "events.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def wait_for(condition: object, seconds: float = 20.0) -> bool:
    assert callable(condition)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())


def test_keys_and_close_requests_do_not_leave_the_kiosk_and_the_staff_pin_does(
    xvfb: Service, tmp_path: Path
) -> None:
    assert os.environ.get("DISPLAY"), "the lock-in test needs the harness's Xvfb"
    data = tmp_path / "d"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env |= {"HOME": str(tmp_path), "KIOSK_DEMO": "1", "KIOSK_DATA_DIR": str(data)}
    kiosk = subprocess.Popen(
        [KIOSK, "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        found = xdotool("search", "--sync", "--onlyvisible", "--pid", str(kiosk.pid))
        window = int(found.split()[0])
        time.sleep(2)  # the first screen drawn and the key bindings made
        xdotool("windowfocus", "--sync", str(window))
        xdotool("key", "Escape")
        xdotool("key", "alt+F4")
        xdotool("key", "F1")  # Kivy's settings panel: must stay shut
        request_close(window)
        assert wait_for(
            lambda: {"key_refused", "close_refused"} <= {e["kind"] for e in events(data)}
        ), events(data)
        time.sleep(1)
        assert kiosk.poll() is None, "the kiosk left on a key or a close request"
        refused = [e.get("key") for e in events(data) if e["kind"] == "key_refused"]
        assert refused == ["escape", "alt+f4"]
        # Staff: Ctrl+Alt+M, a wrong PIN (stays), then the right one (the demo's).
        xdotool("key", "ctrl+alt+m")
        xdotool("type", "--delay", "50", "654321")
        xdotool("key", "Return")
        assert wait_for(lambda: any(e["kind"] == "pin_refused" for e in events(data)))
        assert kiosk.poll() is None
        xdotool("type", "--delay", "50", "123456")
        xdotool("key", "Return")
        # The right PIN opens the staff screens (audited); the kiosk is still running there.
        audit = data / "admin" / "audit.jsonl"
        assert wait_for(lambda: audit.exists() and '"login"' in audit.read_text())
        assert kiosk.poll() is None
        # From the staff screens, the same chord stops it into maintenance mode.
        xdotool("key", "ctrl+alt+m")
        assert kiosk.wait(20) == 5, "staff must be able to stop the kiosk into maintenance mode"
    finally:
        if kiosk.poll() is None:
            kiosk.kill()
            kiosk.wait(10)
        if kiosk.stderr is not None:
            kiosk.stderr.close()
    kinds = [e["kind"] for e in events(data)]
    assert kinds[-1] == "maintenance"


def test_a_service_manager_stops_the_kiosk_cleanly_with_sigterm(
    xvfb: Service, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env |= {"HOME": str(tmp_path), "KIOSK_DEMO": "1", "KIOSK_DATA_DIR": str(tmp_path / "d")}
    kiosk = subprocess.Popen(
        [KIOSK, "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        xdotool("search", "--sync", "--onlyvisible", "--pid", str(kiosk.pid))
        time.sleep(1)
        kiosk.terminate()
        assert kiosk.wait(20) == 0, "SIGTERM must stop the kiosk, not be refused as a close"
    finally:
        if kiosk.poll() is None:
            kiosk.kill()
            kiosk.wait(10)
    assert "close_refused" not in {e["kind"] for e in events(tmp_path / "d")}
