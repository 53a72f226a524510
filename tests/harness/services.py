"""The real services tests need, each started and stopped by its own process id.

    Xvfb    a virtual X server; the display number comes back through -displayfd, so two runs
            never fight over :99, and a window test can assert a real display is there
            (without one SDL silently falls back to an offscreen driver).
    pcscd   with vsmartcard's vpcd driver configured in a private reader.conf.d on free ports.
            Only one pcscd can run on a machine (its socket is fixed at /run/pcscd), so a
            pcscd that is already running is reported, not killed.
    cupsd   a private instance: its own ServerRoot, spool and socket in a temporary folder, and
            one A4 queue whose device is a file, so a printed job can be read back.

A service that cannot start raises ServiceUnavailable with what to install or stop; the
plugin turns that into a test failure, never a skip.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PCSCD_PID_FILE = Path("/run/pcscd/pcscd.pid")
PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
PDF_PPD = Path("/usr/share/ppd/cupsfilters/Generic-PDF_Printer-PDF.ppd")
A4_QUEUE = "KIOSK-A4"


class ServiceUnavailable(RuntimeError):
    pass


def require(program: str, package: str) -> str:
    path = shutil.which(program) or next(
        (p for d in ("/usr/sbin", "/sbin") if os.access(p := f"{d}/{program}", os.X_OK)), None
    )
    if path is None:
        raise ServiceUnavailable(
            f"{program} is not installed. Run `make setup` (it installs the Debian package "
            f"{package}), or: apt-get install --no-install-recommends {package}"
        )
    return path


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    workdir: Path
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, grace: float = 5.0) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(grace)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _spawn(
    name: str,
    argv: list[str],
    workdir: Path,
    env: dict[str, str] | None = None,
    pass_fds: tuple[int, ...] = (),
) -> Service:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        # A new session: stop() signals the whole group, and Ctrl-C on pytest does not reach it.
        process = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            pass_fds=pass_fds,
            start_new_session=True,
        )
    return Service(name, process, workdir, log, argv=argv)


def _wait(service: Service, ready: object, what: str, timeout: float) -> None:
    assert callable(ready)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            tail = service.log_tail()
            service.stop()
            raise ServiceUnavailable(
                f"{service.name} exited with {service.process.returncode} before {what}:\n{tail}"
            )
        if ready():
            return
        time.sleep(0.02)
    tail = service.log_tail()
    service.stop()
    raise ServiceUnavailable(f"{service.name} did not {what} within {timeout:g} s:\n{tail}")


# --- Xvfb ----------------------------------------------------------------------------------------


def start_xvfb(width: int = 1080, height: int = 1920) -> Service:
    xvfb = require("Xvfb", "xvfb")
    require("xdpyinfo", "x11-utils")
    workdir = Path(tempfile.mkdtemp(prefix="kiosk-xvfb-"))
    read_fd, write_fd = os.pipe()
    try:
        service = _spawn(
            "Xvfb",
            [
                xvfb,
                "-displayfd",
                str(write_fd),
                "-screen",
                "0",
                f"{width}x{height}x24",
                "-nolisten",
                "tcp",
                "-noreset",
            ],
            workdir,
            pass_fds=(write_fd,),
        )
    finally:
        os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        ready, _, _ = select.select([pipe], [], [], 15)
        number = pipe.readline().strip().decode() if ready else ""
    if not number.isdigit():
        tail = service.log_tail()
        service.stop()
        raise ServiceUnavailable(f"Xvfb did not report a display number:\n{tail}")
    service.env = {"DISPLAY": f":{number}"}
    probe = subprocess.run(
        ["xdpyinfo"],
        env={**os.environ, **service.env},
        capture_output=True,
        timeout=15,
        check=False,
    )
    if probe.returncode != 0:
        service.stop()
        raise ServiceUnavailable(f"Xvfb started but display :{number} does not answer xdpyinfo")
    return service


# --- pcscd with vpcd ---------------------------------------------------------------------------


def _listening_ports() -> set[int]:
    """Ports in LISTEN state, from /proc (never by connecting: a connect to vpcd inserts a card)."""
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for line in f.readlines()[1:]:
                parts = line.split()
                if parts[3] == "0A":
                    ports.add(int(parts[1].rsplit(":", 1)[1], 16))
    return ports


def _two_free_ports() -> int:
    """A port p such that p and p+1 are both free (vpcd opens one reader per port)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port >= 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise ServiceUnavailable("no two adjacent free TCP ports for the virtual readers")


