"""A virtual smart card for vsmartcard's vpcd reader driver (simulators and tests use it).

vpcd listens; the card is the TCP client: connecting inserts it, closing removes it. Each
message both ways is a 2-byte big-endian length and a payload. A 1-byte payload from vpcd is a
control code (00 power off, 01 power on, 02 reset, 04 send ATR: the only one answered); a longer
payload is a command APDU, answered with the response APDU.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable

GET_ATR = 0x04
Responder = Callable[[bytes], bytes]


class VirtualCard:
    def __init__(self, port: int, atr: bytes, respond: Responder) -> None:
        self.port, self.atr, self.respond = port, atr, respond
        self.apdus: list[bytes] = []  # every command the card was sent, in order
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def insert(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        # Without these every APDU waits ~40 ms on a delayed acknowledgement.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(None)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
        self._thread.start()

    def remove(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()
            self._sock = None
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> VirtualCard:
        self.insert()
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def _serve(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while True:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
                payload = _read_message(sock)
                if payload is None:
                    return
                if len(payload) == 1:
                    if payload[0] == GET_ATR:
                        _send(sock, self.atr)
                    continue
                self.apdus.append(payload)
                _send(sock, self.respond(payload))


def _read_exactly(sock: socket.socket, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _read_message(sock: socket.socket) -> bytes | None:
    header = _read_exactly(sock, 2)
    if header is None:
        return None
    return _read_exactly(sock, struct.unpack(">H", header)[0])


def _send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(struct.pack(">H", len(payload)) + payload)
