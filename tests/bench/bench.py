# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`: fleet speed of the collection against two builtin-only reference playbooks.

For each fleet size N (default 10, 50, 200; ``--sizes``): N simulated PEC installations
(tests/pec_simulator, one process each on a 127.0.0.1 port, ``ansible_connection: local``), then,
on a fresh fleet for each playbook set,

- ours: playbooks/site.yml (first run), site.yml again (nothing to do), playbooks/audit.yml --check;
- lean: tests/bench/lean-site.yml twice, tests/bench/lean-audit.yml --check -- the shortest
  playbook a competent engineer would write without the collection (the reference of the targets);
- baseline: tests/bench/baseline-site.yml twice, tests/bench/baseline-audit.yml --check -- the
  same job written by the book, one builtin task per manual step.

After every first site run the simulators' state files must say RNDS enabled with the
certificate (any playbook set), or the run fails.

Separately, the same on a few Docker containers (image esus-rnds-pec:bookworm, network_mode none,
the simulator inside on 127.0.0.1:8080, ``community.docker.docker`` connection), skipped with a
message when Docker is not available, and optionally with Mitogen (installed into build/, never
into .venv). Measured per run: wall time, controller CPU (user+sys of the whole ansible-playbook
process tree, from wait4), peak memory (sum of PSS of the ansible-playbook process tree sampled
from /proc every 0.5 s, and ru_maxrss of its largest process from wait4), and exact counts from
the bench_counter callback (module executions, remote commands, task results, certificate parses).

Budgets and targets (tests/bench/bench_logic.py) fail the bench: tasks, module executions and
remote commands per host of every run of the collection; at N = 50 its wall time and controller
CPU per host against the lean playbook; linearity of the controller CPU per host from the smallest
to the largest fleet. The table is printed, then the failed budgets, then (when something failed)
where the collection's controller CPU went, per task. ``--profile`` adds cProfile of the
ansible-playbook process and of every worker for the collection at N = 50.

Results: reports/bench.json; the tables on stdout and in build/bench/table.md (pt-BR, pasted
into docs/performance.md). Every simulator and container is stopped at the end, also on failure or
Ctrl-C. Exit status 1 when a run failed or a budget/target was missed.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import glob
import io
import json
import os
import platform
import pstats
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "demo"))
sys.path.insert(0, os.path.join(REPO, "tests", "ca"))
sys.path.insert(0, HERE)

import bench_logic as logic  # noqa: E402  pylint: disable=wrong-import-position
import fleet  # noqa: E402  pylint: disable=wrong-import-position
import testca  # noqa: E402  pylint: disable=wrong-import-position

BUILD = os.path.join(REPO, "build", "bench")
REPORT = os.path.join(REPO, "reports", "bench.json")
BIN = os.path.dirname(sys.executable)
# Test shim that logs every PKCS#12 cryptography opens, in any Python process of a run (the same one the
# integration tests count with): PKCS#12 openings are counted from outside the collection.
PKCS12_COUNTER = os.path.join(REPO, "tests", "integration", "certificate", "pkcs12_counter")
IMAGE = "esus-rnds-pec:bookworm"
CONTAINER_PREFIX = "esus-rnds-bench-"
CONTAINER_LABEL = "org.esus-rnds.bench=1"
MITOGEN_VERSION = "0.3.54"
BASE_PORT = 21000
# Memory left for ansible-playbook (its process tree peaked at ~1.1 GiB with 50 forks) and the
# rest of the machine when deciding whether N simulators fit.
RESERVE_KIB = 3 * 1024 * 1024
PLAYBOOKS = {
    "ours": {
        "site": os.path.join(REPO, "playbooks", "site.yml"),
        "audit": os.path.join(REPO, "playbooks", "audit.yml"),
    },
    "lean": {
        "site": os.path.join(HERE, "lean-site.yml"),
        "audit": os.path.join(HERE, "lean-audit.yml"),
    },
    "baseline": {
        "site": os.path.join(HERE, "baseline-site.yml"),
        "audit": os.path.join(HERE, "baseline-audit.yml"),
    },
}
# ansible-playbook under cProfile with the process's CPU time as the timer (python -m cProfile
# would measure wall time, mostly waiting for workers): argv = output file, script, its arguments.
PROFILE_MAIN = """
import cProfile, runpy, sys, time
out, sys.argv = sys.argv[1], sys.argv[2:]
profiler = cProfile.Profile(time.process_time)
profiler.enable()
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    profiler.disable()
    profiler.dump_stats(out)
"""
# Stop everything on SIGTERM too (make/CI): the finally blocks do the cleanup.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def log(message):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


# --- machine ---------------------------------------------------------------------------------
def machine():
    mem_kb = 0
    cpu_model = platform.processor()
    with open("/proc/meminfo", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = subprocess.run([os.path.join(BIN, "ansible-playbook"), "--version"], capture_output=True, text=True,
                              check=False).stdout
    core = re.search(r"core ([0-9.]+)", versions)
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "mem_gib": round(mem_kb / 1024.0 / 1024.0, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "ansible_core": core.group(1) if core else None,
        "docker": _docker_version(),
    }


def _docker_version():
    if not shutil.which("docker"):
        return None
    proc = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True,
                          check=False, timeout=30)
    return proc.stdout.strip() or None


