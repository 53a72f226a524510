"""After a commit: the resident's paper. Compose the receipt (and the certificate for items that
issue one), sign the certificate, and send both to their printers.

Runs while the session is paused (a device is working), off the UI thread. A printer that
fails does not undo anything: the transaction is already committed; the resident is told in
plain words to ask staff for a reprint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from devices.base import ESCPOS, PDF, Printer, PrintJob
from devices.errors import DeviceError
from kiosk.clock import now_local
from kiosk.config import Config
from kiosk.documents.certificate import render_certificate
from kiosk.documents.compose import certificate_for, transaction_receipt
from kiosk.documents.receipt import render_escpos
from kiosk.session import Session
from kiosk.trust import NotGenuine, Signer


@dataclass
class Issued:
    printed: list[str] = field(default_factory=list)  # what came out, in words: 凭条, 居住证明
    problems: list[str] = field(default_factory=list)  # for the resident, in plain words
    receipt: bytes = b""
    certificate: bytes = b""


def issue_documents(
    config: Config,
    session: Session,
    *,
    receipt_printer: Printer | None,
    certificate_printer: Printer | None,
    signer: Signer | None,
) -> Issued:
    item, number = session.item, session.number
    if item is None or number is None:
        raise ValueError("nothing committed: no documents to issue")
    identity = session.identity
    now = now_local()
    issued = Issued()
    track = f"{config.platform.url.rstrip('/')}/track/{number}"
    receipt = transaction_receipt(
        number=number,
        item=item,
        identity=identity,
        values=session.values,
        hall_name=config.kiosk.hall_name,
        at=now,
        demo=config.demo,
        track_url=track,
    )
    issued.receipt = render_escpos(receipt, 58)
    if "certificate" in item.prints:
        try:
            if signer is None:
                raise NotGenuine("no_key", "this kiosk has no certified key")
            cert = certificate_for(
                template=item.certificate,
                number=number,
                identity=identity,
                values=session.values,
                item=item,
                issuer=config.kiosk.hall_name,
                issued=now.date(),
                demo=config.demo,
            )
            seal = Path(config.kiosk.seal_image) if config.kiosk.seal_image else None
            issued.certificate = render_certificate(cert, signer.sign(cert.fields()), seal)
        except NotGenuine:
            issued.problems.append("本机暂时无法出具证明，业务已受理，请到人工窗口领取证明。")
    for printer, content, data, words in (
        (receipt_printer, ESCPOS, issued.receipt, "凭条"),
        (certificate_printer, PDF, issued.certificate, item.name),
    ):
        if not data:
            continue
        if printer is None:
            issued.problems.append(f"本机没有打印{words}的设备，请到人工窗口补打。")
            continue
        try:
            printer.print_job(PrintJob(content, data, number))
            issued.printed.append(words)
        except DeviceError as error:
            issued.problems.append(error.resident_message)
    return issued
