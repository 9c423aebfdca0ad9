# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for the testinfra verifiers of the Molecule scenarios (controller side).

Each scenario's ``tests/conftest.py`` puts this folder on ``sys.path``. Everything here reads the
environment Molecule gives its verifier (``MOLECULE_INVENTORY_FILE``,
``MOLECULE_EPHEMERAL_DIRECTORY``, ``ANSIBLE_CONFIG``...):

- ``run_playbook(path, *args, inventories=(), env=None)`` runs ``ansible-playbook`` against the
  scenario inventory with the ``ansible.posix.json`` callback and returns a ``PlaybookRun``
  (``rc``, ``stats``, ``failed_messages(host)``, ``module_counts(host)``...);
- ``resolved()`` is the inventory as the roles read it (``esus.rnds.municipality_list``), per host;
- ``manifest()`` describes the generated certificates (sha256 of the file, fingerprint);
- ``pec_ctl(host, ...)`` / ``snapshot(host)`` / ``baseline(host)`` / ``sim_stats(host)`` look inside
  the containers (``docker exec``) and at the snapshot taken by ``molecule/shared/prepare.yml``;
- ``request_summary(lines)`` counts the simulator's request log (``requests.jsonl``: one line per
  ``POST /api/graphql``, without values) per operation and user (CPF).
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

SHARED = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(SHARED))
PLAYBOOKS = os.path.join(REPO, "playbooks")
PEC_CTL = "/usr/local/lib/pec-simulator/pec_ctl.py"
INSTALL_DIR = "/opt/e-SUS"
CHAVES = INSTALL_DIR + "/webserver/chaves"
BACKUP_DIR = INSTALL_DIR + "/webserver/chaves-backup"
STATE = INSTALL_DIR + "/pec-simulator/state.json"
AUDIT = INSTALL_DIR + "/pec-simulator/audit.jsonl"
REQUESTS = INSTALL_DIR + "/pec-simulator/requests.jsonl"
SIMULATOR_LOG = "/var/log/pec-simulator.log"
SERVICE_KEYS = {"rnds": "RNDS", "cadsus": "CADSUS"}
# The PEC's audit actions, in the manual's words (note: "Desabilitar PEC", without "o").
ENABLE_ACTION = "Habilitar o PEC a acessar %s"
DISABLE_ACTION = "Desabilitar PEC a acessar %s"
API_CONSUMER_ID = "ESUS_WEB_CLIENT"
STATE_VERSION = 2
TEMP_FILE = re.compile(r"^\.esus-rnds-.*\.tmp$")

_CACHE = {}


def ephemeral(*parts):
    return os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], *parts)


def inventory_file():
    return os.environ["MOLECULE_INVENTORY_FILE"]


def _bin(name):
    candidate = os.path.join(os.path.dirname(sys.executable), name)
    return candidate if os.access(candidate, os.X_OK) else (shutil.which(name) or name)


class PlaybookRun:
    """One ``ansible-playbook`` run, parsed from the JSON callback."""

    def __init__(self, cmd, proc):
        self.cmd = cmd
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        start = self.stdout.find("{")
        try:
            self.data = json.loads(self.stdout[start:]) if start >= 0 else {}
        except ValueError:
            self.data = {}
        self.stats = self.data.get("stats", {})

    def __repr__(self):
        return "<PlaybookRun rc=%s stats=%s>" % (self.rc, json.dumps(self.stats, sort_keys=True))

    def describe(self):
        """Text for assertion messages: command, stats, failure messages, stderr tail."""
        failed = dict((host, self.failed_messages(host)) for host in sorted(self.stats) if self.failures(host))
        return "%s\nrc=%s\nstats=%s\nfalhas=%s\nstderr:\n%s" % (
            " ".join(self.cmd[1:]), self.rc, json.dumps(self.stats, sort_keys=True),
            json.dumps(failed, indent=1, ensure_ascii=False), self.stderr[-3000:])

    def results(self, host):
        """(task name, action, result) for every task result of ``host``, loop items expanded."""
        out = []
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                result = task.get("hosts", {}).get(host)
                if result is None:
                    continue
                name, action = task["task"]["name"], result.get("action")
                items = result.get("results")
                if isinstance(items, list) and items and isinstance(items[0], dict):
                    for item in items:
                        out.append((name, action, item))
                else:
                    out.append((name, action, result))
        return out

    def failed_messages(self, host):
        return [str(r.get("msg", "")) for _n, _a, r in self.results(host) if r.get("failed") or r.get("unreachable")]

    def changed(self, host):
        return self.stats.get(host, {}).get("changed")

    def failures(self, host):
        stats = self.stats.get(host, {})
        return stats.get("failures", 0) + stats.get("unreachable", 0)

    def module_counts(self, host):
        """How many times each module/action ran for ``host`` (skipped results left out)."""
        counts = collections.Counter()
        for _name, action, result in self.results(host):
            if result.get("skipped"):
                continue
            counts[action] += 1
        return dict(counts)


