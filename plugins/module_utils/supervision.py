# Copyright: (c) 2026, meshfabric maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A long-running program under systemd or under a supervisord of its own per host.

Its definition files are written only when they differ, and the service manager is asked to
start, reload or restart only what needs it, so that a run that changes nothing costs one
question to the service manager. In check mode nothing is written or run but that question.
"""

from __future__ import annotations

import os
import socket
import time
import urllib.error
import urllib.parse

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

from ansible_collections.meshfabric.mesh.plugins.module_utils.host_files import (
    HostFiles,
    Outcome,
)

# supervisorctl pid exits with this status when supervisord has no such program.
NO_SUCH_PROGRAM = 1
RUNNING_STATES = ("RUNNING", "STARTING")


class ServiceManager:
    """Asks the service manager questions, also in check mode, and runs the commands that
    change something, recording each; in check mode those are recorded only."""

    def __init__(self, module: AnsibleModule, outcome: Outcome) -> None:
        self.module = module
        self.outcome = outcome
        # Messages are matched below: keep them in the C locale.
        module.run_command_environ_update = {"LANG": "C", "LC_ALL": "C", "LC_MESSAGES": "C"}

    def ask(self, argv: list[str]) -> tuple[int, str]:
        """A question that changes nothing: asked in check mode too."""
        rc, out, _err = self.module.run_command(argv)
        return rc, out.strip()

    def act(self, argv: list[str]) -> str:
        """A command that changes something: recorded, run unless in check mode."""
        self.outcome.changed = True
        self.outcome.commands.append(" ".join(argv))
        if self.module.check_mode:
            return ""
        _rc, out, _err = self.module.run_command(argv, check_rc=True)
        return str(out)


def run_under_supervisord(
    module: AnsibleModule, name: str, program: str, config: str, supervisor_dir: str
) -> Outcome:
    """The program `name` defined by `program` in the supervisord of `supervisor_dir`, which
    `config` configures: supervisord started when it does not run, reloaded when `config`
    changed; the program added or restarted when its definition changed, started when it
    does not run."""
    outcome = Outcome()
    files = HostFiles(module, outcome)
    for directory in ("", "conf.d", "log"):
        files.directory(os.path.join(supervisor_dir, directory).rstrip("/"))
    config_file = os.path.join(supervisor_dir, "supervisord.conf")
    config_changed = files.content(config_file, config)
    program_changed = files.content(os.path.join(supervisor_dir, "conf.d", f"{name}.conf"), program)

    manager = ServiceManager(module, outcome)
    supervisorctl = [module.get_bin_path("supervisorctl", required=True), "-c", config_file]
    # The program's pid; 0 (exit status 7) when it does not run, "No such process" (exit
    # status 1) when supervisord has no such program, an error (7) when supervisord does not run.
    rc, pid = manager.ask([*supervisorctl, "pid", name])
    if not (rc == NO_SUCH_PROGRAM or pid.isdigit()):
        manager.act([module.get_bin_path("supervisord", required=True), "-c", config_file])
    elif config_changed:
        manager.act([*supervisorctl, "reload"])
    # update adds a new program and restarts one whose definition changed.
    if program_changed:
        manager.act([*supervisorctl, "update", name])
    if rc != 0 or config_changed or program_changed:
        start_program(manager, supervisorctl, name)
    return outcome


def start_program(manager: ServiceManager, supervisorctl: list[str], name: str) -> None:
    """Start the program unless it runs. A real run asks again, as the commands before most
    likely started it; in check mode, it would be started when no command before would."""
    if manager.module.check_mode:
        if manager.outcome.commands:
            return
    else:
        _rc, status = manager.ask([*supervisorctl, "status", name])
        fields = status.split()
        if len(fields) > 1 and fields[1] in RUNNING_STATES:
            return
    out = manager.act([*supervisorctl, "start", name])
    if not manager.module.check_mode and f"{name}: started" not in out:
        manager.module.fail_json(msg=f"supervisorctl could not start {name}: {out}")


def run_under_systemd(module: AnsibleModule, name: str, unit: str, unit_dir: str) -> Outcome:
    """The unit `name`.service defined by `unit` in `unit_dir`, enabled and active; restarted
    (after a daemon-reload) when its definition changed."""
    outcome = Outcome()
    unit_file = os.path.join(unit_dir, f"{name}.service")
    unit_changed = HostFiles(module, outcome).content(unit_file, unit)
    manager = ServiceManager(module, outcome)
    systemctl = module.get_bin_path("systemctl", required=True)
    if unit_changed:
        manager.act([systemctl, "daemon-reload"])
    if manager.ask([systemctl, "is-enabled", name])[1] != "enabled":
        manager.act([systemctl, "enable", name])
    if unit_changed:
        manager.act([systemctl, "restart", name])
    elif manager.ask([systemctl, "is-active", name])[1] != "active":
        manager.act([systemctl, "start", name])
    return outcome


def wait_until_ready(module: AnsibleModule, url: str, timeout: float) -> float:
    """Until `url` answers: an http:// URL with status 200, a tcp://HOST:PORT by accepting a
    connection. The seconds it took; fails the module after `timeout` seconds."""
    parsed = urllib.parse.urlsplit(url)
    started = time.monotonic()
    last = "no answer"
    while time.monotonic() - started < timeout:
        try:
            if parsed.scheme == "tcp":
                socket.create_connection((parsed.hostname, parsed.port), timeout=2).close()
                return time.monotonic() - started
            with open_url(url, timeout=2) as answer:
                if answer.status == 200:
                    return time.monotonic() - started
                last = f"status {answer.status}"
        except urllib.error.HTTPError as error:
            last = f"status {error.code}"
        except OSError as error:
            last = str(error)
        time.sleep(0.2)
    module.fail_json(msg=f"{url} did not answer within {timeout:.0f} s: {last}")
    raise AssertionError("unreachable")  # fail_json exits
