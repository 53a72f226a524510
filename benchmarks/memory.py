"""Memory over a long run: the kiosk core's resident memory after 1,000 soak sessions against
after 10 (a leak shows as a ratio above 1), in a process of its own so that nothing else this
benchmark run loaded counts."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import row

SCRIPT = """
import io, json, os, sys
from kiosk.config import load_config
from kiosk.soak import run_soak

def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

config = load_config(None, demo=True, environ={**os.environ})
run_soak(config, 10, seed=1, out=io.StringIO())
after_10 = rss_kib()
run_soak(config, 990, seed=2, out=io.StringIO())
print(json.dumps({"after_10": after_10, "after_1000": rss_kib()}))
"""


def memory() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-", dir=Path.cwd() / "build") as folder:
        env = {
            "HOME": folder,
            "KIOSK_DATA_DIR": f"{folder}/data",
            "KIOSK_READER": "sim://",
            "PATH": "/usr/bin:/bin",
            "TZ": "Asia/Shanghai",
        }
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            check=True,
            cwd=Path(__file__).parents[1],
        )
    kib = json.loads(done.stdout.splitlines()[-1])
    return [
        row(
            "resident memory after 1,000 soak sessions vs after 10",
            kib["after_1000"] / 1024,
            kib["after_10"] / 1024,
            goal=1.1,
            unit="MiB",
            note=f"{kib['after_1000'] / 1024:.0f} MiB after 1,000 sessions (core only, no UI)",
        )
    ]
