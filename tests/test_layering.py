"""screens -> kiosk -> devices, offline_cache: the lower packages run without Kivy at all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

BLOCK_KIVY_AND_IMPORT_EVERYTHING = """
import importlib, pkgutil, sys

class NoKivy:
    def find_spec(self, name, path=None, target=None):
        if name == "kivy" or name.startswith("kivy."):
            raise ImportError(f"{name} imported below screens/")

sys.meta_path.insert(0, NoKivy())
imported = []
for package in ("kiosk", "devices", "offline_cache"):
    root = importlib.import_module(package)
    imported.append(package)
    for module in pkgutil.walk_packages(root.__path__, package + "."):
        importlib.import_module(module.name)
        imported.append(module.name)
print("\\n".join(imported))
"""


def test_kiosk_devices_and_offline_cache_import_without_kivy() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_KIVY_AND_IMPORT_EVERYTHING],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    imported = result.stdout.split()
    assert "kiosk.cli" in imported
    assert "devices.registry" in imported
    assert "offline_cache" in imported


def test_lower_packages_do_not_import_upward() -> None:
    """devices and offline_cache import neither kiosk nor screens; kiosk does not import screens."""
    rules = {
        "devices": ("kiosk", "screens"),
        "offline_cache": ("kiosk", "screens"),
        "kiosk": ("screens",),
    }
    offenders = []
    for package, forbidden in rules.items():
        for path in (REPO / package).rglob("*.py"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                words = line.split()
                if len(words) >= 2 and words[0] in ("import", "from"):
                    top = words[1].split(".")[0]
                    if top in forbidden:
                        offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []


def test_simulators_import_only_device_interfaces() -> None:
    """Simulators are written from the reference, so they share no protocol code with drivers."""
    allowed = {"devices.base", "devices.errors", "devices.simulators"}
    offenders = []
    for path in (REPO / "devices" / "simulators").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            words = line.split()
            if (
                len(words) >= 2
                and words[0] in ("import", "from")
                and words[1].startswith("devices")
            ) and not any(words[1] == a or words[1].startswith(a + ".") for a in allowed):
                offenders.append(f"{path.name}: {line.strip()}")
    assert offenders == []