# --- certificates ----------------------------------------------------------------------------
def make_certificates(count):
    """``count`` distinct e-CNPJ .pfx files (one per municipality), reused across runs."""
    out = os.path.join(BUILD, "certs")
    manifest_path = os.path.join(out, "manifest.json")
    if os.path.exists(manifest_path):
        with open(manifest_path, encoding="utf-8") as handle:
            manifest = json.load(handle)
        if len(manifest) >= count and all(os.path.exists(m["path"]) for m in manifest[:count]):
            return manifest[:count]
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    ca = testca.TestCA()
    manifest = []
    for index in range(count):
        cnpj = _cnpj(10000000 + index)
        leaf = ca.issue_ecnpj(cnpj=cnpj, days=365, name="FUNDO MUNICIPAL DE SAUDE BENCH %d" % index)
        path = os.path.join(out, "fms-bench-%04d.pfx" % index)
        password = "bench-%d-Sênha$;" % index
        testca.write_pkcs12(path, leaf, password)
        manifest.append({"path": path, "password": password, "cnpj": cnpj})
    fd = os.open(manifest_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle)
    return manifest


def _cnpj(base8):
    digits = [int(c) for c in "%08d0001" % base8]
    for weights in ([5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2], [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]):
        rest = sum(d * w for d, w in zip(digits, weights)) % 11
        digits.append(0 if rest < 2 else 11 - rest)
    return "".join(str(d) for d in digits)


def ibge(index):
    return "%07d" % (1100000 + index)


def cpf(index):
    """A valid CPF per host (the PEC user name); every other one with punctuation, as people write it."""
    digits = [int(c) for c in "%09d" % (203000000 + 7 * index)]
    for first in (10, 11):
        rest = (sum(d * w for d, w in zip(digits, range(first, 1, -1))) * 10) % 11
        digits.append(0 if rest == 10 else rest)
    text = "".join(str(d) for d in digits)
    return text if index % 2 else "%s.%s.%s-%s" % (text[:3], text[3:6], text[6:9], text[9:])


# --- fleets ----------------------------------------------------------------------------------
def host_vars(index, cert, shared_cert=None):
    cert = shared_cert or cert
    return {
        "rnds_municipio_ibge": ibge(index),
        "rnds_certificate_src": cert["path"],
        "rnds_certificate_password": cert["password"],
        "rnds_requester_id": "%s-SOLIC-%04d" % (ibge(index), index),
        "rnds_pec_admin_user": cpf(index),
        "rnds_pec_admin_password": "Adm-%04d-sênha!" % index,
    }


def write_inventory(path, group_vars, hosts):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    inventory = {"pec_bench": {"vars": group_vars, "hosts": hosts}}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(inventory, handle, ensure_ascii=False, indent=1)  # JSON is YAML
    return path


