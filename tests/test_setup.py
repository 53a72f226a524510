"""`make setup` is idempotent: run again, it does nothing and says so within seconds."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_setup_a_second_time_does_nothing_and_says_so_quickly() -> None:
    # make test ran setup just before the tests, so this is at least the second run.
    started = time.monotonic()
    result = subprocess.run(
        ["bash", "scripts/setup.sh"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("setup: nothing to do"), result.stdout
    assert elapsed < 5


def test_every_debian_package_the_setup_wants_is_installed() -> None:
    wanted = [
        line.split("#")[0].strip()
        for line in (REPO / "packaging" / "debian-packages.txt").read_text().splitlines()
    ]
    wanted = [name for name in wanted if name]
    status = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\n", *wanted],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split("\n")
    installed = {line.split()[0] for line in status if line.endswith(" installed")}
    assert set(wanted) <= installed
