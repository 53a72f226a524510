"""`kiosk selftest`: the technician's self-test from a shell (see kiosk/selftest.py)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from devices.base import HealthLevel

MARKS = {True: "✓", False: "✗", None: "–"}


def add_selftest_command(commands: Any) -> None:
    selftest = commands.add_parser(
        "selftest",
        help="check every configured device and what the kiosk stands on; exit 0 only when "
        "every check that ran passed",
    )
    selftest.add_argument(
        "--level",
        action="append",
        choices=[level.value for level in HealthLevel],
        help="internal (no side effect), external (prints test pages, reads a test card), "
        "interactive (needs a person: reported not run here); repeatable; default internal "
        "and external",
    )
    selftest.add_argument("--json", action="store_true", help="the report as JSON")
    selftest.add_argument(
        "--print",
        action="store_true",
        help="also print the report on the receipt printer (not while the touchscreen runs)",
    )
    selftest.set_defaults(handler=cmd_selftest)


def cmd_selftest(args: argparse.Namespace) -> int:
    from kiosk.cli import EXIT_NO, EXIT_OK, load
    from kiosk.clock import today_local
    from kiosk.core import record_event
    from kiosk.selftest import DEFAULT_LEVELS, run_selftest, save
    from kiosk.staff import audit

    config = load(args)
    levels = (
        tuple(level for level in HealthLevel if level.value in args.level)
        if args.level
        else DEFAULT_LEVELS
    )
    report = run_selftest(config, levels, today=today_local())
    save(config, report)  # the next heartbeat carries its summary
    record_event(config.data_dir, "selftest", {"ok": report.ok, "failed": report.failed})
    audit(config.data_dir, "shell", "selftest", {"ok": report.ok, "failed": report.failed})
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False, indent=1))
    else:
        for check in report.checks:
            print(f"{MARKS[check.ok]} [{check.level.value}] {check.name}: {check.detail}")
        ran = [c for c in report.checks if c.ok is not None]
        print(
            f"{sum(1 for c in ran if c.ok)} of {len(ran)} checks that ran passed"
            + (f"; failed: {', '.join(report.failed)}" if report.failed else "")
        )
    if args.print:
        _print(config, report)
    return EXIT_OK if report.ok else EXIT_NO


def _print(config: Any, report: Any) -> None:
    from devices.base import PrintJob, Role
    from devices.errors import DeviceError
    from devices.registry import open_printer
    from kiosk.cli import EXIT_DEVICE, CommandError
    from kiosk.selftest import report_slip, touchscreen_running

    if not config.devices.receipt_printer:
        raise CommandError("there is no receipt printer to print the report on", EXIT_DEVICE)
    if touchscreen_running(config.data_dir):
        raise CommandError(
            "the touchscreen is running and holds the receipt printer: the report is in "
            f"{config.data_dir}/selftest.json",
            EXIT_DEVICE,
        )
    try:
        with open_printer(config.devices.receipt_printer, Role.RECEIPT_PRINTER) as printer:
            printer.print_job(PrintJob(printer.accepts, report_slip(config, report), "SELFTEST"))
    except DeviceError as error:
        raise CommandError(f"the report was not printed: {error}", EXIT_DEVICE) from None