def simulator_pss_kib(pid):
    """PSS of one process (kB), 0 when it is gone."""
    try:
        with open("/proc/%d/smaps_rollup" % pid, "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def mem_available_kib():
    with open("/proc/meminfo", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


class LocalFleet:
    """N simulators on 127.0.0.1 and the matching inventory (ansible_connection: local)."""

    connection = "local"

    def __init__(self, name, size, certs, shared_cert=None):
        self.name = name
        self.size = size
        self.root = os.path.join(BUILD, name)
        shutil.rmtree(self.root, ignore_errors=True)
        self.specs, hosts, self.expected = [], {}, {}
        self.simulators_pss_mib = None
        for index in range(size):
            host = "pec-%04d" % index
            values = host_vars(index, certs[index % len(certs)], shared_cert)
            install_dir = os.path.join(self.root, host, "e-SUS")
            self.specs.append(dict(
                name=host, port=BASE_PORT + index, install_dir=install_dir,
                admins=[(values["rnds_pec_admin_user"], values["rnds_pec_admin_password"], values["rnds_municipio_ibge"])],
                municipios=[(values["rnds_municipio_ibge"], "Bench %d" % index)],
            ))
            values.update(rnds_pec_url="http://127.0.0.1:%d" % (BASE_PORT + index), rnds_pec_install_dir=install_dir)
            hosts[host] = values
            self.expected[host] = (values["rnds_municipio_ibge"], os.path.basename(values["rnds_certificate_src"]),
                                   install_dir)
        self.inventory = write_inventory(os.path.join(self.root, "hosts.yml"), {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "rnds_report_dir": os.path.join(self.root, "report"),
        }, hosts)
        self.sims = []

    def __enter__(self):
        started = time.monotonic()
        self.sims = fleet.start_all(self.specs, os.path.join(self.root, "logs"))
        self.simulators_pss_mib = round(sum(simulator_pss_kib(sim.proc.pid) for sim in self.sims) / 1024.0, 1)
        log("%s: %d PECs simulados prontos em %.1f s (PSS dos simuladores: %.0f MiB; memória disponível: %.0f MiB)"
            % (self.name, self.size, time.monotonic() - started, self.simulators_pss_mib, mem_available_kib() / 1024.0))
        return self

    def not_enabled(self):
        """Hosts whose simulator state file does not say RNDS enabled with the host's certificate."""
        problems = []
        for host, (ibge_code, name, install_dir) in sorted(self.expected.items()):
            path = os.path.join(install_dir, "pec-simulator", "state.json")
            try:
                with open(path, encoding="utf-8") as handle:
                    state = json.load(handle)
            except (OSError, ValueError) as exc:
                state = None
                log("%s: estado do simulador ilegível (%s)" % (host, exc))
            problem = logic.not_enabled(host, state, ibge_code, name)
            if problem:
                problems.append(problem)
        return problems

    def __exit__(self, *exc):
        fleet.stop_all(self.sims)
        self.sims = []


def graphql_dir():
    """Folder of the pure-Python graphql package (graphql-core) of this Python, for the containers."""
    import graphql  # pylint: disable=import-outside-toplevel
    return os.path.dirname(graphql.__file__)


class DockerFleet:
    """N containers (network none), the simulator inside each on 127.0.0.1:8080."""

    connection = "community.docker.docker"
    simulators_pss_mib = None

    def __init__(self, name, size, certs):
        self.name = name
        self.size = size
        self.root = os.path.join(BUILD, name)
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.root)
        self.containers, hosts = [], {}
        for index in range(size):
            container = "%s%s-%d" % (CONTAINER_PREFIX, name, index)
            values = host_vars(index, certs[index % len(certs)])
            # The collection's defaults, spelled out for the builtin playbooks.
            values.update(ansible_host=container, rnds_pec_install_dir="/opt/e-SUS", rnds_pec_url="http://127.0.0.1:8080")
            hosts["ctr-%02d" % index] = values
            self.containers.append((container, values))
        self.inventory = write_inventory(os.path.join(self.root, "hosts.yml"), {
            "ansible_connection": "community.docker.docker",
            "rnds_report_dir": os.path.join(self.root, "report"),
        }, hosts)

    @staticmethod
    def _docker(*args, timeout=120, input_text=None):
        proc = subprocess.run(["docker"] + list(args), capture_output=True, text=True, check=False, timeout=timeout,
                              input=input_text)
        if proc.returncode != 0:
            raise RuntimeError("docker %s: %s" % (args[0], proc.stderr.strip()[-500:]))
        return proc.stdout.strip()

    def __enter__(self):
        started = time.monotonic()
        try:
            for container, values in self.containers:
                if self._exists(container):
                    self._docker("rm", "-f", container, timeout=60)
                self._docker("run", "-d", "--name", container, "--label", CONTAINER_LABEL, "--network", "none",
                             "--tmpfs", "/tmp", IMAGE, "sleep", "infinity")
                self._docker("exec", container, "mkdir", "-p", "/usr/local/lib/pec-simulator/_vendor",
                             "/etc/pec-simulator", "/opt/e-SUS/webserver")
                self._docker("cp", os.path.join(REPO, "tests", "pec_simulator", "server.py"),
                             container + ":/usr/local/lib/pec-simulator/server.py")
                self._docker("cp", os.path.join(REPO, "tests", "pec_simulator", "schema"),
                             container + ":/usr/local/lib/pec-simulator/schema")
                # The image has no pip and no network: the simulator imports graphql from _vendor/.
                self._docker("cp", graphql_dir(), container + ":/usr/local/lib/pec-simulator/_vendor/graphql")
                admin = "%s:%s:%s\n" % (values["rnds_pec_admin_user"], values["rnds_pec_admin_password"],
                                        values["rnds_municipio_ibge"])
                self._docker("exec", "-i", container, "sh", "-c", "umask 077 && cat > /etc/pec-simulator/admins",
                             input_text=admin)
                self._docker("exec", "-d", container, "sh", "-c",
                             "exec python3 /usr/local/lib/pec-simulator/server.py --listen 127.0.0.1:8080 --install-dir /opt/e-SUS "
                             "--admin-file /etc/pec-simulator/admins --municipio %s >/var/log/pec-simulator.log 2>&1"
                             % values["rnds_municipio_ibge"])
            for container, _values in self.containers:
                self._wait_ready(container)
        except BaseException:
            self.__exit__()
            raise
        log("%s: %d contêineres prontos em %.1f s" % (self.name, self.size, time.monotonic() - started))
        return self

    def _exists(self, container):
        return subprocess.run(["docker", "inspect", container], capture_output=True, check=False).returncode == 0

    def _wait_ready(self, container, attempts=60):
        probe = ("import urllib.request;"
                 "urllib.request.urlopen('http://127.0.0.1:8080/__sim__/health', timeout=2).read()")
        for dummy in range(attempts):  # bounded: 60 probes, each up to ~2 s
            proc = subprocess.run(["docker", "exec", container, "python3", "-c", probe], capture_output=True,
                                  check=False, timeout=30)
            if proc.returncode == 0:
                return
            time.sleep(0.5)
        raise RuntimeError("o simulador no contêiner %s não respondeu" % container)

    def not_enabled(self):
        problems = []
        for index, (container, values) in enumerate(self.containers):
            host = "ctr-%02d" % index
            proc = subprocess.run(["docker", "exec", container, "cat", "/opt/e-SUS/pec-simulator/state.json"],
                                  capture_output=True, text=True, check=False, timeout=60)
            try:
                state = json.loads(proc.stdout) if proc.returncode == 0 else None
            except ValueError:
                state = None
            problem = logic.not_enabled(host, state, values["rnds_municipio_ibge"],
                                        os.path.basename(values["rnds_certificate_src"]))
            if problem:
                problems.append(problem)
        return problems

    def __exit__(self, *exc):
        names = [container for container, _values in self.containers]
        if names:
            subprocess.run(["docker", "rm", "-f"] + names, capture_output=True, check=False, timeout=120)


# --- one ansible-playbook run ------------------------------------------------------------------
class TreeSampler(threading.Thread):
    """Peak of the summed PSS (and RSS) of a process tree, sampled from /proc."""

    def __init__(self, root_pid, interval=0.5):
        super().__init__(daemon=True)
        self.root_pid = root_pid
        self.interval = interval
        self.peak_pss_kb = 0
        self.peak_rss_kb = 0
        self.peak_procs = 0
        self._halt = threading.Event()

    def stop(self):
        self._halt.set()
        self.join()

    def run(self):
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.interval)

    @staticmethod
    def _children(pid):
        """Children of ``pid`` from /proc/<pid>/task/<tid>/children (no scan of the whole /proc)."""
        found = []
        try:
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            return found
        for tid in tids:
            try:
                with open("/proc/%d/task/%s/children" % (pid, tid), "rb") as handle:
                    found.extend(int(child) for child in handle.read().split())
            except OSError:
                continue
        return found

    @staticmethod
    def _children_by_scan():
        """Fallback for kernels without the children files: parent of every process."""
        children = collections.defaultdict(list)
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open("/proc/%s/stat" % entry, "rb") as handle:
                        stat = handle.read()
                except OSError:
                    continue
                children[int(stat[stat.rindex(b")") + 2:].split()[1])].append(int(entry))
        return children

    def sample(self):
        scan = None
        if not os.path.exists("/proc/%d/task/%d/children" % (self.root_pid, self.root_pid)):
            scan = self._children_by_scan()
        tree, todo = [], [self.root_pid]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(scan.get(pid, ()) if scan is not None else self._children(pid))
        pss = rss = 0
        for pid in tree:
            try:
                with open("/proc/%d/smaps_rollup" % pid, "rb") as handle:
                    for line in handle:
                        if line.startswith(b"Rss:"):
                            rss += int(line.split()[1])
                        elif line.startswith(b"Pss:"):
                            pss += int(line.split()[1])
            except OSError:
                continue
        self.peak_pss_kb = max(self.peak_pss_kb, pss)
        self.peak_rss_kb = max(self.peak_rss_kb, rss)
        self.peak_procs = max(self.peak_procs, len(tree))


