"""Personal data at rest: sealed in the outbox, and erased for real after retention."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from devices.simulators.people import PEOPLE
from offline_cache.outbox import Outbox

KIOSK = str(Path(sys.executable).with_name("kiosk"))
ENCODINGS = ("utf-8", "gbk", "utf-16-le", "utf-16-be")


def personal_values() -> list[str]:
    values = []
    for person in PEOPLE.values():
        for field in ("name", "id_number", "address"):
            value = person.fields.get(field, "")
            if len(value) >= 3:
                values.append(value)
    return values


def found_in(paths: list[Path], values: list[str]) -> list[str]:
    found = []
    for path in paths:
        if not path.exists():
            continue
        data = path.read_bytes()
        for value in values:
            for encoding in ENCODINGS:
                try:
                    needle = value.encode(encoding)
                except UnicodeEncodeError:
                    continue
                if needle in data:
                    found.append(f"{path.name}: {encoding} of a {len(value)}-character value")
    return found


def test_no_resident_data_is_readable_in_the_outbox_and_purge_erases_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env.update(
        {
            "HOME": str(tmp_path),
            "KIOSK_DEMO": "1",
            "KIOSK_DATA_DIR": str(data),
            "KIOSK_READER": "sim://everyone",
        }
    )
    subprocess.run(
        [KIOSK, "soak", "--sessions", "40", "--seed", "5"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    files = [data / "outbox.sqlite3", data / "outbox.sqlite3-wal"]
    assert found_in(files, ["DEMO-0001-"])  # the scanner does find what is there in clear
    assert found_in(files, personal_values()) == []

    with Outbox(data / "outbox.sqlite3", min_free_bytes=0) as outbox:
        rows = [r for r in outbox.rows() if r.kind == "transaction"]
        assert all(outbox.personal(r) is not None for r in rows)  # readable with the key
        ciphertexts = [r.sealed.blob for r in rows if r.sealed is not None]
        assert len(ciphertexts) == 40
        for row in outbox.lease("test", limit=100, lease_s=60):
            outbox.accept(row.key, "test")
        assert outbox.purge(retention_s=0) == 40
        rows = [r for r in outbox.rows() if r.kind == "transaction"]
        assert all(outbox.personal(r) is None and r.purged_at for r in rows)
        assert {r.status for r in rows} == {"accepted"}  # number and status stay for staff
    # Not even with the key: the sealed bytes are gone from the file and its log.
    everything = b"".join(p.read_bytes() for p in files if p.exists())
    assert not [c for c in ciphertexts if c[:16] in everything]
