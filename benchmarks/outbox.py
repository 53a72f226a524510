"""Durable enqueues per second: the outbox (encrypted personal part, numbering, one fsync'd
transaction each) against raw SQLite inserts of the same bytes with the same journal (WAL) and
synchronous (FULL) settings, and against persist-queue's SQLiteAckQueue made as durable."""

from __future__ import annotations

import itertools
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import median_s, row
from offline_cache.outbox import Outbox

RUNS = 200
PAYLOAD = {
    "item": "residence-certificate",
    "fields": {"purpose": "子女入学", "phone": "13800000000"},
    "kiosk": "K1",
}
PERSONAL = {"name": "测试一", "id_number": "110101196205170316", "address": "示例社区1号楼"}


def rates() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-", dir=Path.cwd() / "build") as folder:
        base = Path(folder)
        outbox = Outbox(base / "outbox.sqlite3", min_free_bytes=0)
        keys = (f"k{n}" for n in itertools.count())

        def enqueue() -> None:
            outbox.enqueue_transaction(
                next(keys), PAYLOAD, kiosk_id="K1", day="20261201", personal=PERSONAL
            )

        raw = sqlite3.connect(base / "raw.sqlite3", isolation_level=None)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=FULL")
        raw.execute("CREATE TABLE q (id INTEGER PRIMARY KEY, key TEXT UNIQUE, payload TEXT)")
        body = repr(PAYLOAD) + repr(PERSONAL)
        raw_keys = (f"k{n}" for n in itertools.count())

        def insert() -> None:
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("INSERT INTO q(key, payload) VALUES (?, ?)", (next(raw_keys), body))
            raw.execute("COMMIT")

        import persistqueue

        queue = persistqueue.SQLiteAckQueue(str(base / "pq"), auto_commit=True)
        connections: list[Any] = [queue._putter, queue._getter]
        for connection in connections:  # made as durable as the outbox
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")

        def put() -> None:
            queue.put({"payload": PAYLOAD, "personal": PERSONAL})

        # Interleaved, so that a noisy moment of the disk falls on all three alike.
        kiosk_s, raw_s, pq_s = [], [], []
        for _ in range(5):
            kiosk_s.append(median_s(enqueue, RUNS // 5))
            raw_s.append(median_s(insert, RUNS // 5))
            pq_s.append(median_s(put, RUNS // 5))
        outbox.close()
        raw.close()
    kiosk, bare, pq = sorted(kiosk_s)[2], sorted(raw_s)[2], sorted(pq_s)[2]
    return [
        row(
            "outbox enqueues/s vs raw SQLite inserts (WAL, FULL)",
            1 / kiosk,
            1 / bare,
            goal=0.8,
            at_least=True,
            unit="1/s",
        ),
        row(
            "outbox enqueues/s vs persist-queue SQLiteAckQueue (WAL, FULL)",
            1 / kiosk,
            1 / pq,
            goal=1.0,
            at_least=True,
            unit="1/s",
        ),
    ]
