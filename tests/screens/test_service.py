"""The kiosk as a service: systemd's notifications (ready, then watchdog pings from the main
loop, which stop when the loop hangs), and the metrics the fleet reads, on a real socket and a
real HTTP endpoint on loopback."""

from __future__ import annotations

import itertools
import json
import socket
import sys
import threading
import time
from pathlib import Path

from devices.simulators.people import PEOPLE
from tests.harness.services import Service
from tests.screens.test_ui import HERE, run


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_watchdog_pings_stop_while_the_main_loop_hangs_and_metrics_answer(
    xvfb: Service, tmp_path: Path
) -> None:
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    received: list[tuple[float, str]] = []
    done = threading.Event()

    def listen() -> None:
        notify.settimeout(0.2)
        while not done.is_set():
            try:
                data = notify.recv(4096)
            except TimeoutError:
                continue
            received.append((time.time(), data.decode()))

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    port = free_port()
    try:
        result = run(
            [sys.executable, str(HERE / "ui_service.py"), str(tmp_path / "service.json")],
            tmp_path,
            NOTIFY_SOCKET=str(tmp_path / "notify"),
            WATCHDOG_USEC="1000000",  # WatchdogSec=1: a ping every half second
            KIOSK_METRICS=f"127.0.0.1:{port}",
            RUNTIME_DIRECTORY=str(tmp_path),
        )
    finally:
        done.set()
        listener.join(2)
        notify.close()
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "service.json").read_text(encoding="utf-8"))
    assert report["summary"]["error"] == ""
    messages = [m for _t, m in received]
    assert messages[0] == "READY=1"
    assert report["screens_built"] == [  # every resident's screen, and no staff screen yet
        "closing",
        "confirm",
        "form",
        "identify",
        "idle",
        "keypad",
        "lookup",
        "menu",
        "pin",
        "rating",
        "result",
        "submitting",
    ]
    assert report["sync_started"] is True
    assert messages[-1] == "RELOADING=1"  # exit 75: the kiosk starts again, a reload to systemd
    pings = [t for t, m in received if m == "WATCHDOG=1"]
    hang_from, hang_to = report["block_from"], report["block_to"]
    before = [t for t in pings if t < hang_from]
    during = [t for t in pings if hang_from + 0.1 < t < hang_to]
    after = [t for t in pings if t > hang_to]
    assert len(before) >= 4, pings  # steady while the loop runs
    assert during == [], (hang_from, hang_to, pings)  # systemd would restart the kiosk now
    assert after, pings  # back once the loop runs again
    quiet = [t for t in before if t < report["quiet_until"]]
    gaps = [b - a for a, b in itertools.pairwise(quiet) if b - a > 1.0]
    assert gaps == [], gaps  # never a second without a ping while the idle loop runs
    # A new version's word to restart waits out the resident's session, then is taken.
    assert report["during_session"][0] == 0
    assert report["during_session"][1] != "idle"
    assert "still_running" not in report
    assert report["exit_status"] == 75
    assert report["flag_left"] is False
    events = (tmp_path / "d" / "events.jsonl").read_text(encoding="utf-8")
    assert '"kind": "restart_when_idle"' in events
    # Against burn-in: dimmed after five minutes alone; a touch brightens it and does nothing
    # else; back from a session the screen is bright.
    assert report["dimmed_after_5_min"] is True
    assert report["after_first_touch"] == [False, "idle"]
    assert report["dimmed_after_session"] is False
    # The metrics: the outbox, the last delivery, the platform, each device, and the counts.
    first, last = report["metrics_before"], report["metrics_after"]
    assert 'kiosk_outbox_rows{status="queued"} 0.0' in first
    assert "kiosk_transactions_total 0.0" in first
    assert 'kiosk_device_up{role="reader",url="sim://"} 1.0' in first
    assert 'kiosk_device_up{role="receipt_printer",url="sim://"} 1.0' in first
    assert 'kiosk_device_up{role="certificate_printer",url="sim://"} 1.0' in first
    assert 'kiosk_info{kiosk_id="DEMO-0001"' in first
    assert "kiosk_platform_up 1.0" in last
    assert 'kiosk_outbox_rows{status="accepted"} 2.0' in last  # the transaction and its rating
    assert "kiosk_outbox_oldest_queued_age_seconds 0.0" in last
    assert "kiosk_transactions_total 1.0" in last
    assert 'kiosk_sessions_total{identified_by="resident_id"} 1.0' in last
    assert "kiosk_last_successful_sync_timestamp_seconds " in last
    # The log: JSON lines, and no personal data in them or in any figure.
    resident = PEOPLE["resident"].fields
    lines = (tmp_path / "d" / "logs" / "kiosk.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert records, "the session left no log lines"
    assert all({"at", "level", "logger", "message"} <= set(r) for r in records)
    for text in (first, last, *lines):
        for value in (resident["name"], resident["id_number"], resident["address"]):
            assert value not in text
