# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for the playbook-level tests of esus.rnds.pec_certificate and esus.rnds.certificate.

Every "server" is a host with ``ansible_connection: local`` whose PEC installation is a temporary
folder (``<tmp>/<host>/webserver``). The tests run the playbooks of this folder for real with
``ansible-playbook`` (through the ``run_ansible`` fixture of tests/integration/conftest.py).
tests/integration/plugins/conftest.py puts this folder on ``sys.path`` (the tests ``import
certificate_lab``) and gives the ``lab`` fixture, a ``Lab`` in the test's ``tmp_path``.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import json
import os
import pathlib
import re
import sys

import testca

HERE = pathlib.Path(__file__).resolve().parent
DEPLOY = HERE / "deploy.yml"
ROLE = HERE / "role.yml"
PKCS12_COUNTER = HERE / "pkcs12_counter"
EXEC_RE = re.compile(r"^<(?P<host>[^>]+)> EXEC (?P<cmd>.*)$")
PUT_RE = re.compile(r"^<(?P<host>[^>]+)> PUT ")
TASK_RE = re.compile(r"^TASK \[(?P<name>.*)\] \**$")
PASSWORD = testca.HARD_PASSWORD
# The password, pieces of it, and pieces as an escaping output would print them (\u00ea, \\).
SECRET_PIECES = (PASSWORD, "Sênha çã", "S\\u00eanha", "`id`; 'aspas'", "\\\\ fim")


def assert_no_secret(text, content=None):
    """No piece of the test password in ``text``, nor (given ``content``) a 60-char run of its base64."""
    for piece in SECRET_PIECES:
        assert piece not in text
    if content is not None:
        encoded = base64.b64encode(content).decode("ascii")
        for start in range(0, len(encoded) - 60, 500):
            assert encoded[start:start + 60] not in text


class Lab(object):
    """A set of local "PEC servers" in ``root`` plus the files of one test run."""

    def __init__(self, root, run_ansible):
        self.root = pathlib.Path(root)
        self.run_ansible = run_ansible
        self.results = self.root / "results"
        self.results.mkdir(parents=True, exist_ok=True)
        self.hosts = {}

    def install_dir(self, host):
        return self.root / "srv" / host

    def chaves(self, host, dirname="chaves"):
        return self.install_dir(host) / "webserver" / dirname

    def add_host(self, name, create_webserver=True, **hostvars):
        if create_webserver:
            (self.install_dir(name) / "webserver").mkdir(parents=True, exist_ok=True)
        entry = dict(ansible_connection="local",
                     ansible_python_interpreter=os.environ.get("ESUS_TARGET_PYTHON") or sys.executable,
                     host_install_dir=str(self.install_dir(name)))
        entry.update(hostvars)
        self.hosts[name] = entry
        return self.install_dir(name)

    def inventory(self):
        path = self.root / "inventory.json"
        path.write_text(json.dumps({"all": {"hosts": self.hosts}}, ensure_ascii=False), encoding="utf-8")
        return path

    def _write_vars(self, data):
        path = self.root / "extra-vars.json"
        fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False)
        return path

    def deploy(self, pc, *args, env_extra=None):
        """Run deploy.yml with options ``pc``; return (process, {host: result})."""
        for stale in self.results.glob("*.json"):
            stale.unlink()
        extra = self._write_vars({"pc": pc, "result_dir": str(self.results)})
        proc = self.run_ansible("ansible-playbook", "-i", self.inventory(), DEPLOY, "-e", "@%s" % extra, *args,
                                env_extra=env_extra)
        results = {}
        for path in self.results.glob("*.json"):
            results[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        return proc, results

    def role(self, *args, env_extra=None):
        return self.run_ansible("ansible-playbook", "-i", self.inventory(), ROLE, *args, env_extra=env_extra)


def module_runs(output, task_prefix="Run esus.rnds.pec_certificate", pipelining=True):
    """Count, per host, the module executions inside the tasks whose name starts with ``task_prefix``.

    Needs ``-vvv``. With pipelining each module execution is one ``EXEC ... python`` without
    a temporary file; without pipelining each one is one ``PUT`` of the AnsiballZ payload.
    """
    counts = {}
    inside = False
    for line in output.splitlines():
        match = TASK_RE.match(line)
        if match:
            inside = task_prefix in match.group("name")
            continue
        if not inside:
            continue
        if pipelining:
            exe = EXEC_RE.match(line)
            if exe and "python" in exe.group("cmd") and "AnsiballZ" not in exe.group("cmd") and "rm -f -r" not in exe.group("cmd"):
                counts[exe.group("host")] = counts.get(exe.group("host"), 0) + 1
        else:
            put = PUT_RE.match(line)
            if put:
                counts[put.group("host")] = counts.get(put.group("host"), 0) + 1
    return counts


def tree(path):
    """Sorted relative paths under ``path`` (links not followed), for "nothing changed" checks."""
    path = pathlib.Path(path)
    if not path.exists():
        return []
    out = []
    for dirpath, dirnames, filenames in os.walk(str(path)):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            out.append((os.path.relpath(full, str(path)), st.st_mode, st.st_size, st.st_mtime_ns))
    return sorted(out)


def pkcs12_counter_env(log):
    """``env_extra`` for a run whose PKCS#12 openings are logged to ``log`` (see pkcs12_counter/sitecustomize.py)."""
    path = [str(PKCS12_COUNTER)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {"PYTHONPATH": os.pathsep.join(path), "ESUS_TEST_PKCS12_LOG": str(log)}


def pkcs12_opened(log, *files):
    """How many times each of ``files`` was opened according to ``log``, plus "outros" for any other content."""
    names = dict((hashlib.sha256(pathlib.Path(f).read_bytes()).hexdigest(), pathlib.Path(f).name) for f in files)
    counts = collections.Counter()
    if pathlib.Path(log).exists():
        for line in pathlib.Path(log).read_text(encoding="ascii").splitlines():
            counts[names.get(line.split()[1], "outros")] += 1
    return dict(counts)
