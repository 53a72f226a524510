"""The community's seal on certificates: an image staff bring on a USB stick, checked that it
can be drawn and will not cover the certificate's text, and copied into the data folder (the
stick may be taken away)."""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
from pathlib import Path

MIN_SIDE, MAX_SIDE = 100, 4000  # pixels


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
    """Why an image cannot be a seal: not a PNG that can be drawn, too large or too small, or
    no transparency (a white square would cover the certificate's text). The size is read
    from the header before any pixel is decoded: a small file may hold a huge image."""
    from PIL import Image

    try:
        with path.open("rb") as file:
            head = file.read(24)
    except OSError as error:
        return f"图片无法读取（{error.strerror or error}）。"
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return "不是 PNG 图片。"
    width, height = struct.unpack(">II", head[16:24])  # the header, before any pixel
    if min(width, height) < MIN_SIDE or max(width, height) > MAX_SIDE:
        return (
            f"图片大小 {width}×{height} 不合适（宽和高都应在 {MIN_SIDE} 到 {MAX_SIDE} 像素之间）。"
        )
    try:
        with Image.open(path) as image:
            clear = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            image.load()  # every pixel decodes: a broken file says so now, not on a certificate
    except Exception as error:  # noqa: BLE001 - any image library failure: this image is unusable
        return f"图片无法读取（{type(error).__name__}）。"
    if not clear:
        return "图片没有透明背景，会遮住证明上的文字。"
    return None


def install_seal(source: Path, data_dir: Path) -> Path:
    """Copy a checked image into DATA_DIR/admin, named by its content (so that a new seal is a
    new setting, audited, and no cached picture of the old one is shown), written whole and
    synced before it is used; earlier seals are removed once the new one is in place."""
    data = source.read_bytes()
    folder = data_dir / "admin"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = folder / f"seal-{hashlib.sha256(data).hexdigest()[:16]}.png"
    with tempfile.NamedTemporaryFile(dir=folder, delete=False) as spare:
        spare.write(data)
        spare.flush()
        os.fsync(spare.fileno())
    Path(spare.name).replace(target)
    return target


def remove_other_seals(data_dir: Path, keep: str) -> None:
    """After the setting names the new seal: the old images go (none is in use)."""
    for old in (data_dir / "admin").glob("seal-*.png"):
        if str(old) != keep:
            old.unlink(missing_ok=True)
