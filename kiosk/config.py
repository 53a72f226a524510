"""The kiosk's one configuration file (TOML), validated at start.

Every setting is declared once below, with its default, its documentation and its checks; the
documented default file (`kiosk config init`, packaging/kiosk.toml) is generated from the same
declarations, so the two cannot drift apart.

Where values come from, later winning:
    1. the defaults below;
    2. the file: --config FILE, else $KIOSK_CONFIG, else /etc/kiosk/kiosk.toml if it exists;
    3. demo mode (--demo or KIOSK_DEMO=1): simulated devices, the reference platform on
       loopback, a demo data folder, and 演示 on every screen and document;
    4. the environment: KIOSK_DATA_DIR, KIOSK_ID, KIOSK_PLATFORM_URL, KIOSK_READER,
       KIOSK_RECEIPT_PRINTER, KIOSK_CERTIFICATE_PRINTER.
Without a file and without demo mode the kiosk refuses to start and says how to make a file. A
file that does not validate is an error naming each key and line; it never falls back to demo.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import json
import os
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from devices.base import Role
from devices.errors import DeviceUrlError
from devices.registry import parse_device_url
from kiosk.checks import Check, between, matches, one_of
from kiosk.tomlfile import Locator, TomlError, read_toml

SYSTEM_CONFIG: Final = Path("/etc/kiosk/kiosk.toml")
DEMO_PLATFORM_URL: Final = "http://127.0.0.1:8470"
NEXT_URL: Final = re.compile(r"\s+(?=[A-Za-z][A-Za-z0-9+.-]*://)")
ITEM_CODE: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,39}\Z")
ENV_OVERRIDES: Final = {
    "KIOSK_DATA_DIR": ("kiosk", "data_dir"),
    "KIOSK_ID": ("kiosk", "id"),
    "KIOSK_PLATFORM_URL": ("platform", "url"),
    "KIOSK_READER": ("devices", "readers"),
    "KIOSK_RECEIPT_PRINTER": ("devices", "receipt_printer"),
    "KIOSK_CERTIFICATE_PRINTER": ("devices", "certificate_printer"),
    "KIOSK_COUNTER_HOURS": ("kiosk", "counter_hours"),
    "KIOSK_METRICS": ("monitoring", "metrics"),
}


class ConfigError(Exception):
    """The configuration cannot be used; `problems` lists every reason, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def setting(default: Any, doc: str, *checks: Check, required: bool = False) -> Any:
    return field(default=default, metadata={"doc": doc, "checks": checks, "required": required})


def device_url(role: Role) -> Check:
    def check(value: Any) -> str | None:
        if value == "":
            return None
        try:
            parse_device_url(value, role)
        except DeviceUrlError as error:
            return str(error)
        return None

    return check


def device_urls(role: Role) -> Check:
    single = device_url(role)

    def check(value: Any) -> str | None:
        for item in value:
            problem = single(item)
            if problem:
                return problem
        if len(set(value)) != len(value):
            return "lists the same reader twice"
        return None

    return check


def absolute_path(value: Any) -> str | None:
    return None if os.path.isabs(value) else "must be an absolute path, e.g. /var/lib/kiosk"


def platform_url(value: Any) -> str | None:
    if value == "":
        return None
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:  # e.g. an unbalanced "[" reads as a broken IPv6 address
        return "is not a well-formed URL"
    if parts.scheme not in ("https", "http") or not host:
        return "must be an https:// URL, e.g. https://zwfw.example.gov.cn/kiosk"
    if parts.scheme == "http" and not _is_loopback(host):
        return "must use https:// (plain http only for a platform on this machine)"
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class KioskSettings:
    id: str = setting(
        "",
        "This kiosk's id, assigned by the district: letters, digits and '-', "
        "up to 32. It begins every transaction number.",
        matches(r"[A-Za-z0-9-]{1,32}|", "letters, digits and '-', up to 32"),
        required=True,
    )
    hall_name: str = setting(
        "",
        "The service hall's name, shown on the idle screen and printed "
        "on receipts and certificates, e.g. 示例街道示例社区党群服务中心.",
        matches(r".{0,40}", "at most 40 characters"),
        required=True,
    )
    counter_hours: str = setting(
        "工作日 8:30-12:00，14:00-17:30",
        "When the hall's staffed windows are open, shown on the idle screen (self-service is "
        "open 24 hours). Items that need staff are offered only then. Days: 每天, 工作日, "
        "周一至周六 or 周一、周三; several groups are separated by '；'. Empty, or hours that "
        "cannot be read (`kiosk config check` says why): shown as written, always offered.",
        matches(r".{0,40}", "at most 40 characters"),
    )
    items_order: tuple[str, ...] = setting(
        (),
        "Service items (by code) in the order the menu shows them within their category; "
        "items not named follow in the catalog's order. Set on the staff screen.",
        lambda v: next((f"{c!r} is not an item code" for c in v if not ITEM_CODE.match(c)), None),
    )
    items_off: tuple[str, ...] = setting(
        (),
        "Service items staff have turned off (by code): shown as unavailable, with where to go "
        "instead. Set on the staff screen.",
        lambda v: next((f"{c!r} is not an item code" for c in v if not ITEM_CODE.match(c)), None),
    )
    seal_image: str = setting(
        "",
        "The community's seal as a PNG with a transparent background, printed on certificates. "
        "Empty: a drawn round seal with the hall's name.",
        lambda v: None if v == "" else absolute_path(v),
    )
    data_dir: str = setting(
        "/var/lib/kiosk",
        "Where the outbox, keys, audit log and logs live. "
        "The kiosk's user alone may read it (0700).",
        absolute_path,
    )
    language: str = setting(
        "zh_CN",
        "The language each session starts in; residents switch with one tap.",
        one_of("zh_CN", "en"),
    )


