"""`pdf-dir:///path`: certificates written as PDF files instead of printed (a hall that prints
them later, or a demonstration). Each file is named by the transaction number (never by a
person), written to a hidden temporary name in the same folder, flushed and renamed, so a
reader of the folder never sees half a file; 0600, since it holds the resident's certificate."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

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

MIN_FREE_BYTES = 20 * 2**20


class PdfDirPrinter(Printer):
    def __init__(self, url: str, folder: str) -> None:
        super().__init__(url, Role.CERTIFICATE_PRINTER)
        self.folder = Path(folder)

    def open(self) -> None:
        if not self.folder.is_dir() or not os.access(self.folder, os.W_OK):
            self._set_state(DeviceState.OFFLINE, "folder missing or read-only")
            raise DeviceUnavailable(
                f"{self.url}: {self.folder} is not a folder the kiosk may write to"
            )
        for stale in self.folder.glob(".*.pdf.partial"):
            stale.unlink(missing_ok=True)  # a crash mid-write: half a certificate, personal data
        super().open()

    def path_for(self, title: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", title) or "document"
        return self.folder / f"{safe}.pdf"

    def print_job(self, job: PrintJob) -> None:
        if job.content_type != self.accepts:
            raise PrinterError(f"{self.url}: takes PDF, not {job.content_type}")
        target = self.path_for(job.title)
        temporary = target.with_name(f".{target.name}.partial")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                view = memoryview(job.data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temporary, target)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            fault = Fault.CONSUMABLES if error.errno == 28 else Fault.HARDWARE  # ENOSPC
            raise PrinterError(
                f"{self.url}: cannot write {target.name} ({error.strerror})", fault=fault
            ) from None
        self._emit("printed", {"title": job.title, "file": target.name})

    def check_health(self, level: HealthLevel) -> HealthResult:
        if level is HealthLevel.INTERACTIVE:
            return HealthResult(self.url, level, Outcome.NOT_RUN, "nothing to look at")
        if not self.folder.is_dir() or not os.access(self.folder, os.W_OK):
            return HealthResult(
                self.url, level, Outcome.FAILED, f"{self.folder} is not writable", Fault.HARDWARE
            )
        free = shutil.disk_usage(self.folder).free
        if free < MIN_FREE_BYTES:
            return HealthResult(
                self.url, level, Outcome.FAILED, f"only {free // 2**20} MB free", Fault.CONSUMABLES
            )
        if level is HealthLevel.EXTERNAL:
            from devices.testpage import a4_test_page

            try:
                self.print_job(PrintJob(self.accepts, a4_test_page(self.url), "selftest"))
            except PrinterError as error:
                return HealthResult(self.url, level, Outcome.FAILED, str(error), error.fault)
        self._set_state(DeviceState.IDLE)
        return HealthResult(self.url, level, Outcome.PASSED, f"{free // 2**20} MB free")
