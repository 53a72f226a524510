"""The sync worker against the reference platform on loopback, with real outbox files: what each
kind of answer does to the queue, the pause, the split, the backoff, and sharing the outbox."""

from __future__ import annotations

import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server

from offline_cache.client import Credentials, PlatformClient, Result, Transient, b64
from offline_cache.outbox import Outbox, OutboxError
from offline_cache.platform_server import Faults, Running, Store, create_app, stats
from offline_cache.sync import SyncLimits, SyncWorker, owner_is_dead
from tests.harness.chaos_proxy import ChaosProxy
from tests.offline_cache.platform_kit import credentials, enqueue, platform


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "kiosk" / "outbox.sqlite3", min_free_bytes=0)
    yield box
    box.close()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    with platform(tmp_path / "platform", reject_items=frozenset({"closed-item"})) as p:
        yield p


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, kind: str, fields: Mapping[str, Any]) -> None:
        self.seen.append((kind, dict(fields)))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.seen]


def worker_for(
    outbox: Outbox, url: str, creds: Credentials | None = None, **kwargs: Any
) -> tuple[SyncWorker, PlatformClient]:
    client = PlatformClient(url, creds or credentials(), timeout_s=kwargs.pop("timeout_s", 5.0))
    return SyncWorker(outbox, client, **kwargs), client


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_a_permanent_rejection_reaches_staff_with_its_reason_and_is_never_retried(
    outbox: Outbox, running: Running, tmp_path: Path
) -> None:
    (closed,) = enqueue(outbox, 1, item="closed-item")  # rated, too: the rating must not go
    enqueue(outbox, 2)
    events = Events()
    worker, client = worker_for(outbox, running.url, on_event=events)
    try:
        assert worker.sync_until_empty(20)
        row = outbox.get(closed)
        assert row is not None
        assert (row.status, row.reject_code) == ("rejected", "ITEM_CLOSED")
        assert row.reject_reason == "该事项已停止自助受理，请到窗口办理"
        rating = outbox.get(f"{closed}:rating")
        assert rating is not None
        assert (rating.status, rating.reject_code) == (
            "rejected",
            "PARENT_REJECTED",
        )
        assert (
            "rejected",
            {
                "number": row.number,
                "row_kind": "transaction",
                "code": "ITEM_CLOSED",
                "reason": "该事项已停止自助受理，请到窗口办理",
            },
        ) in events.seen
        # Nothing is left to send: a second pass sends nothing at all.
        worker.progress.batches = 0
        assert worker.sync_until_empty(5)
        assert worker.progress.batches == 0
    finally:
        client.close()
    held = stats(tmp_path / "platform")
    assert closed not in held["transaction_keys"]
    assert f"{closed}:rating" not in held["rating_keys"]
    assert (held["transactions"], held["ratings"]) == (2, 2)


def test_a_401_pauses_sync_for_the_whole_kiosk_and_alerts_instead_of_rejecting(
    outbox: Outbox, running: Running
) -> None:
    keys = enqueue(outbox, 5)
    # The key the kiosk enrols is not the one it signs with (a replaced key file, say).
    enrolled, signing = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    creds = credentials(key=enrolled)
    wrong = Credentials(creds.kiosk_id, creds.hall, creds.public_key, signing.sign)
    events = Events()
    worker, client = worker_for(outbox, running.url, wrong, on_event=events)
    try:
        assert not worker.sync_until_empty(20)
        assert worker.state.paused is not None
        assert "BAD_SIGNATURE" in worker.state.paused
        assert events.kinds() == ["sync_paused"]
        assert events.seen[0][1] == {"status": 401, "code": "BAD_SIGNATURE"}
        # The queue is intact: nothing rejected, nothing leased, everything will go later.
        assert {outbox.get(k).status for k in keys} == {"queued"}  # type: ignore[union-attr]
        assert outbox.status()["rejected"] == 0
    finally:
        client.close()


def test_the_background_worker_pauses_on_revocation_and_leaves_the_queue_alone(
    outbox: Outbox, running: Running, tmp_path: Path
) -> None:
    enqueue(outbox, 3)
    events = Events()
    worker, client = worker_for(
        outbox, running.url, on_event=events, limits=SyncLimits(max_wait_s=0, pause_probe_s=0.2)
    )
    store = Store(tmp_path / "platform")
    try:
        worker.start()
        assert wait_for(lambda: outbox.status()["accepted"] == 6)
        store.revoke("TEST-0001")
        enqueue(outbox, 2)
        worker.notify()
        assert wait_for(lambda: worker.state.paused is not None)
        assert "KIOSK_REVOKED" in str(worker.state.paused)
        time.sleep(0.5)  # it probes, and stays paused
        assert outbox.status()["queued"] == 4
        assert outbox.status()["rejected"] == 0
        assert events.kinds().count("sync_paused") == 1
    finally:
        worker.stop()
        client.close()
        store.close()