@dataclass(frozen=True)
class DeviceSettings:
    readers: tuple[str, ...] = setting(
        (),
        "Card readers by URL; with two, the first card presented wins. For example "
        '["ga467:///dev/serial/by-id/usb-XXXX-if00-port0?baud=115200", "pcsc://"]. '
        "sim://PROFILE is a simulated reader.",
        device_urls(Role.READER),
        required=True,
    )
    receipt_printer: str = setting(
        "",
        "The receipt printer (ESC/POS), e.g. escpos+usb://0416:5011 or "
        "escpos+serial:///dev/ttyS0?baud=9600. Empty: no receipt printer, and items that need "
        "one are not offered.",
        device_url(Role.RECEIPT_PRINTER),
    )
    certificate_printer: str = setting(
        "",
        "The A4 printer for certificates, e.g. cups://A4 or pdf-dir:///var/lib/kiosk/pdf. "
        "Empty: no certificate printer, and items that issue one are not offered.",
        device_url(Role.CERTIFICATE_PRINTER),
    )


@dataclass(frozen=True)
class PlatformSettings:
    url: str = setting(
        "",
        "The government service platform node this kiosk sends to (https).",
        platform_url,
        required=True,
    )
    timeout_s: float = setting(
        10.0, "Seconds to wait for one answer from the platform.", between(1, 120, " s")
    )
    ca_bundle: str = setting(
        "",
        "A PEM file of the CA certificates that may vouch for the platform's TLS certificate "
        "(a private government CA). Empty: the system's CAs. Verification is never turned off.",
        lambda v: None if v == "" else absolute_path(v),
    )
    heartbeat_s: int = setting(
        60,
        "Seconds between heartbeats: the kiosk's state to the platform, notices back.",
        between(10, 3600, " s"),
    )


@dataclass(frozen=True)
class SessionSettings:
    step_timeout_s: int = setting(
        120,
        'Seconds a screen waits for a touch before it asks "我还在?" (are you still there?).',
        between(30, 600, " s"),
    )
    warning_s: int = setting(
        30,
        "Seconds the resident has to answer that question before the "
        "session ends (WCAG 2.2.1 asks for at least 20).",
        between(20, 300, " s"),
    )
    time_multiplier: float = setting(
        1.0,
        "Lengthens every time limit, up to ten-fold, for halls whose residents need more time.",
        between(1, 10),
    )


@dataclass(frozen=True)
class StorageSettings:
    min_free_mb: int = setting(
        200,
        "Below this much free space (MB) in data_dir the kiosk takes no new sessions and says why.",
        between(50, 100_000, " MB"),
    )
    retention_days: int = setting(
        7,
        "Days personal data stays after the platform accepted a "
        "transaction; then it is erased for real.",
        between(1, 365, " days"),
    )


@dataclass(frozen=True)
class DisplaySettings:
    elderly_mode: bool = setting(
        True,
        "长辈模式 (elderly mode): the largest type and targets. The kiosk default; false gives "
        "the standard sizes, which still meet the elderly-friendly minimums.",
    )
    panel_diagonal_in: float = setting(
        21.5,
        "The panel's diagonal in inches, so that sizes in dp are true physical sizes.",
        between(7, 100, " in"),
    )
    fullscreen: bool = setting(True, "Fullscreen kiosk mode, left only with the staff PIN.")
    width_px: int = setting(
        1080, "The panel's width in pixels (portrait).", between(480, 8000, " px")
    )
    height_px: int = setting(1920, "The panel's height in pixels.", between(640, 8000, " px"))


