"""A fault-injecting HTTP/1.1 proxy on loopback, for tests of a hostile network.

`tc netem` is not available in this kernel and toxiproxy has no package here
(../shared/reference/test-stack.md, "Hostile networks"), so tests that must show the kiosk's sync
survives resets, delays, truncated answers and silence put this proxy between the HTTP client
(`requests`, which keeps connections alive) and a real server on 127.0.0.1:

    with ChaosProxy(server_port, seed=7, fault_rate=0.3, max_faults=20) as proxy:
        sync(base_url=proxy.url)          # some requests fail, in a reproducible order
        proxy.set_fault_rate(0)
        sync(base_url=proxy.url)          # the last one gets through
        assert proxy.counts["reset_after"] > 0

A fault is chosen per HTTP request, not per connection: the proxy reads just enough HTTP/1.1 to
find where each request (head, then a Content-Length body) and each response (Content-Length,
chunked or close-delimited body) ends, so every pair on a keep-alive connection is judged on
its own. The faults, each followed by closing the client connection and its upstream one:

    reset_before  the request is read whole but never forwarded; the client gets an RST
    reset_after   the server processes the request and answers; the client gets an RST instead
    delay         the answer is held back delay_s, then sent whole
    truncate      about half of the answer is sent (cut inside the body), then a normal close
    silence       the request is never forwarded and nothing comes back for silence_s

Not supported, because the kiosk's client does not use them: chunked request bodies,
`Expect: 100-continue`, protocol upgrades and TLS.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType

FAULTS = ("reset_before", "reset_after", "delay", "truncate", "silence")

_MAX_HEAD = 64 * 1024
_JOIN_S = 2.0


class _Closed(ConnectionError):
    """The peer, or stop(), ended the connection in the middle of a message."""


class _Reader:
    """Reads HTTP framing from a socket, keeping what arrived beyond the current message."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()

    def head(self) -> bytes | None:
        """The start line and header fields up to the blank line; None on a clean end first."""
        while (end := self._buffer.find(b"\r\n\r\n")) < 0:
            if len(self._buffer) > _MAX_HEAD:
                raise _Closed("header section too long")
            if not self._fill():
                if self._buffer:
                    raise _Closed("ended inside a header section")
                return None
        return self._take(end + 4)

    def line(self) -> bytes:
        while (end := self._buffer.find(b"\r\n")) < 0:
            if not self._fill():
                raise _Closed("ended inside a chunk")
        return self._take(end + 2)

    def exact(self, size: int) -> bytes:
        while len(self._buffer) < size:
            if not self._fill():
                raise _Closed("ended inside a body")
        return self._take(size)

    def rest(self) -> bytes:
        while self._fill():
            pass
        return self._take(len(self._buffer))

    def _fill(self) -> bool:
        data = self._sock.recv(65536)
        self._buffer += data
        return bool(data)

    def _take(self, size: int) -> bytes:
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data


@dataclass(frozen=True)
class _Message:
    raw: bytes  # exactly the bytes received, forwarded unchanged
    start: bytes  # request line or status line, without CRLF
    head_size: int
    close: bool  # the connection must end after this message


def _parse_head(head: bytes) -> tuple[bytes, dict[bytes, bytes]]:
    start, *lines = head[:-4].split(b"\r\n")
    fields = {}
    for line in lines:
        name, colon, value = line.partition(b":")
        if colon:
            fields[name.strip().lower()] = value.strip().lower()
    return start, fields


def _read_request(reader: _Reader) -> _Message | None:
    head = reader.head()
    if head is None:
        return None
    start, fields = _parse_head(head)
    if b"chunked" in fields.get(b"transfer-encoding", b""):
        raise _Closed("chunked requests are not supported")
    body = reader.exact(int(fields.get(b"content-length", b"0")))
    return _Message(head + body, start, len(head), b"close" in fields.get(b"connection", b""))


def _read_response(reader: _Reader, method: bytes) -> _Message:
    head = reader.head()
    if head is None:
        raise _Closed("the server closed without answering")
    start, fields = _parse_head(head)
    connection = fields.get(b"connection", b"")
    close = b"close" in connection or (
        start.startswith(b"HTTP/1.0") and b"keep-alive" not in connection
    )
    status = int(start.split()[1])
    if method == b"HEAD" or status in (204, 304) or status < 200:
        body = b""
    elif b"chunked" in fields.get(b"transfer-encoding", b""):
        body = _read_chunked(reader)
    elif b"content-length" in fields:
        body = reader.exact(int(fields[b"content-length"]))
    else:
        body, close = reader.rest(), True
    return _Message(head + body, start, len(head), close)


def _read_chunked(reader: _Reader) -> bytes:
    parts = []
    while True:
        parts.append(reader.line())
        size = int(parts[-1].split(b";")[0], 16)
        if size == 0:
            break
        parts.append(reader.exact(size + 2))
    while True:  # trailer fields, then the blank line that ends the message
        parts.append(reader.line())
        if parts[-1] == b"\r\n":
            return b"".join(parts)