def run_playbook(label, inventory, playbook, hosts, forks, extra=(), env_extra=None, expect_changed=None,
                 connection="local", profile_dir=None):
    """Run ansible-playbook once and measure it. ``expect_changed``: True/False checks the recap.

    ``profile_dir``: run the ansible-playbook process under cProfile and each worker too (the
    timings of such a run are not comparable; bench.py keeps them apart).
    """
    logs = os.path.join(BUILD, "logs")
    os.makedirs(logs, exist_ok=True)
    counter_log = os.path.join(logs, label + ".events.jsonl")
    output_log = os.path.join(logs, label + ".log")
    pkcs12_log = os.path.join(logs, label + ".pkcs12.log")
    for stale in (counter_log, pkcs12_log):
        if os.path.exists(stale):
            os.remove(stale)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_FORKS=str(forks), PATH=BIN + os.pathsep + os.environ.get("PATH", ""),
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED="bench_counter", ESUS_BENCH_COUNTER_LOG=counter_log,
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "build", "collections"))
    env["ESUS_RNDS_CERTIFICATE_CACHE"] = "off"  # never the user's store; run_set gives each fleet its own
    env.update(env_extra or {})
    env["PYTHONPATH"] = os.pathsep.join([PKCS12_COUNTER] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["ESUS_TEST_PKCS12_LOG"] = pkcs12_log
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, playbook] + list(extra)
    if profile_dir:
        shutil.rmtree(profile_dir, ignore_errors=True)
        os.makedirs(os.path.join(profile_dir, "workers"))
        env["ESUS_BENCH_PROFILE_DIR"] = os.path.join(profile_dir, "workers")
        cmd = [sys.executable, "-c", PROFILE_MAIN, os.path.join(profile_dir, "main.prof")] + cmd
    load_before = os.getloadavg()[0]
    with open(output_log, "wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            sampler.stop()
        wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    with open(output_log, encoding="utf-8", errors="replace") as handle:
        recap = fleet.recap(handle.read())
    counts = {}
    if os.path.exists(counter_log):
        with open(counter_log, encoding="utf-8") as handle:
            counts = logic.summarize_events(handle)
    else:
        counts = logic.summarize_events(())
    # PKCS#12 openings, counted from outside (the audit validates the inventory's files inside pec_audit, whose
    # result says nothing about it); the event summary keeps the validation_cache origins pec_certificate reports.
    counts["certificate_parses"] = 0
    if os.path.exists(pkcs12_log):
        with open(pkcs12_log, encoding="ascii") as handle:
            counts["certificate_parses"] = sum(1 for line in handle if line.strip())
    problems = []
    if proc.returncode != 0:
        problems.append("código de saída %d (veja %s)" % (proc.returncode, os.path.relpath(output_log, REPO)))
    if len(recap) != hosts:
        problems.append("recap com %d hosts, esperados %d" % (len(recap), hosts))
    bad = sorted(h for h, s in recap.items() if s["failed"] or s["unreachable"])
    if bad:
        problems.append("falhou em %d host(s): %s" % (len(bad), ", ".join(bad[:5])))
    changed_hosts = sum(1 for s in recap.values() if s["changed"])
    if expect_changed is True and changed_hosts != hosts:
        problems.append("só %d de %d hosts alterados na primeira execução" % (changed_hosts, hosts))
    if expect_changed is False and changed_hosts:
        problems.append("%d host(s) com changed>0 numa execução que não devia mudar nada" % changed_hosts)
    result = {
        "label": label,
        "playbook": os.path.relpath(playbook, REPO),
        "args": list(extra),
        "hosts": hosts,
        "forks": forks,
        "connection": connection,
        "profiled": bool(profile_dir),
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_tree_pss_mib": round(sampler.peak_pss_kb / 1024.0, 1),
        "peak_tree_rss_mib": round(sampler.peak_rss_kb / 1024.0, 1),
        "peak_tree_processes": sampler.peak_procs,
        "max_process_rss_mib": round(usage.ru_maxrss / 1024.0, 1),
        "changed_hosts": changed_hosts,
        "loadavg_1min_before": round(load_before, 2),
        "ok": not problems,
        "problems": problems,
    }
    result.update(counts)
    result["per_host_s"] = round(wall / hosts, 3)
    result["cpu_per_host_s"] = round(result["cpu_s"] / hosts, 3)
    result["controller_cpu_s"] = logic.controller_cpu(result["cpu_s"], result["command_children_cpu_s"], connection)
    result["controller_cpu_per_host_s"] = round(result["controller_cpu_s"] / hosts, 4)
    log("%-34s %6.1f s  CPU %6.1f s (controlador %.3f s/host)  tarefas/host %d  módulos/host %.2f  comandos/host %.2f"
        "  PSS %.0f MiB%s"
        % (label, wall, result["cpu_s"], result["controller_cpu_per_host_s"], result["tasks_per_host"],
           result["modules_per_host"], result["commands_per_host"], result["peak_tree_pss_mib"],
           "" if not problems else "  PROBLEMA: " + "; ".join(problems)))
    return result


def run_set(prefix, variant, fleet_obj, forks, which=("site", "noop", "audit"), extra_noop_forks=(), env_extra=None,
            profile_root=None):
    """site (first), site (no-op), audit --check for one playbook set on a fresh fleet.

    After the first site run the simulators must say RNDS enabled (any playbook set).
    ``profile_root``: every run profiled (cProfile), results under that folder.
    """
    books = PLAYBOOKS[variant]
    runs = {}
    # The certificate store between runs (plugins/plugin_utils/_validation_store.py) starts empty with each fleet:
    # the first site run opens every file, the re-run and the audit find them (as on an operator's controller;
    # an AWX job in a fresh container starts empty every time, see docs/performance.md).
    env_extra = dict(env_extra or {}, ESUS_RNDS_CERTIFICATE_CACHE=os.path.join(fleet_obj.root, "certificate-store"))

    def one(key, playbook, run_forks, expect_changed, extra=()):
        label = "%s-%s-%s" % (prefix, variant, key)
        runs[key] = run_playbook(label, fleet_obj.inventory, playbook, fleet_obj.size, run_forks, extra=extra,
                                 env_extra=env_extra, expect_changed=expect_changed, connection=fleet_obj.connection,
                                 profile_dir=os.path.join(profile_root, label) if profile_root else None)
        return runs[key]

    with fleet_obj:
        site = one("site", books["site"], forks, True)
        missing = fleet_obj.not_enabled()
        if missing:
            site["problems"].append("%d PEC(s) simulados sem a RNDS habilitada depois da execução: %s"
                                    % (len(missing), "; ".join(missing[:3])))
            site["ok"] = False
            log("%s: %s" % (site["label"], site["problems"][-1]))
        if "noop" in which:
            one("noop", books["site"], forks, False)
        if "audit" in which:
            one("audit", books["audit"], forks, False, ["--check"])
        for other in extra_noop_forks:
            one("noop-f%d" % other, books["site"], other, False)
    for run in runs.values():
        run["simulators_pss_mib"] = fleet_obj.simulators_pss_mib
    return runs


def profile_summary(profile_dir, top=40, short=12):
    """cProfile of one profiled run: the ansible-playbook process, then all workers summed.

    Writes profile.txt (``top`` functions by own and by cumulative time) and main.prof /
    workers.prof (for snakeviz/pstats) in ``profile_dir``; returns the ``short`` version (own time).
    """
    full, brief = [], []
    main_prof = os.path.join(profile_dir, "main.prof")
    workers = sorted(glob.glob(os.path.join(profile_dir, "workers", "worker-*.prof")))
    for title, files in (("processo ansible-playbook", [main_prof] if os.path.exists(main_prof) else []),
                         ("processos de trabalho (%d, somados)" % len(workers), workers)):
        if not files:
            continue
        stats = pstats.Stats(*files)
        if len(files) > 1:
            stats.dump_stats(os.path.join(profile_dir, "workers.prof"))
        stats.strip_dirs()
        stats.files = []  # one header of ours instead of one line per worker file
        for order, limit, sink in (("tottime", top, full), ("cumulative", top, full), ("tottime", short, brief)):
            buffer = io.StringIO()
            stats.stream = buffer
            buffer.write("== %s, CPU (s), ordenado por %s ==\n" % (title, order))
            stats.sort_stats(order).print_stats(limit)
            sink.append(buffer.getvalue())
    shutil.rmtree(os.path.join(profile_dir, "workers"), ignore_errors=True)
    with open(os.path.join(profile_dir, "profile.txt"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(full))
    return "\n".join(brief)


# --- Mitogen -----------------------------------------------------------------------------------
def mitogen_env():
    """Install Mitogen into build/bench/mitogen (pip --target; never into .venv). None if impossible."""
    target = os.path.join(BUILD, "mitogen")
    strategy = os.path.join(target, "ansible_mitogen", "plugins", "strategy")
    marker = os.path.join(target, ".version")
    installed = open(marker, encoding="ascii").read().strip() if os.path.exists(marker) else None
    if installed != MITOGEN_VERSION:
        shutil.rmtree(target, ignore_errors=True)
        proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                               "--no-deps", "--target", target, "mitogen==%s" % MITOGEN_VERSION],
                              capture_output=True, text=True, check=False, timeout=300)
        if proc.returncode != 0 or not os.path.isdir(strategy):
            log("Mitogen %s não pôde ser instalado em build/bench/mitogen: %s"
                % (MITOGEN_VERSION, (proc.stderr or "").strip()[-300:]))
            return None
        with open(marker, "w", encoding="ascii") as handle:
            handle.write(MITOGEN_VERSION)
    return {"ANSIBLE_STRATEGY_PLUGINS": strategy, "ANSIBLE_STRATEGY": "mitogen_linear"}