@dataclass(frozen=True)
class VoiceSettings:
    enabled: bool = setting(
        True, "Speak each screen's prompt (labels and instructions, never personal values)."
    )
    volume: int = setting(80, "Loudness of the spoken prompts, 0 to 100.", between(0, 100))
    voice: str = setting(
        "cmn-latn-pinyin",
        "The espeak-ng voice; cmn-latn-pinyin reads Chinese characters as Mandarin.",
        matches(r"[A-Za-z0-9_+-]{1,40}", "an espeak-ng voice name, e.g. cmn-latn-pinyin"),
    )
    voice_en: str = setting(
        "en-us",
        "The espeak-ng voice for residents who switched the screens to English.",
        matches(r"[A-Za-z0-9_+-]{1,40}", "an espeak-ng voice name, e.g. en-us"),
    )


def loopback_address(value: Any) -> str | None:
    """host:port on this machine, or empty."""
    if value == "":
        return None
    host, _, port = str(value).rpartition(":")
    if not (port.isdigit() and 0 < int(port) < 65536):
        return "must be host:port, e.g. 127.0.0.1:9464"
    if not _is_loopback(host.strip("[]")):
        return "must be on this machine (127.0.0.1 or [::1]): the fleet's agent asks here"
    return None


@dataclass(frozen=True)
class MonitoringSettings:
    metrics: str = setting(
        "127.0.0.1:9464",
        "Where the Prometheus text endpoint answers (host:port on loopback, for the fleet's "
        "agent on this machine); empty: no endpoint.",
        loopback_address,
    )
    log_days: int = setting(
        190,
        "Days the JSON log files in DATA_DIR/logs are kept: at least six months, as the law "
        "asks of network logs. Log lines never hold personal data.",
        between(180, 3650, " days"),
    )


@dataclass(frozen=True)
class Config:
    kiosk: KioskSettings = field(default_factory=KioskSettings)
    devices: DeviceSettings = field(default_factory=DeviceSettings)
    platform: PlatformSettings = field(default_factory=PlatformSettings)
    session: SessionSettings = field(default_factory=SessionSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    display: DisplaySettings = field(default_factory=DisplaySettings)
    voice: VoiceSettings = field(default_factory=VoiceSettings)
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)
    demo: bool = False
    source: str = "defaults"  # the file it came from, for messages
    origins: Mapping[str, str] = field(default_factory=dict)  # "section.key" -> where it came from

    @property
    def data_dir(self) -> Path:
        return Path(self.kiosk.data_dir)


SECTIONS: Final[dict[str, type[Any]]] = {
    "kiosk": KioskSettings,
    "devices": DeviceSettings,
    "platform": PlatformSettings,
    "session": SessionSettings,
    "storage": StorageSettings,
    "display": DisplaySettings,
    "voice": VoiceSettings,
    "monitoring": MonitoringSettings,
}
SECTION_DOCS: Final = {
    "kiosk": "This kiosk and its hall.",
    "devices": "Readers and printers, by device URL (see README, Devices).",
    "platform": "The government service platform.",
    "session": "Time limits of a resident's session (monotonic clock).",
    "storage": "The durable outbox and personal data on disk.",
    "display": "The touchscreen.",
    "voice": "Spoken prompts (espeak-ng, offline), with captions on every screen.",
    "monitoring": "What the fleet sees: metrics on loopback, and the logs.",
}


def demo_data_dir(environ: Mapping[str, str]) -> str:
    home = environ.get("HOME") or str(Path.home())
    base = environ.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
    return os.path.join(base, "kiosk-demo")