def run_playbook(playbook, *args, inventories=(), env=None, timeout=1200):
    """Run ``playbook`` (a path, or a name in playbooks/) against the scenario inventory."""
    if not os.path.isabs(playbook):
        playbook = os.path.join(PLAYBOOKS, playbook)
    cmd = [_bin("ansible-playbook"), "-i", inventory_file()]
    for extra in inventories:
        cmd += ["-i", extra]
    cmd += [playbook] + list(args)
    run_env = dict(os.environ)
    run_env.setdefault("ESUS_RNDS_STATE_DIR", ephemeral("esus-rnds-state"))
    run_env.update({"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_NOCOLOR": "1",
                    "ANSIBLE_FORCE_COLOR": "0", "PY_COLORS": "0"})
    run_env.update(env or {})
    proc = subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=timeout, check=False,
                          cwd=REPO)
    return PlaybookRun(cmd, proc)


def resolved(inventories=()):
    """Per host: the municipalities as the roles see them, the fixture and the certificate catalogue."""
    key = ("resolved",) + tuple(inventories)
    if key not in _CACHE:
        run = run_playbook(os.path.join(SHARED, "resolve.yml"), inventories=inventories)
        assert run.rc == 0, run.describe()
        hosts = {}
        for play in run.data["plays"]:
            for task in play["tasks"]:
                for host, result in task["hosts"].items():
                    hosts[host] = result["msg"]
        _CACHE[key] = hosts
    return _CACHE[key]


def manifest():
    if "manifest" not in _CACHE:
        with open(ephemeral("certs", "manifest.json"), encoding="utf-8") as handle:
            _CACHE["manifest"] = json.load(handle)["files"]
    return _CACHE["manifest"]


def certificate_names(host_data):
    """Distinct certificate file names of a host, in inventory order."""
    names = []
    for entry in host_data["municipios"]:
        if entry["certificate_name"] not in names:
            names.append(entry["certificate_name"])
    return names


def secrets_of(host_data):
    """Every password a host knows of (certificates, catalogue, admins), for leak checks."""
    values = set()
    for entry in host_data["municipios"]:
        values.update([entry.get("certificate_password"), entry.get("admin_password")])
    for admin in host_data["fixture"].get("admins", []):
        values.add(admin.get("admin_password"))
    for entry in host_data.get("catalogue", {}).values():
        values.add(entry.get("password"))
    return sorted(v for v in values if v)


def cpf(text):
    """The 11 digits of a CPF written with or without punctuation (what the PEC receives)."""
    return "".join(char for char in str(text) if char.isdigit())


def logins_of(host_data):
    """{CPF digits: [ibge, ...]} of a host, in inventory order: one PEC login per CPF."""
    out = collections.OrderedDict()
    for entry in host_data["municipios"]:
        out.setdefault(cpf(entry["admin_user"]), []).append(entry["ibge"])
    return out


