"""What the platform tests share: a kiosk's credentials, a reference platform on loopback, and
outbox rows for synthetic residents."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uuid6
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devices.simulators.people import PEOPLE
from offline_cache import platform_server
from offline_cache.client import Credentials
from offline_cache.outbox import Outbox

KIOSK = str(Path(sys.executable).with_name("kiosk"))
KIOSK_ID = "TEST-0001"
HALL = "测试社区党群服务中心"


def credentials(kiosk_id: str = KIOSK_ID, key: Ed25519PrivateKey | None = None) -> Credentials:
    key = key or Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return Credentials(kiosk_id, HALL, public, key.sign)


@contextmanager
def served(*args: str, log: Path | None = None) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`kiosk platform serve --port 0 ARGS` in a process of its own, as a technician runs it:
    its URL (from the first line it prints) and the process, stopped by SIGTERM on the way
    out (its `returncode` is then set). `log`: a file for what it writes on stderr."""
    with contextlib.ExitStack() as stack:
        stderr = stack.enter_context(log.open("w")) if log else subprocess.DEVNULL
        server = subprocess.Popen(
            [KIOSK, "platform", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        assert server.stdout is not None
        found = re.match(r"listening on (http://127\.0\.0\.1:\d+)", server.stdout.readline())
        assert found, "kiosk platform serve did not say where it listens"
        yield found.group(1), server
    finally:
        server.terminate()
        try:
            server.wait(10)
        finally:
            if server.stdout is not None:
                server.stdout.close()


@contextmanager
def platform(data: Path, **options: Any) -> Iterator[platform_server.Running]:
    running = platform_server.start(data, quiet=True, **options)
    try:
        yield running
    finally:
        running.stop()


def personal(index: int) -> dict[str, Any]:
    people = list(PEOPLE.values())
    person = people[index % len(people)].fields
    return {
        "applicant": {
            "id_number": person["id_number"],
            "name": person["name"],
            "address": person.get("address", ""),
        },
        "fields": {"phone": "13800000000"},
    }


def enqueue(
    outbox: Outbox, count: int, *, item: str = "residence-proof", rate: bool = True
) -> list[str]:
    """`count` transactions (and a rating of each when `rate`); returns the transaction keys."""
    keys = []
    for index in range(count):
        key = str(uuid6.uuid7())
        row = outbox.enqueue_transaction(
            key,
            {"schema": 1, "key": key, "item": item, "item_name": "测试事项"},
            kiosk_id=KIOSK_ID,
            day="20261129",
            personal=personal(index),
        )
        if rate:
            outbox.enqueue_rating(
                f"{key}:rating",
                key,
                {"schema": 1, "transaction_key": key, "transaction_number": row.number, "level": 5},
            )
        keys.append(key)
    return keys
