"""`kiosk admin set-pin`: the staff PIN, read from standard input (a terminal asks twice)."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any


def add_admin_commands(commands: Any) -> None:
    admin = commands.add_parser("admin", help="staff administration").add_subparsers(
        dest="admin_command", metavar="SUBCOMMAND", required=True
    )
    admin.add_parser(
        "set-pin", help="set the staff PIN (6 to 12 digits, read from standard input)"
    ).set_defaults(handler=cmd_admin_set_pin)
    admin.add_parser("unlock", help="lift the lockout after repeated wrong PINs").set_defaults(
        handler=cmd_admin_unlock
    )


def cmd_admin_set_pin(args: argparse.Namespace) -> int:
    from kiosk.admin import PinError, set_pin
    from kiosk.cli import EXIT_NO, EXIT_OK, CommandError, load
    from kiosk.core import record_event
    from kiosk.staff import audit

    config = load(args)
    if sys.stdin.isatty():
        pin = getpass.getpass("new staff PIN: ")
        if getpass.getpass("again: ") != pin:
            raise CommandError("the two PINs differ; nothing was changed", EXIT_NO)
    else:
        pin = sys.stdin.readline().strip()
    try:
        set_pin(config.data_dir, pin)
    except PinError as error:
        raise CommandError(f"{error}; nothing was changed", EXIT_NO) from None
    record_event(config.data_dir, "pin_set", {"by": "kiosk admin set-pin"})
    audit(config.data_dir, "shell", "pin_set", {})
    print("the staff PIN is set")
    return EXIT_OK


def cmd_admin_unlock(args: argparse.Namespace) -> int:
    from kiosk.admin import unlock
    from kiosk.cli import EXIT_OK, load
    from kiosk.core import record_event
    from kiosk.staff import audit

    config = load(args)
    if unlock(config.data_dir):
        record_event(config.data_dir, "pin_unlocked", {"by": "kiosk admin unlock"})
        audit(config.data_dir, "shell", "pin_unlocked", {})
        print("the PIN lockout is lifted")
    else:
        print("the PIN was not locked")
    return EXIT_OK
