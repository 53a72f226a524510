"""An ESC/POS receipt printer behind any transport (composition: the printer asks, the transport
carries). "Printed" means what the printer itself reports:

- before a job, the real-time status (status.QUERY) must allow printing: paper, cover, errors;
- the job is written, then the status is asked again: paper that ran out or a cover opened
  meanwhile means the receipt may be incomplete, and the job is reported failed;
- paper near its end still prints, and is reported to staff (an event and the health check).

A transport that fails is closed; the next job opens a new one, so unplugging and plugging the
printer back in needs no restart. A file transport cannot answer status queries: a printer
behind it reports only that the bytes were written.
"""

from __future__ import annotations

from collections.abc import Callable

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
from devices.escpos.status import (
    AFTER_JOB,
    ANSWER_LENGTH,
    QUERY,
    PrinterStatus,
    StatusError,
    decode,
    decode_after_job,
)
from devices.escpos.transport import Transport
from devices.testpage import TEST_SLIP

STATUS_TIMEOUT_S = 1.0
# How long the printer may take to print a job before GS r 1 is answered: a 58 mm thermal
# printer feeds about 80 mm/s; a receipt with a raster QR code is some 20 kB and 20 cm.
JOB_BASE_S, JOB_BYTES_PER_S = (
    5.0,
    2000.0,
)  # an answer takes milliseconds; a second covers a busy 9600-baud line
ASK_STAFF = N_("您的业务已经受理，请联系工作人员补打凭条。")


