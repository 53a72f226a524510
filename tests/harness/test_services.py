"""Each real service the harness starts answers as the real thing does."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from devices.simulators.vpcd import VirtualCard
from tests.harness.services import Service, empty_cups_output

NOTO_CJK = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
WQY = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

KIVY_PROBE = f"""
from kivy.config import Config
Config.set("graphics", "width", "540")
Config.set("graphics", "height", "960")
from kivy.app import App
from kivy.clock import Clock
from kivy.uix.label import Label

class Probe(App):
    title = "kiosk-harness-probe"
    def build(self):
        Clock.schedule_once(lambda dt: self.stop(), 60)
        return Label(text="请放置身份证", font_name={NOTO_CJK!r}, font_size="40sp")

Probe().run()
"""


def test_xvfb_maps_a_kivy_window(xvfb: Service, tmp_path: Path) -> None:
    """A Kivy window appears on the virtual display, visible to X clients, at its set size."""
    assert os.environ["DISPLAY"] == xvfb.env["DISPLAY"]
    env = {
        **os.environ,
        "KIVY_HOME": str(tmp_path / "kivy"),
        "KIVY_NO_ARGS": "1",
        "KIVY_NO_FILELOG": "1",
    }
    probe = tmp_path / "probe.py"  # a file: Kivy's App looks for a .kv beside its source
    probe.write_text(KIVY_PROBE)
    app = subprocess.Popen(
        [sys.executable, str(probe)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        info = ""
        deadline = time.monotonic() + 60
        while "Map State: IsViewable" not in info:
            if app.poll() is not None:
                output = app.communicate()[0].decode(errors="replace")
                raise AssertionError(f"the Kivy probe exited early:\n{output}")
            assert time.monotonic() < deadline, "no Kivy window was mapped within 60 s"
            time.sleep(0.1)
            info = subprocess.run(
                ["xwininfo", "-name", "kiosk-harness-probe"],
                env=env,
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            ).stdout
        assert "Width: 540" in info
        assert "Height: 960" in info
    finally:
        app.terminate()
        app.communicate(timeout=10)


ATR = bytes.fromhex("3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 01 00 00 00 00 6A".replace(" ", ""))


def test_pcscd_lists_the_virtual_readers_and_talks_to_a_card(pcscd: Service) -> None:
    """pyscard sees the vpcd readers; a virtual card inserted there answers an APDU."""
    from smartcard.System import readers

    names = [str(r) for r in readers()]
    assert "Virtual PCD 00 00" in names
    assert "Virtual PCD 00 01" in names

    port = int(os.environ["KIOSK_TEST_VPCD_PORT"])
    card = VirtualCard(port, ATR, lambda apdu: b"\x12\x34\x90\x00")
    with card:
        reader = next(r for r in readers() if str(r) == "Virtual PCD 00 00")
        connection = reader.createConnection()
        deadline = time.monotonic() + 5
        while True:  # pcscd notices the inserted card after up to ~0.4 s
            try:
                connection.connect()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert bytes(connection.getATR()) == ATR
        select = [0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00]
        data, sw1, sw2 = connection.transmit(select)
        connection.disconnect()
    assert (bytes(data), sw1, sw2) == (b"\x12\x34", 0x90, 0x00)
    assert card.apdus == [bytes(select)]


def test_cupsd_prints_a_pdf_job_to_the_a4_queue(cupsd: Service, tmp_path: Path) -> None:
    """A PDF sent to the A4 queue comes out as a PDF whose Chinese text can still be read."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("WQY", WQY, subfontIndex=0))
    source = tmp_path / "job.pdf"
    page = canvas.Canvas(str(source), pagesize=A4)
    page.setFont("WQY", 20)
    page.drawString(72, 760, "居住证明 测试一 打印测试")
    page.save()

    queue = os.environ["KIOSK_TEST_CUPS_QUEUE"]
    output = empty_cups_output()
    submitted = subprocess.run(
        ["lp", "-d", queue, "-t", "harness-test", str(source)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    job_id = submitted.stdout.split()[3]
    subprocess.run(
        ["lpstat", "-W", "completed", "-o", queue], timeout=60, check=True, capture_output=True
    )
    deadline = time.monotonic() + 30
    while (
        subprocess.run(
            ["lpstat", "-o", queue], capture_output=True, text=True, check=True
        ).stdout.strip()
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    completed = subprocess.run(
        ["lpstat", "-W", "completed", "-o", queue], capture_output=True, text=True, check=True
    ).stdout
    assert job_id in completed

    printed = output.read_bytes()
    start = printed.index(b"%PDF-")  # the driver wraps the PDF in PJL job commands
    pdf = tmp_path / "printed.pdf"
    pdf.write_bytes(printed[start : printed.rindex(b"%%EOF") + 5])
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    assert "居住证明 测试一 打印测试" in text