def test_413_splits_the_batch_until_the_platform_takes_it(outbox: Outbox, tmp_path: Path) -> None:
    enqueue(outbox, 10, rate=False)
    with platform(tmp_path / "small", max_batch=3) as small:
        worker, client = worker_for(outbox, small.url)
        try:
            assert worker.sync_until_empty(20)
        finally:
            client.close()
    assert worker.progress.accepted == 10
    assert worker.progress.rejected == 0
    assert worker.progress.batches >= 4  # 10 → 5+5 → 2+3+2+3
    assert stats(tmp_path / "small")["transactions"] == 10


def test_backoff_is_full_jitter_capped_and_never_shorter_than_retry_after(outbox: Outbox) -> None:
    client = PlatformClient("http://127.0.0.1:9", credentials())
    limits = SyncLimits(backoff_base_s=1.0, backoff_cap_s=60.0)
    worker = SyncWorker(outbox, client, limits=limits, rng=random.Random(7))
    try:
        for failures in range(1, 12):
            ceiling = min(60.0, 2.0**failures)
            draws = []
            for _ in range(300):
                worker._failures = failures - 1
                draws.append(worker._backoff(None))
            assert all(0 <= d <= ceiling for d in draws)
            # Full jitter: spread over the whole range, not bunched near the ceiling.
            assert min(draws) < ceiling * 0.1
            assert max(draws) > ceiling * 0.9
        worker._failures = 0
        assert worker._backoff(42.0) >= 42.0
    finally:
        client.close()


def test_429_and_503_carry_retry_after_to_the_worker(tmp_path: Path) -> None:
    with platform(tmp_path / "busy", faults=Faults(fail_rate=1.0, seed=1)) as busy:
        client = PlatformClient(busy.url, credentials())
        seen = set()
        try:
            for _ in range(20):
                try:
                    client.enrol()
                except Transient as error:
                    seen.add((str(error).split("HTTP ")[1].split()[0], error.retry_after))
        finally:
            client.close()
    assert {("429", 1.0), ("503", 1.0), ("500", None)} == seen


def test_notices_arrive_with_the_heartbeat(
    outbox: Outbox, running: Running, tmp_path: Path
) -> None:
    store = Store(tmp_path / "platform")
    store.add_notice("n1", "今日下午系统维护，暂停办理社保业务")
    store.close()
    events = Events()
    worker, client = worker_for(outbox, running.url, on_event=events)
    try:
        worker._heartbeat()
    finally:
        client.close()
    assert worker.state.notices == ("今日下午系统维护，暂停办理社保业务",)
    assert worker.state.online is True
    assert ("notices", {"count": 1}) in events.seen


def test_a_silent_platform_blocks_no_commit_and_the_worker_stops_promptly(
    outbox: Outbox, running: Running
) -> None:
    with ChaosProxy(running.port, fault_rate=1.0, faults=("silence",), silence_s=30) as proxy:
        worker, client = worker_for(
            outbox, proxy.url, timeout_s=2.0, limits=SyncLimits(max_wait_s=0)
        )
        try:
            worker.start()
            assert wait_for(lambda: proxy.counts["silence"] >= 1)
            started = time.monotonic()
            enqueue(outbox, 20)
            worker.notify()
            assert time.monotonic() - started < 2.0  # commits never wait on the network
            stopping = time.monotonic()
            worker.stop()
            assert time.monotonic() - stopping < 3.0
            assert not any(t.name == "sync" and t.is_alive() for t in threading.enumerate())
            assert worker.state.online is False
        finally:
            client.close()
    assert outbox.status()["queued"] == 40
    assert outbox.status()["sending"] == 0


def test_two_senders_on_one_outbox_send_each_row_once(tmp_path: Path, running: Running) -> None:
    path = tmp_path / "kiosk" / "outbox.sqlite3"
    first, second = Outbox(path, min_free_bytes=0), Outbox(path, min_free_bytes=0)
    enqueue(first, 60)
    kiosk = credentials()  # one kiosk, two senders: its running worker and `kiosk queue sync`
    workers = [
        worker_for(box, running.url, kiosk, limits=SyncLimits(batch_items=5))
        for box in (first, second)
    ]
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda w=w: results.append(w.sync_until_empty(30)))
        for w, _ in workers
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(40)
    finally:
        for _, client in workers:
            client.close()
    held = stats(tmp_path / "platform")
    try:
        assert results == [True, True]
        assert (held["transactions"], held["ratings"]) == (60, 60)
        # Leases kept them apart: neither sent what the other held.
        assert held["duplicate_submissions"] == 0
        assert all(w.progress.accepted > 0 for w, _ in workers)
        assert first.status()["accepted"] == 120
    finally:
        first.close()
        second.close()


