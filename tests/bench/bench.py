# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`: fleet speed of the collection against a by-the-book baseline playbook.

For each fleet size N: N simulated PEC installations (tests/pec_simulator, one process each on a
127.0.0.1 port, ``ansible_connection: local``), then, on a fresh fleet for each playbook set,

- ours: playbooks/site.yml (first run), site.yml again (nothing to do), playbooks/audit.yml --check;
- baseline: tests/bench/baseline-site.yml twice, tests/bench/baseline-audit.yml --check.

Separately, the same on a few Docker containers (image esus-rnds-pec:bookworm, network_mode none,
the simulator inside on 127.0.0.1:8080, ``community.docker.docker`` connection), skipped with a
message when Docker is not available, and optionally with Mitogen (installed into build/, never
into .venv). Measured per run: wall time, controller CPU (user+sys of the whole ansible-playbook
process tree, from wait4), peak memory (sum of PSS of the ansible-playbook process tree sampled
from /proc every 0.5 s, and ru_maxrss of its largest process from wait4), and exact counts from
the bench_counter callback (module executions, remote commands, task results, certificate parses).

Results: reports/bench.json; a Markdown table on stdout (pasted into docs/performance.md).
Every simulator and container is stopped at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import platform
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

import fleet  # noqa: E402  pylint: disable=wrong-import-position
import testca  # noqa: E402  pylint: disable=wrong-import-position

BUILD = os.path.join(REPO, "build", "bench")
REPORT = os.path.join(REPO, "reports", "bench.json")
BIN = os.path.dirname(sys.executable)
IMAGE = "esus-rnds-pec:bookworm"
CONTAINER_PREFIX = "esus-rnds-bench-"
CONTAINER_LABEL = "org.esus-rnds.bench=1"
MITOGEN_VERSION = "0.3.54"
BASE_PORT = 21000
# Round-trip budget of the collection, per host with one municipality and one certificate:
# module executions (and, with pipelining, remote commands: one per module, plus one interpreter
# discovery per host when ansible_python_interpreter is not set). Exceeding it fails `make bench`.
MODULE_BUDGET = {"site": 3, "noop": 3, "audit": 2}
PLAYBOOKS = {
    "ours": {
        "site": os.path.join(REPO, "playbooks", "site.yml"),
        "audit": os.path.join(REPO, "playbooks", "audit.yml"),
    },
    "baseline": {
        "site": os.path.join(HERE, "baseline-site.yml"),
        "audit": os.path.join(HERE, "baseline-audit.yml"),
    },
}
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


class LocalFleet:
    """N simulators on 127.0.0.1 and the matching inventory (ansible_connection: local)."""

    def __init__(self, name, size, certs, shared_cert=None):
        self.name = name
        self.size = size
        self.root = os.path.join(BUILD, name)
        shutil.rmtree(self.root, ignore_errors=True)
        self.specs, hosts = [], {}
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
        self.inventory = write_inventory(os.path.join(self.root, "hosts.yml"), {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "rnds_report_dir": os.path.join(self.root, "report"),
        }, hosts)
        self.sims = []

    def __enter__(self):
        started = time.monotonic()
        self.sims = fleet.start_all(self.specs, os.path.join(self.root, "logs"))
        log("%s: %d PECs simulados prontos em %.1f s" % (self.name, self.size, time.monotonic() - started))
        return self

    def __exit__(self, *exc):
        fleet.stop_all(self.sims)
        self.sims = []


def graphql_dir():
    """Folder of the pure-Python graphql package (graphql-core) of this Python, for the containers."""
    import graphql  # pylint: disable=import-outside-toplevel
    return os.path.dirname(graphql.__file__)


class DockerFleet:
    """N containers (network none), the simulator inside each on 127.0.0.1:8080."""

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
            values.update(ansible_host=container)
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