# --- report --------------------------------------------------------------------------------------
def save(results):
    os.makedirs(os.path.dirname(REPORT), exist_ok=True)
    results["finished_at"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with open(REPORT + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2, ensure_ascii=False)
    os.replace(REPORT + ".tmp", REPORT)


def docker_available():
    if not shutil.which("docker"):
        return "o comando docker não está instalado"
    try:
        if subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=30).returncode != 0:
            return "o daemon Docker não responde (rode tests/infra/docker-up.sh)"
        if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, check=False,
                          timeout=30).returncode != 0:
            return "a imagem %s não existe (rode tests/infra/build-image.sh)" % IMAGE
    except subprocess.TimeoutExpired:
        return "o Docker não respondeu em 30 s"
    probe = subprocess.run([sys.executable, "-c", "import ansible_collections.community.docker"], capture_output=True,
                           check=False)
    if probe.returncode != 0:
        return "a coleção community.docker (conexão docker) não está instalada no ambiente Python"
    return None


def simulator_footprint_kib():
    """PSS (kB) of one idle simulator, measured on two started here (sharing is larger with more)."""
    root = os.path.join(BUILD, "probe")
    shutil.rmtree(root, ignore_errors=True)
    specs = [dict(name="probe-%d" % i, port=BASE_PORT + i, install_dir=os.path.join(root, "p%d" % i, "e-SUS"),
                  admins=[(cpf(i), "probe-%d" % i, ibge(i))], municipios=[(ibge(i), "Probe")]) for i in range(2)]
    sims = fleet.start_all(specs, os.path.join(root, "logs"))
    try:
        return max(simulator_pss_kib(sim.proc.pid) for sim in sims)
    finally:
        fleet.stop_all(sims)
        shutil.rmtree(root, ignore_errors=True)


