"""What the fleet sees of this kiosk, as Prometheus text on loopback (monitoring.metrics): the
outbox (rows by status, the oldest queued record's age, the last delivery), the platform link,
each device's state, and counts of sessions, transactions and errors since the start.

Figures only: no label ever holds a name, an ID number or a transaction number. The live
figures are read when the endpoint is asked (a collector), so nothing runs between scrapes; the
counts are plain counters the core increments.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("kiosk.metrics")
# A *_created series beside each counter only doubles what is sent.
disable_created_metrics()  # type: ignore[no-untyped-call]

REGISTRY = CollectorRegistry(auto_describe=True)
SESSIONS = Counter(
    "kiosk_sessions",
    "Resident sessions started, by how the resident was identified.",
    ["identified_by"],
    registry=REGISTRY,
)
TRANSACTIONS = Counter(
    "kiosk_transactions", "Transactions committed to the outbox.", registry=REGISTRY
)
ERRORS = Counter(
    "kiosk_errors",
    "Errors, by kind: log records of level ERROR (by logger), failed prints, refused cards.",
    ["kind"],
    registry=REGISTRY,
)


@dataclass(frozen=True)
class DeviceState:
    role: str  # reader, receipt_printer, certificate_printer
    url: str
    up: bool


class KioskCollector(Collector):
    """The live figures, read from the kiosk when the endpoint is asked."""

    def __init__(self, kiosk: Any, devices: Callable[[], list[DeviceState]]) -> None:
        self.kiosk, self.devices = kiosk, devices
        # Read once: a package upgrade replaces the files under a running kiosk, and the figure
        # must say what runs, not what is installed.
        self.version = version("community-kiosk")

    def collect(self) -> Iterator[Any]:
        """Each group of figures on its own: one that cannot be read (a broken outbox, a
        device list in the middle of a change) is logged and left out; the rest are given."""
        for group in (self._info, self._outbox, self._platform, self._devices):
            try:
                yield from list(group())
            except Exception:  # a scrape must never fail as a whole
                log.exception("the metrics' %s could not be read", group.__name__.strip("_"))

    def _info(self) -> Iterator[Any]:
        info = InfoMetricFamily("kiosk", "This kiosk and its software.")
        info.add_metric([], {"kiosk_id": self.kiosk.config.kiosk.id, "version": self.version})
        yield info

    def _outbox(self) -> Iterator[Any]:
        status = self.kiosk.outbox.status()
        rows = GaugeMetricFamily(
            "kiosk_outbox_rows", "Records in the outbox, by status.", labels=["status"]
        )
        for name in ("queued", "sending", "accepted", "rejected"):
            rows.add_metric([name], status.get(name, 0))
        yield rows
        yield GaugeMetricFamily(
            "kiosk_outbox_oldest_queued_age_seconds",
            "How long the oldest record waiting to be sent has waited (0: none waits).",
            value=status["oldest_queued_age_s"] or 0,
        )
        last = self.kiosk.outbox.last_accepted_at()
        if last is not None:
            yield GaugeMetricFamily(
                "kiosk_last_successful_sync_timestamp_seconds",
                "When the platform last accepted a record (Unix time).",
                value=last,
            )

    def _platform(self) -> Iterator[Any]:
        state = self.kiosk.sync_state
        yield GaugeMetricFamily(
            "kiosk_platform_up",
            "1 when the platform answered the last attempt, 0 when not (or not yet).",
            value=1 if state.online else 0,
        )
        yield GaugeMetricFamily(
            "kiosk_sync_paused",
            "1 while sending is paused (key refused, clock far off): staff are needed.",
            value=1 if state.paused else 0,
        )

    def _devices(self) -> Iterator[Any]:
        devices = GaugeMetricFamily(
            "kiosk_device_up",
            "1 when the device can be used now, 0 when not.",
            labels=["role", "url"],
        )
        for device in self.devices():
            devices.add_metric([device.role, device.url], 1 if device.up else 0)
        yield devices


class ErrorCounter(logging.Handler):
    """Counts log records of level ERROR and above, by logger, into kiosk_errors."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        ERRORS.labels(kind=f"log:{record.name}").inc()


class MetricsServer:
    """The endpoint, on its own thread; stopped with the kiosk."""

    def __init__(self, address: str, collector: KioskCollector) -> None:
        host, _, port = address.rpartition(":")
        self.collector: KioskCollector | None = collector
        self.server: Any = None
        REGISTRY.register(collector)
        self.errors = ErrorCounter()
        logging.getLogger().addHandler(self.errors)
        try:
            self.server, self.thread = start_http_server(
                int(port), host.strip("[]"), registry=REGISTRY
            )
        except OSError:
            self.stop()
            raise

    def stop(self) -> None:
        """Idempotent: Kivy may dispatch on_stop twice."""
        logging.getLogger().removeHandler(self.errors)
        if self.collector is not None:
            REGISTRY.unregister(self.collector)
            self.collector = None
        server, self.server = getattr(self, "server", None), None
        if server is not None:
            server.shutdown()
            server.server_close()


def serve(address: str, collector: KioskCollector) -> MetricsServer | None:
    """Start the endpoint; a port already taken is logged, never fatal: the kiosk serves
    residents without it."""
    if not address:
        return None
    try:
        return MetricsServer(address, collector)
    except OSError as error:
        log.error("metrics endpoint %s not started: %s", address, error)
        return None
