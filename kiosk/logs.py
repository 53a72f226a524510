"""The kiosk's log for the people who run the fleet: JSON lines in DATA_DIR/logs/kiosk.jsonl,
a new file each midnight, kept monitoring.log_days (the law asks six months of network logs).

Log lines hold no personal data: the code logs numbers of records, codes and device URLs, never
a resident's name or ID number. As a second guard, anything shaped like an ID number that
reaches a line anyway (in a message, a traceback or an extra field) is masked before it is
written, here and on stderr (the journal).
"""

from __future__ import annotations

import logging
import os
import re
from logging.handlers import TimedRotatingFileHandler
from pathlib import Path
from typing import Final

from pythonjsonlogger.json import JsonFormatter

from kiosk.idnumber import mask_id_number

LOG_FILE: Final = "logs/kiosk.jsonl"
# 15 digits (first generation) or 17 digits and a check character, standing alone.
ID_SHAPED = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")


def mask(text: str) -> str:
    return ID_SHAPED.sub(lambda m: mask_id_number(m.group(1)), text)


class Masking(logging.Formatter):
    """Formats as usual, then masks anything shaped like an ID number in the whole line: the
    message, its arguments, a traceback, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


class MaskingJson(JsonFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


def file_log(data_dir: Path, days: int) -> logging.Handler | None:
    """The JSON file handler, on the root logger; returned so that it can be removed. A log
    that cannot be opened (a full disk, a file root made) is said on stderr: the kiosk serves
    residents without it."""
    path = data_dir / LOG_FILE
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handler = TimedRotatingFileHandler(
            path, when="midnight", backupCount=days, encoding="utf-8"
        )
        os.chmod(path, 0o600)  # the kiosk user's alone, like the data folder (and the umask
        # of `kiosk run` keeps the next days' files so)
    except OSError as error:
        logging.getLogger("kiosk.logs").error("no log file %s: %s", path, error)
        return None
    handler.setFormatter(
        MaskingJson(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "at", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )
    )
    handler.setLevel(logging.INFO)
    logging.getLogger().addHandler(handler)
    return handler
