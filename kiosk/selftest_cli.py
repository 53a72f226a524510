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
    return EXIT_OK if report.ok else EXIT_NO
