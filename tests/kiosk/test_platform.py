"""The kiosk with its platform: demo mode's loopback platform, lookups online and offline,
rejections in the staff events, a clock that is off, and the commands of a technician
(`kiosk queue sync`, `kiosk platform serve|stats|notice|revoke`) as a new user runs them."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from kiosk.config import Config, load_config
from kiosk.core import EVENTS_FILE, Kiosk
from kiosk.i18n import Text
from kiosk.platform import PlatformLink, local_lookup
from kiosk.soak import run_soak
from offline_cache import platform_server
from offline_cache.outbox import Outbox
from offline_cache.sync import SyncLimits
from tests.kiosk.test_privacy import found_in, personal_values
from tests.offline_cache.platform_kit import served as platform_process

KIOSK = str(Path(sys.executable).with_name("kiosk"))


def demo_config(tmp_path: Path, **env: str) -> Config:
    environ = {
        "HOME": str(tmp_path),
        "KIOSK_DATA_DIR": str(tmp_path / "data"),
        "KIOSK_READER": "sim://everyone",
        "KIOSK_COUNTER_HOURS": "每天 0:00-24:00",  # staffed items, whatever the hour of the run
        **env,
    }
    return load_config(None, demo=True, environ=environ)


def wait_for(condition: object, seconds: float = 15.0) -> bool:
    assert callable(condition)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


def applicants(kiosk: Kiosk) -> list[str]:
    found = []
    for row in kiosk.outbox.rows():
        personal = kiosk.outbox.personal(row)
        if personal:
            found.append(personal["applicant"]["id_number"])
    return found


@pytest.fixture
def served(tmp_path: Path) -> Iterator[platform_server.Running]:
    running = platform_server.start(
        tmp_path / "platform", quiet=True, reject_items=frozenset({"residence-certificate"})
    )
    yield running
    running.stop()


def test_demo_mode_runs_its_platform_on_loopback_and_lookups_ask_it(tmp_path: Path) -> None:
    config = demo_config(tmp_path)
    run_soak(config, 6, seed=2, out=io.StringIO())
    kiosk = Kiosk(config)
    try:
        link = kiosk.start_sync()
        assert link.client.url.startswith("http://127.0.0.1:")
        assert wait_for(lambda: kiosk.outbox.status()["queued"] == 0)
        assert kiosk.sync_state.online is True
        assert kiosk.platform_reachable is True
        someone = applicants(kiosk)[0]
        found = kiosk.lookup(someone)
        assert found.asked_platform is True
        assert found.entries
        assert {e.source for e in found.entries} == {"platform"}
        assert {e.status for e in found.entries} == {"已提交办理部门"}
        assert kiosk.lookup("110101194910010015").entries == []  # someone who never came
    finally:
        kiosk.close()
    assert (tmp_path / "data" / "platform" / "platform.sqlite3").exists()


def test_a_lease_outlasts_the_longest_request_the_settings_allow(tmp_path: Path) -> None:
    config = demo_config(tmp_path, KIOSK_PLATFORM_URL="http://127.0.0.1:9")
    slow = replace(config, platform=replace(config.platform, timeout_s=120.0))
    for cfg, lease_s in ((config, 90.0), (slow, 360.0)):
        with Outbox(tmp_path / "data" / "outbox.sqlite3", min_free_bytes=0) as outbox:
            link = PlatformLink(cfg, outbox, today=date(2026, 12, 1))
            try:
                assert link.worker is not None
                assert link.worker.limits.lease_s == lease_s
            finally:
                link.close()


def test_offline_the_lookup_answers_from_the_local_queue(tmp_path: Path) -> None:
    config = demo_config(tmp_path, KIOSK_PLATFORM_URL="http://127.0.0.1:9")  # nothing listens
    run_soak(config, 4, seed=3, out=io.StringIO())
    kiosk = Kiosk(config)
    try:
        kiosk.start_sync()
        assert wait_for(lambda: kiosk.sync_state.online is False)
        assert kiosk.platform_reachable is False
        someone = applicants(kiosk)[0]
        started = time.monotonic()
        found = kiosk.lookup(someone)
        assert time.monotonic() - started < 1.0  # known to be offline: it does not try
        assert found.asked_platform is False
        assert found.entries
        assert {e.status for e in found.entries} == {"已受理，等待上传"}
        assert {e.source for e in found.entries} == {"local"}
    finally:
        kiosk.close()


def test_a_rejection_reaches_the_staff_events_with_its_reason_and_no_personal_data(
    tmp_path: Path, served: platform_server.Running
) -> None:
    config = demo_config(tmp_path, KIOSK_PLATFORM_URL=served.url)
    run_soak(config, 30, seed=4, out=io.StringIO())
    kiosk = Kiosk(config)
    try:
        kiosk.start_sync(limits=SyncLimits(max_wait_s=0))
        assert wait_for(lambda: kiosk.outbox.status()["queued"] == 0)
        rejected = [r for r in kiosk.outbox.rows() if r.status == "rejected"]
        transactions = [r for r in rejected if r.kind == "transaction"]
        assert transactions, "the soak chose no residence certificate; pick another seed"
        # The resident's own lookup says so too, in either language, with the item named.
        row = transactions[0]
        personal = kiosk.outbox.personal(row) or {}
        (entry,) = [
            e
            for e in local_lookup(kiosk.outbox, personal["applicant"]["id_number"])
            if e.number == row.number
        ]
    finally:
        kiosk.close()
    assert entry.item == "residence-certificate"
    assert entry.status == "未被受理：该事项已停止自助受理，请到窗口办理"
    assert isinstance(entry.status, Text)
    assert entry.status.in_language("en") == "Not accepted: 该事项已停止自助受理，请到窗口办理"
    assert {r.reject_code for r in transactions} == {"ITEM_CLOSED"}
    events = (tmp_path / "data" / EVENTS_FILE).read_text(encoding="utf-8")
    lines = [json.loads(line) for line in events.splitlines()]
    staff = [e for e in lines if e["kind"] == "rejected"]
    assert {e["number"] for e in staff} == {r.number for r in transactions}
    assert {e["reason"] for e in staff} == {"该事项已停止自助受理，请到窗口办理"}
    assert found_in([tmp_path / "data" / EVENTS_FILE], personal_values()) == []


def test_a_clock_far_off_pauses_sync_and_stops_certificates(tmp_path: Path) -> None:
    ahead = platform_server.start(tmp_path / "p", quiet=True, clock=lambda: time.time() + 3600)
    config = demo_config(tmp_path, KIOSK_PLATFORM_URL=ahead.url)
    kiosk = Kiosk(config)
    try:
        kiosk.start_sync()
        assert wait_for(lambda: kiosk.sync_state.clock_skew)
        assert "CLOCK_SKEW" in str(kiosk.sync_state.paused)
        residence, ticket = kiosk.catalog["residence-certificate"], kiosk.catalog["queue-ticket"]
        reason = kiosk.unavailable(residence)
        assert reason is not None
        assert reason.startswith("暂不可用：本机时间需要校准，暂停出具证明")
        # Asked again at the moment of signing (screens/app.py withholds the signer then).
        assert kiosk.certificates_withheld() == "本机时间需要校准，暂停出具证明"
        assert kiosk.platform_reachable is False  # paused: online-only items are not offered
        assert kiosk.unavailable(ticket) is None  # what prints no certificate goes on
    finally:
        kiosk.close()
        ahead.stop()
    lines = (tmp_path / "data" / EVENTS_FILE).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["code"] for line in lines if "sync_paused" in line] == ["CLOCK_SKEW"]


def run(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KIOSK, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.slow
def test_soak_1000_then_queue_sync_delivers_everything_and_leaks_nothing(tmp_path: Path) -> None:
    platform_data = tmp_path / "platform"
    server_log_file = tmp_path / "server.log"
    with platform_process("--data", str(platform_data), log=server_log_file) as (url, _):
        env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
        env |= {
            "HOME": str(tmp_path),
            "KIOSK_DEMO": "1",
            "KIOSK_DATA_DIR": str(tmp_path / "data"),
            "KIOSK_READER": "sim://everyone",
            "KIOSK_PLATFORM_URL": url,
            "KIOSK_LOG_LEVEL": "INFO",  # every log line there is, searched below
        }
        soak = run(["soak", "--sessions", "1000", "--seed", "8", "--json"], env)
        assert soak.returncode == 0, soak.stderr
        ratings = json.loads(soak.stdout)["ratings"]
        synced = run(["queue", "sync", "--timeout", "120"], env, timeout=180)
        assert synced.returncode == 0, synced.stdout + synced.stderr
        status = json.loads(run(["queue", "status", "--json"], env).stdout)
        stats = json.loads(
            run(["platform", "stats", "--data", str(platform_data), "--json"], env).stdout
        )
    server_log = server_log_file.read_text(encoding="utf-8")
    assert stats["transactions"] == 1000
    assert stats["ratings"] == ratings
    assert stats["duplicate_submissions"] == 0
    assert (status["queued"], status["sending"], status["rejected"]) == (0, 0, 0)
    assert status["accepted"] == 1000 + ratings
    # Nothing personal in what the kiosk logged, printed or kept in clear.
    logs = tmp_path / "logs"
    logs.mkdir()
    for name, text in (
        ("soak", soak.stderr + soak.stdout),
        ("sync", synced.stderr + synced.stdout),
        ("server", server_log),
    ):
        (logs / name).write_text(text, encoding="utf-8")
    data = tmp_path / "data"
    files = [
        data / "outbox.sqlite3",
        data / "outbox.sqlite3-wal",
        data / EVENTS_FILE,
        *logs.iterdir(),
    ]
    assert found_in(files, personal_values()) == []


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    return env | {
        "HOME": str(tmp_path),
        "KIOSK_DEMO": "1",
        "KIOSK_DATA_DIR": str(tmp_path / "data"),
        "KIOSK_READER": "sim://everyone",
        **extra,
    }


def test_queue_sync_from_a_shell_says_why_it_could_not_send(tmp_path: Path) -> None:
    env = cli_env(tmp_path, KIOSK_PLATFORM_URL="http://127.0.0.1:9", KIOSK_LOG_LEVEL="loud")
    Outbox(tmp_path / "data" / "outbox.sqlite3", min_free_bytes=0).close()  # empty
    started = time.monotonic()
    empty = run(["queue", "sync", "--timeout", "20"], env)
    assert (empty.returncode, empty.stderr) == (0, "")  # nothing to send: no platform needed
    assert time.monotonic() - started < 10
    assert run(["soak", "--sessions", "2"], env).returncode == 0
    offline = run(["queue", "sync", "--timeout", "2", "--json"], env)
    assert offline.returncode == 1
    assert "kiosk: not everything was sent: no answer from the platform" in offline.stderr
    assert json.loads(offline.stdout)["left_queued"] >= 2


def test_platform_notice_and_revoke_for_a_technician(
    tmp_path: Path, served: platform_server.Running
) -> None:
    env = cli_env(tmp_path, KIOSK_PLATFORM_URL=served.url)
    data = str(tmp_path / "platform")
    typo = tmp_path / "platfrom"
    for args in (["notice", "--data", str(typo), "停水"], ["revoke", "--data", str(typo), "X-1"]):
        wrong = run(["platform", *args], env)
        assert wrong.returncode == 1
        assert "there is no reference platform in" in wrong.stderr
    assert not typo.exists()
    notice = run(["platform", "notice", "--data", data, "今日停水", "--hours", "2"], env)
    assert notice.returncode == 0
    assert run(["soak", "--sessions", "1"], env).returncode == 0
    assert run(["queue", "sync", "--timeout", "20"], env).returncode == 0
    assert run(["platform", "revoke", "--data", data, "DEMO-0001"], env).stdout.startswith(
        "kiosk DEMO-0001: revoked"
    )
    assert run(["soak", "--sessions", "1"], env).returncode == 0
    refused = run(["queue", "sync", "--timeout", "20"], env)
    assert refused.returncode == 1
    assert "403 KIOSK_REVOKED" in refused.stderr
    store = platform_server.Store(tmp_path / "platform")
    try:
        assert store.stats()["transactions"] == 1  # the second waits, kept, not rejected
    finally:
        store.close()
    lines = (tmp_path / "data" / EVENTS_FILE).read_text(encoding="utf-8").splitlines()
    paused = [json.loads(line) for line in lines if "sync_paused" in line]
    assert [(e["code"], e["by"]) for e in paused] == [("KIOSK_REVOKED", "queue sync")]
    assert all("at" in e for e in paused)