def is_demo(flag: bool, environ: Mapping[str, str]) -> bool:
    value = environ.get("KIOSK_DEMO", "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return flag
    if value in ("1", "true", "yes", "on"):
        return True
    raise ConfigError([f"environment KIOSK_DEMO={value!r}: must be 1 (demo) or 0"])


def find_config_file(option: str | None, environ: Mapping[str, str]) -> Path | None:
    if option:
        return Path(option)
    if environ.get("KIOSK_CONFIG"):
        return Path(environ["KIOSK_CONFIG"])
    return SYSTEM_CONFIG if SYSTEM_CONFIG.exists() else None


def load_config(
    path: Path | None, *, demo: bool = False, environ: Mapping[str, str] | None = None
) -> Config:
    """Build the configuration; ConfigError lists every problem, each with key and line."""
    environ = os.environ if environ is None else environ
    if path is None and not demo:
        raise ConfigError(
            [
                "没有配置文件，自助机无法启动。 (No configuration file: the kiosk will not start.)",
                f"Make one with:  kiosk config init {SYSTEM_CONFIG}",
                "then set kiosk.id, devices.readers and platform.url in it (or point --config or "
                "KIOSK_CONFIG at a file elsewhere).",
                "To try the kiosk with simulated devices instead:  kiosk --demo run",
            ]
        )
    values: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    origins: dict[str, str] = {}
    problems: list[str] = []
    text = ""
    source = "built-in demo settings (no file)" if demo else "defaults"
    if path is not None:
        source = str(path)
        try:
            data, text = read_toml(path)
        except TomlError as error:
            # Nothing else can be checked in a file that cannot be read or parsed.
            hint = (
                f" Make one with:  kiosk config init {path}" if "no such file" in str(error) else ""
            )
            raise ConfigError([f"{error}{hint}"]) from None
        _merge_file(data, Locator(text, source), values, origins, problems)
    if demo:
        _apply_demo(values, origins, environ)
    _merge_staff(environ, values, origins, problems)
    _merge_environment(environ, values, origins)

    locate = Locator(text, source)

    def where(origin: str, section: str, key: str) -> str:
        return locate.where(section, key) if origin == source and text else f"{origin}: "

    sections = {}
    for name, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            if f.name not in values[name]:
                continue
            value = values[name][f.name]
            origin = origins.get(f"{name}.{f.name}", source)
            for check in f.metadata["checks"]:
                problem = check(value)
                if problem:
                    problems.append(
                        f"{where(origin, name, f.name)}{name}.{f.name} = "
                        f"{_toml_value(value)}: {problem}"
                    )
                    break
            if not demo and f.metadata["required"] and value in ("", ()):
                problems.append(
                    f"{where(origin, name, f.name)}{name}.{f.name} is empty: "
                    f"{_first_sentence(f.metadata['doc'])}"
                )
        if not demo:
            for f in dataclasses.fields(cls):
                reported = f"{name}.{f.name}" in origins  # set, but wrongly: already reported
                if f.metadata["required"] and f.name not in values[name] and not reported:
                    problems.append(
                        f"{source}: {name}.{f.name} is not set: "
                        f"{_first_sentence(f.metadata['doc'])}"
                    )
        sections[name] = cls(**values[name])
    if problems:
        raise ConfigError(sorted(problems, key=_line_of))
    return Config(**sections, demo=demo, source=source, origins=origins)


def _merge_file(
    data: dict[str, Any],
    locate: Locator,
    values: dict[str, dict[str, Any]],
    origins: dict[str, str],
    problems: list[str],
) -> None:
    source = locate.source
    for section, body in data.items():
        if section not in SECTIONS:
            problems.append(
                f"{locate.where(section)}[{section}] is not a section of the "
                f"configuration{_suggest(section, SECTIONS)}"
            )
            continue
        if not isinstance(body, dict):
            problems.append(
                f"{locate.where(section)}{section} must be a section "
                f"([{section}]), not a single value"
            )
            continue
        declared = {f.name: f for f in dataclasses.fields(SECTIONS[section])}
        for key, value in body.items():
            f = declared.get(key)
            if f is None:
                problems.append(
                    f"{locate.where(section, key)}{section}.{key} is not a "
                    f"setting{_suggest(key, declared)}"
                )
                continue
            converted = convert(value, f.type)
            if converted is None:
                problems.append(
                    f"{locate.where(section, key)}{section}.{key} = "
                    f"{_toml_value(value)}: must be {TYPE_WORDS[str(f.type)]}"
                )
                origins[f"{section}.{key}"] = source
                continue
            values[section][key] = converted
            origins[f"{section}.{key}"] = source


TYPE_WORDS = {
    "str": "text in quotes",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "tuple[str, ...]": 'a list of texts, e.g. ["a", "b"]',
}


def convert(value: Any, type_name: Any) -> Any:
    """The value in the declared type, or None when it cannot be."""
    match str(type_name):
        case "str":
            return value if isinstance(value, str) else None
        case "bool":
            return value if isinstance(value, bool) else None
        case "int":
            return value if isinstance(value, int) and not isinstance(value, bool) else None
        case "float":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            return float(value) if ok else None
        case "tuple[str, ...]":
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
            return tuple(value) if ok else None
    raise AssertionError(f"undeclared setting type {type_name}")


def _apply_demo(
    values: dict[str, dict[str, Any]], origins: dict[str, str], environ: Mapping[str, str]
) -> None:
    demo = {
        ("devices", "readers"): ("sim://",),
        ("devices", "receipt_printer"): "sim://",
        ("devices", "certificate_printer"): "sim://",
        ("platform", "url"): DEMO_PLATFORM_URL,
        ("kiosk", "data_dir"): demo_data_dir(environ),
    }
    for (section, key), value in demo.items():
        values[section][key] = value
        origins[f"{section}.{key}"] = "demo mode"
    for (section, key), value in {
        ("kiosk", "id"): "DEMO-0001",
        ("kiosk", "hall_name"): "演示社区服务站",
    }.items():
        if not values[section].get(key):
            values[section][key] = value
            origins[f"{section}.{key}"] = "demo mode"


# What staff may change on the touchscreen; their choices live in DATA_DIR/admin/staff.toml and
# win over the configuration file (an environment variable, a technician's, wins over both).
STAFF_FILE: Final = "admin/staff.toml"
STAFF_KEYS: Final = frozenset(
    {
        "kiosk.id",
        "kiosk.items_off",
        "kiosk.items_order",
        "kiosk.seal_image",
        "devices.readers",
        "devices.receipt_printer",
        "devices.certificate_printer",
        "platform.url",
        "kiosk.counter_hours",
        "session.step_timeout_s",
        "session.warning_s",
        "session.time_multiplier",
        "voice.enabled",
        "voice.volume",
        "display.elderly_mode",
    }
)

# Staff settings that the running kiosk cannot take over (its devices and its platform link are
# opened once): they apply from the next start, which the staff screen offers at once.
AT_NEXT_START: Final = frozenset(
    {
        "kiosk.id",
        "devices.readers",
        "devices.receipt_printer",
        "devices.certificate_printer",
        "platform.url",
    }
)


def _merge_staff(
    environ: Mapping[str, str],
    values: dict[str, dict[str, Any]],
    origins: dict[str, str],
    problems: list[str],
) -> None:
    data_dir = environ.get("KIOSK_DATA_DIR") or values["kiosk"].get("data_dir")
    path = Path(data_dir or KioskSettings.data_dir) / STAFF_FILE
    if not path.exists():
        return
    try:
        data, text = read_toml(path)
    except TomlError as error:
        problems.append(f"{error} (staff settings: fix or remove the file)")
        return
    locate = Locator(text, str(path))
    for section, body in data.items():
        for key in body if isinstance(body, dict) else ():
            if f"{section}.{key}" not in STAFF_KEYS:
                problems.append(
                    f"{locate.where(section, key)}{section}.{key} is not a setting staff "
                    "change on the touchscreen"
                )
    _merge_file(data, locate, values, origins, problems)


def _merge_environment(
    environ: Mapping[str, str], values: dict[str, dict[str, Any]], origins: dict[str, str]
) -> None:
    for variable, (section, key) in ENV_OVERRIDES.items():
        if variable not in environ:
            continue
        raw = environ[variable].strip()
        # Several readers are separated by spaces, but a PC/SC reader's name may hold spaces
        # ("pcsc://ACS ACR39U 00 00"): split only where the next URL begins.
        values[section][key] = split_urls(raw) if key == "readers" else raw
        origins[f"{section}.{key}"] = f"environment {variable}"


def split_urls(text: str) -> tuple[str, ...]:
    """Several device URLs written on one line, split where the next URL begins."""
    return tuple(u for u in NEXT_URL.split(text.strip()) if u)


def _line_of(problem: str) -> int:
    """Problems read best in the order of the file; those without a line come last."""
    match = re.search(r" line (\d+): ", problem)
    return int(match.group(1)) if match else 1_000_000


def _suggest(word: str, choices: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(choices)})"


def _first_sentence(doc: str) -> str:
    return doc.split(". ", maxsplit=1)[0].rstrip(".") + "."


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def render_config(config: Config | None = None, *, with_origins: bool = False) -> str:
    """The configuration as a documented TOML file: every setting, its meaning, its value."""
    config = config or Config()
    out = [
        "# Community service kiosk configuration.",
        "# Every setting is shown with its default; see README.md, Configuration.",
        "# Check a file with:  kiosk --config FILE config check",
        "",
    ]
    for name in SECTIONS:
        out.append(f"# {SECTION_DOCS[name]}")
        out.append(f"[{name}]")
        section = getattr(config, name)
        for f in dataclasses.fields(section):
            for line in textwrap.wrap(f.metadata["doc"], 96):
                out.append(f"# {line}")
            if with_origins:
                out.append(f"# (from {config.origins.get(f'{name}.{f.name}', 'defaults')})")
            out.append(f"{f.name} = {_toml_value(getattr(section, f.name))}")
        out.append("")
    return "\n".join(out)
