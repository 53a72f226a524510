"""The device interfaces every driver and simulator implements.

A device has a state, a health check at the three UnifiedPOS levels and a stream of events.
Device threads publish events through `Device.subscribe`; listeners must not touch widgets
(screens re-post them onto the Kivy clock). Nothing here imports kiosk or screens.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType, TracebackType
from typing import Self


class DeviceState(Enum):
    CLOSED = "closed"
    IDLE = "idle"
    BUSY = "busy"
    ERROR = "error"
    OFFLINE = "offline"


class Role(Enum):
    READER = "reader"
    RECEIPT_PRINTER = "receipt_printer"
    CERTIFICATE_PRINTER = "certificate_printer"


class Fault(Enum):
    """Why a device keeps the kiosk from offering something (the kiosk adds its own reasons,
    such as the platform being unreachable or the hall being closed)."""

    HARDWARE = "hardware"
    CONSUMABLES = "consumables"


class HealthLevel(Enum):
    INTERNAL = "internal"  # no side effect
    EXTERNAL = "external"  # exercises the device: prints a slip, reads a card
    INTERACTIVE = "interactive"  # needs a person; "not run" when nobody is there


class Outcome(Enum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_RUN = "not_run"


@dataclass(frozen=True)
class HealthResult:
    device: str
    level: HealthLevel
    outcome: Outcome
    summary: str
    fault: Fault | None = None
    data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeviceEvent:
    """Something a device noticed. `detail` never holds personal data."""

    device: str
    kind: str  # state_changed, card_inserted, card_removed, printed, ...
    state: DeviceState
    detail: Mapping[str, str] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


Listener = Callable[[DeviceEvent], None]


class Device(ABC):
    role: Role

    def __init__(self, url: str) -> None:
        self.url = url
        self._state = DeviceState.CLOSED
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    @property
    def state(self) -> DeviceState:
        return self._state

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def _emit(self, kind: str, detail: Mapping[str, str] | None = None) -> None:
        event = DeviceEvent(self.url, kind, self._state, MappingProxyType(dict(detail or {})))
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event)

    def _set_state(self, state: DeviceState, reason: str = "") -> None:
        if state is self._state:
            return
        self._state = state
        self._emit("state_changed", {"reason": reason} if reason else None)

    def open(self) -> None:
        self._set_state(DeviceState.IDLE)

    def close(self) -> None:
        self._set_state(DeviceState.CLOSED)

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @abstractmethod
    def check_health(self, level: HealthLevel) -> HealthResult: ...


@dataclass(frozen=True, repr=False)
class CardRecord:
    """What a card yielded, as the card spells it: field names and raw text values from
    ../shared/reference/id-cards.md (dates YYYYMMDD, the validity end may be 长期, sex and
    nation as codes). kiosk.identity validates it into a resident identity."""

    kind: str  # "id_card" (GA/T 467) or "social_security" (PC/SC)
    type_flag: str  # id_card: "" resident, "J", "I", "Y"; social_security: ""
    fields: Mapping[str, str]
    reader: str

    def __repr__(self) -> str:
        # Field values are personal data: only their names may appear in logs and tracebacks.
        return (
            f"CardRecord(kind={self.kind!r}, type_flag={self.type_flag!r}, "
            f"fields={sorted(self.fields)!r}, reader={self.reader!r})"
        )


class CardReader(Device):
    role = Role.READER

    @abstractmethod
    def read_card(self, timeout: float) -> CardRecord | None:
        """Wait up to `timeout` seconds for a card and read it; None when no card came.
        Raises DeviceUnavailable when the reader is gone, CardDataError for bad data."""

    @abstractmethod
    def card_present(self) -> bool: ...


@dataclass(frozen=True, repr=False)
class PrintJob:
    """A document ready for a printer: ESC/POS bytes for a receipt printer, a PDF for a
    certificate printer. `title` is a transaction number or test-slip name, never personal
    data (it reaches spool files and printer logs)."""

    content_type: str  # "application/vnd.escpos" or "application/pdf"
    data: bytes
    title: str

    def __repr__(self) -> str:
        return f"PrintJob({self.content_type!r}, {len(self.data)} bytes, title={self.title!r})"


ESCPOS = "application/vnd.escpos"
PDF = "application/pdf"


class Printer(Device):
    """A receipt printer takes ESC/POS bytes; a certificate printer takes a PDF."""

    def __init__(self, url: str, role: Role) -> None:
        if role is Role.READER:
            raise ValueError("a printer cannot have the reader role")
        super().__init__(url)
        self.role = role

    @property
    def accepts(self) -> str:
        return ESCPOS if self.role is Role.RECEIPT_PRINTER else PDF

    @abstractmethod
    def print_job(self, job: PrintJob) -> None:
        """Print and return only once the printer has it; raises PrinterError otherwise."""
