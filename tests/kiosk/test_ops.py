"""Running for months: the log (JSON lines, ID-shaped text masked), the watchdog's interval, no
core dumps, and a metrics endpoint that never stops the kiosk."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.logs import LOG_FILE, file_log
from kiosk.metrics import DeviceState, KioskCollector, serve
from kiosk.service import Notifier, watchdog_interval


def test_the_log_is_json_lines_and_masks_anything_shaped_like_an_id_number(
    tmp_path: Path,
) -> None:
    handler = file_log(tmp_path, 190)
    assert handler is not None
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    try:
        logging.getLogger("kiosk.test").info(
            "row %s for %s", "K1-20261201-0001", "11010519491231002X"
        )
        logging.getLogger("kiosk.test").warning("typed 110105194912310 and 2026120100001234 items")
        try:
            raise ValueError("11010519491231002X is not on this kiosk")
        except ValueError:
            logging.getLogger("kiosk.test").exception(
                "lookup failed", extra={"number": "11010519491231002X"}
            )
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(level)
    path = tmp_path / LOG_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(r["level"], r["logger"], r["message"]) for r in records] == [
        ("INFO", "kiosk.test", "row K1-20261201-0001 for 1101**********002X"),
        # 15 digits: a first-generation number; 16 digits is no ID number and stays.
        ("WARNING", "kiosk.test", "typed 1101*******2310 and 2026120100001234 items"),
        ("ERROR", "kiosk.test", "lookup failed"),
    ]
    # The traceback and the extra field are masked too.
    assert "11010519491231002X" not in path.read_text(encoding="utf-8")
    assert records[2]["number"] == "1101**********002X"
    assert "ValueError: 1101**********002X is not on this kiosk" in records[2]["exc_info"]
    assert all(r["at"] for r in records)


@pytest.mark.parametrize(
    ("environ", "interval"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "30000000"}, 15.0),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
    ],
)
def test_the_watchdog_is_pinged_at_half_its_period(
    environ: dict[str, str], interval: float | None
) -> None:
    assert watchdog_interval(environ) == interval


def test_outside_systemd_notifications_do_nothing() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    notifier.ready()
    notifier.ping()  # no socket, no error


def test_the_kiosk_leaves_no_core_dump() -> None:
    code = (
        "import resource, ctypes\n"
        "from kiosk.service import no_core_dumps\n"
        "no_core_dumps()\n"
        "libc = ctypes.CDLL(None)\n"
        "print(resource.getrlimit(resource.RLIMIT_CORE), libc.prctl(3, 0, 0, 0, 0))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert done.stdout == "(0, 0) 0\n"  # no core file; PR_GET_DUMPABLE says 0


class Broken:
    """A kiosk whose outbox cannot be read (and whose sync view reads the outbox, as it does
    without a platform link): the other figures are still given."""

    class config:
        class kiosk:
            id = "K1"

    class outbox:
        @staticmethod
        def status() -> dict[str, object]:
            raise OSError("disk I/O error")

    @property
    def sync_state(self) -> object:
        raise OSError("disk I/O error")


def no_devices() -> list[DeviceState]:
    raise RuntimeError("the device list is changing")


def test_metrics_survive_a_broken_outbox_and_a_taken_port(caplog: pytest.LogCaptureFixture) -> None:
    names = [m.name for m in KioskCollector(Broken(), no_devices).collect()]
    assert names == ["kiosk"]
    assert "the metrics' outbox could not be read" in caplog.text
    assert "the metrics' devices could not be read" in caplog.text
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        assert serve(address, KioskCollector(Broken(), list)) is None
    assert f"metrics endpoint {address} not started" in caplog.text