def plan(size, per_simulator_kib, notes):
    """``size`` or what fits in memory now (see bench_logic.plan_size), the note printed and kept."""
    fitted, note = logic.plan_size(size, per_simulator_kib, mem_available_kib(), RESERVE_KIB)
    if note:
        log("ATENÇÃO: " + note)
        notes.append(note)
    return fitted


def run_problems(results):
    problems = []
    for scenario in results["scenarios"]:
        for variant in ("ours", "lean", "baseline", "mitogen"):
            for key, run in (scenario.get(variant) or {}).items():
                problems.extend("%s N=%d/%s/%s: %s" % (scenario["name"], scenario["size"], variant, key, p)
                                for p in run["problems"])
    return problems


def profile_scenario(results):
    """The collection's runs whose per-task profile explains a missed target: N = TARGET_SIZE, else the largest."""
    local = [s for s in results["scenarios"] if s["name"] == "local" and s.get("ours")]
    if not local:
        return None
    return next((s for s in local if s["size"] == logic.TARGET_SIZE), max(local, key=lambda s: s["size"]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,50,200",
                        help="tamanhos da frota local (padrão 10,50,200; rápido: --sizes 10)")
    parser.add_argument("--forks", type=int, default=20, help="forks das execuções principais (padrão 20)")
    parser.add_argument("--extra-forks", default="50", help="forks extras medidos na maior frota (execução sem mudanças)")
    parser.add_argument("--docker", type=int, default=5, help="contêineres Docker (padrão 5; 0 = pular)")
    parser.add_argument("--mitogen", type=int, default=None,
                        help="frota local medida com Mitogen (padrão: 50 se 50 estiver em --sizes, senão pular; 0 = pular)")
    parser.add_argument("--variants", default="ours,lean,baseline",
                        help="conjuntos de playbooks (padrão ours,lean,baseline)")
    parser.add_argument("--full-baseline", action="store_true",
                        help="playbook manual completo também na maior frota (por padrão, com 100 hosts ou mais, "
                             "só a 1ª execução)")
    parser.add_argument("--shared", type=int, default=None,
                        help="hosts que compartilham um só .pfx (padrão: a maior frota; 0 = pular)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile do ansible-playbook e dos processos de trabalho da coleção em N=%d "
                             "(execuções à parte, fora da tabela)" % logic.TARGET_SIZE)
    args = parser.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    variants = [v for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in PLAYBOOKS]
    if unknown or not sizes:
        parser.error("--variants: conjuntos conhecidos: %s; --sizes: ao menos um tamanho" % ", ".join(PLAYBOOKS))
    mitogen_size = args.mitogen if args.mitogen is not None else (50 if 50 in sizes else 0)
    shared_size = args.shared if args.shared is not None else max(sizes)
    extra_forks = [int(f) for f in args.extra_forks.split(",") if f.strip()]
    started = time.monotonic()
    os.makedirs(BUILD, exist_ok=True)
    results = {
        "started_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "arguments": vars(args),
        "budgets": {"tasks_per_host": logic.TASK_BUDGET, "modules_per_host": logic.MODULE_BUDGET,
                    "target_size": logic.TARGET_SIZE, "wall_ratio_to_lean": logic.WALL_TARGET,
                    "controller_cpu_per_host_ratio_to_lean": logic.CPU_TARGET, "linearity_max": logic.LINEARITY_MAX},
        "method": {
            "wall_s": "time.monotonic() around ansible-playbook",
            "cpu_s": "ru_utime + ru_stime from wait4() of ansible-playbook: the whole process tree (workers and, with "
                     "the local connection, the module processes too)",
            "peak_tree_pss_mib": "peak of the summed PSS of the ansible-playbook process tree, /proc/<pid>/smaps_rollup "
                                 "sampled every 0.5 s (shared copy-on-write pages counted once)",
            "max_process_rss_mib": "ru_maxrss from wait4(): the largest single process of the tree",
            "tasks_per_host": "task results (ok, changed, skipped, failed) of the host with the most, from the "
                              "bench_counter callback, plus one per run_once task",
            "modules": "calls of ActionBase._execute_module counted by tests/bench/callback_plugins/bench_counter.py "
                       "(loop items counted; copy = stat + copy/file; validate_only and rnds_report = 0)",
            "commands": "calls of ActionBase._low_level_execute_command (round trips on the connection)",
            "certificate_parses": "PKCS#12 files opened by cryptography in any process of the run (test shim "
                                  "tests/integration/certificate/pkcs12_counter), counted from outside the collection",
            "command_children_cpu_s": "CPU of the processes each remote command waited for (RUSAGE_CHILDREN delta in "
                                      "the worker): local connection = the module processes; docker = docker CLI",
            "controller_cpu_s": "local connection: cpu_s - command_children_cpu_s (the modules run on the servers in a "
                                "real fleet); docker: cpu_s (the docker CLI is the connection client, like ssh, and "
                                "the modules run inside the containers, outside the tree)",
            "profile": "per task: CPU of each worker (RUSAGE_SELF when TaskExecutor.run returns) and of the "
                       "ansible-playbook process between two task starts",
        },
        "notes": [],
        "scenarios": [],
    }
    notes = results["notes"]
    certs = make_certificates(max(sizes + [args.docker, mitogen_size, 1]))
    log("máquina: %s" % json.dumps(results["machine"], ensure_ascii=False))
    per_simulator = simulator_footprint_kib()
    # Two idle simulators share fewer pages than hundreds, and each grows a little once it answers.
    per_simulator_planned = int(per_simulator * 1.25)
    results["simulator_pss_mib"] = round(per_simulator / 1024.0, 1)
    log("PEC simulado: %.1f MiB de PSS cada (medido); memória disponível: %.0f MiB"
        % (per_simulator / 1024.0, mem_available_kib() / 1024.0))
    try:
        measured = []
        for wanted in sizes:
            size = plan(wanted, per_simulator_planned, notes)
            if not size or size in measured:
                continue
            measured.append(size)
            scenario = {"name": "local", "size": size, "connection": "local"}
            if size != wanted:
                scenario["asked_size"] = wanted
            largest = wanted == max(sizes)
            for variant in variants:
                # Time budget: on the largest fleet, when it has 100 hosts or more, the by-the-book
                # playbook runs only site.yml (first run); ours also measures the no-op run with the
                # extra forks values there.
                short = largest and size >= 100 and variant == "baseline" and not args.full_baseline
                which = ("site",) if short else logic.RUNS
                scenario[variant] = run_set("local-%d" % size, variant,
                                            LocalFleet("local-%d-%s" % (size, variant), size, certs),
                                            args.forks, which=which,
                                            extra_noop_forks=extra_forks if (largest and variant == "ours") else ())
            scenario["ratios"] = logic.ratios(scenario)
            results["scenarios"].append(scenario)
            save(results)
        if shared_size and "ours" in variants:
            size = plan(shared_size, per_simulator_planned, notes)
            scenario = {"name": "local-um-arquivo", "size": size, "connection": "local",
                        "note": "todos os hosts usam o mesmo .pfx (mesma senha): a validação deve abrir o arquivo uma vez"}
            if size:
                with LocalFleet("local-shared-%d" % size, size, certs, shared_cert=certs[0]) as shared:
                    run = run_playbook("shared-%d-ours-site" % size, shared.inventory, PLAYBOOKS["ours"]["site"], size,
                                       args.forks, expect_changed=True,
                                       env_extra={"ESUS_RNDS_CERTIFICATE_CACHE": os.path.join(shared.root, "store")})
                    if run["certificate_parses"] != 1:
                        run["problems"].append("o arquivo compartilhado foi aberto %d vezes (esperado: 1)"
                                               % run["certificate_parses"])
                        run["ok"] = False
                    scenario["ours"] = {"site": run}
                results["scenarios"].append(scenario)
                save(results)
        if mitogen_size and "ours" in variants:
            env = mitogen_env()
            size = plan(mitogen_size, per_simulator_planned, notes)
            scenario = {"name": "local-mitogen", "size": size, "connection": "local"}
            if env is None:
                scenario["skipped"] = "Mitogen %s não pôde ser instalado" % MITOGEN_VERSION
            elif size:
                scenario["mitogen_version"] = MITOGEN_VERSION
                scenario["mitogen"] = run_set("mitogen-%d" % size, "ours",
                                              LocalFleet("local-mitogen-%d" % size, size, certs),
                                              args.forks, env_extra=env)
            results["scenarios"].append(scenario)
            save(results)
        if args.docker:
            reason = docker_available()
            scenario = {"name": "docker", "size": args.docker, "connection": "community.docker.docker"}
            if reason:
                log("Docker pulado: %s" % reason)
                notes.append("frota Docker pulada: %s" % reason)
                scenario["skipped"] = reason
            else:
                for variant in variants:
                    scenario[variant] = run_set("docker-%d" % args.docker, variant,
                                                DockerFleet("docker-%d-%s" % (args.docker, variant), args.docker, certs),
                                                args.forks)
                scenario["ratios"] = logic.ratios(scenario)
            results["scenarios"].append(scenario)
            save(results)
        if args.profile and "ours" in variants and measured:
            size = logic.TARGET_SIZE if logic.TARGET_SIZE in measured else max(measured)
            root = os.path.join(BUILD, "profile")
            runs = run_set("profile-%d" % size, "ours", LocalFleet("profile-%d-ours" % size, size, certs), args.forks,
                           profile_root=root)
            results["profile"] = {"size": size, "runs": runs, "summaries": {}}
            for key, run in runs.items():
                results["profile"]["summaries"][key] = profile_summary(os.path.join(root, run["label"]))
            save(results)
    finally:
        results["total_s"] = round(time.monotonic() - started, 1)
        save(results)
    evaluation = logic.evaluate(results)
    results["evaluation"] = evaluation
    save(results)
    problems = run_problems(results)
    table = logic.markdown(results, evaluation)
    with open(os.path.join(BUILD, "table.md"), "w", encoding="utf-8") as handle:
        handle.write(table + "\n")
    print(table)
    print()
    if evaluation["failures"]:
        print("Orçamentos e metas NÃO cumpridos (%d):" % len(evaluation["failures"]))
        print("\n".join("- " + failure for failure in evaluation["failures"]))
        scenario = profile_scenario(results)
        if scenario:
            for key in logic.RUNS:
                if key in scenario["ours"]:
                    print()
                    print(logic.profile_markdown(scenario["ours"][key]))
    else:
        print("Todos os orçamentos e metas conferidos foram cumpridos.")
    if results.get("profile"):
        for key, text in results["profile"]["summaries"].items():
            print()
            print("cProfile da coleção, %s, N=%d (completo em build/bench/profile/):"
                  % (logic.RUN_LABELS[key], results["profile"]["size"]))
            print(text)
    log("resultados em %s (%.0f s no total)" % (os.path.relpath(REPORT, REPO), results["total_s"]))
    if problems:
        print("\n".join(["O benchmark encontrou execuções que não se comportaram como deviam:"] + problems),
              file=sys.stderr)
    return 1 if problems or evaluation["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
