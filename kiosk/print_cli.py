"""The printing commands: `kiosk print test-page` and `kiosk print reprint`."""

from __future__ import annotations

import argparse
from typing import Any


def add_print_commands(commands: Any) -> None:
    printing = commands.add_parser(
        "print", help="printers: test pages and reprints"
    ).add_subparsers(dest="print_command", metavar="SUBCOMMAND", required=True)
    test = printing.add_parser(
        "test-page", help="print a test slip (receipt printer) or an A4 page (certificates)"
    )
    test.add_argument("--printer", required=True, metavar="URL", help="e.g. cups://A4")
    test.add_argument(
        "--role",
        choices=("receipt", "certificate"),
        help="for sim:// printers, which kind (others say it by their scheme)",
    )
    test.set_defaults(handler=cmd_print_test_page)
    again = printing.add_parser(
        "reprint", help="print a transaction's receipt and certificate again (staff)"
    )
    again.add_argument("number", help="the transaction number, e.g. K01-20261129-00012")
    which = again.add_mutually_exclusive_group()
    which.add_argument("--receipt", action="store_true", help="only the receipt")
    which.add_argument("--certificate", action="store_true", help="only the certificate")
    again.set_defaults(handler=cmd_print_reprint)


def _role(url: str, asked: str | None) -> Any:
    from devices.base import Role

    scheme = url.split("://", 1)[0].lower()
    if scheme in ("cups", "pdf-dir") or asked == "certificate":
        return Role.CERTIFICATE_PRINTER
    return Role.RECEIPT_PRINTER


def cmd_print_test_page(args: argparse.Namespace) -> int:
    from devices.base import PrintJob
    from devices.errors import DeviceError
    from devices.registry import open_printer
    from devices.testpage import TEST_SLIP, a4_test_page
    from kiosk.cli import EXIT_DEVICE, EXIT_OK, CommandError

    role = _role(args.printer, args.role)
    try:
        with open_printer(args.printer, role) as printer:
            data = TEST_SLIP if printer.accepts.endswith("escpos") else a4_test_page(args.printer)
            printer.print_job(PrintJob(printer.accepts, data, "test-page"))
    except DeviceError as error:
        raise CommandError(f"打印失败 (not printed): {error}", EXIT_DEVICE) from None
    print(f"printed a test {'slip' if data is TEST_SLIP else 'page'} on {args.printer}")
    return EXIT_OK


def cmd_print_reprint(args: argparse.Namespace) -> int:
    from devices.base import Printer, Role
    from devices.errors import DeviceError
    from devices.registry import open_printer
    from kiosk.catalog import load_catalog
    from kiosk.cli import EXIT_DEVICE, EXIT_NO, EXIT_OK, CommandError, _signer, load
    from kiosk.core import OUTBOX_FILE
    from kiosk.issuing import ReprintError, reprint
    from offline_cache.outbox import Outbox

    config = load(args)
    path = config.data_dir / OUTBOX_FILE
    if not path.exists():
        raise CommandError(f"there is no outbox in {config.data_dir}", EXIT_NO)
    catalog = load_catalog()
    with Outbox(path, min_free_bytes=0, create=False) as outbox:
        # What there is to print is known before any printer is opened: a broken certificate
        # printer must not stand in the way of a receipt, nor hide a mistyped number.
        row = outbox.by_number(args.number)
        if row is None or row.kind != "transaction":
            raise CommandError(f"there is no transaction {args.number} on this kiosk", EXIT_NO)
        item = next((i for i in catalog.items if i.code == row.payload.get("item")), None)
        documents = ["receipt"] if not args.certificate else []
        if item is not None and "certificate" in item.prints and not args.receipt:
            documents.append("certificate")
        if not documents:
            raise CommandError(f"{args.number}: its item issues no certificate", EXIT_NO)
        urls = {
            Role.RECEIPT_PRINTER: config.devices.receipt_printer if "receipt" in documents else "",
            Role.CERTIFICATE_PRINTER: (
                config.devices.certificate_printer if "certificate" in documents else ""
            ),
        }
        printers: dict[Role, Printer] = {}
        try:
            for role, url in urls.items():
                if url:
                    printers[role] = open_printer(str(url), role)
            issued = reprint(
                config,
                outbox,
                catalog,
                args.number,
                receipt_printer=printers.get(Role.RECEIPT_PRINTER),
                certificate_printer=printers.get(Role.CERTIFICATE_PRINTER),
                signer=_signer(config) if Role.CERTIFICATE_PRINTER in printers else None,
                documents=tuple(documents),
            )
        except ReprintError as error:
            raise CommandError(str(error), EXIT_NO) from None
        except DeviceError as error:
            raise CommandError(
                f"打印机无法使用 (printer unavailable): {error}", EXIT_DEVICE
            ) from None
        finally:
            for printer in printers.values():
                printer.close()
    for problem in issued.problems:
        print(f"kiosk: {problem}")
    print(f"{args.number}: printed {', '.join(issued.printed) or 'nothing'}")
    return EXIT_OK if issued.printed and not issued.problems else EXIT_DEVICE