class EscposPrinter(Printer):
    def __init__(
        self, url: str, connect: Callable[[], Transport], *, job_base_s: float = JOB_BASE_S
    ) -> None:
        super().__init__(url, Role.RECEIPT_PRINTER)
        self._connect = connect
        self.job_base_s = job_base_s
        self._transport: Transport | None = None
        self.last_status: PrinterStatus | None = None

    # --- the transport -----------------------------------------------------------------------
    def open(self) -> None:
        if self._transport is not None:
            return  # already open (open_printer, then `with`)
        try:
            self._transport = self._connect()
        except DeviceUnavailable:
            self._set_state(DeviceState.OFFLINE, "cannot reach the printer")
            raise
        super().open()

    def close(self) -> None:
        self._drop()
        super().close()

    def _drop(self) -> None:
        if self._transport is not None:
            try:
                self._transport.close()
            finally:
                self._transport = None

    def _link(self) -> Transport:
        if self._transport is None:
            try:
                self._transport = self._connect()  # unplugged earlier: try again
            except DeviceUnavailable:
                self._set_state(DeviceState.OFFLINE, "cannot reach the printer")
                raise
        return self._transport

    # --- status ---------------------------------------------------------------------------------
    def status(self) -> PrinterStatus | None:
        """The printer's own report, or None when the transport cannot carry one (a file).
        DeviceUnavailable when it does not answer. A connection found dead (the printer was
        power-cycled or re-plugged since) is replaced once before giving up."""
        try:
            return self._status()
        except DeviceUnavailable:
            if self._transport is not None:
                raise  # it answered nothing on a live connection: a real fault
            return self._status()  # the connection had died: once more, on a fresh one

    def _status(self) -> PrinterStatus | None:
        link = self._link()
        if not link.bidirectional:
            return None
        try:
            link.discard_input()  # a late answer to an earlier query must not be read as this one
            link.write(QUERY)
            answer = link.read(ANSWER_LENGTH, STATUS_TIMEOUT_S)
        except DeviceUnavailable:
            self._drop()
            self._set_state(DeviceState.OFFLINE, "the printer went away")
            raise
        if not answer:
            self._set_state(DeviceState.OFFLINE, "no status answer")
            raise DeviceUnavailable(f"{self.url}: the printer does not answer status queries")
        try:
            status = decode(answer)
        except StatusError as error:
            self._set_state(DeviceState.ERROR, "garbled status")
            raise DeviceUnavailable(f"{self.url}: {error}") from None
        self.last_status = status
        self._set_state(DeviceState.IDLE if status.can_print else DeviceState.ERROR)
        return status

    @staticmethod
    def _refusal(url: str, status: PrinterStatus, after: bool) -> PrinterError:
        technical, words = status.problem() or ("not ready", N_("打印机故障"))
        fault = Fault.CONSUMABLES if status.paper == "out" else Fault.HARDWARE
        when = "after printing: the receipt may be incomplete" if after else "before printing"
        return PrinterError(
            f"{url}: {technical} ({when})", fault=fault, resident_message=f"{words}。{ASK_STAFF}"
        )

    # --- printing -------------------------------------------------------------------------------
    def print_job(self, job: PrintJob) -> None:
        if job.content_type != self.accepts:
            raise PrinterError(
                f"{self.url}: a receipt printer takes ESC/POS, not {job.content_type}"
            )
        before = self.status()
        if before is not None and not before.can_print:
            raise self._refusal(self.url, before, after=False)
        self._set_state(DeviceState.BUSY)
        link = self._link()
        answer = b""
        try:
            link.write(job.data)
            if link.bidirectional:
                # Asked after the job: answered only once the printer has printed it.
                link.discard_input()
                link.write(AFTER_JOB)
                answer = link.read(1, self.job_base_s + len(job.data) / JOB_BYTES_PER_S)
        except DeviceUnavailable:
            self._drop()
            self._set_state(DeviceState.OFFLINE, "the printer went away while printing")
            raise self._unconfirmed(job, "the printer went away while printing") from None
        if not link.bidirectional:
            self._set_state(DeviceState.IDLE)
            self._emit("printed", {"title": job.title, "bytes": str(len(job.data))})
            return
        try:
            after = self._status()  # on the line that carried the job: never a fresh one
        except DeviceUnavailable:
            self._drop()
            raise self._unconfirmed(job, "no status after the job") from None
        if after is None or not after.can_print:
            raise self._refusal(self.url, after or PrinterStatus("out"), after=True)
        if not answer:
            raise self._unconfirmed(job, "the printer did not confirm the job in time")
        try:
            paper = decode_after_job(answer[0])
        except StatusError as error:
            raise self._unconfirmed(job, str(error)) from None
        if paper == "out":
            raise self._refusal(self.url, PrinterStatus("out"), after=True)
        if paper == "near_end" or after.paper == "near_end":
            self._emit("paper_near_end", {"title": job.title})
        self._emit("printed", {"title": job.title, "bytes": str(len(job.data))})

    def _unconfirmed(self, job: PrintJob, why: str) -> PrinterError:
        self._set_state(DeviceState.ERROR, why)
        return PrinterError(
            f"{self.url}: {job.title} sent but not confirmed printed ({why})",
            resident_message=N_("凭条可能没有打印完整。") + ASK_STAFF,
        )

    # --- health -------------------------------------------------------------------------------
    def check_health(self, level: HealthLevel) -> HealthResult:
        if level is HealthLevel.INTERACTIVE:
            return HealthResult(self.url, level, Outcome.NOT_RUN, "needs a person to read the slip")
        try:
            if level is HealthLevel.EXTERNAL:
                self.print_job(PrintJob(self.accepts, TEST_SLIP, "selftest"))
            status = self.status()
        except PrinterError as error:
            return HealthResult(self.url, level, Outcome.FAILED, str(error), error.fault)
        except DeviceUnavailable as error:
            return HealthResult(self.url, level, Outcome.FAILED, str(error), Fault.HARDWARE)
        if status is None:
            return HealthResult(
                self.url, level, Outcome.PASSED, "written to a file; no status to ask", data={}
            )
        data = {"paper": status.paper, "cover": "open" if status.cover_open else "closed"}
        problem = status.problem()
        if problem is not None:
            fault = Fault.CONSUMABLES if status.paper == "out" else Fault.HARDWARE
            return HealthResult(self.url, level, Outcome.FAILED, problem[0], fault, data)
        summary = (
            "ready; paper near its end: change the roll soon"
            if status.paper == "near_end"
            else "ready"
        )
        return HealthResult(self.url, level, Outcome.PASSED, summary, data=data)
