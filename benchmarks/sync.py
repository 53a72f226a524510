"""Draining 10,000 queued transactions to the reference platform on loopback: the kiosk's sync
worker (lease, decrypt, sign, post, mark each row) against bare requests posting the very bodies
it sent in the same batches, and against one request per transaction. The platform runs as
`kiosk platform serve` in a process of its own, fresh for every drain, so that each drain meets
an empty platform (no `duplicate` shortcuts) and neither side shares the other's interpreter."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import uuid6
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from benchmarks.common import row
from devices.simulators.people import PEOPLE
from offline_cache.client import Credentials, PlatformClient, b64, body_bytes, signed_text
from offline_cache.outbox import Outbox
from offline_cache.sync import SyncWorker
from tests.offline_cache.platform_kit import served

COUNT = 10_000
ROUNDS = 3
KIOSK_ID = "BENCH-0001"


def fill(data: Path) -> None:
    """COUNT transactions of synthetic residents, committed as the kiosk commits them."""
    people = [p.fields for p in PEOPLE.values()]
    with Outbox(data / "outbox.sqlite3", min_free_bytes=0) as outbox:
        for index in range(COUNT):
            person = people[index % len(people)]
            key = str(uuid6.uuid7())
            outbox.enqueue_transaction(
                key,
                {
                    "schema": 1,
                    "key": key,
                    "kiosk_id": KIOSK_ID,
                    "demo": True,
                    "item": "residence-proof",
                    "item_name": "居住证明",
                    "completion": "print",
                },
                kiosk_id=KIOSK_ID,
                day="20261201",
                personal={
                    "applicant": {
                        "id_number": person["id_number"],
                        "name": person["name"],
                        "address": person.get("address", ""),
                    },
                    "fields": {"purpose": "子女入学", "phone": "13800000000"},
                },
            )


class Recording(requests.Session):
    """A session that keeps what the kiosk posted, to be posted again by bare requests."""

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False
        self.sent: list[tuple[str, bytes]] = []

    def post(self, url: str | bytes, data: Any = None, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.sent.append((str(url), bytes(data)))
        return super().post(url, data=data, **kwargs)


def drain(
    filled: Path, folder: Path, key: Ed25519PrivateKey, session: Recording | None = None
) -> float:
    """Seconds for the kiosk's worker to drain a copy of the filled outbox to a new platform;
    `session`, when given, carries the requests and keeps what was posted."""
    data = folder / "kiosk"
    shutil.copytree(filled, data)
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    with (
        served("--data", str(folder / "platform")) as (url, _),
        Outbox(data / "outbox.sqlite3") as outbox,
    ):
        client = PlatformClient(url, Credentials(KIOSK_ID, "示例社区", public, key.sign))
        if session is not None:
            client._session = session  # a benchmark's tap on the wire
        worker = SyncWorker(outbox, client)
        started = time.perf_counter()
        empty = worker.sync_until_empty(600)
        elapsed = time.perf_counter() - started
        client.close()
        if not empty or worker.progress.accepted != COUNT:
            raise RuntimeError(f"the kiosk did not deliver all {COUNT}: {worker.progress}")
    shutil.rmtree(data)
    return elapsed


def bare(
    sent: list[tuple[str, bytes]], folder: Path, key: Ed25519PrivateKey, *, one_each: bool
) -> float:
    """Bare requests posting `sent` again (signed before the clock starts); seconds."""
    (_, enrol_body), batches = sent[0], sent[1:]
    bodies = [body for _, body in batches]
    if one_each:
        bodies = [
            body_bytes({"items": [item]}) for body in bodies for item in json.loads(body)["items"]
        ]
    with served("--data", str(folder / "platform")) as (url, _), requests.Session() as session:
        session.trust_env = False
        session.post(url + "/v1/enrol", data=enrol_body, timeout=10).raise_for_status()
        when = str(int(time.time()))
        requests_ = [
            (
                body,
                {
                    "Content-Type": "application/json",
                    "X-Kiosk-Id": KIOSK_ID,
                    "X-Kiosk-Time": when,
                    "X-Kiosk-Signature": "Ed25519:"
                    + b64(key.sign(signed_text("POST", "/v1/batches", when, body))),
                },
            )
            for body in bodies
        ]
        answers = []
        started = time.perf_counter()
        for body, headers in requests_:
            response = session.post(url + "/v1/batches", data=body, headers=headers, timeout=10)
            response.raise_for_status()
            answers.append(response.content)
        elapsed = time.perf_counter() - started
    accepted = sum(
        r["outcome"] == "accepted" for answer in answers for r in json.loads(answer)["results"]
    )
    if accepted != COUNT:
        raise RuntimeError(f"bare requests got {accepted} of {COUNT} accepted")
    return elapsed


def sync() -> list[dict[str, Any]]:
    key = Ed25519PrivateKey.generate()
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-", dir=Path.cwd() / "build") as folder:
        base = Path(folder)
        fill(base / "filled")
        recording = Recording()
        with tempfile.TemporaryDirectory(dir=base) as scratch:
            drain(base / "filled", Path(scratch), key, recording)  # also warms the caches
        sent = recording.sent
        times: dict[str, list[float]] = {"kiosk": [], "batched": [], "single": []}
        runs: dict[str, Callable[[Path], float]] = {
            "kiosk": lambda at: drain(base / "filled", at, key),
            "batched": lambda at: bare(sent, at, key, one_each=False),
            "single": lambda at: bare(sent, at, key, one_each=True),
        }
        for _ in range(ROUNDS):  # interleaved: a noisy moment falls on all three alike
            for name, run in runs.items():
                with tempfile.TemporaryDirectory(dir=base) as scratch:
                    times[name].append(run(Path(scratch)))
    kiosk, batched, single = (sorted(t)[len(t) // 2] for t in times.values())
    batches = len(sent) - 1
    return [
        row(
            f"sync of {COUNT:,} queued vs bare requests, same {batches} batches",
            COUNT / kiosk,
            COUNT / batched,
            goal=0.5,
            at_least=True,
            unit="items/s",
        ),
        row(
            f"sync of {COUNT:,} queued vs one bare request per transaction",
            COUNT / kiosk,
            COUNT / single,
            unit="items/s",
            note="the gain of batching",
        ),
    ]
