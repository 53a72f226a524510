"""Reading TOML files whose mistakes people must be able to find: errors name file and line.

tomllib reports the line of a syntax error, but keeps no positions for the values it returns.
`Locator` finds the line of any key path, e.g. ("fields", 2, "type"), by parsing growing
prefixes of the file and noting where each path first appears. A prefix that ends inside a
multi-line array is tried with the array closed, so each element is found on its own line. It
runs only when there is an error to report, on files of a few hundred lines at most.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

Path_ = tuple[str | int, ...]


class TomlError(ValueError):
    """A file that cannot be read or parsed; the message names the file (and line)."""


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """The parsed file and its text; TomlError says what is wrong in words."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TomlError(f"{path}: no such file") from None
    except PermissionError:
        raise TomlError(f"{path}: not readable by this user (check its owner and mode)") from None
    except IsADirectoryError:
        raise TomlError(f"{path}: is a folder, not a file") from None
    except UnicodeDecodeError as error:
        raise TomlError(f"{path}: not UTF-8 text (byte {error.start}); save it as UTF-8") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as error:
        raise TomlError(f"{path}: not valid TOML: {error}") from None


class Locator:
    def __init__(self, text: str, source: str) -> None:
        self.text, self.source = text, source
        self._lines: dict[Path_, int] | None = None

    def line(self, *path: str | int) -> int | None:
        if self._lines is None:
            self._lines = self._find_lines()
        while path:  # a missing key is reported on the line of its table, if that exists
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return None

    def where(self, *path: str | int) -> str:
        """'FILE line N: ' for a path, or 'FILE: ' when it has no line (a missing key)."""
        line = self.line(*path) if self.text else None
        return f"{self.source} line {line}: " if line else f"{self.source}: "

    def _find_lines(self) -> dict[Path_, int]:
        lines = self.text.splitlines()
        found: dict[Path_, int] = {}
        for number in range(1, len(lines) + 1):
            prefix = "\n".join(lines[:number])
            for closing in ("", "\n]", "\n]]"):
                try:
                    data = tomllib.loads(prefix + closing)
                except tomllib.TOMLDecodeError:
                    continue
                for path in _paths(data):
                    found.setdefault(path, number)
                break
        return found


def _paths(data: Mapping[str, Any] | list[Any], prefix: Path_ = ()) -> list[Path_]:
    out: list[Path_] = []
    items = data.items() if isinstance(data, Mapping) else enumerate(data)
    for key, value in items:
        out.append((*prefix, key))
        if isinstance(value, Mapping) or (
            isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value)
        ):
            out.extend(_paths(value, (*prefix, key)))
    return out
