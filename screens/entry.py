"""The `kiosk` console script. The command line lives in the core (kiosk.cli); it must not
import screens, so this entry point hands it the two commands that need the touchscreen."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from kiosk.cli import main as cli_main
from kiosk.config import Config


class Touchscreen:
    def run(self, config: Config) -> int:
        from screens.main import run_app

        return run_app(config)

    def demo(self, config: Config, out: Path) -> dict[str, Any]:
        from screens.demo import run_demo

        return run_demo(config, out)


def main() -> int:
    return cli_main(touchscreen=Touchscreen())


if __name__ == "__main__":
    sys.exit(main())
