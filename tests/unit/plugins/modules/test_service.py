# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The service module against a stand-in for supervisorctl and systemctl: files written only
when they differ, and the service manager asked to act only when something needs it."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.meshfabric.mesh.plugins.modules import service

PROGRAM = "[program:cp]\ncommand=/opt/cp run\n"
CONFIG = "[supervisord]\npidfile=/run/sd.pid\n"
UNIT = "[Service]\nExecStart=/opt/cp run\n"


class FakeManager:
    """supervisord and systemd as the module sees them through run_command: `questions` and
    `acts` record the verbs it asked and the ones that change something."""

    QUESTIONS = ("pid", "status", "is-enabled", "is-active")

    def __init__(self) -> None:
        self.supervisord_runs = False
        self.program_runs = False
        self.unit_enabled = False
        self.unit_active = False
        self.questions: list[str] = []
        self.acts: list[str] = []

    def run_command(self, argv: list[str]) -> tuple[int, str, str]:
        program = Path(argv[0]).name
        # supervisorctl -c CONFIG VERB [NAME], systemctl VERB [NAME], supervisord -c CONFIG
        verb = program if program == "supervisord" else argv[3 if program == "supervisorctl" else 1]
        (self.questions if verb in self.QUESTIONS else self.acts).append(verb)
        if program == "systemctl":
            return self.systemctl(verb)
        return self.supervisor(verb)

    def supervisor(self, verb: str) -> tuple[int, str, str]:
        if verb == "supervisord":
            self.supervisord_runs = self.program_runs = True
            return 0, "", ""
        if not self.supervisord_runs:
            return 7, "unix:///run/supervisor.sock no such file", ""
        if verb == "pid":
            return (0, "42", "") if self.program_runs else (7, "0", "")
        if verb == "status":
            return 0, "cp  RUNNING   pid 42" if self.program_runs else "cp  STOPPED", ""
        self.program_runs = True
        return 0, "cp: started", ""

    def systemctl(self, verb: str) -> tuple[int, str, str]:
        if verb == "is-enabled":
            return (0, "enabled", "") if self.unit_enabled else (1, "disabled", "")
        if verb == "is-active":
            return (0, "active", "") if self.unit_active else (3, "inactive", "")
        self.unit_enabled = self.unit_enabled or verb == "enable"
        self.unit_active = self.unit_active or verb in ("start", "restart")
        return 0, "", ""

    def forget(self) -> None:
        self.questions.clear()
        self.acts.clear()


@pytest.fixture
def manager(monkeypatch: pytest.MonkeyPatch) -> FakeManager:
    fake = FakeManager()
    monkeypatch.setattr(
        AnsibleModule, "run_command", lambda self, argv, **kw: fake.run_command(argv)
    )
    monkeypatch.setattr(AnsibleModule, "get_bin_path", lambda self, name, **kw: f"/usr/bin/{name}")
    return fake


def run(
    capsys: pytest.CaptureFixture[str], check_mode: bool = False, diff: bool = False, **options: Any
) -> dict[str, Any]:
    args = {**options, "_ansible_check_mode": check_mode, "_ansible_diff": diff}
    with patch_module_args(args), pytest.raises(SystemExit):
        service.main()
    return dict(json.loads(capsys.readouterr().out))


def supervised(directory: Path, program: str = PROGRAM, config: str = CONFIG) -> dict[str, Any]:
    return {
        "name": "cp",
        "manager": "supervisord",
        "definition": program,
        "supervisord_config": config,
        "supervisor_dir": str(directory),
    }


