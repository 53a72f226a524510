"""The touchscreen against bare Kivy, both under one private Xvfb: `kiosk --demo run` from
start to its first frame (its READY to systemd, sent once the first frame is drawn) against a
bare Kivy app showing one label in the same font (READY the same way); and a tap to the next
screen's first frame against a bare ScreenManager switch."""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import row
from tests.harness.services import start_xvfb

REPO = Path(__file__).parents[1]
STARTS = 5


def _ready_after(argv: list[str], env: dict[str, str], folder: Path) -> float:
    """Seconds from starting `argv` to its READY=1 on a notify socket of our own."""
    path = folder / f"notify-{time.monotonic_ns()}"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(path))
    notify.settimeout(120)
    started = time.perf_counter()
    process = subprocess.Popen(
        argv,
        env={**env, "NOTIFY_SOCKET": str(path)},
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while notify.recv(4096) != b"READY=1":
            pass
        return time.perf_counter() - started
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(60)
        notify.close()


def _script(name: str, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / name)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return dict(json.loads(done.stdout.splitlines()[-1]))


def touchscreen() -> list[dict[str, Any]]:
    xvfb = start_xvfb()
    try:
        with tempfile.TemporaryDirectory(prefix="kiosk-bench-", dir=REPO / "build") as folder:
            base = Path(folder)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("KIOSK_", "NOTIFY_"))}
            env.update(
                {
                    "DISPLAY": xvfb.env["DISPLAY"],
                    "HOME": folder,
                    "KIOSK_DATA_DIR": f"{folder}/data",
                    "KIOSK_METRICS": "",
                    "KIVY_NO_ARGS": "1",
                    "TZ": "Asia/Shanghai",
                }
            )
            kiosk = [str(REPO / ".venv/bin/kiosk"), "--demo", "run"]
            bare = [sys.executable, str(REPO / "benchmarks" / "bare_app.py")]
            kiosk_s, bare_s = [], []
            for _ in range(STARTS):  # interleaved: a busy moment falls on both
                kiosk_s.append(_ready_after(kiosk, env, base))
                bare_s.append(_ready_after(bare, env, base))
            taps = _script("ui_tap.py", env)
    finally:
        xvfb.stop()
    return [
        row(
            "kiosk run to its first frame vs a bare Kivy label, same font",
            statistics.median(kiosk_s),
            statistics.median(bare_s),
            goal=1.5,
        ),
        row(
            "tap to the next screen's first frame vs a bare ScreenManager switch",
            taps["tap_s"],
            taps["bare_s"],
            goal=2.0,
            note=f"goal also: under 100 ms (median {taps['tap_s'] * 1000:.0f} ms)",
        ),
    ]
