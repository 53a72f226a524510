"""After a commit: the resident's paper. Compose the receipt (and the certificate for items that
issue one), sign the certificate, and send both to their printers.

Runs while the session is paused (a device is working), off the UI thread. A printer that
fails does not undo anything: the transaction is already committed; the resident is told in
plain words to ask staff for a reprint.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from devices.base import ESCPOS, PDF, Printer, PrintJob
from devices.errors import DeviceError, PrinterError
from kiosk.catalog import Catalog, Item
from kiosk.clock import SHANGHAI, now_local
from kiosk.config import Config
from kiosk.core import record_event
from kiosk.documents.certificate import render_certificate
from kiosk.documents.compose import certificate_for, transaction_receipt
from kiosk.documents.receipt import render_escpos
from kiosk.i18n import N_, Text, words
from kiosk.identity import ResidentIdentity
from kiosk.session import Session
from kiosk.transactions import identity_from_applicant
from kiosk.trust import NotGenuine, Signer
from offline_cache.outbox import Outbox


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
    issued = compose(
        config,
        item=item,
        identity=session.identity,
        values=session.values,
        number=number,
        at=now_local(),
        signer=signer,
    )
    send(
        config,
        issued,
        item=item,
        number=number,
        receipt_printer=receipt_printer,
        certificate_printer=certificate_printer,
    )
    return issued


def compose(
    config: Config,
    *,
    item: Item,
    identity: ResidentIdentity,
    values: Mapping[str, Any],
    number: str,
    at: datetime,
    signer: Signer | None,
    documents: tuple[str, ...] = ("receipt", "certificate"),
) -> Issued:
    """The receipt, and the signed certificate for items that issue one, as bytes."""
    issued = Issued()
    track = f"{config.platform.url.rstrip('/')}/track/{number}"
    receipt = transaction_receipt(
        number=number,
        item=item,
        identity=identity,
        values=values,
        hall_name=config.kiosk.hall_name,
        at=at,
        demo=config.demo,
        track_url=track,
    )
    issued.receipt = render_escpos(receipt, 58)
    if "certificate" in item.prints and "certificate" in documents:
        try:
            if signer is None:
                raise NotGenuine("no_key", "this kiosk has no certified key")
            cert = certificate_for(
                template=item.certificate,
                number=number,
                identity=identity,
                values=values,
                item=item,
                issuer=config.kiosk.hall_name,
                issued=at.date(),
                demo=config.demo,
            )
            seal = Path(config.kiosk.seal_image) if config.kiosk.seal_image else None
            issued.certificate = render_certificate(cert, signer.sign(cert.fields()), seal)
        except NotGenuine:
            issued.problems.append(N_("本机暂时无法出具证明，业务已受理，请到人工窗口领取证明。"))
    return issued


def send(
    config: Config,
    issued: Issued,
    *,
    item: Item,
    number: str,
    receipt_printer: Printer | None,
    certificate_printer: Printer | None,
    documents: tuple[str, ...] = ("receipt", "certificate"),
) -> None:
    """Print what was composed (of `documents`); each failure is told to the resident in plain
    words and recorded for staff (events.jsonl: number, which document, the technical reason)."""
    for printer, content, data, paper, what in (
        (receipt_printer, ESCPOS, issued.receipt, N_("凭条"), "receipt"),
        (certificate_printer, PDF, issued.certificate, words(item, "name"), "certificate"),
    ):
        if not data or what not in documents:
            continue
        if printer is None:
            issued.problems.append(Text("本机没有打印{what}的设备，请到人工窗口补打。", what=paper))
            continue
        try:
            printer.print_job(PrintJob(content, data, number))
            issued.printed.append(paper)
        except DeviceError as error:
            # A printer's own words when it has them ("打印机缺纸。…"); otherwise say which paper
            # did not come out, that the matter is accepted, and what to do.
            issued.problems.append(
                error.resident_message
                if isinstance(error, PrinterError)
                else Text(
                    "{what}未能打印（打印机未连接）。您的业务已经受理，请联系工作人员补打。",
                    what=paper,
                )
            )
            record_event(
                config.data_dir,
                "print_failed",
                {"number": number, "document": what, "reason": str(error)},
            )


class ReprintError(Exception):
    """Why a document cannot be printed again, in words for staff."""


def reprint(
    config: Config,
    outbox: Outbox,
    catalog: Catalog,
    number: str,
    *,
    receipt_printer: Printer | None,
    certificate_printer: Printer | None,
    signer: Signer | None,
    documents: tuple[str, ...] = ("receipt", "certificate"),
) -> Issued:
    """Print a transaction's documents again, as they were issued (same number and date), from
    what the outbox still holds: only within the retention period, while the personal part
    has not been erased."""
    row = outbox.by_number(number)
    if row is None or row.kind != "transaction":
        raise ReprintError(f"there is no transaction {number} on this kiosk")
    if row.status == "rejected":
        raise ReprintError(
            f"{number} was rejected by the platform ({row.reject_code}): its documents are "
            "not valid and are not printed again"
        )
    # The retention rule holds here too, not only at the kiosk's start.
    outbox.purge(config.storage.retention_days * 86400)
    row = outbox.by_number(number)
    assert row is not None
    personal = outbox.personal(row)
    if personal is None:
        raise ReprintError(
            f"{number}: its personal data was erased after the retention period; "
            "the platform or a counter can issue the documents again"
        )
    try:
        item = catalog[str(row.payload["item"])]
    except KeyError:
        raise ReprintError(f"{number}: its item is no longer in the catalog") from None
    identity = identity_from_applicant(personal["applicant"])
    at = datetime.fromtimestamp(row.created_at, SHANGHAI)
    issued = compose(
        config,
        item=item,
        identity=identity,
        values=personal.get("fields", {}),
        number=number,
        at=at,
        signer=signer,
        documents=documents,
    )
    send(
        config,
        issued,
        item=item,
        number=number,
        receipt_printer=receipt_printer,
        certificate_printer=certificate_printer,
        documents=documents,
    )
    record_event(config.data_dir, "reprinted", {"number": number, "printed": issued.printed})
    return issued
