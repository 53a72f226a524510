"""The kiosk's side of the platform contract (contract/platform.yaml), over `requests`.

Choices, and why:
- One requests.Session, so connections are pooled and kept alive across batches; every call has
  a (connect, read) timeout, because a village network that silently drops packets must cost a
  bounded wait, never a hung sync thread.
- TLS verification is always on; a private CA bundle can be named, and nothing turns it off. Plain
  http is accepted only for a platform on this machine (the reference platform in demo and tests).
- Every request is signed over method, whole path, time and the body's SHA-256 with the kiosk's key,
  the algorithm named beside the signature (SM2/SM3 can replace Ed25519/SHA-256 later).
- Failures are sorted here, once, into what the sync worker must do about them:

    PlatformError          base; its message never holds personal data
    ├── Transient          nothing is known to have happened: retry later (Retry-After honoured)
    ├── KioskRefused       401/403: the platform refuses this kiosk; pause sync, alert staff
    │   └── ClockSkew      our clock is too far from the platform's: no sync, no certificates
    └── BatchRefused       413 or 400 for a whole batch: split it (a lone item is rejected)
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import requests  # imported by PlatformClient: the kiosk's first frame does not wait for it

MAX_SKEW_S: Final = 300.0  # beyond this, either side's clock is wrong: the contract's limit
RETRY_AFTER_CAP_S: Final = 3600.0  # a Retry-After of days is a platform bug, not a plan
CONNECT_TIMEOUT_S: Final = 5.0


class PlatformError(Exception):
    pass


class Transient(PlatformError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class KioskRefused(PlatformError):
    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(f"the platform refused this kiosk ({status} {code}): {reason}")
        self.status, self.code, self.reason = status, code, reason


class ClockSkew(KioskRefused):
    pass


class BatchRefused(PlatformError):
    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(f"the platform refused the batch ({status} {code}): {reason}")
        self.status, self.code, self.reason = status, code, reason


@dataclass(frozen=True)
class Credentials:
    """Who this kiosk is to the platform; `sign` holds the private key (kiosk.trust)."""

    kiosk_id: str
    hall: str
    public_key: bytes
    sign: Callable[[bytes], bytes]
    alg: str = "Ed25519"
    certificate: str | None = None  # the district's certificate of the key, when installed


@dataclass(frozen=True)
class Result:
    key: str
    outcome: str  # accepted | duplicate | rejected
    code: str = ""
    reason: str = ""

    @property
    def delivered(self) -> bool:
        return self.outcome in ("accepted", "duplicate")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    """Strict base64url without padding (ValueError on anything else)."""
    if not all(c.isascii() and (c.isalnum() or c in "-_") for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def body_bytes(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def signed_text(method: str, path: str, when: str, body: bytes) -> bytes:
    """What a request signature covers (the contract's description says the same)."""
    return f"{method}\n{path}\n{when}\n{hashlib.sha256(body).hexdigest()}".encode("ascii")


def check_url(url: str) -> None:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https":
        return
    loopback = host == "localhost"
    if not loopback:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
    if parts.scheme != "http" or not loopback:
        raise PlatformError(f"{url}: the platform must be reached over https (TLS)")


def retry_after(value: str | None, now: float) -> float | None:
    """Retry-After as seconds to wait: delta-seconds or an HTTP date; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), RETRY_AFTER_CAP_S)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return min(max(0.0, when - now), RETRY_AFTER_CAP_S)


class PlatformClient:
    def __init__(
        self,
        url: str,
        credentials: Credentials,
        *,
        timeout_s: float = 10.0,
        ca_bundle: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        check_url(url)
        self.url = url.rstrip("/")
        self.credentials = credentials
        self.timeout = (min(CONNECT_TIMEOUT_S, timeout_s), timeout_s)
        self._clock = clock
        import requests
        from requests.adapters import HTTPAdapter

        self._session: requests.Session = requests.Session()
        self._session.verify = str(ca_bundle) if ca_bundle else True
        self._session.trust_env = False  # a stray HTTPS_PROXY must not reroute residents' data
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=2, max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self.last_skew_s: float | None = None

    def close(self) -> None:
        self._session.close()

    # --- the four operations -------------------------------------------------------------------
    def enrol(self) -> dict[str, Any]:
        c = self.credentials
        body: dict[str, Any] = {
            "kiosk_id": c.kiosk_id,
            "hall": c.hall,
            "alg": c.alg,
            "public_key": b64(c.public_key),
        }
        if c.certificate:
            body["certificate"] = c.certificate
        answer = self._call("/v1/enrol", body, signed=False)
        _need(answer, "platform_key", str)
        return answer

    def submit(self, items: Sequence[Mapping[str, Any]]) -> list[Result]:
        answer = self._call("/v1/batches", {"items": list(items)})
        results = _need(answer, "results", list)
        sent = [item["key"] for item in items]
        try:
            parsed = [
                # Bounded: a reason goes to staff screens and logs, not a whole page of text.
                Result(
                    r["key"],
                    r["outcome"],
                    str(r.get("code", ""))[:64],
                    str(r.get("reason", ""))[:200],
                )
                for r in results
            ]
        except (TypeError, KeyError):
            raise Transient("the platform's answer did not follow the contract") from None
        if [r.key for r in parsed] != sent or any(
            r.outcome not in ("accepted", "duplicate", "rejected") for r in parsed
        ):
            # Not an answer for what we sent: trust none of it, and ask again later.
            raise Transient("the platform answered for other items than those sent")
        return parsed

    def query(self, id_number: str, timeout_s: float | None = None) -> list[dict[str, Any]]:
        """`timeout_s`: a resident is waiting at the screen; keep it short."""
        answer = self._call("/v1/query", {"id_number": id_number}, timeout_s=timeout_s)
        found: list[dict[str, Any]] = _need(answer, "transactions", list)
        return found

    def heartbeat(self, report: Mapping[str, Any]) -> dict[str, Any]:
        answer = self._call("/v1/heartbeat", dict(report))
        _need(answer, "notices", list)
        return answer

    # --- one call ----------------------------------------------------------------------------
    def _call(
        self,
        path: str,
        data: Mapping[str, Any],
        *,
        signed: bool = True,
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        body = body_bytes(data)
        headers = {"Content-Type": "application/json"}
        if signed:
            when = str(int(self._clock()))
            c = self.credentials
            full_path = urlsplit(self.url).path + path  # what the server sees on the wire
            signature = b64(c.sign(signed_text("POST", full_path, when, body)))
            headers |= {
                "X-Kiosk-Id": c.kiosk_id,
                "X-Kiosk-Time": when,
                "X-Kiosk-Signature": f"{c.alg}:{signature}",
            }
        import requests

        try:
            with self._session.post(
                self.url + path,
                data=body,
                headers=headers,
                timeout=self.timeout if timeout_s is None else (timeout_s / 2, timeout_s / 2),
            ) as response:
                status, text = response.status_code, response.content
                after = retry_after(response.headers.get("Retry-After"), self._clock())
        except requests.RequestException as error:
            # Reset, refused, timed out, or cut short: the request may or may not have arrived.
            raise Transient(f"no answer from the platform ({error.__class__.__name__})") from None
        answer = _json(text)
        server_time = answer.get("server_time") if answer else None
        if isinstance(server_time, int | float) and not isinstance(server_time, bool):
            self.last_skew_s = self._clock() - float(server_time)
        if status == 200:
            if answer is None:
                raise Transient("the platform's answer was cut short or is not JSON")
            self._check_clock()
            return answer
        code = str(answer.get("code", "")) if answer else ""
        reason = str(answer.get("reason", "")) if answer else f"HTTP {status}"
        if status in (401, 403):
            if code == "CLOCK_SKEW":
                raise ClockSkew(status, code, reason)
            raise KioskRefused(status, code or "REFUSED", reason)
        if status == 413 or (status == 400 and code == "MALFORMED" and path == "/v1/batches"):
            # 400 only when the platform itself says the batch is malformed: a proxy's or a
            # gateway's 400 page says nothing about our items, and must not get them rejected.
            raise BatchRefused(status, code or "TOO_LARGE", reason)
        if status in (408, 429) or status >= 500:
            raise Transient(f"the platform is busy or failing (HTTP {status} {code})", after)
        # Any other answer is not one the contract allows: assume a fault on the way, retry.
        raise Transient(f"unexpected answer from the platform (HTTP {status} {code})", after)

    def _check_clock(self) -> None:
        skew = self.last_skew_s
        if skew is not None and abs(skew) > MAX_SKEW_S:
            raise ClockSkew(
                200,
                "CLOCK_SKEW",
                f"this kiosk's clock is {skew:+.0f} s off the platform's; correct the time",
            )


def _json(text: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _need(answer: Mapping[str, Any], name: str, kind: type) -> Any:
    value = answer.get(name)
    if not isinstance(value, kind):
        raise Transient(f"the platform's answer lacks {name!r}")
    return value