def run_playbook(label, inventory, playbook, hosts, forks, extra=(), env_extra=None, expect_changed=None):
    """Run ansible-playbook once and measure it. ``expect_changed``: True/False checks the recap."""
    logs = os.path.join(BUILD, "logs")
    os.makedirs(logs, exist_ok=True)
    counter_log = os.path.join(logs, label + ".events.jsonl")
    output_log = os.path.join(logs, label + ".log")
    if os.path.exists(counter_log):
        os.remove(counter_log)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_FORKS=str(forks), PATH=BIN + os.pathsep + os.environ.get("PATH", ""),
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED="bench_counter", ESUS_BENCH_COUNTER_LOG=counter_log,
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "build", "collections"))
    env.update(env_extra or {})
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, playbook] + list(extra)
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
        recap = parse_recap(handle.read())
    counts = count_events(counter_log)
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
    # Controller's own share: everything but the processes started by the remote commands (with the
    # local connection, the modules themselves, which a real fleet runs on the PEC servers).
    result["controller_cpu_s"] = round(max(0.0, result["cpu_s"] - result["command_children_cpu_s"]), 2)
    log("%-34s %6.1f s  cpu %6.1f s  módulos/host %.2f  comandos/host %.2f  tarefas/host %.1f  PSS %.0f MiB%s"
        % (label, wall, result["cpu_s"], result["modules_per_host"], result["commands_per_host"],
           result["task_results_per_host"], result["peak_tree_pss_mib"],
           "" if not problems else "  PROBLEMA: " + "; ".join(problems)))
    return result


