"""What staff change on the touchscreen: validated, written atomically, audited, in effect at once.

Staff settings live in DATA_DIR/admin/staff.toml (the configuration file stays as the installer
wrote it) and win over it; `kiosk config show` names them as their origin. Every change is a
line in DATA_DIR/admin/audit.jsonl: the time, who, what, before and after. Lines are only ever
appended, and each carries the hash of the line before it, so a line removed or edited later
shows (`verify_audit`).
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import tomllib
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from kiosk.clock import now_local
from kiosk.config import (
    AT_NEXT_START,
    SECTIONS,
    STAFF_FILE,
    STAFF_KEYS,
    TYPE_WORDS,
    Config,
    convert,
)

AUDIT_FILE: Final = "admin/audit.jsonl"
GENESIS: Final = "0" * 64


class SettingRefused(ValueError):
    """A value staff entered that cannot be used; the message says why, for the screen."""


def change(config: Config, changes: Mapping[str, Any], *, who: str = "staff") -> Config:
    """Apply `changes` ({"session.time_multiplier": 2.0, ...}): each converted and checked as
    the configuration file's values are, then audited, then written. Nothing is written when
    any value is refused or the audit log cannot take the lines. Returns the configuration in
    effect: settings in AT_NEXT_START are saved, not yet in it (see `pending`)."""
    converted = {}
    for name, raw in changes.items():
        if name not in STAFF_KEYS:
            raise SettingRefused(f"{name} is not a setting staff change here")
        value, problem = setting_problem(config, name, raw)
        if problem:
            raise SettingRefused(f"{name}: {problem}")
        converted[name] = value
    saved = pending(config)  # what the next start will have, where that differs from now
    lines = []
    for name, value in converted.items():
        section, key = name.split(".")
        before = saved.get(name, _plain(getattr(getattr(config, section), key)))
        if before != _plain(value):
            lines.append({"setting": name, "before": before, "after": _plain(value)})
    if not lines:
        return config
    audit_many(config.data_dir, who, "set", lines)  # the record first: then the setting
    staff = _read(config.data_dir)
    for name, value in converted.items():
        section, key = name.split(".")
        staff.setdefault(section, {})[key] = _plain(value)
    _write(config.data_dir, staff)
    # What the running kiosk opened once (devices, its platform link, its id) stays as it is
    # until the next start; everything else is in effect now.
    effective = config
    for name, value in converted.items():
        if name not in AT_NEXT_START:
            section, key = name.split(".")
            part = dataclasses.replace(getattr(effective, section), **{key: value})
            effective = dataclasses.replace(effective, **{section: part})
    return effective


EMPTY_REQUIRED: Final = "cannot be empty: the kiosk would not start"


def setting_problem(config: Config, name: str, raw: Any) -> tuple[Any, str | None]:
    """A staff setting's value as the configuration holds it, and what is wrong with it (None:
    nothing; the name is not repeated): the wrong type, EMPTY_REQUIRED, or a check's reason.
    The staff screens ask before they try a value; `change` asks before it writes one."""
    section, key = name.split(".")
    field = next(f for f in dataclasses.fields(SECTIONS[section]) if f.name == key)
    value = convert(list(raw) if isinstance(raw, list | tuple) else raw, field.type)
    if value is None:
        return raw, f"must be {TYPE_WORDS[str(field.type)]}"
    if field.metadata["required"] and value in ("", ()) and not config.demo:
        return value, EMPTY_REQUIRED
    for check in field.metadata["checks"]:
        problem = check(value)
        if problem:
            return value, str(problem)
    return value, None


def pending(config: Config) -> dict[str, Any]:
    """Settings saved for the next start that the running kiosk does not have yet."""
    out = {}
    for section, body in _read(config.data_dir).items():
        for key, value in body.items():
            name = f"{section}.{key}"
            now = _plain(getattr(getattr(config, section), key, None))
            if name in AT_NEXT_START and value != now:
                out[name] = value
    return out


def audit(data_dir: Path, who: str, action: str, what: Mapping[str, Any]) -> None:
    """Append one line: never personal data (settings, item codes, device URLs)."""
    audit_many(data_dir, who, action, [what])


def audit_many(data_dir: Path, who: str, action: str, whats: Sequence[Mapping[str, Any]]) -> None:
    """Append lines in one write, under a lock that other processes (a shell's `kiosk admin`)
    take too, so that the chain of hashes never forks."""
    path = data_dir / AUDIT_FILE
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        previous = _last_hash(path)
        data = b""
        for what in whats:
            line = {
                "at": now_local().isoformat(timespec="seconds"),
                "who": who,
                "action": action,
                **what,
                "prev": previous,
            }
            raw = (json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n").encode()
            previous = hashlib.sha256(raw).hexdigest()
            data += raw
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)  # and the lock with it


REFUSED_FILE: Final = "admin/refused-config.json"


def refuse_offer(data_dir: Path, offered: Mapping[str, Any]) -> None:
    """Staff refused configuration the platform offered: it is not offered again (across
    restarts) until the platform offers something else."""
    from offline_cache.crypto import write_private_file

    audit(data_dir, "staff", "config_refused", {"offered": dict(offered)})
    write_private_file(data_dir / REFUSED_FILE, json.dumps(dict(offered)).encode())


def refused_offer(data_dir: Path) -> dict[str, Any] | None:
    try:
        value = json.loads((data_dir / REFUSED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def read_audit(data_dir: Path) -> list[dict[str, Any]]:
    path = data_dir / AUDIT_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def verify_audit(data_dir: Path) -> str | None:
    """None when every line follows the one before it; else where the chain breaks."""
    path = data_dir / AUDIT_FILE
    if not path.exists():
        return None
    previous = GENESIS
    for number, raw in enumerate(path.read_bytes().splitlines(keepends=True), 1):
        try:
            line = json.loads(raw)
        except ValueError:
            return f"line {number} is not JSON"
        if line.get("prev") != previous:
            return f"line {number} does not follow line {number - 1}: removed or edited"
        previous = hashlib.sha256(raw).hexdigest()
    return None


def _last_hash(path: Path) -> str:
    if not path.exists():
        return GENESIS
    lines = path.read_bytes().splitlines(keepends=True)
    return hashlib.sha256(lines[-1]).hexdigest() if lines else GENESIS


def _read(data_dir: Path) -> dict[str, dict[str, Any]]:
    path = data_dir / STAFF_FILE
    if not path.exists():
        return {}
    with path.open("rb") as file:
        return tomllib.load(file)


def _write(data_dir: Path, staff: Mapping[str, Mapping[str, Any]]) -> None:
    from offline_cache.crypto import write_private_file

    lines = [
        "# Staff settings, written by the kiosk's staff screens (audited in audit.jsonl).",
        f"# Last written {datetime.now().astimezone().isoformat(timespec='seconds')}.",
    ]
    for section in sorted(staff):
        lines.append(f"\n[{section}]")
        for key in sorted(staff[section]):
            lines.append(f"{key} = {_toml(staff[section][key])}")
    path = data_dir / STAFF_FILE
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private_file(path, ("\n".join(lines) + "\n").encode())


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string is JSON's


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
