"""The collection's playbooks run on a lab, as onto real machines: the lab's hosts reached over
SSH with its inventory, the playbooks run from a copy beside it. `make demo` deploys its mesh
this way; the collection's integration tests and bench/ansible_bench.py too.

The lab's hosts share the machine's file system, so each host gets its own directories (as
separate machines would have) through group_vars next to the inventory: what a real host
keeps in /opt, /etc and /var/lib, one lab host keeps in `<work>/hosts/<inventory name>/`.
The roles run everything under supervisord there (lab hosts have no systemd).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from meshfabric.lab.inventory import inventory
from meshfabric.lab.lab import Lab

BIN = Path(sys.executable).parent
# What the collection is made of, in a checkout (galaxy.yml's build_ignore keeps the rest out).
COLLECTION_PATHS = ("galaxy.yml", "meta", "plugins", "roles", "playbooks", "COLLECTION.md")
GLOBAL_CONTROL_PLANE = "control-plane.global"
INBOUND: dict[str, Any] = {
    "port": 20001, "servicePort": 8080, "tags": {"kuma.io/service": "flight-control"}
}  # fmt: skip


def copy_collection(checkout: Path, root: Path) -> Path:
    """The checkout's collection as `root/ansible_collections/meshfabric/mesh`, for
    ANSIBLE_COLLECTIONS_PATH=root: neither an installed copy nor one in ~/.ansible shadows it."""
    dest = root / "ansible_collections" / "meshfabric" / "mesh"
    dest.mkdir(parents=True)
    for name in COLLECTION_PATHS:
        source = checkout / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, dest / name)
    return root


# Where each lab host keeps what a real host would keep in /opt, /etc and /var/lib.
GROUP_VARS = {
    "meshfabric_zone": "{{ zone }}",
    "lab_host_root": "{{ lab_hosts_dir }}/{{ inventory_hostname }}",
    "control_plane_venv_dir": "{{ lab_host_root }}/opt/control-plane",
    "control_plane_config_dir": "{{ lab_host_root }}/etc/control-plane",
    "control_plane_data_dir": "{{ lab_host_root }}/var/lib/control-plane",
    "control_plane_supervisor_dir": "{{ lab_host_root }}/etc/supervisor",
    "control_plane_system_user": "root",
    "control_plane_system_group": "root",
    "dataplane_venv_dir": "{{ lab_host_root }}/opt/dataplane",
    "dataplane_config_dir": "{{ lab_host_root }}/etc/dataplane",
    "dataplane_work_dir": "{{ lab_host_root }}/var/lib/dataplane",
    "dataplane_supervisor_dir": "{{ lab_host_root }}/etc/supervisor",
    "dataplane_system_user": "root",
    "dataplane_system_group": "root",
    "dataplane_inbounds": [INBOUND],
    "zone_ingress_venv_dir": "{{ lab_host_root }}/opt/zone-ingress",
    "zone_ingress_config_dir": "{{ lab_host_root }}/etc/zone-ingress",
    "zone_ingress_work_dir": "{{ lab_host_root }}/var/lib/zone-ingress",
    "zone_ingress_supervisor_dir": "{{ lab_host_root }}/etc/supervisor",
    "zone_ingress_system_user": "root",
    "zone_ingress_system_group": "root",
    "zone_egress_venv_dir": "{{ lab_host_root }}/opt/zone-egress",
    "zone_egress_config_dir": "{{ lab_host_root }}/etc/zone-egress",
    "zone_egress_work_dir": "{{ lab_host_root }}/var/lib/zone-egress",
    "zone_egress_supervisor_dir": "{{ lab_host_root }}/etc/supervisor",
    "zone_egress_system_user": "root",
    "zone_egress_system_group": "root",
    # The zone control planes' metrics, for the telemetry role's Prometheus on global's host.
    "control_plane_diagnostics_address": "0.0.0.0",
    "telemetry_config_dir": "{{ lab_host_root }}/etc/telemetry",
    "telemetry_data_dir": "{{ lab_host_root }}/var/lib/telemetry",
    "telemetry_dashboards_dir": "{{ lab_host_root }}/var/lib/grafana/dashboards",
    "telemetry_log_file": "{{ lab_host_root }}/var/log/meshfabric/access.log",
    "telemetry_supervisor_dir": "{{ lab_host_root }}/etc/supervisor",
    "telemetry_system_user": "root",
    "telemetry_scrape_interval": "1s",
    "telemetry_discovery_refresh_interval": "1s",
}


@dataclass
class Run:
    returncode: int
    report: dict[str, Any]
    output: str

    def changed(self) -> dict[str, int]:
        return {host: stats["changed"] for host, stats in self.report["stats"].items()}

    def failures(self) -> list[str]:
        """The message of every failed task result, and of each failed item of a loop."""
        failed = [
            result
            for play in self.report["plays"]
            for task in play["tasks"]
            for result in task["hosts"].values()
            if result.get("failed")
        ]
        items = [item for result in failed for item in result.get("results", [])]
        return [str(result.get("msg", "")) for result in failed + items if result.get("failed")]


@dataclass
class Deployment:
    """A lab with the collection's inventory, group_vars and playbooks in `work`."""

    lab: Lab
    work: Path
    hosts_dir: Path
    env: dict[str, str]

    def site(self, *args: str) -> Run:
        return self.playbook("site.yml", *args)

    def playbook(self, name: str, *args: str) -> Run:
        """One of the collection's playbooks, its JSON report and all it printed."""
        env = {**self.env, "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}
        done = subprocess.run(
            self.command(name, *args),
            env=env,
            capture_output=True,
            text=True,
            timeout=2400,
            check=False,
        )
        report = json.loads(done.stdout) if done.stdout.lstrip().startswith("{") else {}
        return Run(done.returncode, report, done.stdout + done.stderr)

    def command(self, name: str, *args: str) -> list[str]:
        """ansible-playbook of one of the collection's playbooks, run from the copy beside the
        inventory, as a user runs them."""
        return [str(BIN / "ansible-playbook"), "-i", str(self.inventory),
                str(self.work / "playbooks" / name), *args]  # fmt: skip

    @property
    def inventory(self) -> Path:
        return self.work / "inventory"

    def credential(self, host: str, name: str) -> Path:
        """A file a control plane's role fetched back to the controller (admin-token,
        kds-ca.crt, xds-ca.crt)."""
        return self.work / "playbooks" / "credentials" / host / name

    def host_root(self, host: str) -> Path:
        """What the host keeps where a real host keeps /opt, /etc and /var."""
        return self.hosts_dir / host

    def supervisorctl(self, host: str, *args: str) -> str:
        """supervisorctl of the roles' supervisord in `host`: `stop NAME`, `pid NAME`..."""
        config = self.host_root(host) / "etc" / "supervisor" / "supervisord.conf"
        done = self.lab.host(self.lab_key(host)).run(
            ["supervisorctl", "-c", str(config), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return str(done.stdout).strip()

    def api(self, host: str, path: str, token_of: str | None = None) -> Any:
        """GET path from the control plane on `host`, asked from inside that host."""
        token = self.credential(token_of or host, "admin-token")
        done = self.lab.host(self.lab_key(host)).run(
            ["curl", "-sf", "-H", f"Authorization: Bearer {token.read_text().strip()}",
             f"http://127.0.0.1:5681{path}"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def put(self, host: str, path: str, body: dict[str, Any]) -> None:
        """PUT `body` at path on the control plane on `host`, from inside that host."""
        token = self.credential(host, "admin-token")
        done = self.lab.host(self.lab_key(host)).run(
            ["curl", "-sf", "-X", "PUT", "-H", f"Authorization: Bearer {token.read_text().strip()}",
             "-H", "content-type: application/json", "--data-binary", json.dumps(body),
             f"http://127.0.0.1:5681{path}"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"PUT {path}: curl exit {done.returncode} {done.stdout}"

    def installed_version(self, host: str, venv: str) -> str:
        """The meshfabric version in the virtualenv `venv` (opt/...) of `host`.

        Asked in isolated mode (-I): the PYTHONPATH a checkout's tests run with would otherwise
        lead to the checkout's own meshfabric.egg-info, whatever the virtualenv holds."""
        python = self.host_root(host) / venv / "bin" / "python"
        done = subprocess.run(
            [str(python), "-I", "-c",
             "import importlib.metadata as m; print(m.version('meshfabric'))"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return done.stdout.strip()

    def host_vars(self, host: str, variables: dict[str, Any]) -> None:
        (self.inventory / "host_vars" / f"{host}.yml").write_text(yaml.safe_dump(variables))

    @staticmethod
    def lab_key(inventory_name: str) -> str:
        name, zone = inventory_name.split(".", 1)
        return f"{zone}/{name}"


def deploy_from(checkout: Path, lab: Lab, collections: Path, work: Path) -> Deployment:
    """The lab's inventory and group_vars in `work/inventory`, and the checkout's playbooks
    beside them (their credentials/ and the wheelhouse land next to them); the control plane
    is built from the checkout, the collection found in `collections` (`copy_collection`)."""
    shutil.copytree(checkout / "playbooks", work / "playbooks")
    hosts_dir = work / "hosts"
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
        "ANSIBLE_HOME": str(work / "ansible-home"),
        "ANSIBLE_PIPELINING": "1",
        # site.yml deploys the proxies and telemetry side by side: every host at once.
        "ANSIBLE_FORKS": "16",
        "ANSIBLE_NOCOLOR": "1",
    }
    deployment = Deployment(lab, work, hosts_dir, env)
    (deployment.inventory / "group_vars").mkdir(parents=True)
    (deployment.inventory / "host_vars").mkdir()
    (deployment.inventory / "lab.yml").write_text(yaml.safe_dump(inventory(lab), sort_keys=False))
    wheelhouse = str(work / "wheelhouse")
    group_vars = {
        **GROUP_VARS,
        "lab_hosts_dir": str(hosts_dir),
        "control_plane_source_dir": str(checkout),
        **{f"{role}_wheelhouse_dir": wheelhouse
           for role in ("control_plane", "dataplane", "zone_ingress", "zone_egress")},
    }  # fmt: skip
    (deployment.inventory / "group_vars" / "all.yml").write_text(yaml.safe_dump(group_vars))
    return deployment
