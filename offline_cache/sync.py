"""The sync worker: takes what the outbox holds to the platform, each item exactly once.

Exactly once is the outbox's lease plus the platform's idempotency key: a row is leased
(owner, expiry) before it is sent and marked accepted only after the platform answered for it; a
sender that dies leaves a lease that expires, and the next sender sends the row again under the
same key, which the platform answers `duplicate`, never a second record. So a crash, a reset or
a lost answer can only cause a re-send, and a re-send is harmless.

What an answer means is the contract's (contract/platform.yaml), sorted by the client:
- per item: accepted or duplicate → accepted; rejected → rejected for good, staff told why;
- KioskRefused (401/403, clock skew): nothing is rejected; sync pauses for the whole kiosk,
  staff are alerted, and a heartbeat probes now and then whether it was put right;
- BatchRefused (413, a 400 for the batch): split in halves; a lone item is rejected;
- Transient (anything else): the rows go back to the queue; the next try waits a capped,
  exponentially growing, fully jittered time, and never less than Retry-After.

A backlog goes batch after batch, the next one leased and made ready while the platform answers
the one before (send_batches); each batch is still finished before the next is sent.

It runs on its own thread and never on the UI's; screens read `state`, a frozen snapshot that
is replaced, never mutated. `kiosk queue sync` uses the same worker without the thread, and may
run beside a kiosk's worker on the same outbox: leases keep them off each other's rows.
"""

from __future__ import annotations

import binascii
import contextlib
import functools
import json
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from offline_cache.client import (
    BatchRefused,
    ClockSkew,
    KioskRefused,
    PlatformClient,
    PlatformError,
    Result,
    Transient,
    body_bytes,
    unb64,
)
from offline_cache.outbox import Outbox, OutboxError, Outcome, Row

log = logging.getLogger("kiosk.sync")

# kind ("rejected", "sync_paused", "sync_resumed", "notices"), fields without personal data
EventSink = Callable[[str, Mapping[str, Any]], None]


@dataclass(frozen=True)
class SyncLimits:
    batch_items: int = 50
    batch_bytes: int = 512 * 1024  # about what one slow rural uplink sends in a few seconds
    max_wait_s: float = 2.0  # a lone item waits this long for others to share its request
    lease_s: float = 90.0  # longer than any one request may take (client timeout)
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 300.0
    heartbeat_s: float = 60.0
    poll_s: float = 5.0  # how often an idle worker looks at the outbox without being told
    pause_probe_s: float = 300.0  # how often a paused worker asks whether it may resume


@dataclass(frozen=True)
class SyncState:
    online: bool | None = None  # None until the first answer or failure
    paused: str | None = None  # why sync is paused (401/403/clock), for staff
    paused_code: str | None = None  # the platform's code for it, e.g. KIOSK_REVOKED
    clock_skew: bool = False  # certificates must not be issued while this holds
    queued: int = 0  # waiting or in flight
    rejected: int = 0
    notices: tuple[str, ...] = ()
    last_contact: float | None = None  # wall-clock time of the last answer
    delivered: int = 0  # accepted or duplicate, by this worker since it started
    last_error: str | None = None  # why the last attempt failed, for a technician
    # Configuration the platform pushed and signed, waiting for staff to accept it.
    offered_config: Mapping[str, Any] | None = None


@dataclass
class Progress:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    failures: int = 0
    batches: int = 0
    codes: dict[str, int] = field(default_factory=dict)


def new_owner() -> str:
    """A lease owner unique to this process and worker, readable in `queue list`."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _in_background(call: Callable[[], list[Result]]) -> Future[list[Result]]:
    """`call()` on a daemon thread of its own: a request in flight must not hold up the
    process's exit (an executor's threads are joined at exit), any more than the sync thread
    itself does."""
    future: Future[list[Result]] = Future()

    def run() -> None:
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(call())
            except BaseException as error:  # noqa: BLE001 - handed to whoever waits on it
                future.set_exception(error)

    threading.Thread(target=run, name="sync-request", daemon=True).start()
    return future


def owner_is_dead(owner: str) -> bool:
    """True only when the owner was a process on this machine that no longer exists; a dead
    process cannot be sending, so its leases may be taken back at once. Anything unsure (another
    host, a live or reused pid) waits for the lease to expire."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # exists, but another user's
    return False


