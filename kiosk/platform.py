"""The kiosk's link to the platform: its credentials, the sync worker, and status lookups.

offline_cache holds the contract, the client and the worker but knows nothing of keys or
configuration; this module gives them the kiosk's identity (kiosk.trust) and settings. In demo
mode with the default platform address, the reference platform is started on loopback beside
the kiosk, so a demonstration shows a kiosk that is really online and really sends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from kiosk.config import DEMO_PLATFORM_URL, Config
from kiosk.i18n import N_, Text
from kiosk.trust import NotGenuine, TrustStoreError, demo_signer, kiosk_signer
from offline_cache.client import Credentials, PlatformClient, PlatformError
from offline_cache.outbox import Outbox, OutboxError
from offline_cache.sync import EventSink, SyncLimits, SyncState, SyncWorker

log = logging.getLogger("kiosk.platform")
DEMO_PLATFORM_DIR = "platform"  # the demo's reference platform keeps its data here
LOOKUP_TIMEOUT_S = 6.0  # a resident waits at the screen, the session's clock stopped
STATUS_WORDS = {
    "queued": N_("已受理，等待上传"),
    "sending": N_("正在上传"),
    "accepted": N_("已提交办理部门"),
    "rejected": N_("未被受理"),
    "completed": N_("已办结"),
    "in_progress": N_("办理中"),
}


def credentials(config: Config, today: date) -> Credentials:
    """The kiosk's key and certificate as the platform client needs them."""
    data, kiosk_id, hall = config.data_dir, config.kiosk.id, config.kiosk.hall_name
    signer, _ = (demo_signer if config.demo else kiosk_signer)(data, kiosk_id, hall, today)
    public = signer.private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return Credentials(
        kiosk_id, hall, public, signer.private_key.sign, certificate=signer.certificate.encode()
    )


@dataclass(frozen=True)
class Lookup:
    """One earlier transaction, as a resident may see it (their own, after a card read)."""

    number: str
    item_name: str  # as the transaction recorded it (Chinese)
    status: str  # in words (a message: the screens translate it)
    source: str  # "platform" or "local"
    item: str = ""  # the item's code: the screens name it in the resident's language


@dataclass(frozen=True)
class Lookups:
    entries: list[Lookup]
    asked_platform: bool  # False: offline, the entries are this kiosk's own records only


class PlatformLink:
    def __init__(
        self,
        config: Config,
        outbox: Outbox,
        *,
        today: date,
        on_event: EventSink | None = None,
        report: Callable[[], Mapping[str, Any]] | None = None,
        limits: SyncLimits | None = None,
    ) -> None:
        self.config, self.outbox = config, outbox
        self._reference: Any = None  # the demo's in-process reference platform
        self.worker: SyncWorker | None = None
        self.problem: str | None = None
        url = config.platform.url
        if config.demo and url == DEMO_PLATFORM_URL:
            from offline_cache import platform_server  # only the demo pays for Flask

            self._reference = platform_server.start(config.data_dir / DEMO_PLATFORM_DIR, quiet=True)
            url = self._reference.url
        try:
            creds = credentials(config, today)
            ca = Path(config.platform.ca_bundle) if config.platform.ca_bundle else None
            self.client = PlatformClient(
                url, creds, timeout_s=config.platform.timeout_s, ca_bundle=ca
            )
        except (NotGenuine, TrustStoreError, PlatformError, OSError) as error:
            # No certified key: the kiosk still takes transactions; they wait in the outbox.
            self.problem = f"sync is off: {error}"
            log.error("%s", self.problem)
            self.close()
            return
        limits = limits or SyncLimits(heartbeat_s=float(config.platform.heartbeat_s))
        # A lease must outlast a whole request (a batch leased ahead waits for one more): a
        # slow platform given a long timeout must not see the same rows from this kiosk twice.
        lease_s = max(limits.lease_s, 3 * config.platform.timeout_s)
        self.worker = SyncWorker(
            outbox,
            self.client,
            limits=replace(limits, lease_s=lease_s),
            on_event=on_event,
            report=report,
        )

    @property
    def state(self) -> SyncState:
        if self.worker is None:
            return SyncState(online=False, paused=self.problem)
        return self.worker.state

    def start(self) -> None:
        if self.worker is not None:
            self.worker.start()

    def notify(self) -> None:
        if self.worker is not None:
            self.worker.notify()

    def close(self, timeout_s: float = 15.0) -> bool:
        """Stop the worker and the demo's platform; False if the worker is still inside a
        request after `timeout_s` (then nothing it uses is closed under it)."""
        if self.worker is not None:
            if not self.worker.stop(timeout_s):
                return False
            self.client.close()
        if self._reference is not None:
            self._reference.stop()
            self._reference = None
        return True

    def lookup(self, id_number: str) -> Lookups:
        """A resident's earlier transactions: from the platform when it answers, with what is
        still only in the local queue; from the local queue alone when offline."""
        local = local_lookup(self.outbox, id_number)
        if self.worker is None or self.state.paused or self.state.online is not True:
            return Lookups(local, asked_platform=False)  # known to be offline: do not wait
        try:
            found = self.client.query(id_number, timeout_s=LOOKUP_TIMEOUT_S)
        except PlatformError as error:
            log.info("lookup falls back to the local queue: %s", error)
            return Lookups(local, asked_platform=False)
        remote = [
            Lookup(
                str(t.get("number", "")),
                str(t.get("item_name", "")),
                STATUS_WORDS.get(str(t.get("status")), str(t.get("status"))),
                "platform",
                str(t.get("item", "")),
            )
            for t in found
            if isinstance(t, dict)
        ]
        known = {r.number for r in remote}
        return Lookups([e for e in local if e.number not in known] + remote, asked_platform=True)


def local_lookup(outbox: Outbox, id_number: str) -> list[Lookup]:
    """A resident's transactions in this kiosk's own queue, newest first (rows whose personal
    part was purged after retention can no longer be matched, by design)."""
    try:
        rows = outbox.rows()
        found = []
        for row in reversed(rows):
            if row.kind != "transaction":
                continue
            personal = outbox.personal(row)
            applicant = (personal or {}).get("applicant") or {}
            if applicant.get("id_number", "").upper() != id_number.upper():
                continue
            words = STATUS_WORDS[row.status]
            if row.status == "rejected" and row.reject_reason:
                # The department's reason is shown as it gave it.
                words = Text("{status}：{reason}", status=words, reason=row.reject_reason)
            name = str(row.payload.get("item_name", ""))
            code = str(row.payload.get("item", ""))
            found.append(Lookup(row.number, name, words, "local", code))
    except OutboxError as error:
        log.warning("lookup in the local queue failed: %s", error)
        return []
    return found
