"""The reference platform: the other side of contract/platform.yaml, for demo mode and tests.

It is what a kiosk developer needs from the government platform to prove delivery: it stores
each item once under its idempotency key (a retry answers `duplicate`, never a second record),
checks every request's signature against the key the kiosk enrolled, refuses a revoked kiosk or
a clock that is far off, answers status queries, and carries notices and signed configuration
in heartbeat answers. It can also misbehave on purpose (`--fail-rate`, `--latency-ms`): 503 and
429 with Retry-After before doing anything, or 500 after storing, so that a kiosk must
re-send something the platform already holds.

Flask for routing and JSON; werkzeug's threaded server underneath, because it starts and stops
cleanly in-process (demo mode runs the platform on loopback beside the kiosk). Storage is one
SQLite file in WAL mode; an item is committed before its answer is sent.
"""

from __future__ import annotations

import binascii
import json
import logging
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, make_server

from offline_cache.client import MAX_SKEW_S, b64, body_bytes, signed_text, unb64
from offline_cache.crypto import write_private_file

DB_FILE: Final = "platform.sqlite3"
KEY_FILE: Final = "platform.key"  # signs pushed configuration
CONFIG_FILE: Final = "push-config.json"  # configuration to push in heartbeat answers, if any
MAX_BATCH: Final = 100
MAX_BODY: Final = 2 * 2**20
KEY_PATTERN: Final = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}(:rating)?$"
)
KIOSK_PATTERN: Final = re.compile(r"^[A-Za-z0-9-]{1,32}$")

SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS kiosks (
        kiosk_id    TEXT PRIMARY KEY,
        hall        TEXT NOT NULL,
        alg         TEXT NOT NULL,
        public_key  BLOB NOT NULL,
        enrolled_at REAL NOT NULL,
        revoked_at  REAL,
        last_seen   REAL,
        last_report TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS records (
        key         TEXT PRIMARY KEY,
        kind        TEXT NOT NULL,
        kiosk_id    TEXT NOT NULL,
        number      TEXT NOT NULL,
        parent_key  TEXT,
        item        TEXT NOT NULL DEFAULT '',
        item_name   TEXT NOT NULL DEFAULT '',
        id_number   TEXT,
        payload     TEXT NOT NULL,
        personal    TEXT,
        created_at  REAL NOT NULL,
        received_at REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS records_holder ON records(id_number)",
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS notices (
        id    TEXT PRIMARY KEY,
        text  TEXT NOT NULL,
        until REAL
    )""",
)


class Problem(Exception):
    """An answer other than 200, as the contract's Problem body."""

    def __init__(self, status: int, code: str, reason: str, retry_after: int | None = None):
        super().__init__(reason)
        self.status, self.code, self.reason, self.retry_after = status, code, reason, retry_after


@dataclass
class Faults:
    """Transient misbehaviour, drawn per request from a seeded generator."""

    fail_rate: float = 0.0
    latency_ms: int = 0
    seed: int | None = None
    retry_after_s: int = 1
    injected: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311 - fault injection, not a secret
        self._lock = threading.Lock()

    def draw(self) -> tuple[float, str | None]:
        """(seconds to wait, fault or None): fault is busy (503), slow_down (429) or lost (500
        after the work was done and committed)."""
        with self._lock:
            delay = self._rng.uniform(0, self.latency_ms / 1000) if self.latency_ms else 0.0
            fault = None
            if self._rng.random() < self.fail_rate:
                fault = self._rng.choice(("busy", "slow_down", "lost"))
                self.injected[fault] = self.injected.get(fault, 0) + 1
            return delay, fault


class Store:
    """The platform's SQLite file; one connection under a lock (the server is threaded)."""

    def __init__(self, data_dir: Path, clock: Callable[[], float] = time.time) -> None:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.data_dir = data_dir
        self.clock = clock
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            data_dir / DB_FILE, isolation_level=None, timeout=10, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        with self.tx() as db:
            for statement in SCHEMA:
                db.execute(statement)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def kiosk(self, kiosk_id: str) -> tuple[bytes, str, float | None] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT public_key, alg, revoked_at FROM kiosks WHERE kiosk_id = ?", (kiosk_id,)
            ).fetchone()
        return (bytes(row[0]), row[1], row[2]) if row else None

    def revoke(self, kiosk_id: str) -> bool:
        with self.tx() as db:
            return bool(
                db.execute(
                    "UPDATE kiosks SET revoked_at = ? WHERE kiosk_id = ? AND revoked_at IS NULL",
                    (self.clock(), kiosk_id),
                ).rowcount
            )

    def add_notice(self, notice_id: str, text: str, until: float | None = None) -> None:
        with self.tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO notices(id, text, until) VALUES (?, ?, ?)",
                (notice_id, text, until),
            )

    def clear_notices(self) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM notices")

    def stats(self) -> dict[str, Any]:
        with self._lock:
            keys: dict[str, list[str]] = {"transaction": [], "rating": []}
            for key, kind in self._db.execute("SELECT key, kind FROM records ORDER BY key"):
                keys.setdefault(kind, []).append(key)
            duplicates = self._db.execute(
                "SELECT value FROM counters WHERE name = 'duplicate_submissions'"
            ).fetchone()
            kiosks = self._db.execute("SELECT count(*) FROM kiosks").fetchone()[0]
        return {
            "transactions": len(keys["transaction"]),
            "ratings": len(keys["rating"]),
            "duplicate_submissions": duplicates[0] if duplicates else 0,
            "kiosks": kiosks,
            "transaction_keys": keys["transaction"],
            "rating_keys": keys["rating"],
        }