class SyncWorker:
    def __init__(
        self,
        outbox: Outbox,
        client: PlatformClient,
        *,
        limits: SyncLimits | None = None,
        owner: str | None = None,
        on_event: EventSink | None = None,
        report: Callable[[], Mapping[str, Any]] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.outbox, self.client = outbox, client
        self.limits = limits or SyncLimits()
        self.owner = owner or new_owner()
        self._on_event = on_event
        self._report = report or dict
        self._monotonic = monotonic
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self.state = SyncState()
        self.progress = Progress()
        self._enrolled = False
        self._platform_key = ""
        self._failures = 0
        self._waiting_since: float | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the thread ----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._refresh_counts()
            self._thread = threading.Thread(target=self._run, name="sync", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 15.0) -> bool:
        """Stop after the request in flight; False if the thread is still in one after
        `timeout` (it is a daemon: the process may exit, and its leases are recovered)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return False
            self._thread = None
        return True

    def notify(self) -> None:
        """Something was committed: look at the outbox now rather than at the next poll."""
        self._wake.set()

    def _run(self) -> None:
        next_heartbeat = 0.0
        while not self._stop.is_set():
            wait = self.limits.poll_s
            try:
                if self.state.paused:
                    wait = self.limits.pause_probe_s
                    self._probe()
                    continue
                if self._monotonic() >= next_heartbeat:
                    # Scheduled before it runs: a heartbeat that keeps failing (a platform bug,
                    # a report that raises) must not stand between the queue and the platform.
                    next_heartbeat = self._monotonic() + self.limits.heartbeat_s
                    self._try_heartbeat()
                wait = self._send_ready(wait)
                self._failures = 0
            except Transient as error:
                wait = self._backoff(error.retry_after)
                log.info("sync will retry in %.1f s: %s", wait, error)
                self._set(online=False, last_error=str(error))
            except KioskRefused as error:
                self._pause(error)
            except (OutboxError, PlatformError) as error:
                wait = self._backoff(None)
                log.warning("sync could not run: %s", error)
            except Exception:
                # The thread must outlive any surprise: a dead sync thread loses nothing but
                # would leave the queue growing unseen.
                wait = self._backoff(None)
                log.exception("sync failed unexpectedly; retrying in %.1f s", wait)
            finally:
                self._refresh_counts()
                if not self._stop.is_set():
                    self._sleep(wait)

    def _sleep(self, seconds: float) -> None:
        # Only a backoff or a pause ignores notify(): new rows must not hammer a failing platform.
        if self._failures == 0 and not self.state.paused:
            self._wake.wait(seconds)
        else:
            self._stop.wait(seconds)
        self._wake.clear()

    def _backoff(self, retry_after: float | None) -> float:
        """Capped exponential backoff with full jitter, never shorter than Retry-After."""
        self._failures += 1
        ceiling = min(
            self.limits.backoff_cap_s, self.limits.backoff_base_s * 2 ** min(self._failures, 30)
        )
        delay = self._rng.uniform(0, ceiling)
        return max(delay, retry_after or 0.0)

    # --- one pass ------------------------------------------------------------------------------
    def _send_ready(self, idle_wait: float) -> float:
        """Send every batch that is full or old enough; returns how long to wait next."""
        while not self._stop.is_set():
            status = self.outbox.status()
            age = float(status["oldest_queued_age_s"] or 0.0)
            if status["queued"] == 0:
                return idle_wait
            if status["queued"] < self.limits.batch_items and age < self.limits.max_wait_s:
                # Wall-clock age alone would hold back rows made while the clock ran fast, until
                # it caught up: whatever waited max_wait_s by our own monotonic clock goes too.
                if self._waiting_since is None:
                    self._waiting_since = self._monotonic()
                waited = self._monotonic() - self._waiting_since
                if waited < self.limits.max_wait_s:
                    return max(0.05, self.limits.max_wait_s - max(age, waited))
            self._waiting_since = None
            # A backlog (back online after a while) goes batch after batch without a pause.
            backlog = status["queued"] >= self.limits.batch_items
            leased = (
                self.send_batches(lambda: not self._stop.is_set()) if backlog else self.send_batch()
            )
            if not leased:
                if self.outbox.recover_stale_leases(owner_is_dead):
                    continue
                return idle_wait  # queued rows exist but none can go yet (ratings waiting)
        return idle_wait

    def send_batch(self) -> int:
        """Lease one batch and send it; returns how many rows it leased."""
        self._ensure_enrolled()
        leased, ready = self._next_batch()
        if ready is not None:
            self._send(*ready)
        return leased

    def send_batches(self, more: Callable[[], bool]) -> int:
        """Send batch after batch while `more()` and rows can be leased; returns how many rows
        were leased. The next batch is leased and made ready while the platform answers the one
        before: only the request runs on a helper thread, so the outbox and this worker's state
        are still touched by one thread alone, and a batch is finished before the next is sent.
        """
        self._ensure_enrolled()
        leased, ready = self._next_batch() if more() else (0, None)
        while ready is not None:
            if not more():  # stopped, or out of time: what was leased ahead goes back
                self._release(ready[0])
                break
            # Leased while the batch before was out: its lease runs from now, and rows another
            # sender took over meanwhile (the wait outlasted the lease) are left to it.
            rows, items = self._renewed(*ready)
            ready = None
            if not rows:
                more_leased, ready = self._next_batch()
                leased += more_leased
                continue
            answer = _in_background(functools.partial(self.client.submit, items))
            try:
                more_leased, ready = self._next_batch() if more() else (0, None)
                leased += more_leased
            except BaseException:
                with contextlib.suppress(Exception):  # the error to raise is this one
                    self._send(rows, items, answer.result)
                raise
            try:
                self._send(rows, items, answer.result)
            except BaseException:
                if ready is not None:
                    self._release(ready[0])
                raise
        return leased

    def _next_batch(self) -> tuple[int, tuple[list[Row], list[dict[str, Any]]] | None]:
        """Lease the next batch: how many rows were leased, and the rows and items to send,
        None when there is nothing to send (rows whose personal part no longer decrypts were
        rejected on the way, see _batch)."""
        rows = self.outbox.lease(
            self.owner, limit=self.limits.batch_items, lease_s=self.limits.lease_s
        )
        if not rows:
            return 0, None
        try:
            items, keep = self._batch(rows)
        except BaseException:
            self._release(rows)
            raise
        return len(rows), ((keep, items) if keep else None)

    def _renewed(
        self, rows: Sequence[Row], items: Sequence[dict[str, Any]]
    ) -> tuple[list[Row], list[dict[str, Any]]]:
        try:
            ours = self.outbox.renew(self.owner, [row.key for row in rows], self.limits.lease_s)
        except BaseException:
            self._release(rows)
            raise
        kept = [(row, item) for row, item in zip(rows, items, strict=True) if row.key in ours]
        for row in rows:
            if row.key not in ours:
                log.info("row %s was taken over by another sender", row.number)
        return [row for row, _ in kept], [item for _, item in kept]

    def _batch(self, rows: Sequence[Row]) -> tuple[list[dict[str, Any]], list[Row]]:
        """The items to send for the leased rows, within the size limit (the rest go back).
        A row whose personal part no longer decrypts is rejected here, for staff to see; when
        none does, the key file itself is wrong and sync pauses instead, so that restoring the
        key from its backup still lets everything go."""
        items: list[dict[str, Any]] = []
        keep: list[Row] = []
        unreadable: list[tuple[Row, str]] = []
        size = 0
        for row in rows:
            try:
                item = self._item(row)
            except OutboxError as error:
                unreadable.append((row, str(error)))
                continue
            item_size = len(body_bytes(item))
            if keep and size + item_size > self.limits.batch_bytes:
                self._release([row])
                continue
            items.append(item)
            keep.append(row)
            size += item_size
        if unreadable and not keep:
            self._release([row for row, _ in unreadable])
            raise KioskRefused(
                0,
                "UNREADABLE_QUEUE",
                f"the queued personal data does not decrypt ({unreadable[0][1]}); restore "
                "DATA_DIR/keys/outbox.keys from its backup",
            )
        if unreadable:
            self._apply(
                [row for row, _ in unreadable],
                [Result(row.key, "rejected", "UNREADABLE", why) for row, why in unreadable],
            )
        return items, keep

    def _send(
        self,
        rows: Sequence[Row],
        items: Sequence[Mapping[str, Any]],
        answer: Callable[[], list[Result]] | None = None,
    ) -> None:
        """Send `items` (or take `answer()`, the platform's answer to a request already sent
        for them) and write down what became of each row."""
        try:
            results = answer() if answer is not None else self.client.submit(items)
        except BatchRefused as error:
            if len(rows) == 1:
                self._apply(rows, [Result(rows[0].key, "rejected", error.code, error.reason)])
                return
            half = len(rows) // 2
            try:
                self._send(rows[:half], items[:half])
                self._send(rows[half:], items[half:])
            except BaseException:
                self._release(rows)  # what is already finished is left alone by release
                raise
            return
        except KioskRefused as error:
            if error.code == "NOT_ENROLLED" and self._enrolled:
                self._enrolled = False  # the platform lost us: enrol again, then retry
            self._release(rows)
            raise
        except BaseException:
            self._release(rows)
            raise
        self._set(online=True, last_contact=time.time(), clock_skew=False)
        self.progress.batches += 1
        self._apply(rows, results)

    def _apply(self, rows: Sequence[Row], results: Sequence[Result]) -> None:
        outcomes = [
            Outcome(row.key, "accepted")
            if result.delivered
            else Outcome(row.key, "rejected", result.code, result.reason)
            for row, result in zip(rows, results, strict=True)
        ]
        try:
            not_ours = set(self.outbox.finish(self.owner, outcomes))
        except OutboxError as error:
            # The platform answered, but we could not write that down: the rows go again when
            # their lease expires (the platform answers `duplicate`, or judges a rejected one
            # anew), and nothing is lost.
            log.warning("could not record the platform's answer (%s); will re-send", error)
            return
        p = self.progress
        delivered = 0
        for row, result in zip(rows, results, strict=True):
            if row.key in not_ours:
                # Our lease expired and another sender took the row: it will get `duplicate`
                # and finish it; nothing is lost or doubled.
                log.info("row %s was taken over by another sender", row.number)
            elif result.delivered:
                if result.outcome == "duplicate":
                    p.duplicates += 1
                else:
                    p.accepted += 1
                delivered += 1
            else:
                p.rejected += 1
                p.codes[result.code] = p.codes.get(result.code, 0) + 1
                log.warning("%s %s rejected: %s", row.kind, row.number, result.code)
                self._event(
                    "rejected",
                    {
                        "number": row.number,
                        "row_kind": row.kind,
                        "code": result.code,
                        "reason": result.reason,
                    },
                )
        self._set(delivered=self.state.delivered + delivered)

    def _item(self, row: Row) -> dict[str, Any]:
        item: dict[str, Any] = {
            "key": row.key,
            "kind": row.kind,
            "number": row.number,
            "created_at": row.created_at,
            "payload": dict(row.payload),
        }
        if row.parent_key:
            item["parent_key"] = row.parent_key
        personal = self.outbox.personal(row)
        if personal is not None:
            item["personal"] = personal
        return item

    def _release(self, rows: Sequence[Row]) -> None:
        # Rows another sender took over are left to it; if even this cannot be written, the
        # leases expire and the rows go again.
        with contextlib.suppress(OutboxError):
            self.outbox.finish(self.owner, [Outcome(row.key, "queued") for row in rows])

    # --- the kiosk's standing with the platform ---------------------------------------------
    def _ensure_enrolled(self) -> None:
        if not self._enrolled:
            answer = self.client.enrol()
            key = str(answer["platform_key"])
            if self._platform_key and key != self._platform_key:
                # Configuration signed with a key learnt later is not trusted: keep the first.
                log.warning("the platform presented another signing key; keeping the first")
                self._event("platform_key_changed", {})
            else:
                self._platform_key = key
            self._enrolled = True

    def _offered(self, pushed: Any) -> dict[str, Any] | None:
        """Configuration in a heartbeat answer, if the platform's key really signed it; it is
        only offered: local staff settings win unless staff accept it."""
        if not isinstance(pushed, dict):
            return None
        alg, _, key_text = self._platform_key.partition(":")
        sig_alg, _, signature = str(pushed.get("signature", "")).partition(":")
        try:
            if alg != "Ed25519" or sig_alg != alg:
                raise ValueError(f"unknown algorithm {sig_alg!r}")
            body = unb64(str(pushed.get("body", "")))
            Ed25519PublicKey.from_public_bytes(unb64(key_text)).verify(unb64(signature), body)
            offered = json.loads(body)
        except (ValueError, InvalidSignature, binascii.Error) as error:
            log.warning("pushed configuration ignored: not signed by the platform (%s)", error)
            return None
        return offered if isinstance(offered, dict) else None

    def _heartbeat(self) -> None:
        self._ensure_enrolled()
        answer = self.client.heartbeat(
            {"version": "", **self._report(), "queue": queue_summary(self.outbox.status())}
        )
        notices = tuple(
            str(n["text"]) for n in answer.get("notices", []) if isinstance(n, dict) and "text" in n
        )
        if notices != self.state.notices:
            self._event("notices", {"count": len(notices)})
        offered = self._offered(answer.get("configuration"))
        if offered is not None and offered != self.state.offered_config:
            self._event("configuration_offered", {"keys": sorted(offered)})
        self._set(
            online=True,
            last_contact=time.time(),
            notices=notices,
            clock_skew=False,
            offered_config=offered,
        )

    def _try_heartbeat(self) -> None:
        try:
            self._heartbeat()
        except KioskRefused:
            raise
        except Exception as error:  # noqa: BLE001 - logged; sending goes on regardless
            log.info("heartbeat failed: %s", error)
            if isinstance(error, Transient):
                self._set(online=False)

    def _probe(self) -> None:
        """While paused: ask (a heartbeat) whether the platform takes this kiosk again."""
        try:
            self._enrolled = False
            self._heartbeat()
        except KioskRefused as error:
            self._set(
                paused=str(error), paused_code=error.code, clock_skew=isinstance(error, ClockSkew)
            )
            return
        except PlatformError:
            return
        log.warning("sync resumed")
        self._set(paused=None, paused_code=None)
        self._event("sync_resumed", {})

    def _pause(self, error: KioskRefused) -> None:
        if self.state.paused is None:
            log.error("sync paused: %s", error)
            self._event("sync_paused", {"status": error.status, "code": error.code})
        self._set(
            paused=str(error),
            paused_code=error.code,
            clock_skew=isinstance(error, ClockSkew),
            online=True,
            last_error=str(error),
        )

    # --- `kiosk queue sync` -------------------------------------------------------------------
    def sync_until_empty(self, timeout_s: float) -> bool:
        """Send until nothing is waiting, or `timeout_s` passed, or the platform refused this
        kiosk; True when nothing is left queued."""
        deadline = self._monotonic() + timeout_s
        self.outbox.recover_stale_leases(owner_is_dead)
        sending = False  # while batches keep coming, counting the whole queue is wasted work
        while True:
            try:
                if not sending:
                    counts = self.outbox.status()
                    if counts["queued"] + counts["sending"] == 0:
                        return True  # nothing to send: no need to reach the platform at all
                sending = bool(self.send_batches(lambda: self._monotonic() < deadline))
                if not sending:
                    # Leases of a sender that died count as queued, not as in flight.
                    if self.outbox.recover_stale_leases(owner_is_dead):
                        continue
                    counts = self.outbox.status()
                    if counts["queued"] + counts["sending"] == 0:
                        return True
                    wait = 0.5  # rows leased by another sender, or ratings awaiting them
                else:
                    self._failures = 0
                    if self._monotonic() < deadline:
                        continue
                    counts = self.outbox.status()
                    return bool(counts["queued"] + counts["sending"] == 0)
            except Transient as error:
                sending = False
                wait = self._backoff(error.retry_after)
                log.info("retry in %.1f s: %s", wait, error)
                self._set(online=False, last_error=str(error))
            except KioskRefused as error:
                self._pause(error)
                return False
            remaining = deadline - self._monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(wait, remaining))

    # --- the snapshot ---------------------------------------------------------------------------
    def _refresh_counts(self) -> None:
        try:
            counts = self.outbox.status()
        except OutboxError:
            return
        self._set(queued=counts["queued"] + counts["sending"], rejected=counts["rejected"])

    def _set(self, **changes: Any) -> None:
        self.state = replace(self.state, **changes)

    def _event(self, kind: str, fields: Mapping[str, Any]) -> None:
        if self._on_event is not None:
            try:
                self._on_event(kind, fields)
            except Exception:
                log.exception("could not record the %s event", kind)


def queue_summary(status: Mapping[str, Any]) -> dict[str, Any]:
    """The outbox's counts as the heartbeat carries them."""
    return {k: status[k] for k in ("queued", "sending", "accepted", "rejected")} | {
        "oldest_queued_age_s": status["oldest_queued_age_s"]
    }
