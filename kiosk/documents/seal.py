"""The community's seal on certificates: an image staff bring on a USB stick, checked that it
can be drawn and will not cover the certificate's text, and copied into the data folder (the
stick may be taken away)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Final

SEAL_FILE: Final = "admin/seal.png"


def find_seals(places: tuple[Path, ...]) -> list[Path]:
    """PNG images at most three folders deep under `places` (a stick mounts at
    /media/USER/LABEL)."""
    found: list[Path] = []
    for place in places:
        for depth in ("*.png", "*/*.png", "*/*/*.png", "*/*/*/*.png"):
            try:
                found += sorted(p for p in place.glob(depth) if p.is_file())
            except OSError:
                continue
    return found[:12]


def seal_problem(path: Path) -> str | None:
    """Why an image cannot be a seal: not a PNG that reportlab can draw, or no transparency
    (a white square would cover the certificate's text)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with path.open("rb") as file:
            if file.read(8) != b"\x89PNG\r\n\x1a\n":
                return "不是 PNG 图片。"
        with Image.open(path) as image:
            image.load()
            width, height = image.size
            clear = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    except (OSError, ValueError, UnidentifiedImageError) as error:
        return f"图片无法读取（{error}）。"
    if not clear:
        return "图片没有透明背景，会遮住证明上的文字。"
    if min(width, height) < 100 or max(width, height) > 4000:
        return f"图片大小 {width}×{height} 不合适（宽和高都应在 100 到 4000 像素之间）。"
    return None


def install_seal(source: Path, data_dir: Path) -> Path:
    """Copy a checked image to DATA_DIR/admin/seal.png, atomically; its path."""
    target = data_dir / SEAL_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        source.open("rb") as original,
        tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as spare,
    ):
        shutil.copyfileobj(original, spare)
    Path(spare.name).replace(target)
    return target
