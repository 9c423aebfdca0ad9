# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the Windows contract test (tests/integration/windows_contract).

``windows_lab``: a throw-away collection ``ansible.windows`` made of the stand-ins of
``standin_windows.py`` (first in the collections path, the real one is not scanned), a folder standing
for the Windows disks, an inventory of hosts that present themselves as Windows
(``ansible_connection: local``, ``ansible_shell_type: powershell``), real PEC simulators whose install
folders are the mapped Windows folders, and helpers to run the collection's playbooks and read what the
stand-ins recorded.

The shared fixtures (test CA, PKCS#12 factory, ansible-playbook runner) come from tests/conftest.py and
tests/integration/conftest.py; the simulators from tests/pec_simulator/harness.py, loaded by path.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import shutil
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[2]
PLAYBOOKS = REPO / "playbooks"


def _load(name, path):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, str(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_SIM = _load("esus_rnds_simulator_harness", REPO / "tests" / "pec_simulator" / "harness.py")
_FLEET = _load("esus_rnds_demo_fleet", REPO / "tests" / "demo" / "fleet.py")
STANDIN = _load("esus_rnds_standin_windows", HERE / "standin_windows.py")

# The simulator fixture, re-exported so pytest finds it here.
sim_factory = _SIM.sim_factory
cpf = _SIM.cpf
format_cpf = _SIM.format_cpf

ACTION_TEMPLATE = '''# Test-only stand-in (tests/integration/windows_contract/standin_windows.py)
from ansible_collections.ansible.windows.plugins.plugin_utils._standin import {cls} as ActionModule  # noqa: F401
'''


def real_windows_docs():
    """Folder of the real ansible.windows modules (their documentation is the contract the stand-ins check)."""
    candidates = [p for p in os.environ.get("ESUS_EXTRA_COLLECTIONS_PATH", "").split(os.pathsep) if p] + sys.path
    for base in candidates:
        path = pathlib.Path(base) / "ansible_collections" / "ansible" / "windows" / "plugins" / "modules"
        if (path / "win_acl.py").is_file():
            return path
    pytest.fail("a coleção ansible.windows (pacote ansible do PyPI, requirements.txt) não foi encontrada: o teste "
                "confere os argumentos com a documentação dos módulos reais")
    return None


class WindowsLab(object):
    """Hosts that present themselves as Windows, the stand-ins' log and the mapped disks."""

    def __init__(self, root, run_ansible_fixture, sim_factory_fixture, collections_root):
        self.root = pathlib.Path(root)
        self.collections_root = str(collections_root)
        self.run_ansible = run_ansible_fixture
        self.sim_factory = sim_factory_fixture
        self.disks = self.root / "disks"
        self.disks.mkdir(parents=True)
        self.log = self.root / "standin.jsonl"
        self.reports = self.root / "reports"
        self.collections = self.root / "collections"
        windows = self.collections / "ansible_collections" / "ansible" / "windows" / "plugins"
        (windows / "plugin_utils").mkdir(parents=True)
        (windows / "action").mkdir()
        shutil.copyfile(str(HERE / "standin_windows.py"), str(windows / "plugin_utils" / "_standin.py"))
        for module, cls in STANDIN.STANDINS.items():
            (windows / "action" / (module + ".py")).write_text(ACTION_TEMPLATE.format(cls=cls), encoding="utf-8")
        self.docs = real_windows_docs()
        self.hosts = {}
        self.sims = {}

    # {host: {"ok", "changed", "unreachable", "failed"}} from the PLAY RECAP of an ansible-playbook output.
    recap = staticmethod(_FLEET.recap)

    @staticmethod
    def admin(seed):
        """A valid CPF, with punctuation (as an inventory has it)."""
        return format_cpf(cpf(seed))

    def local(self, win_path):
        """The local folder standing for a Windows path."""
        return pathlib.Path(STANDIN.local_path(win_path, str(self.disks)))

    def add_host(self, name, install_dir, admins, municipios, **hostvars):
        """A Windows PEC server: its install folder exists (with webserver) and a simulator serves it."""
        local = self.local(install_dir)
        (local / "webserver").mkdir(parents=True)
        sim = self.sim_factory(install_dir=local, admins=admins, municipios=municipios)
        self.sims[name] = sim
        entry = dict(ansible_connection="local", ansible_shell_type="powershell",
                     ansible_python_interpreter=sys.executable, rnds_pec_url=sim.url)
        entry.update(hostvars)
        self.hosts[name] = entry
        return sim

    def inventory(self):
        path = self.root / "inventory.json"
        path.write_text(json.dumps({"all": {"hosts": self.hosts, "vars": {"rnds_report_dir": str(self.reports)}}},
                                   ensure_ascii=False), encoding="utf-8")
        return path

    def playbook(self, name, *args):
        env = {
            "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([str(self.collections), self.collections_root]),
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "False",
            STANDIN.LOG_ENV: str(self.log),
            STANDIN.ROOT_ENV: str(self.disks),
            STANDIN.DOCS_ENV: str(self.docs),
        }
        proc = self.run_ansible("ansible-playbook", "-i", self.inventory(), str(PLAYBOOKS / name), *args,
                                env_extra=env, timeout=600)
        return proc

    def records(self):
        if not self.log.exists():
            return []
        with open(str(self.log), encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def clear_records(self):
        if self.log.exists():
            self.log.unlink()

    def tree(self):
        """Every entry of the mapped ``webserver`` folders (bytes of files), and the ACLs: what a run may change."""
        out = {"acl-state.json": self.acls()}
        for webserver in sorted(self.disks.rglob("webserver")):
            for path in sorted(webserver.rglob("*")):
                out[str(path.relative_to(self.disks))] = path.read_bytes() if path.is_file() else None
        return out

    def acls(self):
        path = self.disks / "acl-state.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


@pytest.fixture
def windows_lab(tmp_path, run_ansible, sim_factory, collections_path):  # pylint: disable=redefined-outer-name
    return WindowsLab(tmp_path / "windows", run_ansible, sim_factory, collections_path)
