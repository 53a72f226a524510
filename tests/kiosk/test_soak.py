"""`kiosk soak`: exact counts, and no loss or corruption when it is killed at random moments."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

KIOSK = str(Path(sys.executable).with_name("kiosk"))


def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    return {
        **clean,
        "HOME": str(tmp_path),
        "KIOSK_DATA_DIR": str(tmp_path / "data"),
        "KIOSK_DEMO": "1",
        "KIOSK_READER": "sim://everyone",
    }


def outbox(tmp_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / "data" / "outbox.sqlite3")


def test_200_sessions_leave_exactly_200_transactions_and_their_ratings(tmp_path: Path) -> None:
    result = subprocess.run(
        [KIOSK, "soak", "--sessions", "200", "--seed", "3", "--json"],
        env=env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["sessions"], summary["transactions"], summary["refused"]) == (200, 200, 0)
    done = [line.split()[1] for line in result.stderr.splitlines() if line.startswith("done ")]
    rated = [line.split()[1] for line in result.stderr.splitlines() if line.startswith("rated ")]
    assert len(done) == len(set(done)) == 200
    assert 0 < len(rated) < 200  # a seeded share, not all, not none
    db = outbox(tmp_path)
    counts = dict(
        db.execute(
            "SELECT kind, count(*) FROM outbox WHERE status = 'queued' GROUP BY kind"
        ).fetchall()
    )
    assert counts == {"transaction": 200, "rating": len(rated)}
    assert {
        n for (n,) in db.execute("SELECT number FROM outbox WHERE kind = 'transaction'")
    } == set(done)
    status = subprocess.run(
        [KIOSK, "queue", "status", "--json"],
        env=env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(status.stdout)["queued"] == 200 + len(rated)
    assert len(set(summary["items"])) > 5  # many items, not one


def test_the_same_seed_makes_the_same_choices(tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        folder = tmp_path / name
        result = subprocess.run(
            [KIOSK, "soak", "--sessions", "30", "--seed", "11", "--json"],
            env=env(folder),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        runs.append(json.loads(result.stdout))
    assert runs[0]["items"] == runs[1]["items"]
    assert runs[0]["ratings"] == runs[1]["ratings"]


@pytest.mark.slow
def test_sigkill_at_random_moments_never_loses_corrupts_or_duplicates(tmp_path: Path) -> None:
    rng = random.Random(20261129)
    announced: set[str] = set()
    kills = 0
    for round_ in range(25):
        process = subprocess.Popen(
            [KIOSK, "soak", "--sessions", "100000", "--seed", str(round_)],
            env=env(tmp_path),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stderr is not None
        # Wait for the first commit, then kill at a random moment among the following ones.
        first = process.stderr.readline()
        assert first.startswith("done "), first
        announced.add(first.split()[1])
        time.sleep(rng.uniform(0.0, 0.3))
        process.send_signal(signal.SIGKILL)
        _, rest = process.communicate(timeout=30)
        kills += process.returncode == -signal.SIGKILL
        # Only whole lines: a line cut by the kill was not fully announced.
        announced.update(
            line.split()[1]
            for line in rest.splitlines()
            if line.startswith("done ") and len(line.split()) == 2
        )

        db = outbox(tmp_path)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        numbers = [n for (n,) in db.execute("SELECT number FROM outbox")]
        assert len(numbers) == len(set(numbers))
        keys = [k for (k,) in db.execute("SELECT key FROM outbox")]
        assert len(keys) == len(set(keys))
        stored = set(numbers)
        missing = announced - stored
        assert not missing, f"said done but missing after kill {round_}: {sorted(missing)[:5]}"
        orphans = db.execute(
            "SELECT count(*) FROM outbox r LEFT JOIN outbox t "
            "ON t.key = r.parent_key WHERE r.kind = 'rating' AND t.key IS NULL"
        ).fetchone()[0]
        assert orphans == 0
        db.close()
    assert kills == 25
    # After all that, the kiosk still starts and adds to the same sequence.
    result = subprocess.run(
        [KIOSK, "soak", "--sessions", "5", "--json"],
        env=env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(result.stdout)["transactions"] == 5
