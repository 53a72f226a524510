"""A seal image staff bring: refused when it cannot be drawn or would cover the certificate's
text, copied in whole when it can."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from kiosk.documents.seal import find_seals, install_seal, remove_other_seals, seal_problem


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
        (lambda p: p.write_bytes(image(p, "RGBA").read_bytes()[:80]) and p, "图片无法读取"),
    ],
)
def test_images_that_cannot_be_seals_say_why(tmp_path: Path, make, problem: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "seal.png"
    make(path)
    found = seal_problem(path)
    assert found is not None
    assert found.startswith(problem)


def test_seals_are_found_on_a_stick_and_copied_in_by_content(tmp_path: Path) -> None:
    stick = tmp_path / "media" / "staff" / "U盘"
    chosen = image(stick / "印章" / "seal.png", "RGBA")
    other = image(stick / "other.png", "LA")
    (stick / "notes.txt").write_text("not an image")
    assert find_seals((tmp_path / "media", tmp_path / "absent")) == [other, chosen]
    first = install_seal(chosen, tmp_path / "data")
    assert first.parent == tmp_path / "data" / "admin"
    assert first.name == f"seal-{hashlib.sha256(chosen.read_bytes()).hexdigest()[:16]}.png"
    assert first.read_bytes() == chosen.read_bytes()
    # A new seal is a new file (a new setting, audited); the old one goes once it is set.
    second = install_seal(other, tmp_path / "data")
    assert second != first
    remove_other_seals(tmp_path / "data", str(second))
    assert [p.name for p in first.parent.iterdir()] == [second.name]  # no spare file left


def test_a_huge_image_in_a_small_file_is_refused_before_it_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000)).save(path)  # a few kilobytes on disk
    assert path.stat().st_size < 100_000
    assert (
        seal_problem(path) == "图片大小 20000×20000 不合适（宽和高都应在 100 到 4000 像素之间）。"
    )
