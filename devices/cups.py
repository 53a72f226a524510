"""`cups://QUEUE`: certificates (A4 PDF) through CUPS, with pycups (libcups, the same library
`lp` uses, so CUPS_SERVER and client.conf apply).

The PDF is streamed to cupsd from memory (createJob, startDocument, writeRequestData): no copy
with a resident's name is ever written to a temporary file on the kiosk. cupsd itself must run
with `PreserveJobFiles No` (packaging sets it) so that its spool drops the document once the
job is done. "Printed" means: the job reached `completed`, and for a few seconds afterwards the
printer reported no empty tray, jam or open cover (a page that jams after the job completed is
not in a resident's hands).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, Final

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

JOB_PENDING, JOB_HELD, JOB_PROCESSING, JOB_STOPPED = 3, 4, 5, 6
JOB_CANCELED, JOB_ABORTED, JOB_COMPLETED = 7, 8, 9
PRINTER_STOPPED: Final = 5
HTTP_CONTINUE: Final = 100  # cupsWriteRequestData's "go on"; pycups has no name for it
# printer-state-reasons (RFC 8011 and PWG 5100) that mean paper will not come out, in words.
BLOCKING: Final = {
    "media-empty": ("paper out", N_("打印机缺纸"), Fault.CONSUMABLES),
    "media-needed": ("paper out", N_("打印机缺纸"), Fault.CONSUMABLES),
    "media-jam": ("paper jam", N_("打印机卡纸"), Fault.HARDWARE),
    "door-open": ("cover open", N_("打印机盖未关好"), Fault.HARDWARE),
    "cover-open": ("cover open", N_("打印机盖未关好"), Fault.HARDWARE),
    "toner-empty": ("toner empty", N_("打印机墨粉用完"), Fault.CONSUMABLES),
    "marker-supply-empty": ("ink or toner empty", N_("打印机墨粉用完"), Fault.CONSUMABLES),
    "offline": ("printer offline", N_("打印机未连接"), Fault.HARDWARE),
    "shutdown": ("printer off", N_("打印机未开机"), Fault.HARDWARE),
}
WARNINGS: Final = ("media-low", "toner-low", "marker-supply-low")
ASK_STAFF = N_("您的业务已经受理，请联系工作人员补打证明。")


class CupsPrinter(Printer):
    def __init__(
        self, url: str, queue: str, *, wait_s: float = 60.0, settle_s: float = 3.0
    ) -> None:
        super().__init__(url, Role.CERTIFICATE_PRINTER)
        self.queue = queue
        self.wait_s, self.settle_s = wait_s, settle_s
        self._conn: Any = None

    def open(self) -> None:
        self._connection()
        super().open()

    def close(self) -> None:
        self._conn = None
        super().close()

    def _connection(self) -> Any:
        import cups

        if self._conn is None:
            try:
                conn = cups.Connection()
                if self.queue not in conn.getPrinters():
                    raise DeviceUnavailable(f"{self.url}: CUPS has no queue named {self.queue!r}")
            except (RuntimeError, cups.IPPError) as error:
                self._set_state(DeviceState.OFFLINE, "CUPS does not answer")
                raise DeviceUnavailable(f"{self.url}: cannot reach CUPS ({error})") from None
            self._conn = conn
        return self._conn

    def _call(self, what: str, *args: Any, **kwargs: Any) -> Any:
        import cups

        try:
            return getattr(self._connection(), what)(*args, **kwargs)
        except (RuntimeError, cups.IPPError) as error:
            self._conn = None  # cupsd restarted, or its socket went away: reconnect next time
            raise DeviceUnavailable(f"{self.url}: CUPS {what} failed ({error})") from None

    # --- the printer's own reasons ------------------------------------------------------------
    def reasons(self) -> tuple[list[str], bool]:
        """printer-state-reasons without their -error/-warning/-report suffixes, and whether
        the queue accepts and prints jobs."""
        attributes = self._call(
            "getPrinterAttributes",
            self.queue,
            requested_attributes=[
                "printer-state",
                "printer-state-reasons",
                "printer-is-accepting-jobs",
            ],
        )
        raw = attributes.get("printer-state-reasons", [])
        reasons = [
            str(r).removesuffix("-error").removesuffix("-warning").removesuffix("-report")
            for r in (raw if isinstance(raw, list) else [raw])
        ]
        ready = (
            bool(attributes.get("printer-is-accepting-jobs", True))
            and attributes.get("printer-state") != PRINTER_STOPPED
        )
        return [r for r in reasons if r != "none"], ready

    def _blocked(self, after: bool) -> PrinterError | None:
        reasons, ready = self.reasons()
        for reason in reasons:
            if reason in BLOCKING:
                technical, words, fault = BLOCKING[reason]
                when = (
                    "after the job: the page may not have come out" if after else "before printing"
                )
                self._set_state(DeviceState.ERROR, technical)
                return PrinterError(
                    f"{self.url}: {technical} ({when})",
                    fault=fault,
                    resident_message=f"{words}。{ASK_STAFF}",
                )
        if not ready:
            self._set_state(DeviceState.ERROR, "queue stopped")
            return PrinterError(
                f"{self.url}: the CUPS queue is stopped or refuses jobs (cupsenable, cupsaccept)",
                resident_message=N_("打印机暂停使用。") + ASK_STAFF,
            )
        return None

    # --- printing -------------------------------------------------------------------------------
    def print_job(self, job: PrintJob) -> None:
        if job.content_type != self.accepts:
            raise PrinterError(
                f"{self.url}: a certificate printer takes PDF, not {job.content_type}"
            )
        refused = self._blocked(after=False)
        if refused is not None:
            raise refused
        self._set_state(DeviceState.BUSY)
        job_id = self._call("createJob", self.queue, job.title, {})
        try:
            self._call("startDocument", self.queue, job_id, job.title, "application/pdf", 1)
            status = self._call("writeRequestData", job.data, len(job.data))
            if status != HTTP_CONTINUE:
                raise DeviceUnavailable(f"{self.url}: CUPS refused the document data ({status})")
            self._call("finishDocument", self.queue)
        except DeviceUnavailable:
            self._cancel(job_id)
            self._set_state(DeviceState.ERROR, "the job could not be sent")
            raise
        try:
            self._wait(job_id, job.title)
            self._settle()
        except DeviceUnavailable:
            # cupsd went away mid-job: cancel it (on a fresh connection), so that a resident's
            # certificate does not come out later, unattended, besides the staff's reprint.
            self._cancel(job_id)
            self._set_state(DeviceState.ERROR, "lost CUPS during the job")
            raise
        self._set_state(DeviceState.IDLE)
        self._emit("printed", {"title": job.title, "job": str(job_id)})

    def _wait(self, job_id: int, title: str) -> None:
        deadline = time.monotonic() + self.wait_s
        while True:
            state = self._call("getJobAttributes", job_id, requested_attributes=["job-state"]).get(
                "job-state"
            )
            if state == JOB_COMPLETED:
                return
            if state in (JOB_CANCELED, JOB_ABORTED):
                refused = self._blocked(after=True)
                self._set_state(DeviceState.ERROR, "job failed")
                raise refused or PrinterError(
                    f"{self.url}: CUPS job {job_id} ({title}) was "
                    f"{'cancelled' if state == JOB_CANCELED else 'aborted'}",
                    resident_message=N_("打印失败。") + ASK_STAFF,
                )
            if time.monotonic() > deadline:
                self._cancel(job_id)
                refused = self._blocked(after=True)
                raise refused or PrinterError(
                    f"{self.url}: job {job_id} did not finish in {self.wait_s:.0f} s",
                    resident_message=N_("打印超时。") + ASK_STAFF,
                )
            time.sleep(0.1)

    def _settle(self) -> None:
        deadline = time.monotonic() + self.settle_s
        while True:
            refused = self._blocked(after=True)
            if refused is not None:
                raise refused
            if time.monotonic() >= deadline:
                return
            time.sleep(0.25)

    def _cancel(self, job_id: int) -> None:
        # DeviceUnavailable: the job is gone with the connection; nothing more to undo.
        with contextlib.suppress(DeviceUnavailable):
            self._call("cancelJob", job_id, purge_job=True)

    # --- health -------------------------------------------------------------------------------
    def check_health(self, level: HealthLevel) -> HealthResult:
        if level is HealthLevel.INTERACTIVE:
            return HealthResult(self.url, level, Outcome.NOT_RUN, "needs a person to read the page")
        try:
            refused = self._blocked(after=False)
            if refused is None and level is HealthLevel.EXTERNAL:
                from devices.testpage import a4_test_page

                self.print_job(PrintJob(self.accepts, a4_test_page(self.url), "selftest"))
            reasons, _ = self.reasons()
        except PrinterError as error:
            return HealthResult(self.url, level, Outcome.FAILED, str(error), error.fault)
        except DeviceUnavailable as error:
            return HealthResult(self.url, level, Outcome.FAILED, str(error), Fault.HARDWARE)
        if refused is not None:
            return HealthResult(self.url, level, Outcome.FAILED, str(refused), refused.fault)
        warnings = [r for r in reasons if r in WARNINGS]
        summary = f"ready; {', '.join(warnings)}" if warnings else "ready"
        self._set_state(DeviceState.IDLE)
        return HealthResult(
            self.url, level, Outcome.PASSED, summary, data={"reasons": ",".join(reasons)}
        )
