"""The `kiosk` command as a technician runs it: exit codes, messages, and never a traceback."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

KIOSK = str(Path(sys.executable).with_name("kiosk"))


def kiosk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    result = subprocess.run(
        [KIOSK, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **(env or {})},
        check=False,
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def test_id_check_valid_number_exits_0_with_the_reason() -> None:
    result = kiosk("id", "check", "11010519491231002X")
    assert result.returncode == 0
    assert result.stdout == (
        "1101**********002X: 号码有效：居民身份证号码，女，1949年12月31日出生。\n"
        "Valid resident ID number: female, born 1949-12-31.\n"
    )


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("110105194912310021", "check"),
        ("110105194902300025", "date"),
        ("110105190002290012", "date"),
        ("110105203001010011", "future"),
        ("11010519491231002", "length"),
        ("110105491231002", "first_generation"),
    ],
)
def test_id_check_invalid_numbers_exit_1_with_a_reason_in_words(number: str, code: str) -> None:
    result = kiosk("id", "check", number, "--json")
    assert result.returncode == 1
    verdict = json.loads(result.stdout)
    assert verdict["valid"] is False
    assert verdict["code"] == code
    assert verdict["reason"]
    assert number not in result.stdout


def test_id_check_json_for_a_valid_number() -> None:
    verdict = json.loads(kiosk("id", "check", "440524188001010014", "--json").stdout)
    assert verdict == {
        "valid": True,
        "code": "ok",
        "number": "4405**********0014",
        "reason": "号码有效：居民身份证号码，男，1880年1月1日出生。",
        "reason_en": "Valid resident ID number: male, born 1880-01-01.",
        "kind": "resident",
        "sex": "male",
        "birth_date": "1880-01-01",
    }


def test_run_without_config_or_demo_refuses_and_says_how(tmp_path: Path) -> None:
    result = kiosk("run", env={"HOME": str(tmp_path)})
    assert result.returncode == 2
    assert "没有配置文件" in result.stderr
    assert "kiosk config init /etc/kiosk/kiosk.toml" in result.stderr


def test_run_with_a_bad_config_exits_2_naming_key_and_line(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text('[kiosk]\nid = "K1"\n[session]\nwarning_s = 5\n', encoding="utf-8")
    result = kiosk("--config", str(config), "run")
    assert result.returncode == 2
    assert f"{config} line 4: session.warning_s = 5: must be from 20 to 300 s" in result.stderr
    assert "DEMO" not in result.stdout


def test_a_bad_config_is_not_rescued_by_demo_mode(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text("[kiosk\n", encoding="utf-8")
    result = kiosk(
        "run", env={"KIOSK_DEMO": "1", "KIOSK_CONFIG": str(config), "HOME": str(tmp_path)}
    )
    assert result.returncode == 2
    assert "not valid TOML" in result.stderr


def test_demo_run_walks_a_synthetic_resident_and_exits_cleanly(tmp_path: Path) -> None:
    result = kiosk("--demo", "run", "--console", env={"HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "演示模式 DEMO MODE" in result.stdout
    assert "1101**********0316" in result.stdout
    assert "110101196205170316" not in result.stdout
    assert "测试一" not in result.stdout
    assert "queue ticket committed to the outbox as DEMO-0001-" in result.stdout
    assert "| 证件号码：1101**********0316" in result.stdout  # the receipt preview, masked
    assert "请取走您的卡片" in result.stdout
    assert "完成 Done" in result.stdout
    # No sound card here (as on CI): said, and not a reason to stop serving.
    assert (
        "warn speaker (spoken prompts)         speaker://default            "
        "no sound card or player: prompts are shown as captions only"
    ) in result.stdout


def test_demo_run_with_a_broken_reader_says_out_of_service(tmp_path: Path) -> None:
    result = kiosk(
        "run",
        "--console",
        env={"KIOSK_DEMO": "1", "KIOSK_READER": "sim://broken", "HOME": str(tmp_path)},
    )
    assert result.returncode == 1
    assert "暂停服务 Out of service" in result.stdout


def test_card_read_shows_masked_values_by_default() -> None:
    result = kiosk("card", "read", "--reader", "sim://elderly", "--json")
    assert result.returncode == 0
    card = json.loads(result.stdout)
    assert card["id_number"] == "3101**********0027"
    assert card["name"] == "测**"
    assert card["birth_date"] == "1941-**-**"
    assert card["valid_until"] == "长期"
    assert card["masked"] is True
    assert "310101194102280027" not in result.stdout


def test_card_read_full_shows_everything() -> None:
    card = json.loads(kiosk("card", "read", "--reader", "sim://elderly", "--json", "--full").stdout)
    assert card["id_number"] == "310101194102280027"
    assert card["name"] == "测试二"
    assert card["birth_date"] == "1941-02-28"
    assert card["address"] == "上海市黄浦区示例路88弄6号"


def test_card_read_expired_card_exits_0_flagged() -> None:
    result = kiosk("card", "read", "--reader", "sim://expired", "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["expired"] is True


def test_card_read_without_a_card_exits_3() -> None:
    result = kiosk("card", "read", "--reader", "sim://empty", "--timeout", "0.1")
    assert result.returncode == 3
    assert "没有检测到卡片" in result.stderr


@pytest.mark.parametrize(
    ("reader", "words"),
    [
        ("sim://garbled", "卡片信息无法识别"),
        ("sim://broken", "读卡器无法使用"),
        ("ga467:///dev/ttyNOSUCH0", "cannot open /dev/ttyNOSUCH0"),
        ("cups://A4", "is a certificate printer, not a card reader"),
        ("ga467://ttyUSB0", "needs an absolute path"),
    ],
)
def test_card_read_device_errors_exit_4_with_a_clear_message(reader: str, words: str) -> None:
    result = kiosk("card", "read", "--reader", reader)
    assert result.returncode == 4
    assert words in result.stderr
    assert "110101196205170316" not in result.stderr


def test_config_init_writes_a_file_that_check_then_judges(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "kiosk.toml"
    assert kiosk("config", "init", str(path)).returncode == 0
    assert kiosk("config", "init", str(path)).returncode == 2  # never overwrites silently
    unfinished = kiosk("--config", str(path), "config", "check")
    assert unfinished.returncode == 2
    assert "kiosk.id is empty" in unfinished.stderr
    text = path.read_text(encoding="utf-8")
    text = text.replace('id = ""', 'id = "K-1"').replace("readers = []", 'readers = ["sim://"]')
    text = text.replace('hall_name = ""', 'hall_name = "示例社区"')
    text = text.replace('url = ""', 'url = "https://zwfw.example.gov.cn"')
    path.write_text(text, encoding="utf-8")
    checked = kiosk("--config", str(path), "config", "check")
    assert checked.returncode == 0, checked.stderr
    assert f"configuration is valid (from {path})" in checked.stdout


def test_config_show_says_where_each_value_came_from(tmp_path: Path) -> None:
    result = kiosk(
        "config", "show", env={"KIOSK_DEMO": "1", "HOME": str(tmp_path), "KIOSK_ID": "X-9"}
    )
    assert result.returncode == 0
    assert '# (from environment KIOSK_ID)\nid = "X-9"' in result.stdout
    assert '# (from demo mode)\nreaders = ["sim://"]' in result.stdout


def test_usage_errors_exit_2() -> None:
    assert kiosk("id").returncode == 2
    assert kiosk("card", "read").returncode == 2
    assert kiosk("card", "read", "--reader", "sim://", "--timeout", "soon").returncode == 2


def test_a_terminal_without_utf8_gets_escaped_text_not_a_crash() -> None:
    result = subprocess.run(
        [KIOSK, "id", "check", "11010519491231002X"],
        capture_output=True,
        timeout=60,
        env={**os.environ, "PYTHONIOENCODING": "latin-1"},
        check=False,
    )
    assert result.returncode == 0
    assert b"\\u53f7\\u7801\\u6709\\u6548" in result.stdout  # 号码有效, escaped


def test_catalog_list_json_has_the_fields_the_design_names() -> None:
    result = kiosk("catalog", "list", "--json")
    assert result.returncode == 0
    items = json.loads(result.stdout)
    assert len(items) >= 12
    for item in items:
        assert {
            "code",
            "name",
            "category",
            "fields",
            "offline_ok",
            "completion",
            "identification",
        } <= set(item)
        assert item["completion"] in ("kiosk", "pre-application", "counter")
        assert item["identification"] in (["card"], ["card", "manual"])


def test_catalog_check_points_at_the_file_and_line_of_a_broken_item(tmp_path: Path) -> None:
    good = kiosk("catalog", "check", str(Path(__file__).parents[2] / "kiosk/catalog/items"))
    assert good.returncode == 0
    assert "are valid" in good.stdout
    (tmp_path / "queue-ticket.toml").write_text(
        (Path(__file__).parents[2] / "kiosk/catalog/items/queue-ticket.toml")
        .read_text(encoding="utf-8")
        .replace('completion = "counter"', 'completion = "later"'),
        encoding="utf-8",
    )
    bad = kiosk("catalog", "check", str(tmp_path))
    assert bad.returncode == 1
    assert (
        f"{tmp_path}/queue-ticket.toml line 8: completion: must be one of kiosk, "
        "pre-application, counter" in bad.stderr
    )


def test_queue_commands_on_an_empty_and_a_filled_outbox(tmp_path: Path) -> None:
    env = {"KIOSK_DEMO": "1", "HOME": str(tmp_path), "KIOSK_DATA_DIR": str(tmp_path / "d")}
    (tmp_path / "d").mkdir()
    empty = json.loads(kiosk("queue", "status", "--json", env=env).stdout)
    assert not (tmp_path / "d" / "outbox.sqlite3").exists()  # reading created nothing
    assert empty == {
        "queued": 0,
        "sending": 0,
        "accepted": 0,
        "rejected": 0,
        "oldest_queued_age_s": None,
    }
    assert kiosk("soak", "--sessions", "3", "--seed", "2", env=env).returncode == 0
    rows = json.loads(kiosk("queue", "list", "--json", env=env).stdout)
    transactions = [r for r in rows if r["kind"] == "transaction"]
    assert len(transactions) == 3
    assert all(r["status"] == "queued" and r["reason"] is None for r in rows)
    assert all(len(r["key"]) >= 36 for r in rows)


def test_a_locked_outbox_gives_a_clear_message(tmp_path: Path) -> None:
    import sqlite3

    env = {"KIOSK_DEMO": "1", "HOME": str(tmp_path), "KIOSK_DATA_DIR": str(tmp_path / "d")}
    assert kiosk("soak", "--sessions", "1", env=env).returncode == 0
    holder = sqlite3.connect(tmp_path / "d" / "outbox.sqlite3", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = kiosk("soak", "--sessions", "1", env=env)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode == 1
    assert "locked by another process" in result.stderr


def test_a_damaged_outbox_gives_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "outbox.sqlite3").write_bytes(b"\x00garbage" * 512)
    env = {"KIOSK_DEMO": "1", "HOME": str(tmp_path), "KIOSK_DATA_DIR": str(tmp_path / "d")}
    result = kiosk("queue", "status", env=env)
    assert result.returncode == 1
    assert "damaged or is not a database" in result.stderr


def test_queue_status_on_a_missing_data_folder_says_so(tmp_path: Path) -> None:
    env = {"KIOSK_DEMO": "1", "HOME": str(tmp_path), "KIOSK_DATA_DIR": str(tmp_path / "typo")}
    result = kiosk("queue", "status", env=env)
    assert result.returncode == 1
    assert f"there is no data folder at {tmp_path / 'typo'}" in result.stderr
    assert not (tmp_path / "typo").exists()


def test_soak_without_a_receipt_printer_refuses_every_session_and_says_why(tmp_path: Path) -> None:
    env = {
        "KIOSK_DEMO": "1",
        "HOME": str(tmp_path),
        "KIOSK_DATA_DIR": str(tmp_path / "d"),
        "KIOSK_RECEIPT_PRINTER": "",
    }
    result = kiosk("soak", "--sessions", "3", env=env)
    assert result.returncode == 1
    assert "refused 3x: nothing this kiosk can offer this resident now" in result.stdout


def test_soak_with_a_broken_reader_exits_4_with_a_clear_message(tmp_path: Path) -> None:
    env = {
        "KIOSK_DEMO": "1",
        "HOME": str(tmp_path),
        "KIOSK_DATA_DIR": str(tmp_path / "d"),
        "KIOSK_READER": "sim://broken",
    }
    result = kiosk("soak", "--sessions", "3", env=env)
    assert result.returncode == 4
    assert "读卡器无法使用" in result.stderr


def test_a_malformed_platform_url_is_a_configuration_error(tmp_path: Path) -> None:
    env = {"KIOSK_DEMO": "1", "HOME": str(tmp_path), "KIOSK_PLATFORM_URL": "https://[x"}
    result = kiosk("config", "check", env=env)
    assert result.returncode == 2
    assert (
        'environment KIOSK_PLATFORM_URL: platform.url = "https://[x": is not a well-formed URL'
        in result.stderr
    )


def demo_env(tmp_path: Path, data: str = "d") -> dict[str, str]:
    return {"KIOSK_DEMO": "1", "HOME": str(tmp_path), "KIOSK_DATA_DIR": str(tmp_path / data)}


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    result = kiosk("documents", "sample", "--out", str(tmp_path / "out"), env=demo_env(tmp_path))
    assert result.returncode == 0, result.stderr
    return tmp_path / "out"


def test_documents_sample_writes_a_certificate_and_a_receipt(sample: Path) -> None:
    assert (sample / "certificate.pdf").read_bytes().startswith(b"%PDF-")
    receipt = (sample / "receipt.bin").read_bytes()
    assert receipt.startswith(b"\x1b@\x1c&")
    assert "110101196205170316" not in receipt.decode("gb18030", "replace")
    assert "演示" in (sample / "receipt.txt").read_text(encoding="utf-8")


def test_verify_accepts_the_sample_certificate_from_its_rendered_page(
    sample: Path, tmp_path: Path
) -> None:
    result = kiosk("verify", str(sample / "certificate.pdf"), env=demo_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("真实有效 GENUINE（演示证明 DEMO）")
    assert "姓名: 测**" in result.stdout  # name, ID number and address masked unless --full
    assert "公民身份号码: 1101**********0316" in result.stdout
    assert "住址: 北京市东城区******" in result.stdout
    full = kiosk(
        "verify", str(sample / "certificate.pdf"), "--full", "--json", env=demo_env(tmp_path)
    )
    assert json.loads(full.stdout)["fields"]["id_number"] == "110101196205170316"
    assert json.loads(full.stdout)["fields"]["name"] == "测试一"


def payload_of(sample: Path, tmp_path: Path) -> str:
    result = kiosk("verify", str(sample / "certificate.pdf"), "--json", env=demo_env(tmp_path))
    assert result.returncode == 0
    import subprocess as sp

    sp.run(
        [
            "pdftoppm",
            "-r",
            "150",
            "-png",
            "-singlefile",
            str(sample / "certificate.pdf"),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    return (
        sp.run(
            ["zbarimg", "-q", "--raw", "-Sbinary", str(tmp_path / "page.png")],
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )


def test_verify_refuses_a_payload_with_one_character_changed(sample: Path, tmp_path: Path) -> None:
    payload = payload_of(sample, tmp_path)
    assert kiosk("verify", payload, env=demo_env(tmp_path)).returncode == 0
    position = len("KV1.Ed25519.") + 10
    changed = (
        payload[:position] + ("A" if payload[position] != "A" else "B") + payload[position + 1 :]
    )
    result = kiosk("verify", changed, env=demo_env(tmp_path))
    assert result.returncode == 1
    assert "NOT GENUINE" in result.stderr


def test_verify_refuses_a_kiosk_no_known_root_certified(sample: Path, tmp_path: Path) -> None:
    result = kiosk("verify", str(sample / "certificate.pdf"), env=demo_env(tmp_path, "elsewhere"))
    assert result.returncode == 1
    assert "(unknown_key)" in result.stderr


def test_verify_refuses_a_revoked_kiosk_key(sample: Path, tmp_path: Path) -> None:
    key_id = json.loads(
        kiosk("verify", str(sample / "certificate.pdf"), "--json", env=demo_env(tmp_path)).stdout
    )["key_id"]
    (tmp_path / "d" / "trust" / "revoked.json").write_text(
        json.dumps([{"key_id": key_id, "from": "2000-01-01"}]), encoding="utf-8"
    )
    result = kiosk("verify", str(sample / "certificate.pdf"), env=demo_env(tmp_path))
    assert result.returncode == 1
    assert "(revoked)" in result.stderr


def test_verify_refuses_an_expired_certificate(sample: Path, tmp_path: Path) -> None:
    from datetime import timedelta

    from kiosk.clock import today_local
    from kiosk.trust import demo_signer

    hall = "演示社区服务站"
    signer, _ = demo_signer(tmp_path / "d", "DEMO-0001", hall, today_local())
    yesterday = today_local() - timedelta(days=1)
    # Issued today (the demo key is certified from today), already past its last day.
    fields = {
        "type": "residence",
        "number": "DEMO-0001-X",
        "issued": today_local().isoformat(),
        "valid_until": yesterday.isoformat(),
        "issuer": hall,
        "demo": True,
    }
    result = kiosk("verify", signer.sign(fields), env=demo_env(tmp_path))
    assert result.returncode == 1
    assert "(expired)" in result.stderr


def test_verify_of_a_file_that_is_not_a_certificate_says_so(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"not a pdf at all")
    result = kiosk("verify", str(junk), env=demo_env(tmp_path))
    assert result.returncode == 1
    assert "cannot read the certificate" in result.stderr


def test_the_key_ceremony_lets_a_production_kiosk_issue_verifiable_certificates(
    tmp_path: Path,
) -> None:
    district = tmp_path / "district"
    config = tmp_path / "kiosk.toml"
    config.write_text(
        '[kiosk]\nid = "BJ-DC-0042"\nhall_name = "示例社区党群服务中心"\n'
        f'data_dir = "{tmp_path / "data"}"\n[devices]\nreaders = ["sim://"]\n'
        '[platform]\nurl = "https://zwfw.example.gov.cn"\n',
        encoding="utf-8",
    )
    refused = kiosk("--config", str(config), "documents", "sample", "--out", str(tmp_path / "o"))
    assert refused.returncode == 1
    assert "has no certified key yet" in refused.stderr

    assert kiosk("keys", "root", "--out", str(district)).returncode == 0
    assert stat.S_IMODE((district / "root.key").stat().st_mode) == 0o600
    public = kiosk("--config", str(config), "keys", "init").stdout.splitlines()[-2]
    certified = kiosk(
        "keys",
        "certify",
        "--root-key",
        str(district / "root.key"),
        "--kiosk-id",
        "BJ-DC-0042",
        "--hall",
        "示例社区党群服务中心",
        f"--public={public}",  # a base64url key may begin with "-"
        "--out",
        str(tmp_path / "kiosk.cert"),
    )
    assert certified.returncode == 0, certified.stderr
    other_root = tmp_path / "other"
    assert kiosk("keys", "root", "--out", str(other_root)).returncode == 0
    wrong = kiosk(
        "--config",
        str(config),
        "keys",
        "install",
        str(tmp_path / "kiosk.cert"),
        "--root",
        str(other_root / "root.pub"),
    )
    assert wrong.returncode == 1
    assert "not issued by that root key" in wrong.stderr
    installed = kiosk(
        "--config",
        str(config),
        "keys",
        "install",
        str(tmp_path / "kiosk.cert"),
        "--root",
        str(district / "root.pub"),
    )
    assert installed.returncode == 0, installed.stderr

    # A sample is always marked 演示: a production verifier refuses it.
    assert (
        kiosk(
            "--config", str(config), "documents", "sample", "--out", str(tmp_path / "o")
        ).returncode
        == 0
    )
    refused_sample = kiosk(
        "--config", str(config), "verify", str(tmp_path / "o" / "certificate.pdf")
    )
    assert refused_sample.returncode == 1
    assert "(demo)" in refused_sample.stderr

    # A real certificate signed with the installed key verifies.
    from datetime import date

    from kiosk.clock import today_local
    from kiosk.documents.certificate import Certificate, render_certificate
    from kiosk.trust import kiosk_signer

    signer, _ = kiosk_signer(tmp_path / "data", "BJ-DC-0042", "示例社区党群服务中心", today_local())
    real = Certificate(
        "residence",
        f"BJ-DC-0042-{today_local():%Y%m%d}-00001",
        today_local(),
        "示例社区党群服务中心",
        "测试一",
        "男",
        "110101196205170316",
        "北京市东城区测试街道示例社区1号楼",
        "子女入学",
        False,
    )
    (tmp_path / "real.pdf").write_bytes(render_certificate(real, signer.sign(real.fields())))
    verified = kiosk("--config", str(config), "verify", str(tmp_path / "real.pdf"))
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("真实有效 GENUINE\n")
    assert "出具单位: 示例社区党群服务中心" in verified.stdout
    assert "姓名: 测**" in verified.stdout  # masked unless --full
    assert date.today().year > 2000


def test_the_touchscreen_run_with_a_broken_reader_names_it_and_still_starts(
    tmp_path: Path,
) -> None:
    # The idle screen then says the reader cannot be used (tests/screens: ui_idle.py); here,
    # without a display, the run goes as far as asking for one.
    env = {"KIOSK_DEMO": "1", "KIOSK_READER": "sim://broken", "HOME": str(tmp_path)}
    result = kiosk("run", env={**env, "DISPLAY": ""})
    assert result.returncode == 2
    assert "kiosk: sim://broken: " in result.stderr
    assert "no display to show the touchscreen on" in result.stderr


def test_a_public_key_beginning_with_a_dash_is_taken_with_equals() -> None:
    # base64url keys begin with "-" one time in 64: the ceremony must not fail on them.
    from kiosk.cli import build_parser

    line = "keys certify --root-key r --kiosk-id K --hall H --public=-Ab3xYz --out o"
    args = build_parser().parse_args(line.split())
    assert args.public == "-Ab3xYz"


def test_a_touchscreen_that_stops_to_start_again_runs_the_same_command_again(
    tmp_path: Path,
) -> None:
    """Exit status 75 from the touchscreen (staff saved new devices): `kiosk run` replaces
    itself with the same command, which reads the configuration afresh."""
    script = tmp_path / "twice.py"
    script.write_text(
        "import os, sys\n"
        "import kiosk.cli as cli\n"
        "n = int(os.environ.get('STARTS', '0'))\n"
        "print('start', n, sys.argv[1:], flush=True)\n"
        "os.environ['STARTS'] = str(n + 1)\n"
        "cli._run = lambda args, config: cli.EXIT_RESTART if n == 0 else 0\n"
        "sys.exit(cli.main(sys.argv[1:]))\n",
        encoding="utf-8",
    )
    env = {**os.environ, "HOME": str(tmp_path), "KIOSK_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [sys.executable, str(script), "--demo", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "start 0 ['--demo', 'run']\nstart 1 ['--demo', 'run']\n"
    assert result.stderr == "kiosk: starting again with the new settings\n"