class TestSupervisord:
    def test_first_run_writes_and_starts_supervisord(
        self, manager: FakeManager, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        result = run(capsys, **supervised(tmp_path / "sv"))
        assert result["changed"]
        assert (tmp_path / "sv" / "conf.d" / "cp.conf").read_text() == PROGRAM
        assert (tmp_path / "sv" / "supervisord.conf").read_text() == CONFIG
        assert (tmp_path / "sv" / "log").is_dir()
        assert manager.acts == ["supervisord", "update"]

    def test_second_run_only_asks(
        self, manager: FakeManager, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        run(capsys, **supervised(tmp_path))
        manager.forget()
        result = run(capsys, **supervised(tmp_path))
        assert not result["changed"] and result["commands"] == []
        assert manager.questions == ["pid"]

    def test_changed_config_reloads_and_changed_program_updates(
        self, manager: FakeManager, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        run(capsys, **supervised(tmp_path))
        manager.forget()
        config = CONFIG + "; more\n"
        run(capsys, **supervised(tmp_path, config=config))
        run(capsys, **supervised(tmp_path, program=PROGRAM + "user=cp\n", config=config))
        assert manager.acts == ["reload", "update"]

    def test_stopped_program_is_started(
        self, manager: FakeManager, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        run(capsys, **supervised(tmp_path))
        manager.program_runs = False
        manager.forget()
        assert run(capsys, **supervised(tmp_path))["changed"]
        assert manager.acts == ["start"]

    def test_check_mode_reports_and_changes_nothing(
        self, manager: FakeManager, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        run(capsys, **supervised(tmp_path))
        manager.forget()
        changed = PROGRAM + "user=cp\n"
        result = run(capsys, check_mode=True, diff=True, **supervised(tmp_path, program=changed))
        assert result["changed"] and len(result["commands"]) == 1
        assert result["commands"][0].endswith("update cp")
        assert [(d["before"], d["after"]) for d in result["diff"]] == [(PROGRAM, changed)]
        assert (tmp_path / "conf.d" / "cp.conf").read_text() == PROGRAM
        assert manager.acts == []

    def test_check_mode_before_the_first_run_writes_nothing(
        self, manager: FakeManager, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        result = run(capsys, check_mode=True, **supervised(tmp_path / "sv"))
        assert result["changed"] and result["commands"][0].startswith("/usr/bin/supervisord")
        assert not (tmp_path / "sv").exists()

    def test_supervisord_config_is_required(
        self, manager: FakeManager, capsys: pytest.CaptureFixture[str]
    ) -> None:
        result = run(capsys, name="cp", manager="supervisord", definition=PROGRAM)
        assert result["failed"] and "supervisord_config" in result["msg"]


class TestSystemd:
    def test_unit_written_enabled_started_then_left_alone(
        self, manager: FakeManager, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        options = {
            "name": "cp",
            "manager": "systemd",
            "definition": UNIT,
            "unit_dir": f"{tmp_path}",
        }
        first = run(capsys, **options)
        assert first["changed"] and (tmp_path / "cp.service").read_text() == UNIT
        assert manager.acts == ["daemon-reload", "enable", "restart"]
        manager.forget()
        assert not run(capsys, **options)["changed"]
        assert manager.acts == []


@pytest.fixture
def answering() -> Iterator[str]:
    """An HTTP server on the loopback that answers 503 twice, then 200: its /ready URL."""
    answers = iter([503, 503])

    class Ready(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(next(answers, 200))
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ready)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/ready"
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class TestReadiness:
    def test_waits_until_the_url_answers_200(
        self, manager: FakeManager, tmp_path: Path, answering: str,
        capsys: pytest.CaptureFixture[str],
    ) -> None:  # fmt: skip
        result = run(capsys, ready_url=answering, **supervised(tmp_path))
        assert "failed" not in result and result["ready_after"] >= 0.2  # two 503s, 0.2 s apart

    def test_fails_naming_the_url_that_never_answers(
        self, manager: FakeManager, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        url = f"tcp://127.0.0.1:{closed_port()}"
        result = run(capsys, ready_url=url, ready_timeout=1, **supervised(tmp_path))
        assert result["failed"] and result["msg"].startswith(f"{url} did not answer within 1 s")

    def test_check_mode_does_not_wait(
        self, manager: FakeManager, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        url = f"tcp://127.0.0.1:{closed_port()}"
        result = run(capsys, check_mode=True, ready_url=url, **supervised(tmp_path))
        assert "failed" not in result and "ready_after" not in result