def running_pcscd() -> int | None:
    try:
        pid = int(PCSCD_PID_FILE.read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    return pid


def start_pcscd() -> Service:
    pcscd = require("pcscd", "pcscd")
    if not VPCD_DRIVER.exists():
        raise ServiceUnavailable(
            "vsmartcard's vpcd driver is missing. Run `make setup` (Debian package vsmartcard-vpcd)"
        )
    other = running_pcscd()
    if other is not None:
        raise ServiceUnavailable(
            f"a pcscd is already running (pid {other}); only one can run on a machine, and the "
            f"tests need their own with the virtual reader. Stop it (kill {other}, or "
            "systemctl stop pcscd.socket pcscd.service) and run the tests again."
        )
    workdir = Path(tempfile.mkdtemp(prefix="kiosk-pcscd-"))
    port = _two_free_ports()
    confdir = workdir / "reader.conf.d"
    confdir.mkdir()
    (confdir / "vpcd").write_text(
        f'FRIENDLYNAME "Virtual PCD"\nDEVICENAME   /dev/null:0x{port:X}\n'
        f"LIBPATH      {VPCD_DRIVER}\nCHANNELID    0x{port:X}\n"
    )
    service = _spawn("pcscd", [pcscd, "--foreground", "--info", "-c", str(confdir)], workdir)
    _wait(
        service,
        lambda: PCSCD_SOCKET.exists() and {port, port + 1} <= _listening_ports(),
        "open its socket and the virtual readers' ports",
        15,
    )
    service.env = {"KIOSK_TEST_VPCD_PORT": str(port)}
    return service


# --- cupsd ---------------------------------------------------------------------------------------


def start_cupsd() -> Service:
    cupsd = require("cupsd", "cups")
    lpadmin = require("lpadmin", "cups-client")
    if not PDF_PPD.exists():
        raise ServiceUnavailable(
            "the generic PDF printer driver is missing. Run `make setup` "
            "(Debian package cups-filters)"
        )
    workdir = Path(tempfile.mkdtemp(prefix="kiosk-cups-"))
    workdir.chmod(0o755)  # cupsd's filters run as lp and must reach the spool
    for sub in ("etc", "spool", "cache", "log", "run"):
        (workdir / sub).mkdir()
    for sub in ("out", "tmp"):
        (workdir / sub).mkdir(mode=0o1777)
        (workdir / sub).chmod(0o1777)
    sock = workdir / "run" / "cups.sock"
    (workdir / "etc" / "cupsd.conf").write_text(
        f"Listen {sock}\nLogLevel warn\n"
        # No personal data may stay behind in the spool once a job is done.
        "PreserveJobFiles No\nPreserveJobHistory Yes\n"
        "<Location />\n  Order allow,deny\n  Allow all\n</Location>\n"
        "<Location /admin>\n  Order allow,deny\n  Allow all\n</Location>\n"
    )
    (workdir / "etc" / "cups-files.conf").write_text(
        f"ServerRoot {workdir}/etc\nRequestRoot {workdir}/spool\nCacheDir {workdir}/cache\n"
        f"StateDir {workdir}/run\nTempDir {workdir}/tmp\nAccessLog {workdir}/log/access_log\n"
        f"ErrorLog {workdir}/log/error_log\nPageLog {workdir}/log/page_log\nFileDevice Yes\n"
    )
    service = _spawn(
        "cupsd",
        [cupsd, "-f", "-c", f"{workdir}/etc/cupsd.conf", "-s", f"{workdir}/etc/cups-files.conf"],
        workdir,
    )
    _wait(service, sock.exists, "open its socket", 15)
    service.env = {"CUPS_SERVER": str(sock)}
    output = workdir / "out" / "a4.pdf"
    empty_cups_output(output)
    added = subprocess.run(
        [
            lpadmin,
            "-p",
            A4_QUEUE,
            "-E",
            "-v",
            f"file://{output}",
            "-P",
            str(PDF_PPD),
            "-o",
            "media=iso_a4_210x297mm",
            "-o",
            "printer-error-policy=abort-job",
        ],
        env={**os.environ, **service.env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if added.returncode != 0:
        service.stop()
        raise ServiceUnavailable(f"lpadmin could not add the test queue: {added.stderr.strip()}")
    service.env["KIOSK_TEST_CUPS_QUEUE"] = A4_QUEUE
    service.env["KIOSK_TEST_CUPS_OUTPUT"] = str(output)
    # Where a job could leave copies behind: the spool (RequestRoot) and cupsd's TempDir.
    service.env["KIOSK_TEST_CUPS_SPOOL"] = str(workdir / "spool")
    service.env["KIOSK_TEST_CUPS_TMP"] = str(workdir / "tmp")
    return service


def empty_cups_output(output: Path | None = None) -> Path:
    """Make the test queue's output file empty, ready for the next job. Debian's security
    update of cupsd (2.4.2-3+deb12u10) opens a file: device O_WRONLY|O_EXCL without O_CREAT
    or O_TRUNC: the file must exist, and a shorter document would not replace a longer one."""
    output = output or Path(os.environ["KIOSK_TEST_CUPS_OUTPUT"])
    output.write_bytes(b"")
    output.chmod(0o666)
    return output


# --- a serial line: a socat pty pair ----------------------------------------------------------


def start_pty_pair() -> Service:
    """Two linked ptys: the device end for a simulator, the host end for the driver."""
    socat = require("socat", "socat")
    workdir = Path(tempfile.mkdtemp(prefix="kiosk-pty-"))
    host, device = workdir / "host-tty", workdir / "device-tty"
    service = _spawn(
        "socat",
        [socat, "-d", "-d", f"pty,raw,echo=0,link={host}", f"pty,raw,echo=0,link={device}"],
        workdir,
    )
    _wait(service, lambda: host.exists() and device.exists(), "create the pty pair", 10)
    service.env = {"KIOSK_TEST_PTY_HOST": str(host), "KIOSK_TEST_PTY_DEVICE": str(device)}
    return service


def restart_pcscd(service: Service) -> None:
    """Stop the tests' pcscd and start it again in place (same readers, same ports), as a
    kiosk sees it when the PC/SC service restarts underneath it."""
    port = int(service.env["KIOSK_TEST_VPCD_PORT"])
    with contextlib.suppress(ProcessLookupError):
        os.killpg(service.process.pid, signal.SIGTERM)
    service.process.wait(10)
    deadline = time.monotonic() + 10
    while running_pcscd() is not None or {port, port + 1} & _listening_ports():
        if time.monotonic() > deadline:
            raise ServiceUnavailable("the old pcscd did not let go of its socket and ports")
        time.sleep(0.05)
    service.process = _spawn("pcscd", service.argv, service.workdir).process
    _wait(
        service,
        lambda: PCSCD_SOCKET.exists() and {port, port + 1} <= _listening_ports(),
        "open its socket and the virtual readers' ports again",
        15,
    )
