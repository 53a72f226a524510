"""Device errors, drawn once.

    DeviceError                  anything a device did wrong; carries a Fault and a resident message
    ├── DeviceUrlError           a device URL that cannot name a device (config, command line)
    ├── DeviceUnavailable        the device cannot be opened or went away (unplugged, no driver)
    ├── CardDataError            a card answered, but with data that cannot be a card's
    └── PrinterError             the printer did not print (paper out, cover open, jam)

`str(error)` is for technicians and logs and never holds personal data; `resident_message` is
what a resident may read on the screen, in plain words.
"""

from __future__ import annotations

from devices.base import Fault


def N_(message: str) -> str:
    """Marks resident words for the catalogs; the screens translate them when shown."""
    return message


class DeviceError(Exception):
    fault: Fault = Fault.HARDWARE
    default_resident_message = N_("设备暂时无法使用，请联系工作人员。")

    def __init__(
        self, message: str, *, resident_message: str | None = None, fault: Fault | None = None
    ) -> None:
        super().__init__(message)
        self.resident_message = resident_message or self.default_resident_message
        if fault is not None:
            self.fault = fault


class DeviceUrlError(DeviceError):
    default_resident_message = N_("设备设置有误，请联系工作人员。")


class DeviceUnavailable(DeviceError):
    default_resident_message = N_("设备未连接，请联系工作人员。")


class CardDataError(DeviceError):
    default_resident_message = N_("卡片无法读取，请重新放置。")


class PrinterError(DeviceError):
    default_resident_message = N_("打印机暂时无法打印，您的业务已经受理，请联系工作人员补打。")