def _truncated_size(response: _Message) -> int:
    """About half, never less than the status line, and inside the body when there is one."""
    size = len(response.raw)
    if size > response.head_size:
        return min(max(size // 2, response.head_size + 1), size - 1)
    return max(size // 2, len(response.start) + 2)


class ChaosProxy:
    """Forwards 127.0.0.1:port to 127.0.0.1:upstream_port, injecting faults per request."""

    def __init__(
        self,
        upstream_port: int,
        *,
        seed: int = 0,
        fault_rate: float = 0.3,
        faults: Sequence[str] = FAULTS,
        delay_s: float = 0.3,
        silence_s: float = 3.0,
        max_faults: int | None = None,
    ) -> None:
        unknown = sorted(set(faults) - set(FAULTS))
        if unknown or not faults:
            raise ValueError(f"faults must be a non-empty selection of {FAULTS}, not {faults!r}")
        self._upstream_port = upstream_port
        self._random = random.Random(seed)
        self._faults = tuple(faults)
        self._delay_s = delay_s
        self._silence_s = silence_s
        self._max_faults = max_faults
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._port = 0
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._connections = 0
        self.counts: dict[str, int] = dict.fromkeys((*FAULTS, "pass"), 0)
        self._fault_rate = 0.0
        self.set_fault_rate(fault_rate)

    def set_fault_rate(self, rate: float) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault_rate must be between 0 and 1, not {rate}")
        with self._lock:
            self._fault_rate = rate

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("the proxy has not been started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self._listener is not None or self._stopping.is_set():
            raise RuntimeError("a ChaosProxy starts once")
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._port = self._listener.getsockname()[1]
        self._spawn(self._accept, "accept", self._listener)

    def stop(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            self._stopping.set()
            sockets = [*self._sockets, *([self._listener] if self._listener else [])]
            threads = list(self._threads)
            # shutdown, unlike close, wakes a thread blocked in accept, recv or send on Linux.
            for sock in sockets:
                with contextlib.suppress(OSError):  # the peer may have reset it already
                    sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + _JOIN_S
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for sock in sockets:
            sock.close()

    def __enter__(self) -> ChaosProxy:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _spawn(
        self, target: Callable[[socket.socket], None], name: str, sock: socket.socket
    ) -> None:
        thread = threading.Thread(
            target=target, args=(sock,), name=f"chaos-proxy:{self.port}:{name}", daemon=True
        )
        # Started under the lock so that stop() never sees a thread it cannot join yet, and
        # never misses one started after it looked.
        with self._lock:
            if self._stopping.is_set():
                return  # stop() closes the socket
            self._threads = [known for known in self._threads if known.is_alive()]
            self._threads.append(thread)
            thread.start()

    def _register(self, sock: socket.socket) -> None:
        with self._lock:
            if self._stopping.is_set():
                sock.close()
                raise _Closed("the proxy is stopping")
            self._sockets.add(sock)

    def _close(self, sock: socket.socket, *, reset: bool = False) -> None:
        with self._lock:
            self._sockets.discard(sock)
        if reset:
            # Linger on with a zero timeout: close() then sends RST instead of FIN.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()

    def _decide(self) -> str:
        with self._lock:
            injected = sum(self.counts[fault] for fault in FAULTS)
            exhausted = self._max_faults is not None and injected >= self._max_faults
            outcome = "pass"
            if not exhausted and self._random.random() < self._fault_rate:
                outcome = self._random.choice(self._faults)
            self.counts[outcome] += 1
            return outcome

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
                self._register(client)
            except OSError:
                return  # stop() shut the listener
            self._connections += 1
            self._spawn(self._serve, f"conn{self._connections}", client)

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        reset = False
        try:
            from_client = _Reader(client)
            while (request := _read_request(from_client)) is not None:
                outcome = self._decide()
                reset = outcome in ("reset_before", "reset_after")
                if outcome == "reset_before":
                    return
                if outcome == "silence":
                    self._stopping.wait(self._silence_s)
                    return
                if upstream is None:
                    upstream = socket.create_connection(("127.0.0.1", self._upstream_port))
                    self._register(upstream)
                    from_upstream = _Reader(upstream)
                upstream.sendall(request.raw)
                response = _read_response(from_upstream, request.start.split(b" ")[0])
                if outcome == "reset_after":
                    return
                if outcome == "delay" and self._stopping.wait(self._delay_s):
                    return
                if outcome == "truncate":
                    client.sendall(response.raw[: _truncated_size(response)])
                    return
                client.sendall(response.raw)
                if outcome != "pass" or request.close or response.close:
                    return
        except (OSError, ValueError, IndexError):
            pass  # a side went away, stop() shut the sockets, or a message was not HTTP/1.1
        finally:
            self._close(client, reset=reset)
            if upstream is not None:
                self._close(upstream)