def docker(*args, check=True, timeout=120):
    proc = subprocess.run([_bin("docker")] + list(args), capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("docker %s falhou (%s): %s" % (" ".join(args[:3]), proc.returncode, proc.stderr))
    return proc


def pec_ctl(host, *args):
    """Run pec_ctl.py inside the container ``host``; return its JSON answer."""
    proc = docker("exec", host, "python3", PEC_CTL, *args)
    return json.loads(proc.stdout)


def snapshot(host):
    return pec_ctl(host, "snapshot", "--root", INSTALL_DIR)


def sim_stats(host):
    """``GET /__sim__/stats`` of the simulator in ``host``: sessions per CPF, forced ends, failed logins, locks."""
    return pec_ctl(host, "stats")["stats"]


def certificate_state(state, ibge):
    """The municipality's certificate record in state.json (version 2: one certificate for every service)."""
    assert state.get("versao_estado") == STATE_VERSION, "state.json com versao_estado %r" % state.get("versao_estado")
    return state["municipios"][ibge]["certificado"]


def pec_rnds_results(run, host):
    """The ``municipios`` entries returned by every esus.rnds.pec_rnds execution of ``host`` in ``run``."""
    out = []
    for _name, action, result in run.results(host):
        if action == "esus.rnds.pec_rnds" and not result.get("skipped"):
            out.extend(result.get("municipios") or [])
    return out


def new_requests(host, current=None):
    """Request log lines written after the baseline snapshot."""
    current = current if current is not None else snapshot(host)["requests"]
    old = baseline(host)["requests"]
    assert current[:len(old)] == old, "o requests.jsonl de %s foi reescrito" % host
    return current[len(old):]


def request_summary(lines):
    """Counts of a slice of the request log: ``{"operations": {op: n}, "by_user": {cpf: {op: n}},
    "consumers": set, "errors": [(op, classification)]}``. Login lines before a session have no user."""
    operations = collections.Counter()
    by_user = collections.defaultdict(collections.Counter)
    consumers = set()
    errors = []
    for line in lines:
        operations[line.get("operation")] += 1
        if line.get("user"):
            by_user[line["user"]][line.get("operation")] += 1
        consumers.add(line.get("api_consumer_id"))
        if line.get("classification") or (line.get("status") or 200) >= 400:
            errors.append((line.get("operation"), line.get("classification") or line.get("status")))
    return {"operations": dict(operations), "by_user": dict((k, dict(v)) for k, v in by_user.items()),
            "consumers": consumers, "errors": errors}


def assert_one_session_per_cpf(lines, host_data, runs=1, label=""):
    """Per run: one Login, one Sessao and one Logout per CPF, one SelecionarAcesso per municipality,
    every request sent as the PEC web client (Api-Consumer-Id: ESUS_WEB_CLIENT), no error."""
    logins = logins_of(host_data)
    summary = request_summary(lines)
    where = "%s: %s" % (label, json.dumps({"operations": summary["operations"], "by_user": summary["by_user"]},
                                          sort_keys=True))
    assert summary["consumers"] == {API_CONSUMER_ID}, (where, summary["consumers"])
    assert not summary["errors"], (where, summary["errors"])
    assert summary["operations"].get("Login") == runs * len(logins), where
    assert summary["operations"].get("Logout") == runs * len(logins), where
    assert summary["operations"].get("SelecionarAcesso") == runs * len(host_data["municipios"]), where
    assert sorted(summary["by_user"]) == sorted(logins), where
    for user, ibges in logins.items():
        counts = summary["by_user"][user]
        assert counts.get("Logout") == runs, (user, where)
        assert counts.get("Sessao") == runs, (user, where)
        assert counts.get("SelecionarAcesso") == runs * len(ibges), (user, where)
        # The simulator may log the user of a Login (after it succeeded); then it is one per CPF too.
        assert counts.get("Login", runs) == runs, (user, where)
    return summary


def baseline(host):
    with open(ephemeral("baseline", host + ".json"), encoding="utf-8") as handle:
        return json.load(handle)


def enable_lines(audit, ibge=None):
    """Audit lines of enable attempts (any service), optionally of one municipality."""
    return [line for line in audit if line.get("action", "").startswith("Habilitar")
            and (ibge is None or line.get("municipio") == ibge)]


def new_audit_lines(host, current=None):
    """Audit lines written after the baseline snapshot."""
    current = current if current is not None else snapshot(host)["audit"]
    old = baseline(host)["audit"]
    assert current[:len(old)] == old, "o audit.jsonl de %s foi reescrito (linhas antigas mudaram)" % host
    return current[len(old):]


def without(entries, *prefixes):
    """Snapshot entries without the paths under ``prefixes`` (relative to /opt/e-SUS)."""
    return dict((path, entry) for path, entry in entries.items()
                if not any(path == p or path.startswith(p + "/") for p in prefixes))


class DockerCallLog:
    """Put a logging ``docker`` shim first on PATH to count the docker CLI calls per container."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="esus-rnds-docker-shim.")
        self.log = os.path.join(self.dir, "calls.log")
        real = shutil.which("docker")
        shim = os.path.join(self.dir, "docker")
        with open(shim, "w", encoding="utf-8") as handle:
            # Only the sub-command and the arguments that do not start with '-' are logged.
            # The line is built first and appended with ONE write: parallel forks call docker at the
            # same time, and piecewise writes interleaved their lines (a lost or merged call).
            handle.write('#!/bin/sh\nline=""; for a in "$@"; do case "$a" in -*) ;; *) line="$line$a ";; esac; done\n'
                         'printf "%%s\\n" "$line" >>"%s"\nexec "%s" "$@"\n' % (self.log, real))
        os.chmod(shim, 0o700)  # nosec - test helper in a private temporary folder
        self.env = {"PATH": self.dir + os.pathsep + os.environ.get("PATH", "")}

    def counts(self, hosts):
        """{host: {"exec", "discovery", "cp"}}: module runs, Python interpreter discovery, file copies."""
        out = dict((host, {"exec": 0, "discovery": 0, "cp": 0}) for host in hosts)
        if not os.path.exists(self.log):
            return out
        with open(self.log, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                words = line.split()
                if len(words) < 2 or words[0] not in ("exec", "cp"):
                    continue
                kind = "discovery" if "echo FOUND" in line else words[0]
                for host in hosts:
                    if words[1] == host or words[1].startswith(host + ":") or (
                            len(words) > 2 and words[2].startswith(host + ":")):
                        out[host][kind] += 1
        return out

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def write_metrics(name, data):
    """Save measurements in the ephemeral folder and print them (shown with pytest -s / -v)."""
    path = ephemeral("metrics-%s.json" % name)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
    print("\nMEDIDAS %s: %s" % (name, json.dumps(data, sort_keys=True)))
    return path
