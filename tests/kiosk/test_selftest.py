"""`kiosk selftest` as a technician runs it: every configured device at the design's levels and
what the kiosk stands on; exit 0 only when every check that ran passed; the failing check names
the device; the summary goes with the next heartbeat."""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

from kiosk.core import Kiosk
from kiosk.selftest import REPORT_FILE, last_summary, touchscreen_lock, try_setting
from kiosk.soak import run_soak
from offline_cache import platform_server
from tests.kiosk.test_cli import kiosk
from tests.kiosk.test_platform import demo_config, wait_for

KIOSK_WIDE = {
    "disk",
    "outbox",
    "platform",
    "clock",
    "catalog",
    "signing key",
    "fonts",
    "languages",
}
FIELDS = {"name", "level", "ok", "detail", "duration_ms"}


def selftest(tmp_path: Path, *args: str, **env: str) -> tuple[int, dict[str, Any]]:
    done = kiosk(
        "--demo",
        "selftest",
        "--json",
        *args,
        env={"HOME": str(tmp_path), "KIOSK_DATA_DIR": str(tmp_path / "data"), **env},
    )
    assert done.stderr == "", done.stderr
    return done.returncode, json.loads(done.stdout)


def test_in_demo_mode_every_check_passes_or_could_not_run_here(tmp_path: Path) -> None:
    code, report = selftest(tmp_path)
    assert code == 0, [c for c in report["checks"] if c["ok"] is False]
    checks = report["checks"]
    assert all(set(c) == FIELDS for c in checks)
    assert all(isinstance(c["duration_ms"], int) and c["duration_ms"] >= 0 for c in checks)
    names = {c["name"] for c in checks}
    assert names >= KIOSK_WIDE
    assert {"reader sim://", "receipt printer sim://", "certificate printer sim://"} <= names
    assert "speaker" in names
    # By default the internal and external levels run, for each device.
    levels = {(c["name"], c["level"]) for c in checks}
    for device in ("reader sim://", "receipt printer sim://", "speaker"):
        assert {(device, "internal"), (device, "external")} <= levels
    assert all(c["level"] != "interactive" for c in checks)
    assert {c["name"]: c["ok"] for c in checks if c["name"] in KIOSK_WIDE} == dict.fromkeys(
        KIOSK_WIDE, True
    )
    clock = next(c for c in checks if c["name"] == "clock")
    assert clock["detail"].endswith("s from the platform's time")
    # Kept for the next heartbeat, without personal data.
    kept = json.loads((tmp_path / "data" / REPORT_FILE).read_text(encoding="utf-8"))
    assert kept["ok"] is True
    assert kept["checks"] == checks


def test_a_printer_that_is_not_there_fails_by_name(tmp_path: Path) -> None:
    code, report = selftest(tmp_path, KIOSK_RECEIPT_PRINTER="escpos+tcp://127.0.0.1:9")
    assert code == 1
    assert report["ok"] is False
    failed = [c for c in report["checks"] if c["ok"] is False]
    assert {c["name"] for c in failed} == {"receipt printer escpos+tcp://127.0.0.1:9"}
    assert {c["level"] for c in failed} == {"internal", "external"}
    assert all("127.0.0.1:9" in c["detail"] for c in failed)
    summary = last_summary(tmp_path / "data")
    assert summary is not None
    assert summary["failed"] == ["receipt printer escpos+tcp://127.0.0.1:9"]  # once, not per level
    # The plain report says the same to a person.
    plain = kiosk(
        "--demo",
        "selftest",
        env={
            "HOME": str(tmp_path),
            "KIOSK_DATA_DIR": str(tmp_path / "data"),
            "KIOSK_RECEIPT_PRINTER": "escpos+tcp://127.0.0.1:9",
        },
    )
    assert plain.returncode == 1
    assert "✗ [internal] receipt printer escpos+tcp://127.0.0.1:9: cannot be opened" in plain.stdout
    assert plain.stdout.rstrip().endswith("; failed: receipt printer escpos+tcp://127.0.0.1:9")


def test_interactive_checks_are_not_run_without_a_person(tmp_path: Path) -> None:
    code, report = selftest(tmp_path, "--level", "interactive")
    assert code == 0
    checks = report["checks"]
    assert {c["level"] for c in checks} == {"interactive"}
    assert {c["ok"] for c in checks} == {None}
    names = {c["name"] for c in checks}
    assert {"touch grid", "colour and contrast chart", "speaker", "reader sim://"} <= names


def test_the_platform_that_is_not_there_and_a_wrong_clock_are_named(tmp_path: Path) -> None:
    code, report = selftest(
        tmp_path, "--level", "internal", KIOSK_PLATFORM_URL="http://127.0.0.1:9"
    )
    assert code == 1
    failed = {c["name"]: c["detail"] for c in report["checks"] if c["ok"] is False}
    assert set(failed) == {"platform", "clock"}
    assert "no answer from the platform" in failed["platform"]
    assert "unknown" in failed["clock"]


def test_the_next_heartbeat_carries_the_last_summary(tmp_path: Path) -> None:
    running = platform_server.start(tmp_path / "platform", quiet=True)
    try:
        config = demo_config(tmp_path, KIOSK_PLATFORM_URL=running.url)
        code, _ = selftest(
            tmp_path,
            "--level",
            "internal",
            KIOSK_READER="sim://everyone",
            KIOSK_PLATFORM_URL=running.url,
            KIOSK_RECEIPT_PRINTER="escpos+tcp://127.0.0.1:9",
        )
        assert code == 1
        station = Kiosk(config)
        try:
            station.start_sync()

            def reported() -> dict[str, Any]:
                with sqlite3.connect(tmp_path / "platform" / "platform.sqlite3") as db:
                    rows = db.execute("SELECT last_report FROM kiosks").fetchall()
                found = [json.loads(r[0]) for r in rows if r[0]]
                return next((r for r in found if "selftest" in r), {})

            assert wait_for(lambda: reported().get("selftest", {}).get("ok") is False)
        finally:
            station.close()
        assert reported()["selftest"]["failed"] == ["receipt printer escpos+tcp://127.0.0.1:9"]
    finally:
        running.stop()