def platform_key(data_dir: Path) -> Ed25519PrivateKey:
    path = data_dir / KEY_FILE
    if not path.exists():
        write_private_file(
            path,
            Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 key")
    return key


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64url")
    return unb64(text)


# A kiosk's certificate, checked by the caller's trust roots: (certificate, kiosk id, hall,
# raw public key) -> None, or ValueError saying why not.
CertificateCheck = Callable[[str, str, str, bytes], None]
# The platform certifying a kiosk's key itself (demo): (kiosk id, hall, raw key) -> certificate.
Certifier = Callable[[str, str, bytes], str]


def create_app(
    store: Store,
    *,
    faults: Faults | None = None,
    auto_enrol: bool = True,
    check_certificate: CertificateCheck | None = None,
    certifier: Certifier | None = None,
    reject_items: frozenset[str] = frozenset(),
    max_batch: int = MAX_BATCH,
) -> Flask:
    """The WSGI application. `auto_enrol`: a new kiosk is enrolled on first contact (demo);
    otherwise it must bring a certificate that `check_certificate` accepts. Items whose code is
    in `reject_items` are refused for good (a platform that stopped taking an item)."""
    api = _Api(
        store,
        faults or Faults(),
        auto_enrol=auto_enrol,
        check_certificate=check_certificate,
        certifier=certifier,
        reject_items=reject_items,
        max_batch=max_batch,
    )
    app = Flask("kiosk-reference-platform")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.register_error_handler(Problem, api.problem)
    app.register_error_handler(HTTPException, api.http_problem)
    app.before_request(api.misbehave)
    for path, view in (
        ("/v1/enrol", api.enrol),
        ("/v1/batches", api.batches),
        ("/v1/query", api.query),
        ("/v1/heartbeat", api.heartbeat),
    ):
        app.add_url_rule(path, view_func=view, methods=["POST"])
    return app


@dataclass
class _Api:
    store: Store
    faults: Faults
    auto_enrol: bool
    check_certificate: CertificateCheck | None
    certifier: Certifier | None
    reject_items: frozenset[str]
    max_batch: int

    def __post_init__(self) -> None:
        self.signing_key = platform_key(self.store.data_dir)
        self.clock = self.store.clock

    # --- answers -------------------------------------------------------------------------------
    def answer(
        self, data: Mapping[str, Any], status: int = 200, retry: int | None = None
    ) -> Response:
        response = Response(
            body_bytes({**data, "server_time": self.clock()}),
            status=status,
            mimetype="application/json",
        )
        if retry is not None:
            response.headers["Retry-After"] = str(retry)
        return response

    def problem(self, error: Problem) -> Response:
        return self.answer(
            {"code": error.code, "reason": error.reason}, error.status, error.retry_after
        )

    def http_problem(self, error: HTTPException) -> Response:
        status = error.code or 500
        code = {413: "TOO_LARGE", 404: "NOT_FOUND", 405: "NOT_ALLOWED"}.get(status, "MALFORMED")
        return self.answer({"code": code, "reason": error.description or ""}, status)

    def misbehave(self) -> None:
        delay, fault = self.faults.draw()
        if delay:
            time.sleep(delay)
        request.environ["kiosk.fault"] = fault
        if fault == "busy":
            raise Problem(
                503, "BUSY", "injected: the platform is overloaded", self.faults.retry_after_s
            )
        if fault == "slow_down":
            raise Problem(429, "BUSY", "injected: too many requests", self.faults.retry_after_s)

    @staticmethod
    def lost_answer() -> None:
        if request.environ.get("kiosk.fault") == "lost":
            raise Problem(500, "FAULT", "injected: the work was done but the answer is lost")

    # --- requests ------------------------------------------------------------------------------
    @staticmethod
    def body() -> dict[str, Any]:
        try:
            data = json.loads(request.get_data(cache=True))
        except (ValueError, RecursionError):
            raise Problem(400, "MALFORMED", "the body is not JSON") from None
        if not isinstance(data, dict):
            raise Problem(400, "MALFORMED", "the body is not a JSON object")
        return data

    def authenticated(self) -> str:
        """The kiosk that signed this request, or a 401/403 Problem."""
        kiosk_id = request.headers.get("X-Kiosk-Id", "")
        when = request.headers.get("X-Kiosk-Time", "")
        alg, _, signature = request.headers.get("X-Kiosk-Signature", "").partition(":")
        known = self.store.kiosk(kiosk_id)
        if known is None:
            raise Problem(401, "NOT_ENROLLED", f"kiosk {kiosk_id!r} is not enrolled")
        public, enrolled_alg, revoked_at = known
        if revoked_at is not None:
            raise Problem(403, "KIOSK_REVOKED", f"kiosk {kiosk_id}'s key was revoked")
        if not (when.isascii() and when.isdigit()) or abs(self.clock() - int(when)) > MAX_SKEW_S:
            raise Problem(401, "CLOCK_SKEW", "the request's time is too far from the platform's")
        try:
            if alg != enrolled_alg:
                raise InvalidSignature
            Ed25519PublicKey.from_public_bytes(public).verify(
                _unb64(signature),
                signed_text(
                    request.method,
                    request.script_root + request.path,
                    when,
                    request.get_data(cache=True),
                ),
            )
        except (InvalidSignature, ValueError, binascii.Error):
            raise Problem(401, "BAD_SIGNATURE", "the request's signature does not verify") from None
        return kiosk_id

    # --- the four operations -----------------------------------------------------------------
    def enrol(self) -> Response:
        data = self.body()
        kiosk_id, hall, public = _enrolment(data)
        certificate = data.get("certificate")
        known = self.store.kiosk(kiosk_id)
        if known is not None:
            if known[2] is not None:
                raise Problem(403, "KIOSK_REVOKED", f"kiosk {kiosk_id}'s key was revoked")
            if known[0] != public:
                raise Problem(403, "KEY_MISMATCH", f"kiosk {kiosk_id} is enrolled with another key")
        else:
            if not self.auto_enrol:
                # Only a kiosk whose district certified its key may join.
                if not isinstance(certificate, str) or self.check_certificate is None:
                    raise Problem(
                        403, "ENROLMENT_CLOSED", "this platform enrols certified kiosks only"
                    )
                try:
                    self.check_certificate(certificate, kiosk_id, hall, public)
                except ValueError as error:
                    raise Problem(403, "BAD_CERTIFICATE", str(error)) from None
            with self.store.tx() as db:
                db.execute(
                    "INSERT OR IGNORE INTO kiosks(kiosk_id, hall, alg, public_key, enrolled_at) "
                    "VALUES (?, ?, 'Ed25519', ?, ?)",
                    (kiosk_id, hall, public, self.clock()),
                )
        self.lost_answer()
        result: dict[str, Any] = {
            "kiosk_id": kiosk_id,
            "platform_key": "Ed25519:" + b64(_raw(self.signing_key.public_key())),
        }
        if self.certifier is not None and not isinstance(certificate, str):
            result["certificate"] = self.certifier(kiosk_id, hall, public)
        return self.answer(result)

    def batches(self) -> Response:
        kiosk_id = self.authenticated()
        items = self.body().get("items")
        if not isinstance(items, list) or not items:
            raise Problem(400, "MALFORMED", "items must be a non-empty list")
        if len(items) > self.max_batch:
            raise Problem(413, "TOO_LARGE", f"at most {self.max_batch} items in a batch")
        with self.store.tx() as db:
            results = [
                _store_item(db, kiosk_id, item, self.reject_items, self.clock()) for item in items
            ]
        self.lost_answer()
        return self.answer({"results": results})

    def query(self) -> Response:
        self.authenticated()
        id_number = self.body().get("id_number")
        if not isinstance(id_number, str) or not 15 <= len(id_number) <= 18:
            raise Problem(400, "MALFORMED", "id_number is missing")
        with self.store.tx() as db:
            found = [
                {
                    "key": key,
                    "number": number,
                    "item": item,
                    "item_name": item_name,
                    "status": "accepted",
                    "received_at": received_at,
                }
                for key, number, item, item_name, received_at in db.execute(
                    "SELECT key, number, item, item_name, received_at FROM records "
                    "WHERE kind = 'transaction' AND id_number = ? ORDER BY received_at DESC "
                    "LIMIT 50",
                    (id_number.upper(),),
                )
            ]
        return self.answer({"transactions": found})

    def heartbeat(self) -> Response:
        kiosk_id = self.authenticated()
        report = self.body()
        now = self.clock()
        with self.store.tx() as db:
            db.execute(
                "UPDATE kiosks SET last_seen = ?, last_report = ? WHERE kiosk_id = ?",
                (now, body_bytes(report).decode(), kiosk_id),
            )
            notices = [
                {"id": i, "text": t, **({"until": u} if u is not None else {})}
                for i, t, u in db.execute(
                    "SELECT id, text, until FROM notices WHERE until IS NULL OR until > ? "
                    "ORDER BY id LIMIT 5",
                    (now,),
                )
            ]
        result: dict[str, Any] = {"notices": notices}
        pushed = self.store.data_dir / CONFIG_FILE
        if pushed.exists():
            config_body = body_bytes(json.loads(pushed.read_text(encoding="utf-8")))
            result["configuration"] = {
                "body": b64(config_body),
                "signature": "Ed25519:" + b64(self.signing_key.sign(config_body)),
            }
        self.lost_answer()
        return self.answer(result)


def _enrolment(data: Mapping[str, Any]) -> tuple[str, str, bytes]:
    kiosk_id, hall = data.get("kiosk_id"), data.get("hall")
    if not isinstance(kiosk_id, str) or not KIOSK_PATTERN.match(kiosk_id):
        raise Problem(400, "MALFORMED", "kiosk_id is missing or not an identifier")
    if not isinstance(hall, str) or not hall:
        raise Problem(400, "MALFORMED", "hall is missing")
    if data.get("alg") != "Ed25519":
        raise Problem(400, "MALFORMED", "alg must be Ed25519")
    try:
        public = _unb64(data.get("public_key"))
        Ed25519PublicKey.from_public_bytes(public)
    except (ValueError, binascii.Error):
        raise Problem(400, "MALFORMED", "public_key is not an Ed25519 key") from None
    return kiosk_id, hall, public


def _store_item(
    db: sqlite3.Connection,
    kiosk_id: str,
    item: Any,
    reject_items: frozenset[str],
    now: float,
) -> dict[str, str]:
    """One item of a batch: stored once, or answered duplicate, or rejected with a reason."""
    key = item.get("key") if isinstance(item, dict) else None
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        # Without a usable key there is nothing to answer for: the whole batch is malformed.
        raise Problem(400, "MALFORMED", "an item lacks a UUIDv7 key")

    def rejected(code: str, reason: str) -> dict[str, str]:
        return {"key": key, "outcome": "rejected", "code": code, "reason": reason}

    kind, number, payload = item.get("kind"), item.get("number"), item.get("payload")
    personal, parent = item.get("personal"), item.get("parent_key")
    if kind not in ("transaction", "rating") or not isinstance(number, str) or not number:
        return rejected("MALFORMED", "kind or number is missing")
    if not isinstance(payload, dict):
        return rejected("MALFORMED", "payload is missing")
    existing = db.execute("SELECT kind, number FROM records WHERE key = ?", (key,)).fetchone()
    if existing is not None:
        if tuple(existing) != (kind, number):
            return rejected("KEY_REUSED", "this key was already used for another item")
        db.execute(
            "INSERT INTO counters(name, value) VALUES ('duplicate_submissions', 1) "
            "ON CONFLICT(name) DO UPDATE SET value = value + 1"
        )
        return {"key": key, "outcome": "duplicate"}
    id_number = None
    if kind == "transaction":
        applicant = personal.get("applicant") if isinstance(personal, dict) else None
        id_number = applicant.get("id_number") if isinstance(applicant, dict) else None
        if not isinstance(id_number, str) or not isinstance(payload.get("item"), str):
            return rejected("MALFORMED", "a transaction needs its item and applicant")
        if payload["item"] in reject_items:
            return rejected("ITEM_CLOSED", "该事项已停止自助受理，请到窗口办理")
    else:
        found = db.execute(
            "SELECT 1 FROM records WHERE key = ? AND kind = 'transaction'", (parent,)
        ).fetchone()
        if not found:
            return rejected("UNKNOWN_TRANSACTION", "a rating must follow its transaction")
    created = item.get("created_at")
    db.execute(
        "INSERT INTO records(key, kind, kiosk_id, number, parent_key, item, item_name, "
        "id_number, payload, personal, created_at, received_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            key,
            kind,
            kiosk_id,
            number,
            parent if kind == "rating" else None,
            str(payload.get("item", "")),
            str(payload.get("item_name", "")),
            id_number.upper() if id_number else None,
            body_bytes(payload).decode(),
            body_bytes(personal).decode() if isinstance(personal, dict) else None,
            float(created) if isinstance(created, int | float) else now,
            now,
        ),
    )
    return {"key": key, "outcome": "accepted"}


class Running:
    """A platform served on a thread (demo mode, tests); `stop()` ends it cleanly."""

    def __init__(self, server: BaseWSGIServer, store: Store) -> None:
        self.server, self.store = server, store
        self.port = server.port
        self.url = f"http://{server.host}:{server.port}"
        self._thread = threading.Thread(
            target=server.serve_forever, name="reference-platform", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
        self.store.close()


def start(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    quiet: bool = False,
    clock: Callable[[], float] = time.time,
    **options: Any,
) -> Running:
    if quiet:
        # Beside a kiosk (demo), a line per request would drown the kiosk's own log.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    store = Store(data_dir, clock)
    try:
        app = create_app(store, **options)
        server = make_server(host, port, app, threaded=True)
    except BaseException:
        store.close()
        raise
    return Running(server, store)


def stats(data_dir: Path) -> dict[str, Any]:
    if not (data_dir / DB_FILE).exists():
        raise FileNotFoundError(f"there is no reference platform data in {data_dir}")
    store = Store(data_dir)
    try:
        return store.stats()
    finally:
        store.close()
