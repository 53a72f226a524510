"""The platform commands: `kiosk queue sync` and `kiosk platform serve|stats|notice|revoke`."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any


def _rate(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def add_queue_sync(queue: Any) -> None:
    sync = queue.add_parser(
        "sync", help="send until nothing is queued or S seconds passed; exit 0 when empty"
    )
    sync.add_argument("--timeout", type=float, default=300.0, metavar="S")
    sync.add_argument("--json", action="store_true")
    sync.set_defaults(handler=cmd_queue_sync)


def add_platform_commands(commands: Any) -> None:
    platform = commands.add_parser(
        "platform", help="the reference platform (demo and tests)"
    ).add_subparsers(dest="platform_command", metavar="SUBCOMMAND", required=True)
    serve = platform.add_parser("serve", help="serve the reference platform on loopback")
    serve.add_argument("--port", type=_non_negative, required=True, metavar="N", help="0: any free")
    serve.add_argument("--data", type=Path, required=True, metavar="DIR")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--fail-rate", type=_rate, default=0.0, metavar="R")
    serve.add_argument("--latency-ms", type=_non_negative, default=0, metavar="M")
    serve.add_argument("--seed", type=int, default=None, help="for reproducible faults")
    serve.add_argument(
        "--reject-item", action="append", default=[], metavar="CODE", help="refuse this item"
    )
    serve.add_argument(
        "--no-auto-enrol",
        action="store_true",
        help="enrol only kiosks certified by a root in DATA/roots (default: enrol on contact)",
    )
    serve.set_defaults(handler=cmd_platform_serve)
    stats = platform.add_parser("stats", help="what the platform holds")
    stats.add_argument("--data", type=Path, required=True, metavar="DIR")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(handler=cmd_platform_stats)
    notice = platform.add_parser("notice", help="an emergency notice for every kiosk's idle screen")
    notice.add_argument("--data", type=Path, required=True, metavar="DIR")
    notice.add_argument("text", nargs="?", help="the notice (omit with --clear)")
    notice.add_argument("--hours", type=float, default=None, help="shown for this long")
    notice.add_argument("--clear", action="store_true", help="withdraw every notice")
    notice.set_defaults(handler=cmd_platform_notice)
    revoke = platform.add_parser("revoke", help="refuse a kiosk's key from now on")
    revoke.add_argument("--data", type=Path, required=True, metavar="DIR")
    revoke.add_argument("kiosk_id")
    revoke.set_defaults(handler=cmd_platform_revoke)


def cmd_queue_sync(args: argparse.Namespace) -> int:
    from kiosk.cli import EXIT_NO, EXIT_OK, CommandError, load
    from kiosk.clock import today_local
    from kiosk.core import OUTBOX_FILE, record_event
    from kiosk.platform import PlatformLink
    from offline_cache.outbox import Outbox
    from offline_cache.sync import SyncLimits

    config = load(args)
    if not (config.data_dir / OUTBOX_FILE).exists():
        raise CommandError(f"there is no outbox in {config.data_dir}", EXIT_NO)

    def record(kind: str, fields: Any) -> None:
        record_event(config.data_dir, kind, {**fields, "by": "queue sync"})

    with Outbox(config.data_dir / OUTBOX_FILE, min_free_bytes=0, create=False) as outbox:
        # From a shell someone is waiting: retry sooner than a kiosk's background worker would.
        limits = SyncLimits(backoff_cap_s=min(30.0, max(1.0, args.timeout / 4)))
        link = PlatformLink(config, outbox, today=today_local(), on_event=record, limits=limits)
        try:
            if link.worker is None:
                raise CommandError(link.problem or "sync is not possible", EXIT_NO)
            empty = link.worker.sync_until_empty(args.timeout)
            progress, state, status = link.worker.progress, link.worker.state, outbox.status()
        finally:
            link.close()
    summary = {
        "accepted": progress.accepted,
        "duplicates": progress.duplicates,
        "rejected": progress.rejected,
        "rejection_codes": progress.codes,
        "left_queued": status["queued"] + status["sending"],
        "paused": state.paused,
        "last_error": state.last_error,
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(
            f"sent: {progress.accepted} accepted, {progress.duplicates} already there, "
            f"{progress.rejected} rejected; {summary['left_queued']} left in the queue"
        )
    if not empty:
        print(
            f"kiosk: not everything was sent: {state.paused or state.last_error or 'time ran out'}",
            file=sys.stderr,
        )
    return EXIT_OK if empty else EXIT_NO


def cmd_platform_serve(args: argparse.Namespace) -> int:
    from kiosk.cli import EXIT_OK
    from kiosk.trust import (
        NotGenuine,
        TrustStore,
        TrustStoreError,
        certify,
        read_private,
        write_private,
    )
    from offline_cache import platform_server

    root_path = args.data / "root.key"
    args.data.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not root_path.exists():
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        write_private(root_path, Ed25519PrivateKey.generate())
    root = read_private(root_path)

    def certifier(kiosk_id: str, hall: str, public: bytes) -> str:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        from kiosk.clock import today_local

        key = Ed25519PublicKey.from_public_bytes(public)
        cert = certify(root, kiosk_id=kiosk_id, hall=hall, public=key, not_before=today_local())
        return cert.encode()

    def check_certificate(text: str, kiosk_id: str, hall: str, public: bytes) -> None:
        from kiosk.clock import today_local
        from kiosk.trust import KioskCertificate

        try:
            store = TrustStore.load(args.data)
            cert = KioskCertificate.decode(text)
            store.check_certificate(cert, today_local())
        except (NotGenuine, TrustStoreError, OSError) as error:
            raise ValueError(str(error)) from None
        if (cert.kiosk_id, cert.hall, cert.public_key) != (kiosk_id, hall, public):
            raise ValueError("the certificate is for another kiosk, hall or key")

    running = platform_server.start(
        args.data,
        host=args.host,
        port=args.port,
        faults=platform_server.Faults(args.fail_rate, args.latency_ms, args.seed),
        auto_enrol=not args.no_auto_enrol,
        certifier=certifier,
        check_certificate=check_certificate,
        reject_items=frozenset(args.reject_item),
    )
    # The first line says where it listens (with --port 0, tests read the port from it).
    print(f"listening on {running.url}", flush=True)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    try:
        while not stopping:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    running.stop()
    return EXIT_OK


def cmd_platform_stats(args: argparse.Namespace) -> int:
    from kiosk.cli import EXIT_NO, EXIT_OK, CommandError
    from offline_cache import platform_server

    try:
        stats = platform_server.stats(args.data)
    except FileNotFoundError as error:
        raise CommandError(str(error), EXIT_NO) from None
    if args.json:
        print(json.dumps(stats))
    else:
        for key in ("transactions", "ratings", "duplicate_submissions", "kiosks"):
            print(f"{key:<22} {stats[key]}")
    return EXIT_OK


def cmd_platform_notice(args: argparse.Namespace) -> int:
    from kiosk.cli import EXIT_OK, EXIT_USAGE, CommandError

    if bool(args.clear) == bool(args.text):
        raise CommandError("give a notice's text, or --clear", EXIT_USAGE)
    store = _existing_store(args.data)
    try:
        if args.clear:
            store.clear_notices()
        else:
            until = time.time() + args.hours * 3600 if args.hours is not None else None
            store.add_notice(f"n{time.time_ns()}", args.text, until)
    finally:
        store.close()
    return EXIT_OK


def cmd_platform_revoke(args: argparse.Namespace) -> int:
    from kiosk.cli import EXIT_NO, EXIT_OK

    store = _existing_store(args.data)
    try:
        revoked = store.revoke(args.kiosk_id)
    finally:
        store.close()
    print(f"kiosk {args.kiosk_id}: {'revoked' if revoked else 'not enrolled or already revoked'}")
    return EXIT_OK if revoked else EXIT_NO


def _existing_store(data: Path) -> Any:
    """The platform's store in `data`; a folder without one is most likely a typo, and a new
    empty platform made there would take the notice or revocation to no kiosk at all."""
    from kiosk.cli import EXIT_NO, CommandError
    from offline_cache import platform_server

    if not (data / platform_server.DB_FILE).exists():
        raise CommandError(
            f"there is no reference platform in {data} (check --data; "
            "`kiosk platform serve --data DIR` makes one)",
            EXIT_NO,
        )
    return platform_server.Store(data)
