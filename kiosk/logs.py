"""The kiosk's log for the people who run the fleet: JSON lines in DATA_DIR/logs/kiosk.jsonl,
a new file each midnight, kept monitoring.log_days (the law asks six months of network logs).

Log lines hold no personal data: the code logs numbers of records, codes and device URLs, never
a resident's name or ID number. As a second guard, anything shaped like an ID number that
reaches a line anyway is masked before it is written.
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


class Unidentified(logging.Filter):
    """Masks anything shaped like an ID number in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = ID_SHAPED.sub(lambda m: mask_id_number(m.group(1)), message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def file_log(data_dir: Path, days: int) -> logging.Handler:
    """The JSON file handler, on the root logger; returned so that it can be removed."""
    path = data_dir / LOG_FILE
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handler = TimedRotatingFileHandler(path, when="midnight", backupCount=days, encoding="utf-8")
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "at", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )
    )
    handler.setLevel(logging.INFO)
    handler.addFilter(Unidentified())
    os.chmod(path, 0o600)  # the kiosk user's alone, like the data folder (and `kiosk run`'s
    # umask keeps the next days' files so)
    logging.getLogger().addHandler(handler)
    return handler