def test_signed_configuration_is_offered_and_a_forged_one_ignored(
    outbox: Outbox, running: Running, tmp_path: Path
) -> None:
    pushed = {"counter_hours": "工作日 9:00-17:00"}
    (tmp_path / "platform" / "push-config.json").write_text(
        json.dumps(pushed, ensure_ascii=False), encoding="utf-8"
    )
    events = Events()
    worker, client = worker_for(outbox, running.url, on_event=events)
    try:
        worker._heartbeat()
        assert worker.state.offered_config == pushed
        assert ("configuration_offered", {"keys": ["counter_hours"]}) in events.seen
        # Signed by another key than the one the platform gave at enrolment: not offered.
        other = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
        worker._platform_key = "Ed25519:" + b64(other)
        worker._heartbeat()
        assert worker.state.offered_config is None
    finally:
        client.close()


def test_a_failing_heartbeat_does_not_hold_back_the_queue(
    outbox: Outbox, running: Running, tmp_path: Path
) -> None:
    # A platform whose heartbeat answers 500 (it cannot read its own pushed configuration).
    (tmp_path / "platform" / "push-config.json").write_text("{not json", encoding="utf-8")
    enqueue(outbox, 3)
    worker, client = worker_for(outbox, running.url, limits=SyncLimits(max_wait_s=0))
    try:
        worker.start()
        assert wait_for(lambda: outbox.status()["accepted"] == 6)
    finally:
        worker.stop()
        client.close()


@contextmanager
def answering(status: int, body: bytes, content_type: str) -> Iterator[str]:
    """A server that answers every request the same way (a gateway's error page, say)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response(f"{status} X", [("Content-Type", content_type)])
        return [body]

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_gateways_400_page_is_transient_and_rejects_nothing(outbox: Outbox) -> None:
    enqueue(outbox, 4, rate=False)
    with answering(400, b"<html>Bad Request</html>", "text/html") as url:
        client = PlatformClient(url, credentials())
        worker = SyncWorker(outbox, client)
        worker._enrolled = True  # the gateway answers enrolment with the same page
        try:
            with pytest.raises(Transient):
                client.submit([worker._item(outbox.rows()[0])])
            assert not worker.sync_until_empty(1.5)
        finally:
            client.close()
    assert outbox.status()["queued"] == 4
    assert outbox.status()["rejected"] == 0


class FailsAfterFirst(PlatformClient):
    """The real client; the network goes down after the platform's first answer."""

    calls = 0

    def submit(self, items: Sequence[Mapping[str, Any]]) -> list[Result]:
        self.calls += 1
        if self.calls > 1:
            raise Transient("the network went down")
        return super().submit(items)


def test_a_failure_in_the_middle_of_a_split_leaves_nothing_leased(
    outbox: Outbox, tmp_path: Path
) -> None:
    enqueue(outbox, 4, rate=False)
    with platform(tmp_path / "small", max_batch=2) as small:
        client = FailsAfterFirst(small.url, credentials())
        worker = SyncWorker(outbox, client)
        try:
            with pytest.raises(Transient):
                worker.send_batch()  # 413, then the first half fails
        finally:
            client.close()
    assert outbox.status()["sending"] == 0
    assert outbox.status()["queued"] == 4


class Recording(PlatformClient):
    """The real client, keeping the keys of each request; `during(n)` runs inside the n-th."""

    def __init__(self, url: str, during: Callable[[int], None] = lambda _n: None) -> None:
        super().__init__(url, credentials())
        self.sent: list[list[str]] = []
        self.during = during

    def submit(self, items: Sequence[Mapping[str, Any]]) -> list[Result]:
        self.sent.append([str(item["key"]) for item in items])
        self.during(len(self.sent))
        return super().submit(items)


def leased_ahead(outbox: Outbox, in_flight: int) -> int:
    """How many rows are leased once the worker leased the next batch beside the `in_flight`
    ones (in one statement; given up to 5 s)."""
    deadline = time.monotonic() + 5
    while outbox.status()["sending"] <= in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    return int(outbox.status()["sending"])


