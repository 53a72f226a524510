"""The touchscreen, in a real X server, tapped through with simulated touches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from kiosk.config import load_config
from kiosk.staff import read_audit, verify_audit
from offline_cache.platform_server import Store
from tests.devices.test_speaker import loudest
from tests.harness.services import Service

HERE = Path(__file__).parent


def run(script: list[str], tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env.update({"HOME": str(tmp_path), "KIOSK_DEMO": "1", "KIOSK_DATA_DIR": str(tmp_path / "d")})
    env.update(extra)
    return subprocess.run(
        script,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=HERE.parents[1],
    )


IDLE_WORDS = {
    "zh_CN": (
        "【通知】今日14:00-16:00停水，请合理安排。",
        "● 网络正常",
        "人工窗口 工作日 8:30-12:00，14:00-17:30",
        "个人信息保护提示",
    ),
    # The notice stays as the platform wrote it; the counter hours are read and said again.
    "en": (
        "Notice: 今日14:00-16:00停水，请合理安排。",
        "● Network OK",
        "Self-service 24 hours · Staffed counter Weekdays 8:30-12:00, 14:00-17:30",
        "Privacy notice: this kiosk reads",
    ),
}


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_every_resident_screen_meets_the_tokens_and_the_wipe_leaves_nothing(
    xvfb: Service, tmp_path: Path, language: str
) -> None:
    """The audit, with the whole session in each language. In Chinese every screen is also
    switched to English and back: all of it re-rendered, nothing Chinese left but names, and
    exactly the same screen on the way back."""
    assert os.environ.get("DISPLAY"), "the UI tests need the harness's Xvfb"
    # An emergency notice on the demo's platform reaches the idle screen with the heartbeat.
    store = Store(tmp_path / "d" / "platform")
    store.add_notice("n1", "今日14:00-16:00停水，请合理安排。")
    store.close()
    result = run(
        [sys.executable, str(HERE / "ui_check.py"), str(tmp_path / "report.json")],
        tmp_path,
        UI_CHECK_LANGUAGE=language,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["summary"]["ok"], report["summary"]["error"]
    assert {"identify-refused", "submitting", "result-warning"} <= set(report["checked"])
    assert {"keypad", "pin", "lookup"} <= set(report["checked"])
    assert report["keypad_typed"] == "1101011962"  # the keys were touched, and counted
    assert len(report["checked"]) >= 16, report["checked"]
    assert report["back_from_refusal"] is True
    assert report["violations"] == []
    assert report["warning_shown"] is True
    assert report["warning_seconds"] >= 20
    assert report["continued_after_one_tap"] is True
    assert report["call_staff_confirmation"].startswith("已发出呼叫")
    events = [json.loads(line) for line in report["call_staff_events"]]
    (event,) = [e for e in events if e["kind"] == "call_staff"]
    assert event["screen"] == "result"
    assert report["leftovers"] == []
    assert report["settings_panel_opens"] is False
    assert report["session_after_wipe"] is False
    idle = "\n".join(report["idle_texts"])
    for words in IDLE_WORDS[language]:
        assert words in idle
    # Every screen inspected was switched to the other language and back (but the one with
    # the warning, which a switch would answer).
    assert set(report["switched"]) == set(report["checked"]) - {"result-warning"}
    # A resident who chose English at the rating screen read the closing screen in English;
    # the next resident starts in the default language.
    assert report["closing_in"] == "en"
    assert report["language_at_idle"] == language
    if language == "zh_CN":
        assert report["after_a_double_tap"] == "en"
        assert report["a_minute_later"] == "zh_CN"
    assert len(report["summary"]["transactions"]) == 1  # the double tap made one


def test_kiosk_demo_writes_screens_documents_and_a_summary(xvfb: Service, tmp_path: Path) -> None:
    kiosk = str(Path(sys.executable).with_name("kiosk"))
    result = run([kiosk, "demo", "--out", str(tmp_path / "out")], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "out"
    shots = sorted((out / "screens").glob("*.png"))
    assert len(shots) >= 8
    seen = set()
    for shot in shots:
        with Image.open(shot) as image:
            assert image.size == (1080, 1920)
            colours = image.convert("L").getextrema()
            assert colours[0] != colours[1], f"{shot.name} is blank"
            seen.add(image.tobytes())
    assert len(seen) == len(shots), "screens must be distinct"
    text = subprocess.run(
        ["pdftotext", str(out / "certificate.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "居住证明" in text
    assert (out / "receipt.bin").read_bytes().startswith(b"\x1b@\x1c&")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["printed"] == ["凭条", "居住证明"]
    # One audible WAV per resident screen, its caption what the screen said (no personal data).
    spoken = {
        v["file"].split("-", 1)[1].removesuffix(".wav"): v["caption"] for v in summary["voice"]
    }
    visited = {"idle", "identify", "menu", "form", "confirm", "submitting", "result", "rating"}
    assert visited | {"closing"} <= set(spoken)
    assert sorted(p.name for p in (out / "voice").iterdir()) == [
        v["file"] for v in summary["voice"]
    ]
    for entry in summary["voice"]:
        assert loudest((out / "voice" / entry["file"]).read_bytes()) > 3000, entry["file"]
    assert spoken["idle"] == "您好，请将身份证或社保卡放在下方读卡区。"
    assert spoken["closing"].endswith("请取走您的卡片。")
    assert not any(value in caption for caption in spoken.values() for value in ("测试一", "0316"))
    assert summary["window"] == [1080, 1920]
    assert summary["timings"]["session_s"] > 0


def test_kiosk_demo_without_a_display_says_how_to_get_one(tmp_path: Path) -> None:
    env_display = os.environ.pop("DISPLAY", None)
    try:
        kiosk = str(Path(sys.executable).with_name("kiosk"))
        result = run([kiosk, "demo", "--out", str(tmp_path / "out")], tmp_path)
    finally:
        if env_display is not None:
            os.environ["DISPLAY"] = env_display
    assert result.returncode == 2
    assert "xvfb-run" in result.stderr


def paths(tmp_path: Path, **env: str) -> Any:
    script = [sys.executable, str(HERE / "ui_paths.py"), str(tmp_path / "paths.json")]
    # The queue ticket needs staff: the windows are open, whatever the hour of the run.
    result = run(script, tmp_path, **{"KIOSK_COUNTER_HOURS": "每天 0:00-24:00", **env})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((tmp_path / "paths.json").read_text(encoding="utf-8"))


def test_less_common_paths_through_the_screens(xvfb: Service, tmp_path: Path) -> None:
    report = paths(tmp_path)
    assert report["summary"]["error"] == ""
    # A quick double tap on a category shows its items; it does not also pick the first one.
    assert "居家养老服务预约" in report["after_double_tap"]
    # 返回 on the first question goes back to the items of the same category.
    assert report["back_from_first_question"] == ["menu", "elderly"]
    # Without a card: the keypad checks as it goes, a queue ticket can be had, no certificate.
    assert report["keypad_17"] == ["110101 19620517 031", "还差最后 1 位（可能是数字或 X）。"]
    wrong, disabled = report["keypad_wrong"]
    assert wrong.startswith("× ")
    assert disabled is True
    assert report["keypad_right"] == ["✓ 号码有效，请点击确定。", False]
    assert report["manual_identify"][0] == "您好"
    assert "1101**********0316" in report["manual_identify"][1]
    assert "查询我的办件进度" not in report["manual_menu"]  # a personal query: never typed
    assert report["manual_certificate_buttons"] == []
    assert report["manual_certificates"]
    assert all("本事项需要刷身份证或社保卡办理" in u for u in report["manual_certificates"])
    assert report["manual_ticket"] == ["凭条"]
    # The lookup answers from the platform (online in demo), then 返回 goes back to the menu.
    assert report["lookup"] == ["没有查到您在本机办理过的业务。", ""]
    # An item with no questions goes straight to the confirm screen and commits.
    assert report["no_field_item_screen"] == "confirm"
    assert len(report["no_field_item_committed"]) == 1
    assert report["printed"] == ["凭条"]


def test_a_printer_out_of_paper_makes_its_items_unavailable(xvfb: Service, tmp_path: Path) -> None:
    report = paths(tmp_path, KIOSK_RECEIPT_PRINTER="sim://paper-out")
    assert report["printer_out_of_order"] == {"receipt_printer": "打印机缺纸"}
    unavailable = report["unavailable"]
    assert unavailable, "items that print must be shown as unavailable"
    assert all("暂不可用：打印机缺纸" in u for u in unavailable)
    assert report["no_field_item_screen"] == "menu"  # not offered, so nothing to start


def test_the_touchscreen_flow_with_a_ga467_reader(
    xvfb: Service, pty_pair: Service, tmp_path: Path
) -> None:
    host = pty_pair.env["KIOSK_TEST_PTY_HOST"]
    result = run(
        [sys.executable, str(HERE / "ui_reader.py"), "ga467", str(tmp_path / "r.json")],
        tmp_path,
        KIOSK_READER=f"ga467://{host}?baud=115200",
        KIOSK_TEST_PTY_DEVICE=pty_pair.env["KIOSK_TEST_PTY_DEVICE"],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert summary["ok"], summary["error"]
    assert summary["printed"] == ["凭条", "居住证明"]
    assert len(summary["transactions"]) == 1


def test_the_touchscreen_flow_with_a_pcsc_reader(
    xvfb: Service, pcscd: Service, tmp_path: Path
) -> None:
    result = run(
        [sys.executable, str(HERE / "ui_reader.py"), "pcsc", str(tmp_path / "r.json")],
        tmp_path,
        KIOSK_READER="pcsc://Virtual PCD 00 00",
        KIOSK_TEST_VPCD_PORT=pcscd.env["KIOSK_TEST_VPCD_PORT"],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert summary["ok"], summary["error"]
    assert summary["printed"] == ["凭条", "居住证明"]


def test_paper_out_on_a_real_escpos_driver_then_a_reprint(
    xvfb: Service, pty_pair: Service, tmp_path: Path
) -> None:
    host = pty_pair.env["KIOSK_TEST_PTY_HOST"]
    result = run(
        [sys.executable, str(HERE / "ui_printer.py"), str(tmp_path / "p.json")],
        tmp_path,
        KIOSK_RECEIPT_PRINTER=f"escpos+serial://{host}?baud=9600",
        KIOSK_TEST_PTY_DEVICE=pty_pair.env["KIOSK_TEST_PTY_DEVICE"],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    assert report["summary"]["error"] == ""
    # The resident is told, in plain words; the certificate still came out.
    assert "打印机缺纸。您的业务已经受理，请联系工作人员补打凭条。" in report["result_problems"]
    assert report["printed"] == ["居住证明"]
    assert report["discarded"] == 0  # the driver asked first and sent nothing
    # The printer's own health check says so, and the menu marks printing items unavailable.
    assert report["health"] == ["failed", "consumables", "paper out"]
    assert report["unavailable"]
    assert all("暂不可用：打印机缺纸" in u for u in report["unavailable"])
    # With paper back, staff reprint the receipt from a shell.
    code, out, err = report["reprint"]
    assert (code, err) == (0, ""), out + err
    assert out.strip() == f"{report['number']}: printed 凭条"
    assert report["number"] in report["reprinted"]
    events = [
        json.loads(line)
        for line in (tmp_path / "d" / "events.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    failed = [e for e in events if e["kind"] == "print_failed"]
    assert [(e["number"], e["document"]) for e in failed] == [(report["number"], "receipt")]
    assert [e["number"] for e in events if e["kind"] == "reprinted"] == [report["number"]]


def test_a_staff_member_and_a_technician_at_the_screens(xvfb: Service, tmp_path: Path) -> None:
    # Two residents came before (their transactions can be reprinted), and the platform pushes
    # new counter hours (staff may accept them).
    kiosk = str(Path(sys.executable).with_name("kiosk"))
    assert run([kiosk, "soak", "--sessions", "2", "--seed", "3"], tmp_path).returncode == 0
    pushed = tmp_path / "d" / "platform" / "push-config.json"
    pushed.parent.mkdir(parents=True, exist_ok=True)
    pushed.write_text(json.dumps({"kiosk.counter_hours": "每天 8:00-20:00"}), encoding="utf-8")
    script = [sys.executable, str(HERE / "ui_staff.py"), str(tmp_path / "staff.json")]
    result = run(script, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "staff.json").read_text(encoding="utf-8"))
    assert report["summary"]["error"] == ""
    assert report["after_a_short_press"] == "idle"  # a resident's stray touches open nothing
    # Time limits twice as long, in effect at once; the queue ticket off, with where to go.
    assert report["settings_message"] == "已保存，立即生效。"
    assert report["multiplier_in_effect"] == 2.0
    assert (report["ticket_on_before"], report["ticket_on_after"]) == (True, False)
    assert report["ticket_unavailable"].startswith("暂停办理：工作人员已暂停本事项")
    # The queue: what the two earlier residents left can be reprinted; the platform's hours
    # were accepted and are shown at once.
    assert len(report["reprint_buttons"]) == 2
    assert report["reprint_message"].startswith("已补打 "), report["reprint_message"]
    assert report["typed_reprint_message"].startswith("已补打 ")
    assert report["unknown_reprint_message"] == (
        "未能补打：there is no transaction DEMO-0001-NOPE on this kiosk"
    )
    assert report["sync_message"].startswith("已通知上传")
    assert report["accept_message"] == "已接受平台配置，立即生效。"
    assert report["counter_hours"] == "每天 8:00-20:00"
    assert report["screen_with_card_in_staff"] == "staff"
    assert report["after_logout_with_card"] == "请先取走卡片，再重新放置，开始新的业务。"
    # The technician: the automatic checks, then the three that need a person.
    assert report["automatic"]["platform"] is True
    assert report["automatic"]["outbox"] is True
    assert report["interactive"] == {
        "touch grid": True,
        "speaker": True,
        "colour and contrast chart": True,
    }
    data = tmp_path / "d"
    kept = json.loads((data / "selftest.json").read_text(encoding="utf-8"))
    assert {c["name"] for c in kept["checks"] if c["level"] == "interactive"} == {
        "touch grid",
        "speaker",
        "colour and contrast chart",
    }
    # Every change is in the audit log, in order, in an unbroken chain; and read back at start.
    lines = read_audit(data)
    assert [(a["action"], a.get("setting"), a.get("before"), a.get("after")) for a in lines] == [
        ("login", None, None, None),
        ("set", "session.time_multiplier", 1.0, 2.0),
        ("set", "kiosk.items_off", [], ["queue-ticket"]),
        ("reprint", None, None, None),
        ("reprint", None, None, None),
        ("reprint", None, None, None),
        ("sync_now", None, None, None),
        ("set", "kiosk.counter_hours", "工作日 8:30-12:00，14:00-17:30", "每天 8:00-20:00"),
        ("selftest", None, None, None),
        ("logout", None, None, None),
    ]
    assert [a["ok"] for a in lines[3:6]] == [True, True, False]  # the unknown number
    assert lines[8]["ok"] is True
    assert lines[7]["who"] == "platform, accepted by staff"
    assert verify_audit(data) is None
    again = load_config(
        None, demo=True, environ={"HOME": str(tmp_path), "KIOSK_DATA_DIR": str(data)}
    )
    assert again.session.time_multiplier == 2.0
    assert again.kiosk.items_off == ("queue-ticket",)


def test_a_staff_member_sets_the_kiosk_up_at_the_screens(xvfb: Service, tmp_path: Path) -> None:
    script = [sys.executable, str(HERE / "ui_setup.py"), str(tmp_path / "setup.json")]
    result = run(script, tmp_path, KIOSK_CERTIFICATE_PRINTER=f"pdf-dir://{tmp_path / 'pdf'}")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "setup.json").read_text(encoding="utf-8"))
    assert report["summary"]["error"] == ""
    # The last elderly item moved up one place, in the menu at once.
    first, second, third = report["elderly_before"]
    assert report["elderly_after"] == [first, third, second]
    # Hours set with buttons: every day, 9:00 to 17:30, shown in both languages at once.
    assert report["hours_shown"] == "工作日 8:30-12:00，14:00-17:30"
    assert report["counter_hours"] == "每天 9:00-17:30"
    assert report["counter_hours_en"] == "Daily 9:00-17:30"
    # A printer that is not there fails its try, names itself, and cannot be saved.
    assert report["absent_printer"].startswith(
        "× receipt printer escpos+tcp://127.0.0.1:9：cannot be opened: cannot connect"
    )
    assert report["absent_printer_save"] == "请先点“试一试”，通过后再保存。"
    spool = tmp_path / "receipts.bin"
    assert report["file_printer"].startswith(f"✓ receipt printer escpos+file://{spool}：")
    assert report["file_printer_save"] == "已保存，重新启动后生效。点下方“重新启动”立即生效。"
    assert report["printer_in_use"] == "sim://"  # the running kiosk keeps what it opened
    assert report["restart_offered"] == report["restart_after_return"] == "重新启动"
    assert report["field_after_return"] == f"escpos+file://{spool}"
    assert report["result_after_return"] == "已保存，重新启动后生效。"
    assert "使用 模拟小票打印机（演示）：sim://" in report["receipt_offers"]
    assert report["picked"] == "sim://"
    assert report["environment_printer"] == (
        "× devices.certificate_printer 由环境变量 KIOSK_CERTIFICATE_PRINTER 设定，在此保存无效。"
    )
    assert report["demo_platform"] == "× 演示模式使用本机的演示平台，平台地址和本机编号不能更改。"
    # The hall's name is shown, not changed; an opaque seal is refused, a clear one copied in.
    assert "大厅名称：演示社区服务站" in report["hall_text"]
    assert report["opaque_message"] == "未能使用：图片没有透明背景，会遮住证明上的文字。"
    data = tmp_path / "d"
    seal = data / "admin" / report["seal_image"].rsplit("/", 1)[-1]
    assert report["seal_image"] == str(seal)
    assert seal.name.startswith("seal-")
    assert seal.read_bytes() == (data / "admin" / "seals" / "clear.png").read_bytes()
    assert report["exit_status"] == 75  # kiosk run starts again with the new printer
    lines = read_audit(data)
    assert [(a["action"], a.get("setting"), a.get("before"), a.get("after")) for a in lines] == [
        ("login", None, None, None),
        ("set", "kiosk.items_order", [], lines[1]["after"]),  # the whole menu: below
        ("set", "kiosk.counter_hours", "工作日 8:30-12:00，14:00-17:30", "每天 9:00-17:30"),
        ("set", "devices.receipt_printer", "sim://", f"escpos+file://{spool}"),
        ("set", "kiosk.seal_image", "", str(seal)),
        ("restart", None, None, None),
    ]
    assert [c for c in lines[1]["after"] if c in (first, second, third)] == [first, third, second]
    assert verify_audit(data) is None
    again = load_config(
        None, demo=True, environ={"HOME": str(tmp_path), "KIOSK_DATA_DIR": str(data)}
    )
    assert again.kiosk.counter_hours == "每天 9:00-17:30"
    assert again.kiosk.seal_image == str(seal)
    assert again.devices.receipt_printer == f"escpos+file://{spool}"
    assert again.kiosk.items_order == tuple(lines[1]["after"])


def test_a_reader_that_cannot_be_opened_is_said_on_the_idle_screen(
    xvfb: Service, tmp_path: Path
) -> None:
    script = [sys.executable, str(HERE / "ui_idle.py"), str(tmp_path / "idle.json")]
    result = run(script, tmp_path, KIOSK_READER="ga467:///dev/no-such-reader")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "idle.json").read_text(encoding="utf-8"))
    assert report["summary"]["error"] == ""
    words = (
        "读卡器暂时无法使用。没带卡可输入身份证号码办理排队取号等事项，其他业务请到人工窗口办理。"
    )
    assert report["problem"] == "⚠" + words
    assert report["spoken"] == words  # said aloud too, for a resident who cannot read it
    assert report["manual_entry_offered"] is True  # what can still be done
    events = (tmp_path / "d" / "events.jsonl").read_text(encoding="utf-8")
    assert [json.loads(e)["kind"] for e in events.splitlines()].count("reader_down") == 1
