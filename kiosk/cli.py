"""`kiosk`: the technician's and the tests' command line.

Exit codes: 0 done; 1 a verdict of "no" (an invalid number, a failed check); 2 bad usage or a
configuration the kiosk cannot use; 3 no card in time; 4 a device error or bad data from a
device; 70 an internal error (the traceback only with KIOSK_DEBUG=1, since it might hold data).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kiosk.admin_cli import add_admin_commands
from kiosk.platform_cli import add_platform_commands, add_queue_sync
from kiosk.print_cli import add_print_commands
from kiosk.selftest_cli import add_selftest_command
from offline_cache.outbox import OutboxError

if TYPE_CHECKING:
    from kiosk.config import Config
    from kiosk.identity import ResidentIdentity
    from kiosk.trust import Signer
    from offline_cache.outbox import Row

EXIT_OK, EXIT_NO, EXIT_USAGE, EXIT_NO_CARD, EXIT_DEVICE, EXIT_INTERNAL = 0, 1, 2, 3, 4, 70
EXIT_RESTART = 75  # the touchscreen stopped to start again (screens.app.EXIT_RESTART)


class CommandError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiosk", description="Community government-service kiosk (社区政务服务自助机)."
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="configuration file (default: $KIOSK_CONFIG, else /etc/kiosk/kiosk.toml)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="demo mode: simulated devices, the reference platform on loopback (also KIOSK_DEMO=1)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    _add_touchscreen_commands(commands)

    id_cmd = commands.add_parser("id", help="citizen ID numbers").add_subparsers(
        dest="id_command", metavar="SUBCOMMAND", required=True
    )
    check = id_cmd.add_parser("check", help="validate a number (GB 11643); exit 0 valid, 1 invalid")
    check.add_argument("number")
    check.add_argument("--json", action="store_true")
    check.set_defaults(handler=cmd_id_check)

    card = commands.add_parser("card", help="card readers").add_subparsers(
        dest="card_command", metavar="SUBCOMMAND", required=True
    )
    read = card.add_parser("read", help="read one card; exit 0 read, 3 no card, 4 device error")
    read.add_argument("--reader", required=True, metavar="URL", help="e.g. sim://elderly")
    read.add_argument("--json", action="store_true")
    read.add_argument(
        "--full",
        action="store_true",
        help="show personal values in full (only with the resident present)",
    )
    read.add_argument("--timeout", type=_seconds, default=10.0, metavar="S")
    read.set_defaults(handler=cmd_card_read)

    catalog = commands.add_parser("catalog", help="the service items").add_subparsers(
        dest="catalog_command", metavar="SUBCOMMAND", required=True
    )
    listing = catalog.add_parser("list", help="the items this kiosk offers")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_catalog_list)
    checking = catalog.add_parser("check", help="validate item files; exit 0 valid, 1 not")
    checking.add_argument("folder", type=Path)
    checking.set_defaults(handler=cmd_catalog_check)

    queue = commands.add_parser("queue", help="the outbox of transactions").add_subparsers(
        dest="queue_command", metavar="SUBCOMMAND", required=True
    )
    status = queue.add_parser("status", help="counts by status and the oldest queued age")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=cmd_queue_status)
    rows = queue.add_parser("list", help="every row, with the reason where rejected")
    rows.add_argument("--json", action="store_true")
    rows.set_defaults(handler=cmd_queue_list)
    add_queue_sync(queue)

    _add_soak(commands)

    _add_document_commands(commands)
    add_platform_commands(commands)
    add_print_commands(commands)
    add_admin_commands(commands)
    add_selftest_command(commands)

    config = commands.add_parser("config", help="the configuration file").add_subparsers(
        dest="config_command", metavar="SUBCOMMAND", required=True
    )
    init = config.add_parser("init", help="write a documented configuration file")
    init.add_argument("path", type=Path)
    init.add_argument("--force", action="store_true", help="replace an existing file")
    init.set_defaults(handler=cmd_config_init)
    config.add_parser("check", help="validate the configuration; exit 0 valid, 2 not").set_defaults(
        handler=cmd_config_check
    )
    config.add_parser(
        "show", help="the effective configuration, with where each value came from"
    ).set_defaults(handler=cmd_config_show)
    return parser


def _add_touchscreen_commands(commands: Any) -> None:
    run = commands.add_parser("run", help="run the kiosk (the touchscreen application)")
    run.add_argument(
        "--console",
        action="store_true",
        help="no touchscreen: check the devices and, in demo mode, walk one "
        "synthetic resident through a queue ticket",
    )
    run.set_defaults(handler=cmd_run)
    demo = commands.add_parser(
        "demo",
        help="one scripted resident session through the real "
        "screens: screenshots, receipt, certificate, summary",
    )
    demo.add_argument("--out", type=Path, required=True, metavar="DIR")
    demo.add_argument(
        "--language",
        choices=("zh_CN", "en"),
        help="the language the session runs in (default: the configured kiosk.language)",
    )
    demo.set_defaults(handler=cmd_demo)


def _add_soak(commands: Any) -> None:
    soak = commands.add_parser("soak", help="burn-in: N synthetic sessions into the outbox")
    soak.add_argument("--sessions", type=_count, required=True, metavar="N")
    soak.add_argument("--seed", type=int, default=1, metavar="S")
    soak.add_argument("--json", action="store_true")
    soak.add_argument(
        "--sync",
        action="store_true",
        help="also run the sync worker meanwhile (crash tests); the soak never waits for it",
    )
    soak.set_defaults(handler=cmd_soak)


def _add_document_commands(commands: Any) -> None:
    verify = commands.add_parser(
        "verify", help="check a certificate (PDF or QR payload); exit 0 genuine, 1 not"
    )
    verify.add_argument("source", metavar="FILE_OR_PAYLOAD")
    verify.add_argument("--json", action="store_true")
    verify.add_argument("--full", action="store_true", help="show the ID number in full")
    verify.set_defaults(handler=cmd_verify)

    keys = commands.add_parser("keys", help="the kiosk's signing key and its certificate")
    keys_cmd = keys.add_subparsers(dest="keys_command", metavar="SUBCOMMAND", required=True)
    keys_cmd.add_parser(
        "init", help="make this kiosk's key (once) and show its public half"
    ).set_defaults(handler=cmd_keys_init)
    install = keys_cmd.add_parser(
        "install", help="install the district's certificate for this kiosk and trust its root"
    )
    install.add_argument("certificate", type=Path, help="the file the district sent")
    install.add_argument("--root", type=Path, required=True, help="the district root's .pub")
    install.set_defaults(handler=cmd_keys_install)
    root = keys_cmd.add_parser("root", help="(district) make a root key pair")
    root.add_argument("--out", type=Path, required=True, metavar="DIR")
    root.set_defaults(handler=cmd_keys_root)
    certify_cmd = keys_cmd.add_parser("certify", help="(district) certify a kiosk's public key")
    certify_cmd.add_argument("--root-key", type=Path, required=True)
    certify_cmd.add_argument("--kiosk-id", required=True)
    certify_cmd.add_argument("--hall", required=True, help="the hall's name, as in kiosk.hall_name")
    certify_cmd.add_argument(
        "--public",
        required=True,
        help="the kiosk's public key text; write --public=KEY (a key may begin with '-')",
    )
    certify_cmd.add_argument("--days", type=int, default=3 * 365)
    certify_cmd.add_argument("--out", type=Path, required=True)
    certify_cmd.set_defaults(handler=cmd_keys_certify)

    documents = commands.add_parser("documents", help="receipts and certificates").add_subparsers(
        dest="documents_command", metavar="SUBCOMMAND", required=True
    )
    sample = documents.add_parser(
        "sample", help="certificate.pdf and receipt.bin for a synthetic resident"
    )
    sample.add_argument("--out", type=Path, required=True, metavar="DIR")
    sample.set_defaults(handler=cmd_documents_sample)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError("must be from 0 to 3600 seconds")
    return value


def _count(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 1_000_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 1 to 1000000")
    return int(text)


class Touchscreen(Protocol):
    """What the screens package lends this command line: the core never imports screens
    (screens -> kiosk -> devices); screens.entry passes itself in."""

    def run(self, config: Config) -> int: ...

    def demo(self, config: Config, out: Path) -> dict[str, Any]: ...


def main(argv: Sequence[str] | None = None, touchscreen: Touchscreen | None = None) -> int:
    # A technician's terminal may not speak UTF-8; Chinese text must then degrade, not crash.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    args.touchscreen = touchscreen
    # Warnings and errors of the background work (sync, devices) reach the technician on
    # stderr; KIOSK_LOG_LEVEL=INFO shows each retry. Log lines never hold personal data.
    from kiosk.logs import Masking

    handler = logging.StreamHandler()
    handler.setFormatter(Masking("kiosk: %(name)s: %(message)s"))
    # The level is the handler's too: Kivy lowers the root logger's level when it starts.
    level = os.environ.get("KIOSK_LOG_LEVEL", "WARNING").upper()
    handler.setLevel(level if level in ("DEBUG", "INFO", "WARNING", "ERROR") else "WARNING")
    logging.basicConfig(level=handler.level, handlers=[handler])
    try:
        code: int = args.handler(args)
    except CommandError as error:
        print(f"kiosk: {error}", file=sys.stderr)
        return error.code
    except OutboxError as error:
        print(f"kiosk: outbox: {error}", file=sys.stderr)
        return EXIT_NO
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader of our output went away (| head): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as error:
        if os.environ.get("KIOSK_DEBUG") == "1":
            raise
        # The message of an unexpected error may hold personal data: show only its type.
        print(
            f"kiosk: internal error ({type(error).__name__}). Run again with KIOSK_DEBUG=1 "
            "to see where, and report it.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return code


def load(args: argparse.Namespace) -> Config:
    from kiosk.config import ConfigError, find_config_file, is_demo, load_config

    try:
        demo = is_demo(args.demo, os.environ)
        return load_config(find_config_file(args.config, os.environ), demo=demo)
    except ConfigError as error:
        lines = "\n  ".join(error.problems)
        raise CommandError(f"the configuration cannot be used:\n  {lines}", EXIT_USAGE) from None


# --- commands ----------------------------------------------------------------------------------


def cmd_id_check(args: argparse.Namespace) -> int:
    from kiosk.idnumber import check_id_number

    result = check_id_number(args.number)
    if args.json:
        print(
            json.dumps(
                {
                    "valid": result.valid,
                    "code": result.code,
                    "number": result.masked,
                    "reason": result.reason_zh,
                    "reason_en": result.reason_en,
                    "kind": result.kind.value if result.kind else None,
                    "sex": result.sex.name.lower() if result.sex else None,
                    "birth_date": result.birth_date.isoformat() if result.birth_date else None,
                },
                ensure_ascii=False,
            )
        )
    else:
        print(f"{result.masked or '(empty)'}: {result.reason_zh}\n{result.reason_en}")
    return EXIT_OK if result.valid else EXIT_NO


def cmd_card_read(args: argparse.Namespace) -> int:
    from devices.errors import DeviceError
    from devices.registry import open_reader
    from kiosk.clock import today_local
    from kiosk.identity import IdentityError, identity_from_card

    try:
        reader = open_reader(args.reader)
    except DeviceError as error:
        raise CommandError(f"读卡器无法使用 (reader unavailable): {error}", EXIT_DEVICE) from None
    try:
        record = reader.read_card(args.timeout)
        if record is None:
            raise CommandError(
                f"{args.timeout:g} 秒内没有检测到卡片 (no card within "
                f"{args.timeout:g} s). Place a card on the reader.",
                EXIT_NO_CARD,
            )
        identity = identity_from_card(record)
    except DeviceError as error:
        raise CommandError(f"读卡失败 (read failed): {error}", EXIT_DEVICE) from None
    except IdentityError as error:
        raise CommandError(
            f"卡片信息无法识别 (the card's data is not valid): {error}", EXIT_DEVICE
        ) from None
    finally:
        reader.close()
    shown = _identity_view(identity, full=args.full, today=today_local())
    if args.json:
        print(json.dumps(shown, ensure_ascii=False))
    else:
        width = max(len(k) for k in shown)
        for key, value in shown.items():
            print(f"{key:<{width}}  {value}")
    return EXIT_OK


def _identity_view(identity: ResidentIdentity, *, full: bool, today: date) -> dict[str, Any]:
    from kiosk.identity import mask_name

    birth = identity.birth_date.isoformat() if full else f"{identity.birth_date.year}-**-**"
    view: dict[str, Any] = {
        "card_type": identity.card_type.value,
        "card_type_zh": identity.card_type.zh,
        "name": identity.name if full else mask_name(identity.name),
        "name_en": identity.name_en if full else mask_name(identity.name_en),
        "sex": identity.sex.zh,
        "nation": identity.nation,
        "birth_date": birth,
        "age": identity.age_on(today),
        "id_number": identity.id_number if full else identity.masked_id,
        "address": identity.address if full else _mask_address(identity.address),
        "issuer": identity.issuer,
        "nationality": identity.nationality,
        "valid_from": identity.valid_from.isoformat() if identity.valid_from else "",
        "valid_until": (
            "长期"
            if identity.long_term
            else identity.valid_until.isoformat()
            if identity.valid_until
            else ""
        ),
        "expired": identity.is_expired(today),
        "masked": not full,
        # Numbers of the card itself (not of the person): a social security card number, a
        # travel permit number. Masked like an ID number unless --full.
        "card_number": _maybe_masked(identity.extra.get("card_number", ""), full),
        "permit_number": _maybe_masked(identity.extra.get("permit_number", ""), full),
    }
    return {k: v for k, v in view.items() if v != "" or k in ("name", "id_number")}


def _maybe_masked(number: str, full: bool) -> str:
    from kiosk.idnumber import mask_id_number

    return number if full or not number else mask_id_number(number)


def _mask_address(address: str) -> str:
    return address[:6] + "*" * min(6, max(0, len(address) - 6)) if address else ""


def cmd_catalog_list(args: argparse.Namespace) -> int:
    from kiosk.catalog import CATEGORIES, CatalogError, load_catalog

    try:
        catalog = load_catalog()
    except CatalogError as error:
        raise CommandError(
            "the shipped catalog is broken:\n  " + "\n  ".join(error.problems), EXIT_NO
        ) from None
    if args.json:
        print(json.dumps([i.as_json() for i in catalog.items], ensure_ascii=False, indent=1))
        return EXIT_OK
    for category, items in catalog.by_category().items():
        print(f"{CATEGORIES[category]} ({CATEGORIES[category].en})")
        for i in items:
            ways = "+".join(i.identification)
            print(f"  {i.code:<28} {i.completion:<16} {ways:<12} {i.name}")
    return EXIT_OK


def cmd_catalog_check(args: argparse.Namespace) -> int:
    from kiosk.catalog import CatalogError, load_catalog

    try:
        catalog = load_catalog(args.folder)
    except CatalogError as error:
        print("\n".join(error.problems), file=sys.stderr)
        print(f"kiosk: {len(error.problems)} problem(s) in {args.folder}", file=sys.stderr)
        return EXIT_NO
    print(f"{len(catalog.items)} item(s) in {args.folder} are valid")
    return EXIT_OK


def _queue_rows(args: argparse.Namespace) -> tuple[dict[str, Any], list[Row]]:
    """The outbox's status and rows, read without creating anything: a missing data folder is
    an error (most likely a typo); a data folder without an outbox yet has an empty queue."""
    from kiosk.core import OUTBOX_FILE
    from offline_cache.outbox import STATUSES, Outbox

    config = load(args)
    if not config.data_dir.is_dir():
        raise CommandError(
            f"there is no data folder at {config.data_dir} "
            "(check kiosk.data_dir or KIOSK_DATA_DIR)",
            EXIT_NO,
        )
    path = config.data_dir / OUTBOX_FILE
    if not path.exists():
        return {**dict.fromkeys(STATUSES, 0), "oldest_queued_age_s": None}, []
    with Outbox(path, min_free_bytes=0, create=False) as outbox:
        return outbox.status(), outbox.rows()


def cmd_queue_status(args: argparse.Namespace) -> int:
    status, _ = _queue_rows(args)
    if args.json:
        print(json.dumps(status))
    else:
        for key, value in status.items():
            print(f"{key:<20} {'-' if value is None else value}")
    return EXIT_OK


def cmd_queue_list(args: argparse.Namespace) -> int:
    _, found = _queue_rows(args)
    rows = [
        {
            "number": r.number,
            "key": r.key,
            "kind": r.kind,
            "status": r.status,
            "reason": r.reject_reason if r.status == "rejected" else None,
            "code": r.reject_code if r.status == "rejected" else None,
        }
        for r in found
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        for row in rows:
            reason = f"  {row['code']}: {row['reason']}" if row["reason"] else ""
            print(f"{row['number']:<28} {row['kind']:<12} {row['status']:<9}{reason}")
    return EXIT_OK


def cmd_soak(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from devices.errors import DeviceError
    from kiosk.soak import run_soak

    config = load(args)
    if not config.devices.readers:
        raise CommandError("soak needs a reader: set devices.readers or KIOSK_READER", EXIT_USAGE)
    # Progress (done NUMBER, as each commit returns) on stderr; the summary on stdout.
    try:
        summary = run_soak(config, args.sessions, args.seed, sys.stderr, sync=args.sync)
    except DeviceError as error:
        raise CommandError(f"读卡器无法使用 (reader unavailable): {error}", EXIT_DEVICE) from None
    if args.json:
        print(json.dumps(asdict(summary), ensure_ascii=False))
    else:
        print(
            f"{summary.sessions} sessions, {summary.transactions} transactions, "
            f"{summary.ratings} ratings, {summary.refused} refused, in {summary.elapsed_s} s; "
            f"outbox: {summary.outbox}"
        )
        for reason, count in summary.refusals.items():
            print(f"refused {count}x: {reason}")
    return EXIT_OK if summary.transactions == summary.sessions else EXIT_NO


def _signer(config: Config) -> Signer:
    from kiosk.clock import today_local
    from kiosk.trust import NotGenuine, TrustStoreError, demo_signer, kiosk_signer

    args = (config.data_dir, config.kiosk.id, config.kiosk.hall_name, today_local())
    try:
        signer, _ = demo_signer(*args) if config.demo else kiosk_signer(*args)
    except (NotGenuine, TrustStoreError) as error:
        raise CommandError(f"cannot sign certificates: {error}", EXIT_NO) from None
    return signer


CERTIFIED_LABELS = {
    "type": "证明类型",
    "number": "编号",
    "issued": "出具日期",
    "valid_until": "有效期至",
    "issuer": "出具单位",
    "name": "姓名",
    "sex": "性别",
    "id_number": "公民身份号码",
    "address": "住址",
    "purpose": "用途",
    "demo": "演示",
}


def cmd_verify(args: argparse.Namespace) -> int:
    from kiosk.clock import today_local
    from kiosk.documents.certificate import longest_validity
    from kiosk.documents.scan import ScanError, payload_from_pdf
    from kiosk.identity import mask_name
    from kiosk.idnumber import mask_id_number
    from kiosk.trust import NotGenuine, TrustStore, TrustStoreError, verify

    def refuse(code: str, reason: str, exit_code: int = EXIT_NO) -> int:
        if args.json:
            print(
                json.dumps({"genuine": False, "code": code, "reason": reason}, ensure_ascii=False)
            )
        print(
            f"不是真实有效的证明 NOT GENUINE ({code}): {reason}"
            if exit_code == EXIT_NO
            else f"kiosk: {reason}",
            file=sys.stderr,
        )
        return exit_code

    config = load(args)
    source = args.source.strip()
    try:
        # A payload is an 800-character string: never treat it as a file name.
        payload = source if source.startswith("KV1.") else payload_from_pdf(Path(source))
    except ScanError as error:
        return refuse("unreadable", f"cannot read the certificate: {error}")
    try:
        trust = TrustStore.load(config.data_dir / "trust")
    except TrustStoreError as error:
        # The kiosk's own trust store is broken: that says nothing about the certificate.
        return refuse("trust_store", str(error), EXIT_USAGE)
    try:
        verified = verify(payload, trust, today_local(), longest_validity)
        if verified.fields.get("demo") and not config.demo:
            raise NotGenuine("demo", "this is a demonstration certificate, valid for nothing")
    except NotGenuine as error:
        return refuse(error.code, str(error))
    fields = dict(verified.fields)
    if not args.full:
        # Whoever checks compares with the paper in front of them; a screen or log needs less.
        for key, mask in (
            ("id_number", mask_id_number),
            ("name", mask_name),
            ("address", _mask_address),
        ):
            if isinstance(fields.get(key), str):
                fields[key] = mask(fields[key])
    if args.json:
        print(
            json.dumps(
                {
                    "genuine": True,
                    "kiosk_id": verified.kiosk_id,
                    "key_id": verified.key_id,
                    "fields": fields,
                },
                ensure_ascii=False,
            )
        )
        return EXIT_OK
    print("真实有效 GENUINE" + ("（演示证明 DEMO）" if fields.get("demo") else ""))
    print(f"出具自助机 kiosk: {verified.kiosk_id} (key {verified.key_id})")
    for key in [*CERTIFIED_LABELS, *sorted(set(fields) - set(CERTIFIED_LABELS))]:
        if key in fields:
            value = fields[key]
            shown = ("是" if value else "否") if isinstance(value, bool) else value
            print(f"{CERTIFIED_LABELS.get(key, key)}: {shown}")
    return EXIT_OK


def cmd_documents_sample(args: argparse.Namespace) -> int:
    from devices.base import CardRecord
    from devices.simulators.people import PEOPLE
    from kiosk.catalog import load_catalog
    from kiosk.clock import now_local
    from kiosk.documents.certificate import render_certificate
    from kiosk.documents.compose import certificate_for, transaction_receipt
    from kiosk.documents.receipt import render_escpos, render_text
    from kiosk.identity import identity_from_card

    config = load(args)
    signer = _signer(config)
    person = PEOPLE["resident"]
    identity = identity_from_card(
        CardRecord(person.kind, person.type_flag, dict(person.fields), "sim://")
    )
    item = load_catalog()["residence-certificate"]
    values = {"purpose": "child_school_enrollment", "copies": 1}
    now = now_local()
    number = f"{config.kiosk.id}-{now:%Y%m%d}-SAMPLE"
    # A sample is for a synthetic resident: always marked 演示, so that even a production
    # kiosk's sample can never pass as a real certificate.
    certificate = certificate_for(
        template=item.certificate,
        number=number,
        identity=identity,
        values=values,
        item=item,
        issuer=config.kiosk.hall_name,
        issued=now.date(),
        demo=True,
    )
    receipt = transaction_receipt(
        number=number,
        item=item,
        identity=identity,
        values=values,
        hall_name=config.kiosk.hall_name,
        at=now,
        demo=True,
        track_url=f"{config.platform.url.rstrip('/')}/track/{number}",
    )
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    seal = Path(config.kiosk.seal_image) if config.kiosk.seal_image else None
    (out / "certificate.pdf").write_bytes(
        render_certificate(certificate, signer.sign(certificate.fields()), seal)
    )
    (out / "receipt.bin").write_bytes(render_escpos(receipt, 58))
    (out / "receipt.txt").write_text(render_text(receipt, 58), encoding="utf-8")
    print(
        f"wrote {out / 'certificate.pdf'}, {out / 'receipt.bin'} and {out / 'receipt.txt'} "
        f"for the synthetic resident 测试一"
    )
    return EXIT_OK


def cmd_keys_init(args: argparse.Namespace) -> int:
    from kiosk.trust import NotGenuine, make_kiosk_key, public_text

    config = load(args)
    try:
        public = make_kiosk_key(config.data_dir)
    except NotGenuine as error:
        raise CommandError(str(error), EXIT_NO) from None
    print(f"kiosk {config.kiosk.id} public key (send it to the district to be certified):")
    print(public_text(public))
    # Written with '=': a base64url key may begin with '-', which argparse reads as an option.
    print(f"(for kiosk keys certify: --public={public_text(public)})")
    return EXIT_OK


def cmd_keys_install(args: argparse.Namespace) -> int:
    from kiosk.clock import today_local
    from kiosk.trust import NotGenuine, install_certificate

    config = load(args)
    try:
        cert = install_certificate(
            config.data_dir,
            args.certificate.read_text(),
            args.root.read_text(),
            kiosk_id=config.kiosk.id,
            hall=config.kiosk.hall_name,
            today=today_local(),
        )
    except OSError as error:
        raise CommandError(f"cannot read {error.filename}: {error.strerror}", EXIT_NO) from None
    except NotGenuine as error:
        raise CommandError(f"not installed: {error}", EXIT_NO) from None
    print(
        f"installed: kiosk {cert.kiosk_id}, key {cert.key_id}, valid {cert.not_before} to "
        f"{cert.not_after}, root {cert.root_id}"
    )
    return EXIT_OK


def cmd_keys_root(args: argparse.Namespace) -> int:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from kiosk.trust import key_id, public_text, write_private

    out: Path = args.out
    if (out / "root.key").exists():
        raise CommandError(
            f"{out / 'root.key'} exists; a root key is never replaced silently", EXIT_USAGE
        )
    key = Ed25519PrivateKey.generate()
    write_private(out / "root.key", key)
    (out / "root.pub").write_text(public_text(key.public_key()) + "\n")
    print(
        f"root {key_id(key.public_key())}: {out / 'root.key'} (keep it offline), "
        f"{out / 'root.pub'} (give it to every kiosk)"
    )
    return EXIT_OK


def cmd_keys_certify(args: argparse.Namespace) -> int:
    from kiosk.clock import today_local
    from kiosk.trust import NotGenuine, certify, public_from_text, read_private

    try:
        root = read_private(args.root_key)
        cert = certify(
            root,
            kiosk_id=args.kiosk_id,
            hall=args.hall,
            public=public_from_text(args.public),
            not_before=today_local(),
            days=args.days,
        )
        args.out.write_text(cert.encode() + "\n")
    except OSError as error:
        raise CommandError(f"cannot write {error.filename}: {error.strerror}", EXIT_NO) from None
    except NotGenuine as error:
        raise CommandError(str(error), EXIT_NO) from None
    print(f"certified kiosk {args.kiosk_id} (key {cert.key_id}) until {cert.not_after}: {args.out}")
    return EXIT_OK


def cmd_config_init(args: argparse.Namespace) -> int:
    from kiosk.config import render_config

    path: Path = args.path
    if path.exists() and not args.force:
        raise CommandError(f"{path} exists; use --force to replace it", EXIT_USAGE)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(render_config(), encoding="utf-8")
        tmp.replace(path)
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error.strerror}", EXIT_USAGE) from None
    print(
        f"wrote {path}; now set kiosk.id, devices.readers and platform.url, then run:\n"
        f"  kiosk --config {path} config check"
    )
    return EXIT_OK


def cmd_config_check(args: argparse.Namespace) -> int:
    from kiosk.hours import hours_problem

    config = load(args)
    mode = "demo mode, " if config.demo else ""
    print(f"configuration is valid ({mode}from {config.source})")
    problem = hours_problem(config.kiosk.counter_hours)
    if problem:
        # Kept working (hours written before they governed anything): shown, not obeyed.
        print(
            f"note: kiosk.counter_hours cannot be read ({problem}); it is shown as written, "
            "and items that need staff are offered at all hours"
        )
    return EXIT_OK


def cmd_config_show(args: argparse.Namespace) -> int:
    from kiosk.config import render_config

    print(render_config(load(args), with_origins=True))
    return EXIT_OK


def _display_ready() -> bool:
    display = os.environ.get("DISPLAY", "")
    if not display:
        return bool(os.environ.get("WAYLAND_DISPLAY"))  # cage, without Xwayland
    return (
        subprocess.run(["xdpyinfo"], capture_output=True, timeout=10, check=False).returncode == 0
    )


def cmd_run(args: argparse.Namespace) -> int:
    from kiosk.selftest import AlreadyRunning, touchscreen_lock
    from kiosk.service import leave_exit_status

    try:
        config = load(args)
        try:
            # The devices are this process's while it runs: `kiosk selftest` from a shell then
            # leaves them alone (the technician screen checks them through the running kiosk).
            with touchscreen_lock(config.data_dir):
                status = _run(args, config)
        except AlreadyRunning as error:
            raise CommandError(str(error), EXIT_USAGE) from None
    except CommandError as error:
        leave_exit_status(error.code)
        raise
    if status == EXIT_RESTART:
        # Staff saved device or platform settings, or a new version is installed: the same
        # command again, as a new process (the lock, the devices and the window are released
        # by now), reading them afresh.
        print("kiosk: starting again with the new settings", file=sys.stderr)
        sys.stdout.flush()
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])  # noqa: S606
    leave_exit_status(status)
    return status


def _run(args: argparse.Namespace, config: Config) -> int:
    if args.console:
        from kiosk.console import run_console

        return run_console(config, out=sys.stdout)
    from kiosk.console import check_devices

    reports = check_devices(config)
    for report in reports:
        if report.device is not None:
            report.device.close()
    for report in reports:
        if not report.ok:
            # The touchscreen starts all the same: a printer that cannot print makes its items
            # unavailable with the reason; a reader that cannot be used is said on the idle
            # screen (with what can still be done); both are retried, and staff can change
            # them on the staff screens.
            print(f"kiosk: {report.url}: {report.summary}", file=sys.stderr)
    if not _display_ready():
        raise CommandError(
            "no display to show the touchscreen on (DISPLAY is not set or does "
            "not answer). Without one, run a scripted session instead:\n"
            "  xvfb-run -a -s '-screen 0 1080x1920x24' kiosk --demo demo --out out"
            "\nor check the devices from the console: kiosk run --console",
            EXIT_USAGE,
        )
    from kiosk.logs import file_log
    from kiosk.service import no_core_dumps

    os.umask(0o077)  # whatever the kiosk writes is its user's alone
    no_core_dumps()
    file_log(config.data_dir, config.monitoring.log_days)
    logging.getLogger().setLevel(logging.INFO)  # the file takes INFO; stderr keeps its level
    return _touchscreen(args).run(config)  # 0, 5 (maintenance) or 75 (start again)


def _touchscreen(args: argparse.Namespace) -> Touchscreen:
    if args.touchscreen is None:
        raise CommandError(
            "this installation has no touchscreen package (screens); use kiosk run --console",
            EXIT_USAGE,
        )
    touchscreen: Touchscreen = args.touchscreen
    return touchscreen


def cmd_demo(args: argparse.Namespace) -> int:
    config = load(args)
    if not _display_ready():
        raise CommandError(
            "kiosk demo needs an X display (it drives the real screens); run "
            "it under xvfb-run:\n  xvfb-run -a -s '-screen 0 1080x1920x24' "
            "kiosk --demo demo --out out",
            EXIT_USAGE,
        )
    if args.language:
        config = replace(config, kiosk=replace(config.kiosk, language=args.language))
    summary = _touchscreen(args).demo(config, args.out)
    print(
        f"wrote {args.out}/screens ({len(summary['screens'])} screenshots), receipt.bin, "
        f"certificate.pdf and summary.json; transactions: {', '.join(summary['transactions'])}"
    )
    if not summary["ok"]:
        print(f"kiosk: the scripted session did not finish: {summary['error']}", file=sys.stderr)
        return EXIT_NO
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
