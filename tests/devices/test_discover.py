"""What is plugged in, found without opening anything: serial ports by their stable names and
USB printers by vendor:product, read from folders laid out as udev and sysfs lay them out."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from devices.base import Role
from devices.discover import Found, _serial, _usb_printers, discover


def test_a_serial_port_is_offered_as_a_reader_and_as_a_receipt_printer(tmp_path: Path) -> None:
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    (by_id / "usb-FTDI_FT232R_A10K1-if00-port0").symlink_to("/dev/ttyUSB0")
    assert _serial(by_id) == [
        Found(
            Role.READER,
            f"ga467://{by_id}/usb-FTDI_FT232R_A10K1-if00-port0?baud=115200",
            "串口 usb-FTDI_FT232R_A10K1-if00-port0",
        ),
        Found(
            Role.RECEIPT_PRINTER,
            f"escpos+serial://{by_id}/usb-FTDI_FT232R_A10K1-if00-port0?baud=9600",
            "usb-FTDI_FT232R_A10K1-if00-port0",
        ),
    ]
    assert _serial(tmp_path / "none") == []


def usb_device(root: Path, name: str, vendor: str, product: str, classes: list[str]) -> None:
    """/sys/devices/.../NAME with its interfaces inside, linked from /sys/bus/usb/devices."""
    device = root / "devices" / name
    device.mkdir(parents=True)
    (device / "idVendor").write_text(vendor + "\n")
    (device / "idProduct").write_text(product + "\n")
    (device / "product").write_text("POS-80\n")
    bus = root / "bus"
    bus.mkdir(exist_ok=True)
    (bus / name).symlink_to(device)
    for n, interface_class in enumerate(classes):
        interface = device / f"{name}:1.{n}"
        interface.mkdir()
        (interface / "bInterfaceClass").write_text(interface_class + "\n")
        (bus / interface.name).symlink_to(interface)


def test_usb_printers_are_found_by_their_printer_interface(tmp_path: Path) -> None:
    usb_device(tmp_path, "1-1", "0416", "5011", ["07"])
    usb_device(tmp_path, "1-2", "072f", "90cc", ["0b"])  # a smart-card reader: not a printer
    usb_device(tmp_path, "1-3", "04b8", "0202", ["07", "07"])  # two printer interfaces: once
    assert _usb_printers(tmp_path / "bus") == [
        Found(Role.RECEIPT_PRINTER, "escpos+usb://0416:5011", "USB 打印机 POS-80"),
        Found(Role.RECEIPT_PRINTER, "escpos+usb://04b8:0202", "USB 打印机 POS-80"),
    ]


def test_demo_mode_offers_the_simulators_and_a_finder_that_cannot_look_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_pcscd() -> list[Found]:
        raise RuntimeError("Failed to establish context: Service not available.")

    monkeypatch.setattr("devices.discover._pcsc", no_pcscd)
    found = discover(demo=True)
    assert [f.url for f in found.for_role(Role.CERTIFICATE_PRINTER)][-1] == "sim://"
    assert [f.url for f in found.for_role(Role.READER)][-1] == "sim://"
    assert found.problems == ("pcsc: Failed to establish context: Service not available.",)


def test_a_finder_that_hangs_is_reported_and_the_others_still_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()

    def hung_cupsd() -> list[Found]:
        release.wait(10)
        return []

    monkeypatch.setattr("devices.discover._cups", hung_cupsd)
    monkeypatch.setattr("devices.discover._pcsc", lambda: [Found(Role.READER, "pcsc://A B", "")])
    try:
        found = discover(timeout_s=0.3)
    finally:
        release.set()
    assert found.problems == ("cups: no answer within 0.3 s",)
    assert [f.url for f in found.for_role(Role.READER)] == ["pcsc://A B"]