def test_an_outbox_whose_key_was_replaced_fails_the_outbox_check(tmp_path: Path) -> None:
    config = demo_config(tmp_path)
    run_soak(config, 2, seed=1, out=io.StringIO())
    keys = tmp_path / "data" / "keys" / "outbox.keys"
    keys.unlink()  # a restored backup without its key, say: the records cannot be opened
    code, report = selftest(tmp_path, "--level", "internal", KIOSK_READER="sim://everyone")
    assert code == 1
    (outbox,) = [c for c in report["checks"] if c["name"] == "outbox"]
    assert outbox["ok"] is False
    assert "key" in outbox["detail"]


def test_a_run_of_one_level_keeps_what_the_others_found(tmp_path: Path) -> None:
    code, _ = selftest(tmp_path, KIOSK_RECEIPT_PRINTER="escpos+tcp://127.0.0.1:9")
    assert code == 1
    code, _ = selftest(tmp_path, "--level", "interactive")
    assert code == 0  # nothing that ran failed...
    summary = last_summary(tmp_path / "data")
    assert summary is not None
    assert summary["ok"] is False  # ...but the heartbeat still says what is broken
    assert summary["failed"] == ["receipt printer escpos+tcp://127.0.0.1:9"]


def test_a_broken_outbox_fails_its_check_and_the_others_still_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "outbox.sqlite3").write_bytes(b"this is not a database" * 100)
    code, report = selftest(tmp_path, "--level", "internal")
    assert code == 1
    by_name = {c["name"]: c for c in report["checks"]}
    assert by_name["outbox"]["ok"] is False
    assert by_name["outbox"]["detail"]
    assert by_name["catalog"]["ok"] is True
    assert by_name["reader sim://"]["ok"] is True


def test_from_a_shell_the_devices_of_a_running_touchscreen_are_left_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with touchscreen_lock(data):  # as `kiosk run` holds it
        code, report = selftest(tmp_path, "--level", "internal")
    assert code == 0
    devices = [c for c in report["checks"] if c["name"].startswith(("reader ", "receipt "))]
    assert devices
    assert {c["ok"] for c in devices} == {None}
    assert all("the touchscreen is running" in c["detail"] for c in devices)


def test_the_report_prints_on_the_receipt_printer(tmp_path: Path) -> None:
    slip = tmp_path / "slip.bin"
    done = kiosk(
        "--demo",
        "selftest",
        "--level",
        "internal",
        "--print",
        env={
            "HOME": str(tmp_path),
            "KIOSK_DATA_DIR": str(tmp_path / "data"),
            "KIOSK_RECEIPT_PRINTER": f"escpos+file://{slip}",
        },
    )
    assert done.returncode == 0, done.stdout + done.stderr
    printed = slip.read_bytes()
    assert "自助机自检报告".encode("gb18030") in printed
    assert "[通过] catalog (internal)".encode("gb18030") in printed
    assert "结论：全部通过".encode("gb18030") in printed
    assert printed.endswith(b"\x1bd\x04\x1dV\x01")  # fed past the cutter, then cut


def test_an_altered_audit_log_fails_its_check(tmp_path: Path) -> None:
    from kiosk.staff import AUDIT_FILE, audit

    data = tmp_path / "data"
    audit(data, "staff", "login", {})
    audit(data, "staff", "logout", {})
    log = data / AUDIT_FILE
    log.write_text(log.read_text(encoding="utf-8").splitlines()[1] + "\n", encoding="utf-8")
    code, report = selftest(tmp_path, "--level", "internal")
    assert code == 1
    (check,) = [c for c in report["checks"] if c["name"] == "audit log"]
    assert check["ok"] is False
    assert "line 1 does not follow line 0" in check["detail"]


def test_a_setting_staff_are_about_to_save_is_tried_first(tmp_path: Path) -> None:
    config = demo_config(tmp_path)
    today = date(2026, 12, 1)
    absent = try_setting(
        config, {"devices.receipt_printer": "escpos+tcp://127.0.0.1:9"}, today=today
    )
    assert [(c.name, c.level.value, c.ok) for c in absent] == [
        ("receipt printer escpos+tcp://127.0.0.1:9", "internal", False)
    ]
    assert absent[0].detail.startswith("cannot be opened: cannot connect to 127.0.0.1:9")
    spool = tmp_path / "receipts.bin"
    there = try_setting(config, {"devices.receipt_printer": f"escpos+file://{spool}"}, today=today)
    assert [(c.name, c.ok) for c in there] == [(f"receipt printer escpos+file://{spool}", True)]
    both = try_setting(config, {"devices.readers": ("sim://", "sim://elderly")}, today=today)
    assert [(c.name, c.ok) for c in both] == [
        ("reader sim://", True),
        ("reader sim://elderly", True),
    ]
    assert try_setting(config, {"devices.certificate_printer": ""}, today=today) == []  # none
    nowhere = try_setting(
        config, {"platform.url": "http://127.0.0.1:9/kiosk", "kiosk.id": "DEMO-0002"}, today=today
    )
    assert [(c.name, c.ok) for c in nowhere] == [("platform", False), ("clock", False)]
    assert nowhere[0].detail.startswith("no answer from the platform")
