"""The durable outbox: every transaction and rating is committed here before the resident is
told 已受理, and leaves only once the platform accepted or rejected it.

Choices, and why:
- SQLite in WAL mode with synchronous=FULL: a commit that returned survives a crash and a power
  cut on storage that honours flushes. busy_timeout, so a second process waits instead of failing.
  Only a sender's leases and the platform's acceptances skip the flush: losing them to a power
  cut means a re-send, which the idempotency key makes harmless. A rejection is flushed.
- One transaction helper (BEGIN IMMEDIATE; rollback on any exception) on an isolation_level=None
  connection, so that Python's sqlite3 never opens or commits transactions behind our back.
- Rows change status (queued, sending, accepted, rejected) and are leased (owner, expiry) while
  one sender holds them; nothing is deleted to mark progress. Stale leases go back to queued at
  start-up. Lease times are wall-clock seconds: they must mean the same after a reboot, which a
  monotonic clock does not.
- The readable number (KIOSK-YYYYMMDD-NNNNN) comes from a durable per-day sequence allocated in
  the same transaction as the row, so a crash can neither reuse nor skip-and-duplicate a number.
- Payloads are JSON, never pickle. The schema version is PRAGMA user_version, with migrations.
- Below a free-space floor nothing new is accepted: a full disk must never yield 已受理.

Errors, drawn once:
    OutboxError            the outbox cannot do what was asked; `resident_message` in plain words
    ├── OutboxFull         below the free-space floor, or SQLite reports the disk full
    ├── OutboxBusy         another process held the database longer than the busy timeout
    └── OutboxCorrupt      the file is not a database, or is damaged
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NamedTuple

from offline_cache.crypto import KeyFileError, KeyRing, Sealed

SCHEMA_VERSION: Final = 2
STATUSES: Final = ("queued", "sending", "accepted", "rejected")
KINDS: Final = ("transaction", "rating")

# Each migration is a list of statements, applied in one transaction; index + 1 = the version.
MIGRATIONS: Final[Sequence[Sequence[str]]] = (
    (
        """CREATE TABLE outbox (
            id            INTEGER PRIMARY KEY,
            key           TEXT NOT NULL UNIQUE,
            kind          TEXT NOT NULL CHECK (kind IN ('transaction', 'rating')),
            number        TEXT NOT NULL UNIQUE,
            parent_key    TEXT REFERENCES outbox(key),
            status        TEXT NOT NULL DEFAULT 'queued'
                          CHECK (status IN ('queued', 'sending', 'accepted', 'rejected')),
            lease_owner   TEXT,
            lease_expires REAL,
            attempts      INTEGER NOT NULL DEFAULT 0,
            reject_code   TEXT,
            reject_reason TEXT,
            payload       TEXT NOT NULL,
            created_at    REAL NOT NULL,
            updated_at    REAL NOT NULL,
            CHECK ((kind = 'rating') = (parent_key IS NOT NULL)),
            CHECK ((status = 'sending') = (lease_owner IS NOT NULL))
        )""",
        "CREATE INDEX outbox_status ON outbox(status, created_at)",
        # One rating per transaction: a rating must never be counted twice.
        "CREATE UNIQUE INDEX outbox_one_rating ON outbox(parent_key) WHERE kind = 'rating'",
        """CREATE TABLE sequence (
            day  TEXT PRIMARY KEY,
            last INTEGER NOT NULL
        )""",
    ),
    (
        # Personal data, sealed (offline_cache.crypto): algorithm and key id beside each value.
        "ALTER TABLE outbox ADD COLUMN secret BLOB",
        "ALTER TABLE outbox ADD COLUMN secret_alg TEXT",
        "ALTER TABLE outbox ADD COLUMN secret_key_id TEXT",
        "ALTER TABLE outbox ADD COLUMN purged_at REAL",
    ),
)

# SQLite primary result codes (the low byte of an extended code).
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_NOTADB = 5, 6, 11, 13, 26


def N_(message: str) -> str:
    """Marks resident words for the catalogs; the screens translate them when shown."""
    return message


class OutboxError(Exception):
    resident_message = N_("暂时无法受理，请稍后再试或联系工作人员。")

    def __init__(self, message: str, resident_message: str | None = None) -> None:
        super().__init__(message)
        if resident_message:
            self.resident_message = resident_message


class OutboxFull(OutboxError):
    resident_message = N_("自助机存储空间不足，暂停受理新业务，请到人工窗口办理。")


class OutboxBusy(OutboxError):
    resident_message = N_("系统繁忙，请稍后再试。")


class OutboxCorrupt(OutboxError):
    resident_message = N_("自助机暂停服务，请到人工窗口办理。")


class Outcome(NamedTuple):
    """What became of one leased row: accepted, rejected (with the platform's code and
    reason), or queued again to be retried."""

    key: str
    status: str
    code: str | None = None
    reason: str | None = None


@dataclass(frozen=True, repr=False)
class Row:
    key: str
    kind: str
    number: str
    status: str
    payload: Mapping[str, Any]
    created_at: float
    updated_at: float
    parent_key: str | None = None
    lease_owner: str | None = None
    lease_expires: float | None = None
    attempts: int = 0
    reject_code: str | None = None
    reject_reason: str | None = None
    sealed: Sealed | None = None  # the personal part, encrypted; None when there is none
    purged_at: float | None = None  # when the personal part was erased after retention

    def __repr__(self) -> str:
        # The payload holds personal data: never in a repr, a log line or a traceback.
        return f"Row({self.kind} {self.number} {self.status} key={self.key})"


_COLUMNS = (
    "key, kind, number, status, payload, created_at, updated_at, parent_key, "
    "lease_owner, lease_expires, attempts, reject_code, reject_reason, "
    "secret, secret_alg, secret_key_id, purged_at"
)

# The oldest rows that may be leased: queued, or leased by a sender whose lease expired; a
# rating only after its transaction. Two index-ordered halves merged, rather than one OR that
# sorts the whole queue on every lease: a kiosk back online after weeks leases in O(batch).
_LEASABLE_PART = (
    "SELECT * FROM (SELECT o.id, o.created_at FROM outbox o "
    "LEFT JOIN outbox p ON p.key = o.parent_key "
    "WHERE {} AND (o.kind = 'transaction' OR p.status = 'accepted') "
    "ORDER BY o.created_at, o.id LIMIT ?)"
)
_LEASABLE = (
    "SELECT id FROM ("  # noqa: S608 - constant text, values are bound
    + _LEASABLE_PART.format("o.status = 'queued'")
    + " UNION ALL "
    + _LEASABLE_PART.format("o.status = 'sending' AND o.lease_expires < ?")
    + ") ORDER BY created_at, id LIMIT ?"
)


def _row(values: Sequence[Any]) -> Row:
    (
        key,
        kind,
        number,
        status,
        payload,
        created_at,
        updated_at,
        parent_key,
        lease_owner,
        lease_expires,
        attempts,
        reject_code,
        reject_reason,
        secret,
        alg,
        key_id,
        purged_at,
    ) = values
    return Row(
        key,
        kind,
        number,
        status,
        json.loads(payload),
        created_at,
        updated_at,
        parent_key,
        lease_owner,
        lease_expires,
        attempts,
        reject_code,
        reject_reason,
        Sealed(alg, key_id, bytes(secret)) if secret is not None else None,
        purged_at,
    )


class Outbox:
    """One SQLite file. Thread-safe: one connection, used under a lock."""

    def __init__(
        self,
        path: Path,
        *,
        min_free_bytes: int = 200 * 1024 * 1024,
        busy_timeout_s: float = 5.0,
        clock: Callable[[], float] = time.time,
        create: bool = True,
        key_file: Path | None = None,
    ) -> None:
        """Open the outbox at `path`; with create=False (for read-only commands) a missing file
        is an error instead of a new, empty outbox that would hide a mistyped data folder."""
        self.path = path
        self.min_free_bytes = min_free_bytes
        self.key_file = key_file or path.parent / "keys" / "outbox.keys"
        self._ring: KeyRing | None = None  # loaded when first needed: reading counts needs none
        self._clock = clock
        self._lock = threading.RLock()
        if not create and not path.exists():
            raise OutboxError(f"there is no outbox at {path} (check the data folder)")
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not path.exists():
                # Created 0600 before SQLite opens it: the rows hold personal data.
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as error:
            raise OutboxError(
                f"cannot create the outbox in {path.parent}: {error.strerror}; "
                "check that the data folder exists and belongs to the kiosk's user"
            ) from None
        with _translated(f"open {path.name}"):
            self._db = sqlite3.connect(
                path, isolation_level=None, timeout=busy_timeout_s, check_same_thread=False
            )
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise OutboxError(f"{path}: SQLite refused WAL mode (got {mode!r})")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
            self._migrate()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the one transaction helper --------------------------------------------------------
    @contextmanager
    def _tx(self, what: str, *, flush: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction. flush=False: committed without waiting for the disk, for what a
        power cut may safely undo (see `lease` and `finish`); a later flushed commit carries
        it to the disk with its own, in order."""
        with self._lock, _translated(what):
            if not flush:
                self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    # SQLite may already have rolled back by itself (disk full, for one): a
                    # second ROLLBACK would fail and hide the error that matters. A failed
                    # COMMIT must not leave the connection inside a transaction either.
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
            finally:
                if not flush:
                    self._db.execute("PRAGMA synchronous=FULL")

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise OutboxError(
                f"{self.path}: written by a newer kiosk (schema {version}, this "
                f"version knows {SCHEMA_VERSION}); do not downgrade over it"
            )
        for number in range(version, SCHEMA_VERSION):
            with self._tx(f"migrate to schema {number + 1}") as db:
                for statement in MIGRATIONS[number]:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version={number + 1}")

    # --- personal data ------------------------------------------------------------------------
    def _keys(self) -> KeyRing:
        if self._ring is None:
            try:
                self._ring = KeyRing.open(self.key_file)
            except KeyFileError as error:
                raise OutboxError(
                    f"outbox key: {error}", N_("自助机暂停服务，请到人工窗口办理。")
                ) from None
        return self._ring

    def _seal(self, key: str, personal: Mapping[str, Any] | None) -> Sealed | None:
        if personal is None:
            return None
        return self._keys().seal(_json(personal).encode(), key.encode())

    def personal(self, row: Row) -> dict[str, Any] | None:
        """The decrypted personal part of a row; None when it has none or it was purged."""
        if row.sealed is None:
            return None
        try:
            data: dict[str, Any] = json.loads(
                self._keys().open_sealed(row.sealed, row.key.encode())
            )
        except KeyFileError as error:
            raise OutboxError(f"row {row.number}: {error}") from None
        return data

    def purge(self, retention_s: float) -> int:
        """Erase, for real, the personal part of rows the platform accepted more than
        `retention_s` ago; their number and status stay for staff. secure_delete is on, and the
        WAL is checkpointed and truncated, so nothing stays readable in free pages or the log."""
        cutoff = self._clock() - retention_s
        with self._tx("purge personal data") as db:
            count = db.execute(
                "UPDATE outbox SET secret = NULL, secret_alg = NULL, secret_key_id = NULL, "
                "purged_at = ? WHERE status = 'accepted' AND secret IS NOT NULL "
                "AND updated_at < ?",
                (self._clock(), cutoff),
            ).rowcount
        with self._lock, _translated("checkpoint the log"):
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return count

    def check(self) -> str:
        """For the self-test: SQLite's own integrity check, and the newest personal part opened
        with the key (a lost key shows here, not at the first lookup). OutboxError if not."""
        with self._lock, _translated("check the database"):
            verdict = self._db.execute("PRAGMA quick_check").fetchone()[0]
            newest = self._db.execute(
                "SELECT key FROM outbox WHERE secret IS NOT NULL ORDER BY created_at DESC LIMIT 1"
            ).fetchone()
        if verdict != "ok":
            raise OutboxError(f"SQLite integrity check: {verdict}")
        if newest is not None:
            row = self.get(newest[0])
            try:
                if row is not None:
                    self.personal(row)
            except OutboxError as error:
                raise OutboxError(
                    f"the newest record does not open with the key in {self.key_file} (the key "
                    f"file was replaced or lost?): {error}"
                ) from None
        return "integrity ok" + (", the newest record opens with the key" if newest else "")

    # --- space ---------------------------------------------------------------------------------
    def free_bytes(self) -> int:
        return shutil.disk_usage(self.path.parent).free

    def check_room(self) -> None:
        """OutboxFull when the disk is below the floor: then the kiosk takes no new sessions."""
        free = self.free_bytes()
        if free < self.min_free_bytes:
            raise OutboxFull(
                f"only {free // 2**20} MB free in {self.path.parent}, below the "
                f"floor of {self.min_free_bytes // 2**20} MB: no new transactions"
            )

    # --- writing ----------------------------------------------------------------------------
    def enqueue_transaction(
        self,
        key: str,
        payload: Mapping[str, Any],
        *,
        kiosk_id: str,
        day: str,
        personal: Mapping[str, Any] | None = None,
    ) -> Row:
        """Commit a transaction; once this returns, it survives a crash. The same key again
        returns the row already there (a double tap never makes two); the same key with other
        content is refused, since it would silently drop what the resident asked for."""
        self.check_room()
        body = _json(payload)
        sealed = self._seal(key, personal)
        with self._tx("enqueue a transaction") as db:
            existing = self._same(db, key, "transaction", payload, personal)
            if existing is not None:
                return existing
            db.execute(
                "INSERT INTO sequence(day, last) VALUES (?, 1) "
                "ON CONFLICT(day) DO UPDATE SET last = last + 1",
                (day,),
            )
            sequence = db.execute("SELECT last FROM sequence WHERE day = ?", (day,)).fetchone()[0]
            number = f"{kiosk_id}-{day}-{sequence:05d}"
            now = self._clock()
            db.execute(
                "INSERT INTO outbox(key, kind, number, payload, created_at, updated_at, "
                "secret, secret_alg, secret_key_id) VALUES (?, 'transaction', ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    number,
                    body,
                    now,
                    now,
                    sealed and sealed.blob,
                    sealed and sealed.alg,
                    sealed and sealed.key_id,
                ),
            )
            row = self._get(db, key)
        assert row is not None
        return row

    def enqueue_rating(self, key: str, transaction_key: str, payload: Mapping[str, Any]) -> Row:
        """Commit a rating of a transaction; it is sent only after that transaction was accepted."""
        self.check_room()
        body = _json(payload)
        with self._tx("enqueue a rating") as db:
            existing = self._same(db, key, "rating", payload)
            if existing is not None:
                return existing
            parent = self._get(db, transaction_key)
            if parent is None or parent.kind != "transaction":
                raise OutboxError(f"no transaction {transaction_key} to rate")
            if parent.status == "rejected":
                raise OutboxError(
                    f"transaction {parent.number} was rejected: its rating could never be sent",
                    N_("这项业务未被受理，无需评价。"),
                )
            if db.execute(
                "SELECT 1 FROM outbox WHERE kind = 'rating' AND parent_key = ?", (transaction_key,)
            ).fetchone():
                raise OutboxError(
                    f"transaction {parent.number} is already rated",
                    N_("这项业务已经评价过了，谢谢您。"),
                )
            now = self._clock()
            db.execute(
                "INSERT INTO outbox(key, kind, number, parent_key, payload, created_at, "
                "updated_at) VALUES (?, 'rating', ?, ?, ?, ?, ?)",
                (key, f"{parent.number}-R", transaction_key, body, now, now),
            )
            row = self._get(db, key)
        assert row is not None
        return row

    # --- sending (the sync worker's side) -----------------------------------------------------
    def lease(self, owner: str, *, limit: int, lease_s: float) -> list[Row]:
        """Take up to `limit` rows, oldest first, for `owner` until the lease expires: queued
        rows, and rows whose earlier lease expired (their sender died or hung). A rating is
        only taken once its transaction was accepted."""
        now = self._clock()
        # Not flushed: a lease lost to a power cut leaves the rows queued, to be sent again.
        with self._tx("lease rows", flush=False) as db:
            # One statement picks, marks and returns the rows: a sync of thousands of rows
            # leases them in batches, and each batch's statements are on the sender's path.
            found = db.execute(
                "UPDATE outbox SET status = 'sending', lease_owner = ?, "  # noqa: S608 - constant
                "lease_expires = ?, attempts = attempts + 1, updated_at = ? "
                f"WHERE id IN ({_LEASABLE}) RETURNING id, {_COLUMNS}",
                (owner, now + lease_s, now, limit, now, limit, limit),
            ).fetchall()
        # RETURNING gives no order: oldest first, as they were picked.
        found.sort(key=lambda values: (values[6], values[0]))
        return [_row(values[1:]) for values in found]

    def accept(self, key: str, owner: str) -> None:
        self._finish_one(key, owner, "accepted")

    def reject(self, key: str, owner: str, code: str, reason: str) -> None:
        self._finish_one(key, owner, "rejected", code, reason)

    def release(self, key: str, owner: str) -> None:
        """Give a leased row back, to be retried."""
        self._finish_one(key, owner, "queued")

    def _finish_one(
        self, key: str, owner: str, status: str, code: str | None = None, reason: str | None = None
    ) -> None:
        if self.finish(owner, [Outcome(key, status, code, reason)]):
            raise OutboxError(f"row {key} is not leased by {owner}")

    def finish(self, owner: str, outcomes: Sequence[Outcome]) -> list[str]:
        """What became of leased rows (accepted, rejected, or queued again), a whole batch's
        answer in one transaction. Returns the keys that were not
        `owner`'s to finish (its lease expired and another sender took the row); those are
        left as they are."""
        now = self._clock()
        for outcome in outcomes:
            if outcome.status not in ("accepted", "rejected", "queued"):
                raise ValueError(f"a leased row cannot become {outcome.status!r}")
        ours: set[str] = set()
        # Accepted rows and rows given back are not flushed: lost to a power cut, they are sent
        # again, which the platform answers `duplicate` (or takes); a flush less per batch is
        # also less wear on a kiosk's flash storage. A rejection is flushed: it is final, staff
        # are told of it at once, and the platform, which keeps no rejected item, would judge
        # a re-sent one anew.
        rejecting = any(o.status == "rejected" for o in outcomes)
        with self._tx("mark rows sent", flush=rejecting) as db:
            for status in ("accepted", "queued"):
                keys = [o.key for o in outcomes if o.status == status]
                for start in range(0, len(keys), 500):  # within SQLite's bound-variable limit
                    chunk = keys[start : start + 500]
                    ours.update(
                        key
                        for (key,) in db.execute(
                            "UPDATE outbox SET status = ?, lease_owner = NULL, "  # noqa: S608
                            "lease_expires = NULL, reject_code = NULL, reject_reason = NULL, "
                            "updated_at = ? WHERE status = 'sending' AND lease_owner = ? "
                            f"AND key IN ({', '.join('?' * len(chunk))}) RETURNING key",
                            (status, now, owner, *chunk),
                        )
                    )
            for key, _, code, reason in (o for o in outcomes if o.status == "rejected"):
                if db.execute(
                    "UPDATE outbox SET status = 'rejected', lease_owner = NULL, "
                    "lease_expires = NULL, reject_code = ?, reject_reason = ?, updated_at = ? "
                    "WHERE key = ? AND status = 'sending' AND lease_owner = ?",
                    (code, reason, now, key, owner),
                ).rowcount:
                    ours.add(key)
                    # A rating is sent only after its transaction was accepted; once that can
                    # no longer happen it must not wait in the queue for ever.
                    db.execute(
                        "UPDATE outbox SET status = 'rejected', reject_code = 'PARENT_REJECTED', "
                        "reject_reason = 'the rated transaction was rejected', updated_at = ? "
                        "WHERE kind = 'rating' AND parent_key = ? AND status = 'queued'",
                        (now, key),
                    )
        return [o.key for o in outcomes if o.key not in ours]

    def renew(self, owner: str, keys: Sequence[str], lease_s: float) -> set[str]:
        """Extend `owner`'s lease on these rows from now (a batch leased ahead of its turn);
        returns the keys still `owner`'s, leaving out any another sender took meanwhile."""
        now = self._clock()
        ours: set[str] = set()
        with self._tx("renew leases", flush=False) as db:
            for start in range(0, len(keys), 500):  # within SQLite's bound-variable limit
                chunk = keys[start : start + 500]
                ours.update(
                    key
                    for (key,) in db.execute(
                        "UPDATE outbox SET lease_expires = ? "  # noqa: S608 - placeholders only
                        "WHERE status = 'sending' AND lease_owner = ? "
                        f"AND key IN ({', '.join('?' * len(chunk))}) RETURNING key",
                        (now + lease_s, owner, *chunk),
                    )
                )
        return ours

    def recover_stale_leases(self, owner_is_dead: Callable[[str], bool] | None = None) -> int:
        """Rows whose sender died go back to queued: those whose lease expired, and, when
        `owner_is_dead` can tell, those whose owner is known to be gone (a crashed kiosk need
        not wait out its own leases after a restart)."""
        now = self._clock()
        with self._tx("recover stale leases") as db:
            dead = [
                (now, key)
                for key, owner, expires in db.execute(
                    "SELECT key, lease_owner, lease_expires FROM outbox WHERE status = 'sending'"
                )
                if expires < now or (owner_is_dead is not None and owner_is_dead(owner))
            ]
            db.executemany(
                "UPDATE outbox SET status = 'queued', lease_owner = NULL, lease_expires = NULL, "
                "updated_at = ? WHERE key = ? AND status = 'sending'",
                dead,
            )
            return len(dead)

    # --- reading -------------------------------------------------------------------------------
    def get(self, key: str) -> Row | None:
        with self._lock, _translated("read a row"):
            return self._get(self._db, key)

    def _same(
        self,
        db: sqlite3.Connection,
        key: str,
        kind: str,
        payload: Mapping[str, Any],
        personal: Mapping[str, Any] | None = None,
    ) -> Row | None:
        """The row already stored under `key`, if it holds the same content; an error if the
        key was used for something else."""
        existing = self._get(db, key)
        if existing is None:
            return None
        stored = self.personal(existing) if existing.sealed else None
        same_personal = existing.purged_at is not None or (
            _json(stored) if stored is not None else None
        ) == (_json(personal) if personal is not None else None)
        if existing.kind != kind or _json(existing.payload) != _json(payload) or not same_personal:
            raise OutboxError(f"idempotency key {key} was already used for other content")
        return existing

    @staticmethod
    def _get(db: sqlite3.Connection, key: str) -> Row | None:
        # _COLUMNS is a constant of this module; values are always bound parameters.
        found = db.execute(f"SELECT {_COLUMNS} FROM outbox WHERE key = ?", (key,)).fetchone()  # noqa: S608
        return _row(found) if found else None

    def by_number(self, number: str) -> Row | None:
        with self._lock, _translated("find a row"):
            found = self._db.execute(
                f"SELECT {_COLUMNS} FROM outbox WHERE number = ?",  # noqa: S608 - constant columns
                (number,),
            ).fetchone()
        return _row(found) if found else None

    def rows(self) -> list[Row]:
        with self._lock, _translated("list rows"):
            return [_row(r) for r in self._db.execute(f"SELECT {_COLUMNS} FROM outbox ORDER BY id")]  # noqa: S608

    def latest(self, limit: int) -> list[Row]:
        """The newest rows, oldest first (a staff screen's view: it must not read them all)."""
        with self._lock, _translated("list rows"):
            found = self._db.execute(
                f"SELECT {_COLUMNS} FROM outbox ORDER BY id DESC LIMIT ?",  # noqa: S608
                (limit,),
            )
            return [_row(r) for r in reversed(list(found))]

    def last_accepted_at(self) -> float | None:
        """When the platform last accepted a record (wall-clock seconds), across restarts."""
        with self._lock, _translated("read the last delivery"):
            found = self._db.execute(
                "SELECT max(updated_at) FROM outbox WHERE status = 'accepted'"
            ).fetchone()[0]
        return None if found is None else float(found)

    def status(self) -> dict[str, Any]:
        with self._lock, _translated("count rows"):
            counts = dict.fromkeys(STATUSES, 0)
            for status, count in self._db.execute(
                "SELECT status, count(*) FROM outbox GROUP BY status"
            ):
                counts[status] = count
            oldest = self._db.execute(
                "SELECT min(created_at) FROM outbox WHERE status = 'queued'"
            ).fetchone()[0]
        age = None if oldest is None else round(max(0.0, self._clock() - oldest), 3)
        return {**counts, "oldest_queued_age_s": age}


def _json(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """SQLite's failures, as errors that say what happened and what the resident should do."""
    try:
        yield
    except sqlite3.Error as error:
        code = (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF
        if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
            raise OutboxBusy(
                f"could not {what}: the outbox is locked by another process "
                "(is a second kiosk running on this data folder?)"
            ) from None
        if code == _SQLITE_FULL:
            raise OutboxFull(f"could not {what}: the disk is full") from None
        if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            raise OutboxCorrupt(
                f"could not {what}: the outbox file is damaged or is not a "
                "database; keep it for recovery and call a technician"
            ) from None
        raise OutboxError(
            f"could not {what}: {error.__class__.__name__} "
            f"({getattr(error, 'sqlite_errorname', 'unknown')})"
        ) from None
