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
from devices.errors import DeviceUnavailable, PrinterError
from devices.escpos.status import ANSWER_LENGTH, QUERY, PrinterStatus, StatusError, decode
from devices.escpos.transport import Transport
from devices.testpage import TEST_SLIP

STATUS_TIMEOUT_S = 1.0  # an answer takes milliseconds; a second covers a busy 9600-baud line
ASK_STAFF = "您的业务已经受理，请联系工作人员补打凭条。"


class EscposPrinter(Printer):
    def __init__(self, url: str, connect: Callable[[], Transport]) -> None:
        super().__init__(url, Role.RECEIPT_PRINTER)
        self._connect = connect
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
        technical, words = status.problem() or ("not ready", "打印机故障")
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
        try:
            self._link().write(job.data)
        except DeviceUnavailable:
            self._drop()
            self._set_state(DeviceState.OFFLINE, "the printer went away while printing")
            raise
        after = self.status()
        if after is not None and not after.can_print:
            raise self._refusal(self.url, after, after=True)
        if after is None:
            self._set_state(DeviceState.IDLE)
        elif after.paper == "near_end":
            self._emit("paper_near_end", {"title": job.title})
        self._emit("printed", {"title": job.title, "bytes": str(len(job.data))})

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
