"""A seal image staff bring: refused when it cannot be drawn or would cover the certificate's
text, copied in whole when it can."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from kiosk.documents.seal import find_seals, install_seal, seal_problem


def image(path: Path, mode: str, size: tuple[int, int] = (400, 400)) -> Path:
    picture = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(picture).ellipse((10, 10, size[0] - 10, size[1] - 10), outline=(220, 0, 0, 255))
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.convert(mode).save(path)
    return path


def test_a_clear_png_is_a_seal(tmp_path: Path) -> None:
    assert seal_problem(image(tmp_path / "seal.png", "RGBA")) is None


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: image(p, "RGB"), "图片没有透明背景，会遮住证明上的文字。"),
        (lambda p: image(p, "RGBA", (60, 60)), "图片大小 60×60 不合适"),
        (lambda p: p.write_bytes(b"GIF89a") and p, "不是 PNG 图片。"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n broken") and p, "图片无法读取"),
    ],
)
def test_images_that_cannot_be_seals_say_why(tmp_path: Path, make, problem: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "seal.png"
    make(path)
    found = seal_problem(path)
    assert found is not None
    assert found.startswith(problem)


def test_seals_are_found_on_a_stick_and_copied_in(tmp_path: Path) -> None:
    stick = tmp_path / "media" / "staff" / "U盘"
    chosen = image(stick / "印章" / "seal.png", "RGBA")
    (stick / "notes.txt").write_text("not an image")
    assert find_seals((tmp_path / "media", tmp_path / "absent")) == [chosen]
    installed = install_seal(chosen, tmp_path / "data")
    assert installed == tmp_path / "data" / "admin" / "seal.png"
    assert installed.read_bytes() == chosen.read_bytes()
    assert [p.name for p in installed.parent.iterdir()] == ["seal.png"]  # no spare file left