def test_a_backlog_is_sent_while_the_next_batch_is_made_ready_and_a_failure_frees_both(
    outbox: Outbox, running: Running
) -> None:
    enqueue(outbox, 7, rate=False)
    leased: list[int] = []

    def second_fails(n: int) -> None:
        leased.append(leased_ahead(outbox, 3))
        if n > 1:
            raise Transient("the network went down")

    client = Recording(running.url, second_fails)
    worker = SyncWorker(outbox, client, limits=SyncLimits(batch_items=3))
    try:
        with pytest.raises(Transient):
            worker.send_batches(lambda: True)
    finally:
        client.close()
    # Three in flight and the next three leased beside them, then three and the last one;
    # the second request failed: its rows and the last, leased meanwhile, are back in the queue.
    assert leased == [6, 4]
    assert outbox.status()["accepted"] == 3
    assert outbox.status()["sending"] == 0
    assert outbox.status()["queued"] == 4
    assert worker.progress.batches == 1
    assert stats(running.store.data_dir)["transactions"] == 3


def test_a_failure_while_the_next_batch_is_made_ready_lets_the_batch_in_flight_finish(
    outbox: Outbox, running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    enqueue(outbox, 5, rate=False)
    lease = outbox.lease
    calls = []

    def lease_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) > 1:
            raise OutboxError("disk I/O error")
        return lease(*args, **kwargs)

    monkeypatch.setattr(outbox, "lease", lease_once)
    worker, client = worker_for(outbox, running.url, limits=SyncLimits(batch_items=3))
    try:
        with pytest.raises(OutboxError, match="disk I/O error"):
            worker.send_batches(lambda: True)
    finally:
        client.close()
    assert outbox.status()["accepted"] == 3  # answered, and written down before the error
    assert outbox.status()["queued"] == 2
    assert outbox.status()["sending"] == 0


def test_a_batch_leased_ahead_whose_lease_ran_out_meanwhile_is_sent_once(
    tmp_path: Path, running: Running
) -> None:
    now = [time.time()]
    outbox = Outbox(tmp_path / "k" / "outbox.sqlite3", min_free_bytes=0, clock=lambda: now[0])
    keys = enqueue(outbox, 9, rate=False)

    def slow_first(n: int) -> None:
        if n == 1:
            leased_ahead(outbox, 3)  # the second batch is leased while this one is out...
            now[0] += 100  # ...and this answer takes longer than a lease (90 s)

    client = Recording(running.url, slow_first)
    worker = SyncWorker(outbox, client, limits=SyncLimits(batch_items=3))
    try:
        assert worker.send_batches(lambda: True) == 9
    finally:
        client.close()
        outbox.close()
    sent = [key for request in client.sent for key in request]
    assert sorted(sent) == sorted(keys)  # each once: the second batch was not leased again
    assert len(client.sent) == 3
    assert stats(running.store.data_dir)["duplicate_submissions"] == 0


def test_a_stop_while_a_batch_is_out_sends_no_other(outbox: Outbox, running: Running) -> None:
    enqueue(outbox, 9, rate=False)
    stopping = threading.Event()
    client = Recording(running.url, lambda _n: stopping.set())
    worker = SyncWorker(outbox, client, limits=SyncLimits(batch_items=3))
    try:
        worker.send_batches(lambda: not stopping.is_set())
    finally:
        client.close()
    assert len(client.sent) == 1
    assert outbox.status()["accepted"] == 3  # the answer to what was out is kept
    assert (outbox.status()["queued"], outbox.status()["sending"]) == (6, 0)


def test_queue_sync_stops_at_its_time_limit_while_rows_still_go(
    outbox: Outbox, tmp_path: Path
) -> None:
    enqueue(outbox, 40, rate=False)
    with platform(tmp_path / "slow", faults=Faults(latency_ms=200, seed=3)) as slow:
        worker, client = worker_for(outbox, slow.url, limits=SyncLimits(batch_items=1))
        try:
            started = time.monotonic()
            assert worker.sync_until_empty(0.5) is False
            took = time.monotonic() - started
        finally:
            client.close()
    assert took < 1.5
    assert outbox.status()["queued"] > 20
    assert outbox.status()["sending"] == 0


