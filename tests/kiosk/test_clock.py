"""Dates shown and printed are Shanghai's, whatever zone the machine is set to."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
from datetime import datetime, timedelta, timezone
from kiosk.clock import today_local
from kiosk.idnumber import check_id_number
china = datetime.now(timezone(timedelta(hours=8))).date()  # China has no daylight saving
assert today_local() == china, (today_local(), china)
# Someone born today in China is not "born in the future", even where it is still yesterday.
first17 = "110105" + china.strftime("%Y%m%d") + "001"
weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
number = first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights)) % 11]
assert check_id_number(number).valid, check_id_number(number).code
print("ok")
"""


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Pacific/Kiritimati"])
def test_today_is_shanghais_date_in_any_machine_zone(zone: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={"TZ": zone},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip() == "ok", result.stderr
