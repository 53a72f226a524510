"""Exactly once, the hard way: kiosk processes SIGKILLed at random points while they create and
send transactions, through a proxy that resets, delays, cuts short and silences connections, to
a reference platform that fails, is slow and answers 429 with Retry-After. At the end the
platform holds exactly the keys the kiosk committed: none lost, none twice. And a long-running
sender under the same abuse does not grow in memory or open files."""

from __future__ import annotations

import gc
import os
import random
import re
import signal
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from offline_cache.client import PlatformClient
from offline_cache.outbox import Outbox
from offline_cache.platform_server import Faults, stats
from offline_cache.sync import SyncLimits, SyncWorker
from tests.harness.chaos_proxy import FAULTS, ChaosProxy
from tests.offline_cache.platform_kit import credentials, enqueue, platform, served

KIOSK = str(Path(sys.executable).with_name("kiosk"))
pytestmark = pytest.mark.slow


def kiosk_env(tmp_path: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env.update(
        {
            "HOME": str(tmp_path),
            "KIOSK_DEMO": "1",
            "KIOSK_DATA_DIR": str(tmp_path / "kiosk"),
            "KIOSK_READER": "sim://everyone",
            "KIOSK_PLATFORM_URL": url,
        }
    )
    return env


@pytest.fixture
def platform_process(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """`kiosk platform serve` as a technician runs it: failing, slow, with Retry-After."""
    data = tmp_path / "platform"
    faults = ("--fail-rate", "0.2", "--latency-ms", "40", "--seed", "11")
    with served("--data", str(data), *faults) as (url, server):
        yield int(url.rpartition(":")[2]), data
    assert server.returncode == 0, "the platform did not stop cleanly on SIGTERM"


def committed(data: Path) -> tuple[set[str], set[str]]:
    with Outbox(data / "outbox.sqlite3", min_free_bytes=0, create=False) as outbox:
        rows = outbox.rows()
    assert not [r for r in rows if r.status == "rejected"], "nothing here should be rejected"
    return (
        {r.key for r in rows if r.kind == "transaction"},
        {r.key for r in rows if r.kind == "rating"},
    )


def test_sigkilled_kiosks_behind_a_hostile_network_deliver_each_key_exactly_once(
    tmp_path: Path, platform_process: tuple[int, Path]
) -> None:
    port, platform_data = platform_process
    rng = random.Random(2026)
    said_done: set[str] = set()
    with ChaosProxy(port, seed=5, fault_rate=0.35, delay_s=0.3, silence_s=1.5) as proxy:
        env = kiosk_env(tmp_path, proxy.url)
        for round_ in range(20):
            soak = subprocess.Popen(
                [KIOSK, "soak", "--sessions", "60", "--seed", str(round_), "--sync"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            # Half the time a technician's `kiosk queue sync` runs beside it on the same outbox.
            shell = (
                subprocess.Popen(
                    [KIOSK, "queue", "sync", "--timeout", "5"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                if round_ % 2
                else None
            )
            time.sleep(rng.uniform(0.3, 1.6))
            for process in (soak, shell):
                if process is not None and process.poll() is None:
                    process.send_signal(signal.SIGKILL)
            _, progress = soak.communicate(timeout=30)
            said_done |= set(re.findall(r"^done (\S+)", progress, re.MULTILINE))
            if shell is not None:
                shell.wait(30)
        proxy.set_fault_rate(0.0)
        final = subprocess.run(  # noqa: PLW1510 - the exit code is asserted below
            [KIOSK, "queue", "sync", "--timeout", "60", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        injected = dict(proxy.counts)
    assert final.returncode == 0, final.stdout + final.stderr
    transactions, ratings = committed(tmp_path / "kiosk")
    held = stats(platform_data)
    assert sorted(held["transaction_keys"]) == sorted(transactions)
    assert sorted(held["rating_keys"]) == sorted(ratings)
    assert held["transactions"] == len(transactions)
    assert held["ratings"] == len(ratings)
    # What the soak said 已受理 for is among them: a SIGKILL lost nothing already accepted.
    with Outbox(tmp_path / "kiosk" / "outbox.sqlite3", min_free_bytes=0, create=False) as outbox:
        numbers = {r.number for r in outbox.rows()}
    assert said_done
    assert said_done <= numbers
    # The abuse really happened: every kind of network fault, and re-sends the platform caught.
    assert all(injected[fault] > 0 for fault in FAULTS), injected
    assert held["duplicate_submissions"] > 0
    assert len(transactions) > 300


def test_a_long_running_sender_under_faults_does_not_grow(tmp_path: Path) -> None:
    faults = Faults(fail_rate=0.3, latency_ms=20, seed=3, retry_after_s=0)
    outbox = Outbox(tmp_path / "kiosk" / "outbox.sqlite3", min_free_bytes=0)
    limits = SyncLimits(batch_items=10, backoff_base_s=0.005, backoff_cap_s=0.02)
    with (
        platform(tmp_path / "platform", faults=faults) as running,
        ChaosProxy(running.port, seed=9, fault_rate=0.3, delay_s=0.05, silence_s=0.5) as proxy,
    ):
        client = PlatformClient(proxy.url, credentials(), timeout_s=0.4)
        worker = SyncWorker(outbox, client, limits=limits)
        tracemalloc.start()
        try:
            samples = []
            for round_ in range(10):
                enqueue(outbox, 15)
                assert worker.sync_until_empty(60), f"round {round_} did not finish"
                gc.collect()
                samples.append(
                    (len(os.listdir("/proc/self/fd")), tracemalloc.get_traced_memory()[0])
                )
        finally:
            tracemalloc.stop()
            client.close()
        injected = dict(proxy.counts)
    held = stats(tmp_path / "platform")
    keys = {r.key for r in outbox.rows()}
    outbox.close()
    assert set(held["transaction_keys"]) | set(held["rating_keys"]) == keys
    assert len(keys) == 300
    assert sum(injected[f] for f in FAULTS) > 8, injected
    assert sum(faults.injected.values()) > 8, faults.injected
    (fds_early, memory_early), (fds_late, memory_late) = samples[2], samples[-1]
    assert fds_late <= fds_early + 2, samples
    assert memory_late - memory_early < 512 * 1024, samples
