"""The hardware tier: real readers and printers, run by `make hwtest READER=URL PRINTER=URL`.

Deselected everywhere else by its marker (see pyproject.toml). When the URLs are missing the
tests fail and say how to give them; they never skip.
"""

from __future__ import annotations

import os

import pytest

from devices.base import HealthLevel, Outcome, Role
from devices.registry import open_printer, open_reader, parse_device_url
from kiosk.identity import identity_from_card

pytestmark = pytest.mark.hardware


def _url(variable: str) -> str:
    value = os.environ.get(variable, "")
    if not value:
        pytest.fail(f"{variable} is not set: run make hwtest READER=URL PRINTER=URL", pytrace=False)
    return value


def _printer_role(url: str) -> Role:
    scheme = url.split("://", 1)[0].lower()
    return Role.CERTIFICATE_PRINTER if scheme in ("cups", "pdf-dir") else Role.RECEIPT_PRINTER


def test_the_reader_reads_a_card_placed_on_it() -> None:
    """Place any valid card on the reader within 30 seconds."""
    url = _url("KIOSK_HW_READER")
    parse_device_url(url, Role.READER)
    with open_reader(url) as reader:
        assert reader.check_health(HealthLevel.INTERNAL).outcome is Outcome.PASSED
        record = reader.read_card(timeout=30)
        assert record is not None, "no card was placed on the reader within 30 s"
        identity = identity_from_card(record)
        assert identity.masked_id


def test_the_printer_prints_a_test_slip() -> None:
    url = _url("KIOSK_HW_PRINTER")
    with open_printer(url, _printer_role(url)) as printer:
        result = printer.check_health(HealthLevel.EXTERNAL)
        assert result.outcome is Outcome.PASSED, result.summary