def test_a_request_in_flight_does_not_hold_up_the_process_s_exit(tmp_path: Path) -> None:
    script = (
        "import time\n"
        "from offline_cache.sync import _in_background\n"
        "_in_background(lambda: time.sleep(30))\n"
        "time.sleep(0.2)\n"
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 10


def test_a_row_that_no_longer_decrypts_is_rejected_and_the_rest_still_go(
    outbox: Outbox, running: Running
) -> None:
    keys = enqueue(outbox, 3, rate=False)
    with sqlite3.connect(outbox.path) as db:  # one row's ciphertext damaged on disk
        db.execute("UPDATE outbox SET secret = zeroblob(60) WHERE key = ?", (keys[1],))
    db.close()
    events = Events()
    worker, client = worker_for(outbox, running.url, on_event=events)
    try:
        assert worker.sync_until_empty(10)
    finally:
        client.close()
    damaged = outbox.get(keys[1])
    assert damaged is not None
    assert (damaged.status, damaged.reject_code) == ("rejected", "UNREADABLE")
    assert [outbox.get(k).status for k in (keys[0], keys[2])] == ["accepted"] * 2  # type: ignore[union-attr]
    assert [f["code"] for kind, f in events.seen if kind == "rejected"] == ["UNREADABLE"]


def test_a_lost_key_file_pauses_sync_instead_of_rejecting_the_queue(
    tmp_path: Path, running: Running
) -> None:
    path = tmp_path / "kiosk" / "outbox.sqlite3"
    with Outbox(path, min_free_bytes=0) as first:
        enqueue(first, 3, rate=False)
    (path.parent / "keys" / "outbox.keys").unlink()  # a new, empty key file is made on open
    with Outbox(path, min_free_bytes=0) as outbox:
        worker, client = worker_for(outbox, running.url)
        try:
            assert not worker.sync_until_empty(5)
        finally:
            client.close()
        assert "UNREADABLE_QUEUE" in str(worker.state.paused)
        assert outbox.status()["queued"] == 3
        assert outbox.status()["rejected"] == 0


def test_rows_made_while_the_clock_ran_fast_are_not_held_back(
    tmp_path: Path, running: Running
) -> None:
    path = tmp_path / "kiosk" / "outbox.sqlite3"
    with Outbox(path, min_free_bytes=0, clock=lambda: time.time() + 86400) as fast:
        enqueue(fast, 2, rate=False)  # created "tomorrow"; then NTP put the clock right
    with Outbox(path, min_free_bytes=0) as outbox:
        worker, client = worker_for(outbox, running.url, limits=SyncLimits(max_wait_s=0.3))
        try:
            worker.start()
            assert wait_for(lambda: outbox.status()["accepted"] == 2, seconds=5)
        finally:
            worker.stop()
            client.close()


def test_only_the_leases_of_a_dead_local_process_are_taken_back_early(outbox: Outbox) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    host = socket.gethostname()
    assert owner_is_dead(f"{host}:{gone.pid}:abcd1234")
    assert not owner_is_dead(f"{host}:{os.getpid()}:abcd1234")  # alive
    assert not owner_is_dead(f"another-host:{gone.pid}:abcd1234")  # cannot know
    assert not owner_is_dead("garbage")
    enqueue(outbox, 2, rate=False)
    (dead_row,) = outbox.lease(f"{host}:{gone.pid}:abcd1234", limit=1, lease_s=3600)
    (live_row,) = outbox.lease(f"{host}:{os.getpid()}:abcd1234", limit=1, lease_s=3600)
    assert outbox.recover_stale_leases(owner_is_dead) == 1
    assert outbox.get(dead_row.key).status == "queued"  # type: ignore[union-attr]
    assert outbox.get(live_row.key).status == "sending"  # type: ignore[union-attr]


def test_a_platform_under_a_path_prefix_verifies_the_whole_signed_path(
    outbox: Outbox, tmp_path: Path
) -> None:
    store = Store(tmp_path / "prefixed")
    app = DispatcherMiddleware(NotFound(), {"/kiosk": create_app(store)})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    enqueue(outbox, 2)
    key, signed = Ed25519PrivateKey.generate(), []
    plain = credentials(key=key)

    def sign(message: bytes) -> bytes:
        signed.append(message)
        return key.sign(message)

    creds = Credentials(plain.kiosk_id, plain.hall, plain.public_key, sign)
    worker, client = worker_for(outbox, f"http://127.0.0.1:{server.port}/kiosk", creds)
    try:
        assert worker.sync_until_empty(10)
        # The contract: the whole path as sent is signed, the server URL's /kiosk included.
        assert signed
        assert all(m.startswith(b"POST\n/kiosk/v1/") for m in signed)
    finally:
        client.close()
        server.shutdown()
        server.server_close()
        thread.join(5)
        store.close()
    assert stats(tmp_path / "prefixed")["transactions"] == 2
