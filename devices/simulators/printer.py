"""`sim://[profile]` as a printer: records every job it is given, like python-escpos's Dummy.

Profiles: `ok` (the default), `near-end` (prints, and warns that paper is low), `paper-out`
(refuses: no paper), `offline` (cannot be opened, as if unplugged).
"""

from __future__ import annotations

from devices.base import (
    DeviceState,
    Fault,
    HealthLevel,
    HealthResult,
    Outcome,
    Printer,
    PrintJob,
    Role,
)
from devices.errors import N_, DeviceUnavailable, PrinterError

PROFILES = ("ok", "near-end", "paper-out", "offline")


class SimPrinter(Printer):
    def __init__(self, url: str, role: Role, profile: str = "ok") -> None:
        super().__init__(url, role)
        if profile not in PROFILES:
            raise ValueError(f"unknown simulated printer profile {profile!r}")
        self.profile = profile
        self.jobs: list[PrintJob] = []

    @property
    def output(self) -> bytes:
        """Everything printed so far, concatenated."""
        return b"".join(job.data for job in self.jobs)

    def open(self) -> None:
        if self.profile == "offline":
            self._set_state(DeviceState.OFFLINE, "printer does not answer")
            raise DeviceUnavailable(f"{self.url}: the simulated printer does not answer")
        super().open()

    def print_job(self, job: PrintJob) -> None:
        if self.state is not DeviceState.IDLE:
            raise DeviceUnavailable(f"{self.url}: printer is {self.state.value}")
        if job.content_type != self.accepts:
            raise PrinterError(
                f"{self.url}: a {self.role.value} takes {self.accepts}, not {job.content_type}"
            )
        if self.profile == "paper-out":
            raise PrinterError(
                f"{self.url}: paper out",
                fault=Fault.CONSUMABLES,
                resident_message=N_("打印机缺纸。您的业务已经受理，请联系工作人员补打。"),
            )
        self._set_state(DeviceState.BUSY)
        self.jobs.append(job)
        self._set_state(DeviceState.IDLE)
        self._emit("printed", {"title": job.title, "bytes": str(len(job.data))})

    def check_health(self, level: HealthLevel) -> HealthResult:
        if self.state is not DeviceState.IDLE:
            return HealthResult(
                self.url,
                level,
                Outcome.FAILED,
                f"simulated printer is {self.state.value}",
                Fault.HARDWARE,
            )
        paper = {"ok": "ok", "near-end": "near_end", "paper-out": "out"}[self.profile]
        if paper == "out":
            return HealthResult(
                self.url, level, Outcome.FAILED, "paper out", Fault.CONSUMABLES, {"paper": paper}
            )
        if level is HealthLevel.INTERACTIVE:
            return HealthResult(
                self.url, level, Outcome.NOT_RUN, "needs a person to look at the printed slip"
            )
        if level is HealthLevel.EXTERNAL:
            test = b"SELFTEST\n" if self.role is Role.RECEIPT_PRINTER else b"%PDF-1.4 selftest\n"
            self.print_job(PrintJob(self.accepts, test, "selftest"))
        summary = "paper low: replace the roll soon" if paper == "near_end" else "ready"
        return HealthResult(self.url, level, Outcome.PASSED, summary, data={"paper": paper})