def parse_recap(output):
    stats = {}
    for match in re.finditer(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", output, re.M):
        stats[match.group(1)] = dict(ok=int(match.group(2)), changed=int(match.group(3)),
                                     unreachable=int(match.group(4)), failed=int(match.group(5)))
    return stats


def count_events(path):
    modules, commands, results = collections.Counter(), collections.Counter(), collections.Counter()
    per_module, parses, origins = collections.Counter(), 0, collections.Counter()
    child_cpu = 0.0
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                event = json.loads(line)
                if event["k"] == "module":
                    modules[event["host"]] += 1
                    per_module[event["module"]] += 1
                elif event["k"] == "command":
                    commands[event["host"]] += 1
                    child_cpu += event.get("child_cpu") or 0.0
                elif event["k"] == "result":
                    results[event["host"]] += 1
                    for origin in event["validation"]:
                        origins[origin] += 1
                        parses += origin == "parsed"
    hosts = max(1, len(results))
    return {
        "modules_total": sum(modules.values()),
        "modules_per_host": round(sum(modules.values()) / float(hosts), 2),
        "modules_max_host": max(modules.values()) if modules else 0,
        "modules_by_name": dict(per_module),
        "commands_total": sum(commands.values()),
        "commands_per_host": round(sum(commands.values()) / float(hosts), 2),
        "task_results_per_host": round(sum(results.values()) / float(hosts), 1),
        "certificate_parses": parses,
        "validation_cache": dict(origins),
        "command_children_cpu_s": round(child_cpu, 2),
    }


def run_set(prefix, variant, fleet_obj, forks, which=("site", "noop", "audit"), extra_noop_forks=(), env_extra=None):
    """site (first), site (no-op), audit --check for one playbook set on a fresh fleet."""
    books = PLAYBOOKS[variant]
    runs = {}

    def one(key, playbook, run_forks, expect_changed, extra=()):
        runs[key] = run_playbook("%s-%s-%s" % (prefix, variant, key), fleet_obj.inventory, playbook, fleet_obj.size,
                                 run_forks, extra=extra, env_extra=env_extra, expect_changed=expect_changed)

    with fleet_obj:
        one("site", books["site"], forks, True)
        if "noop" in which:
            one("noop", books["site"], forks, False)
        if "audit" in which:
            one("audit", books["audit"], forks, False, ["--check"])
        for other in extra_noop_forks:
            one("noop-f%d" % other, books["site"], other, False)
    if variant == "ours":
        for key, run in runs.items():
            check_budget(run, MODULE_BUDGET[key.split("-")[0]])
    return runs


def check_budget(run, modules):
    """The collection's round-trip budget (see MODULE_BUDGET)."""
    problems = []
    if run["modules_max_host"] > modules:
        problems.append("orçamento: %d execuções de módulo num host (máximo %d)" % (run["modules_max_host"], modules))
    if run["commands_per_host"] > run["modules_per_host"] + 1:
        problems.append("orçamento: %.2f comandos por host para %.2f módulos (pipelining desligado?)"
                        % (run["commands_per_host"], run["modules_per_host"]))
    if problems:
        run["problems"].extend(problems)
        run["ok"] = False
        log("%s: %s" % (run["label"], "; ".join(problems)))


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
def ratios(ours, baseline):
    out = {}
    for key in ("site", "noop", "audit"):
        if key in ours and key in baseline and baseline[key]["wall_s"]:
            out[key] = {
                "wall": round(ours[key]["wall_s"] / baseline[key]["wall_s"], 3),
                "cpu": round(ours[key]["cpu_s"] / baseline[key]["cpu_s"], 3) if baseline[key]["cpu_s"] else None,
                "modules": round(ours[key]["modules_per_host"] / baseline[key]["modules_per_host"], 3)
                if baseline[key]["modules_per_host"] else None,
            }
    return out


def markdown(results):
    lines = ["| cenário | N | forks | playbook | execução | tempo (s) | s/host | CPU (s) | CPU controlador (s) | "
             "módulos/host | comandos/host | PKCS#12 abertos | PSS máx. (MiB) | maior processo (MiB) | carga |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for scenario in results["scenarios"]:
        for variant in ("ours", "baseline", "mitogen"):
            runs = scenario.get(variant, {})
            order = [k for k in ("site", "noop", "audit") if k in runs] + sorted(k for k in runs if k not in ("site", "noop", "audit"))
            for key in order:
                run = runs[key]
                label = {"ours": "coleção", "baseline": "manual", "mitogen": "coleção + Mitogen"}[variant]
                lines.append("| %s | %d | %d | %s | %s | %.1f | %.3f | %.1f | %.1f | %.2f | %.2f | %s | %.0f | %.0f | %.1f |" % (
                    scenario["name"], run["hosts"], run["forks"], label, key, run["wall_s"], run["per_host_s"], run["cpu_s"],
                    run["controller_cpu_s"], run["modules_per_host"], run["commands_per_host"], run["certificate_parses"], run["peak_tree_pss_mib"],
                    run["max_process_rss_mib"], run["loadavg_1min_before"]))
    lines.append("")
    lines.append("Razão coleção/manual: tempo (CPU; módulos por host)")
    lines.append("")
    lines.append("| cenário | N | site (1ª) | site (nada a fazer) | audit --check |")
    lines.append("|---|---|---|---|---|")
    for scenario in results["scenarios"]:
        ratio = scenario.get("ratios") or {}
        if ratio:
            lines.append("| %s | %d | %s | %s | %s |" % (
                scenario["name"], scenario["size"],
                *("%.2f (%.2f; %.2f)" % (ratio[k]["wall"], ratio[k]["cpu"] or 0, ratio[k]["modules"] or 0) if k in ratio else "—"
                  for k in ("site", "noop", "audit"))))
    return "\n".join(lines)


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,50,200", help="tamanhos da frota local (padrão 10,50,200)")
    parser.add_argument("--forks", type=int, default=20, help="forks das execuções principais (padrão 20)")
    parser.add_argument("--extra-forks", default="50", help="forks extras medidos na maior frota (execução sem mudanças)")
    parser.add_argument("--docker", type=int, default=5, help="contêineres Docker (0 = pular)")
    parser.add_argument("--mitogen", type=int, default=50, help="frota local medida com Mitogen (0 = pular)")
    parser.add_argument("--variants", default="ours,baseline", help="conjuntos de playbooks (ours,baseline)")
    parser.add_argument("--full-baseline", action="store_true", help="baseline completo também na maior frota")
    parser.add_argument("--shared", type=int, default=200, help="hosts que compartilham um só .pfx (0 = pular)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    extra_forks = [int(f) for f in args.extra_forks.split(",") if f.strip()]
    started = time.monotonic()
    os.makedirs(BUILD, exist_ok=True)
    results = {
        "started_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "method": {
            "wall_s": "time.monotonic() around ansible-playbook",
            "cpu_s": "ru_utime + ru_stime from wait4() of ansible-playbook: the whole process tree (workers and, with "
                     "the local connection, the module processes too)",
            "peak_tree_pss_mib": "peak of the summed PSS of the ansible-playbook process tree, /proc/<pid>/smaps_rollup "
                                 "sampled every 0.25 s (shared copy-on-write pages counted once)",
            "max_process_rss_mib": "ru_maxrss from wait4(): the largest single process of the tree",
            "modules": "calls of ActionBase._execute_module counted by tests/bench/callback_plugins/bench_counter.py "
                       "(loop items counted; copy = stat + copy/file; validate_only and rnds_report = 0)",
            "commands": "calls of ActionBase._low_level_execute_command (round trips on the connection)",
            "certificate_parses": "results of esus.rnds.pec_certificate with validation_cache == 'parsed'",
            "command_children_cpu_s": "CPU of the processes each remote command waited for (RUSAGE_CHILDREN delta in "
                                      "the worker): local connection = the module processes; docker = docker CLI",
            "controller_cpu_s": "cpu_s - command_children_cpu_s (for the docker connection cpu_s already excludes the "
                                "processes inside the containers)",
        },
        "scenarios": [],
    }
    problems = []
    certs = make_certificates(max(sizes + [args.docker, args.mitogen, 1]))
    log("máquina: %s" % json.dumps(results["machine"], ensure_ascii=False))
    try:
        for size in sizes:
            scenario = {"name": "local", "size": size, "connection": "local"}
            largest = size == max(sizes)
            for variant in args.variants.split(","):
                # Time budget: on the largest fleet the baseline runs only site.yml (first run), and
                # ours also measures the no-op run with the extra forks values.
                which = ("site",) if (largest and variant == "baseline" and not args.full_baseline) else ("site", "noop", "audit")
                scenario[variant] = run_set("local-%d" % size, variant, LocalFleet("local-%d-%s" % (size, variant), size, certs),
                                            args.forks, which=which,
                                            extra_noop_forks=extra_forks if (largest and variant == "ours") else ())
            scenario["ratios"] = ratios(scenario.get("ours", {}), scenario.get("baseline", {}))
            results["scenarios"].append(scenario)
            save(results)
        if args.shared:
            size = args.shared
            scenario = {"name": "local-um-arquivo", "size": size, "connection": "local",
                        "note": "todos os hosts usam o mesmo .pfx (mesma senha): a validação deve abrir o arquivo uma vez"}
            with LocalFleet("local-shared-%d" % size, size, certs, shared_cert=certs[0]) as shared:
                run = run_playbook("shared-%d-ours-site" % size, shared.inventory, PLAYBOOKS["ours"]["site"], size,
                                   args.forks, expect_changed=True)
                check_budget(run, MODULE_BUDGET["site"])
                if run["certificate_parses"] != 1:
                    run["problems"].append("o arquivo compartilhado foi aberto %d vezes (esperado: 1)" % run["certificate_parses"])
                    run["ok"] = False
                scenario["ours"] = {"site": run}
            results["scenarios"].append(scenario)
            save(results)
        if args.mitogen:
            env = mitogen_env()
            scenario = {"name": "local-mitogen", "size": args.mitogen, "connection": "local"}
            if env is None:
                scenario["skipped"] = "Mitogen %s não pôde ser instalado" % MITOGEN_VERSION
            else:
                scenario["mitogen_version"] = MITOGEN_VERSION
                scenario["mitogen"] = run_set("mitogen-%d" % args.mitogen, "ours",
                                              LocalFleet("local-mitogen-%d" % args.mitogen, args.mitogen, certs),
                                              args.forks, env_extra=env)
            results["scenarios"].append(scenario)
            save(results)
        if args.docker:
            reason = docker_available()
            scenario = {"name": "docker", "size": args.docker, "connection": "community.docker.docker"}
            if reason:
                log("Docker pulado: %s" % reason)
                scenario["skipped"] = reason
            else:
                for variant in args.variants.split(","):
                    scenario[variant] = run_set("docker-%d" % args.docker, variant,
                                                DockerFleet("docker-%d-%s" % (args.docker, variant), args.docker, certs),
                                                args.forks)
                scenario["ratios"] = ratios(scenario.get("ours", {}), scenario.get("baseline", {}))
            results["scenarios"].append(scenario)
            save(results)
    finally:
        results["total_s"] = round(time.monotonic() - started, 1)
        save(results)
    for scenario in results["scenarios"]:
        for variant in ("ours", "baseline", "mitogen"):
            for key, run in scenario.get(variant, {}).items():
                problems.extend("%s/%s/%s: %s" % (scenario["name"], variant, key, p) for p in run["problems"])
    table = markdown(results)
    with open(os.path.join(BUILD, "table.md"), "w", encoding="utf-8") as handle:
        handle.write(table + "\n")
    print(table)
    log("resultados em %s (%.0f s no total)" % (os.path.relpath(REPORT, REPO), results["total_s"]))
    if problems:
        print("\n".join(["O benchmark encontrou execuções que não se comportaram como deviam:"] + problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
