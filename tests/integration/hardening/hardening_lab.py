# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small fleet of simulated PEC servers on 127.0.0.1 for the hardening tests.

Each host is ``ansible_connection: local`` with its own PEC simulator (a real process, admin
passwords handed over in a 0600 file, never on a command line) and its own install dir. The
inventory keeps every secret in an ansible-vault encrypted ``group_vars/all/vault.yml``, like a
real one. The playbooks of ``playbooks/`` run for real with ``ansible-playbook``; ``HOME`` and
``TMPDIR`` of those runs point inside the lab, so every file Ansible (or a module) leaves behind
is inside folders the tests can walk.

Nothing here is a fixture: ``conftest.py`` builds a ``Lab`` per test.
"""

from __future__ import annotations

import base64
import codecs
import hashlib
import json
import os
import pwd
import grp
import re
import secrets as pysecrets
import shlex
import signal
import subprocess
import sys
import threading
import time
import zlib

import testca

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "pec_simulator"))
sys.path.insert(0, os.path.join(REPO, "tests", "rnds_mock"))

from harness import Simulator, cpf, format_cpf  # noqa: E402  pylint: disable=wrong-import-position

PLAYBOOKS = os.path.join(REPO, "playbooks")
VAULT_PASSWORD = "cofre-do-laboratorio"
RECAP_RE = re.compile(r"^(?P<host>\S+)\s+: ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
                      r"\s+failed=(?P<failed>\d+)", re.M)
TASK_LINE_RE = re.compile(r"^TASK \[(?P<name>.*)\] \**$")
# Audit actions of the PEC (manual, audit table): one line per service.
AUDIT_ENABLE = "Habilitar o PEC a acessar %s"
AUDIT_DISABLE = "Desabilitar PEC a acessar %s"


def password(label):
    """(password, core): HARD_PASSWORD with a unique alphanumeric core in the middle."""
    core = "K%s%s" % (re.sub(r"[^A-Za-z0-9]", "", label), pysecrets.token_hex(5))
    return "%s %s $(id) ${IFS} ção ñ" % (testca.HARD_PASSWORD, core), core


def admin_cpf(name):
    """A valid CPF (11 digits), the same for the same host name in every run of the suite."""
    return cpf(zlib.crc32(name.encode("utf-8")))


def recap(output):
    return dict((m.group("host"), dict((k, int(m.group(k))) for k in ("ok", "changed", "unreachable", "failed")))
                for m in RECAP_RE.finditer(output))


# ------------------------------------------------------------------------------------------
# Secret forms


def secret_forms(value):
    """Byte strings that would betray ``value``: raw, JSON-escaped, shell-quoted, repr, base64, hex, latin-1."""
    forms = set()
    texts = {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        shlex.quote(value),
        repr(value)[1:-1],
        value.encode("unicode_escape").decode("ascii"),
    }
    for text in texts:
        if len(text) >= 6:
            forms.add(text.encode("utf-8"))
    raw = value.encode("utf-8")
    forms.add(base64.b64encode(raw))
    forms.add(base64.b64encode(raw).rstrip(b"="))
    forms.add(base64.urlsafe_b64encode(raw).rstrip(b"="))
    forms.add(codecs.encode(raw, "hex"))
    try:
        forms.add(value.encode("latin-1"))
    except UnicodeEncodeError:
        pass
    return forms


class Secrets:
    """Named secrets and their forms; ``core`` pieces are searched for too."""

    def __init__(self):
        self.items = []  # (label, value)
        self.cores = []  # (label, core)

    def add(self, label, value, core=None):
        if value and (label, value) not in self.items:
            self.items.append((label, value))
        if core:
            self.cores.append((label, core))

    def forms(self):
        out = []
        for label, value in self.items:
            for form in secret_forms(value):
                out.append((label, form))
        for label, core in self.cores:
            out.append((label + " (núcleo)", core.encode("ascii")))
        return out

    def find(self, data, skip_labels=()):
        """Labels/forms found in ``data`` (bytes or str)."""
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        found = []
        for label, form in self.forms():
            if any(label.startswith(skip) for skip in skip_labels):
                continue
            if form in data:
                found.append((label, form[:40]))
        return found

    def count(self):
        return len(self.items), len(self.forms())


def walk_files(roots, skip=()):
    """Every regular file under ``roots`` (symlinks not followed), except paths in ``skip``."""
    skip = set(os.path.realpath(p) for p in skip)
    for root in roots:
        if not os.path.exists(root):
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if os.path.realpath(os.path.join(dirpath, d)) not in skip]
            for name in filenames:
                full = os.path.join(dirpath, name)
                if os.path.realpath(full) in skip or os.path.islink(full):
                    continue
                try:
                    with open(full, "rb") as handle:
                        yield full, handle.read()
                except OSError:
                    continue


def proc_files(name):
    """(pid, contents of /proc/<pid>/<name>) for every process still there when its file is read."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/%s" % (pid, name), "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        yield pid, data


class CmdlineSampler(threading.Thread):
    """Read /proc/*/cmdline of every process over and over while a run is under way."""

    def __init__(self, secrets, interval=0.01):
        super().__init__(daemon=True)
        self.secrets = secrets
        self.interval = interval
        self.stop_event = threading.Event()
        self.samples = 0
        self.processes_seen = set()
        self.leaks = []
        self._forms = None

    def run(self):
        self._forms = self.secrets.forms()
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(self.interval)

    def sample(self):
        self.samples += 1
        for pid, data in proc_files("cmdline"):
            self.processes_seen.add((pid, data[:200]))
            for label, form in self._forms:
                if form in data:
                    self.leaks.append((label, data.replace(b"\0", b" ")[:200]))

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.join(10)


# ------------------------------------------------------------------------------------------
# Output and request log


def fatal_messages(output, task=None):
    """{host: msg} of the ``fatal: [host]: FAILED! => {...}`` lines of ``output`` (of task ``task`` only)."""
    found, current = {}, None
    for line in output.splitlines():
        match = TASK_LINE_RE.match(line)
        if match:
            current = match.group("name")
            continue
        match = re.match(r"^fatal: \[(?P<host>[^\]]+)\]: FAILED! => (?P<json>\{.*\})\s*$", line)
        if match and (task is None or current == task):
            try:
                found[match.group("host")] = json.loads(match.group("json")).get("msg") or ""
            except ValueError:
                found[match.group("host")] = match.group("json")
    return found


FAILURE_RE = re.compile(r"^(?:fatal: \[(?P<host>[^\]]+)\]: FAILED!|failed: \[(?P<item_host>[^\]]+)\] \(item=.*?\)) => (?=\{)",
                        re.M)


def failure_messages(output):
    """{host: [msg, ...]} of every failed task and loop item in ``output``: ``fatal: [host]: FAILED! => {...}``
    and ``failed: [host] (item=...) => {...}``, the result on one line or indented over several (-vvvv);
    a failure followed by ``...ignoring`` is left out; a delegated host ``[a -> b]`` counts for ``a``."""
    found, decoder = {}, json.JSONDecoder()
    for match in FAILURE_RE.finditer(output):
        host = (match.group("host") or match.group("item_host")).split(" -> ")[0]
        try:
            result, end = decoder.raw_decode(output, match.end())
        except ValueError:
            result, end = {"msg": output[match.end():output.find("\n", match.end())]}, match.end()
        if output[end:].lstrip().startswith("...ignoring"):
            continue
        msg = result.get("msg") or ""
        found.setdefault(host, []).append(msg if isinstance(msg, str) else json.dumps(msg, ensure_ascii=False))
    return found


NOT_AUTHENTICATED = "NaoAutenticadoException"


def session_problems(lines, cpf, login_timed_out=False, restarts=()):
    """What is wrong with the sessions of one run, read from one PEC's request log (``lines``).

    The PEC allows one session per user and locks an account after failed logins, so a run must:
    log in with the CPF at most twice (one login, plus at most one new login after the PEC ended the
    session), use no other user, and end every session it opened with a Logout - a session the PEC
    ended itself (HTTP 401, ``NaoAutenticadoException``) needs none. ``login_timed_out``: the client
    gave up waiting for the only Login (the PEC answered it after the timeout), so that session
    cannot be logged out: it must be the run's last request. ``restarts``: indexes in ``lines``
    where the PEC was restarted (its sessions are gone from there on).
    """
    problems = []
    logins = [line for line in lines if line["operation"] == "Login"]
    if len(logins) > 2:
        problems.append("%d logins do CPF %s numa execução (máximo: 1 + 1 novo login)" % (len(logins), cpf))
    users = set(line["user"] for line in lines if line.get("user"))
    if users - {cpf}:
        problems.append("usuários inesperados no registro de pedidos: %s" % sorted(users - {cpf}))
    if login_timed_out:
        if len(logins) != 1 or lines[-1] is not logins[0]:
            problems.append("o login que expirou no cliente não foi o único nem o último pedido: %s"
                            % [line["operation"] for line in lines])
        return problems
    open_session = False
    for number, line in enumerate(lines):
        if number in restarts:
            open_session = False
        ok = line["status"] == 200 and not line.get("classification")
        if line["operation"] == "Login" and ok:
            if open_session:
                problems.append("novo login com a sessão anterior ainda aberta")
            open_session = True
        elif line["operation"] == "Logout" and ok:
            if not open_session:
                problems.append("Logout sem sessão aberta")
            open_session = False
        elif line.get("classification") == NOT_AUTHENTICATED:
            open_session = False  # the PEC ended the session (restart, idle timeout)
    if open_session and len(lines) not in restarts:
        problems.append("a execução terminou sem Logout (pedidos: %s)" % [line["operation"] for line in lines])
    return problems


# ------------------------------------------------------------------------------------------
# Processes


def descendants(pid):
    """PIDs of every descendant of ``pid`` (walks /proc; Ansible workers call setsid())."""
    children = {}
    for entry, stat in proc_files("stat"):
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        for child in children.get(current, []):
            out.append(child)
            todo.append(child)
    return out


def kill_tree(proc):
    """SIGKILL the process group of ``proc`` and every descendant (workers live in their own sessions)."""
    victims = descendants(proc.pid)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    # the killed workers were children of ansible-playbook: reap nothing else; wait until gone
    deadline = time.monotonic() + 10
    for pid in victims:
        while time.monotonic() < deadline:
            try:
                with open("/proc/%d/stat" % pid, "rb") as handle:
                    state = handle.read()
            except OSError:
                break
            if b") Z " in state:
                break
            time.sleep(0.01)


# TCP states of /proc/net/tcp that still hold a request (LISTEN, TIME_WAIT and CLOSE hold none).
_IDLE_TCP_STATES = ("0A", "06", "07")


def open_connections(port):
    """How many TCP connections to 127.0.0.1:``port`` are still open on the server side."""
    count = 0
    with open("/proc/net/tcp", "r", encoding="ascii") as handle:
        next(handle)
        for line in handle:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] not in _IDLE_TCP_STATES:
                count += 1
    return count


def wait_until_idle(port, timeout=30):
    """Poll until the PEC on ``port`` has answered every request it received (no connection left open).

    A client killed with a request in flight leaves the server thread working on it (a slow PEC,
    a login that opens a session): its connection stays open on the server side until the answer
    is written, so "no open connection" is the event that the PEC is done, without a guessed sleep.
    """
    deadline = time.monotonic() + timeout
    while open_connections(port):
        assert time.monotonic() < deadline, "o PEC na porta %d não terminou os pedidos em %d s" % (port, timeout)
        time.sleep(0.01)


class LogTail:
    """Complete lines appended to a file since the tail was made (polled: no inotify)."""

    def __init__(self, path):
        self.path = path
        self.offset = os.path.getsize(path) if os.path.exists(path) else 0
        self.lines = 0
        self._partial = b""

    def poll(self):
        """Read what was appended; returns the number of complete new lines so far."""
        try:
            size = os.path.getsize(self.path)
        except OSError:
            return self.lines
        if size > self.offset:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read(size - self.offset)
            self.offset += len(data)
            data = self._partial + data
            self.lines += data.count(b"\n")
            self._partial = data[data.rfind(b"\n") + 1:]
        return self.lines


# ------------------------------------------------------------------------------------------
# The lab


class Host:
    def __init__(self, lab, name, ibge, cert_password, admin_password, leaf, flavour, sim_kwargs):
        self.lab = lab
        self.name = name
        self.ibge = ibge
        self.cert_password = cert_password
        self.admin_password = admin_password
        self.install_dir = os.path.join(lab.root, "srv", name, "e-SUS")
        self.chaves = os.path.join(self.install_dir, "webserver", "chaves")
        # The PEC user name is the Administrador Municipal's CPF: the simulator knows the digits, the
        # inventory writes it with punctuation (the collection sends digits only).
        self.admin_cpf = admin_cpf(name)
        self.admin_user = format_cpf(self.admin_cpf)
        os.makedirs(os.path.join(self.install_dir, "webserver"), exist_ok=True)
        admin_file = os.path.join(lab.operator, "%s.admins" % name)
        fd = os.open(admin_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("%s:%s:%s\n" % (self.admin_cpf, admin_password, ibge))
        self.sim = Simulator(self.install_dir, admins=[], municipios=[ibge],
                             extra_args=["--admin-file", admin_file], **sim_kwargs)
        self.cert_name = "fms-%s.pfx" % ibge
        self.source = os.path.join(lab.certs, "%s-%s" % (name, self.cert_name))
        self.leaf = leaf
        testca.write_pkcs12(self.source, leaf, cert_password, flavour=flavour)
        self.vars = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "rnds_pec_url": None,  # filled in when the simulator listens
            "rnds_pec_install_dir": self.install_dir,
            "rnds_municipio_ibge": ibge,
            "rnds_certificate_src": self.source,
            "rnds_certificate_name": self.cert_name,
            "rnds_certificate_password": "{{ vault_cert_password['%s'] }}" % name,
            "rnds_requester_id": "%s-SOLIC-0001" % ibge,
            "rnds_pec_admin_user": self.admin_user,
            "rnds_pec_admin_password": "{{ vault_admin_password['%s'] }}" % name,
            "rnds_chaves_owner": lab.user,
            "rnds_chaves_group": lab.group,
        }
        # what the inventory says (may differ on purpose from what the PEC/file expects)
        self.inventory_cert_password = cert_password
        self.inventory_admin_password = admin_password

    def start(self):
        self.sim.start()
        self.vars["rnds_pec_url"] = self.sim.url
        return self

    def sha256(self, path=None):
        with open(path or self.source, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()

    def state(self, service="RNDS"):
        """The municipality's certificate in the PEC (state.json v2), plus ``habilitado`` for ``service``.

        The PEC keeps one certificate per municipality and the services enabled with it
        (``certificado``, ``servicos``, ``identificadorSolicitante``, ``habilitadoEm``, ``validoAte``,
        ``fingerprintSha256``, ``arquivoSha256``).
        """
        certificate = dict(self.sim.state()["municipios"][self.ibge]["certificado"])
        certificate["habilitado"] = service in (certificate.get("servicos") or []) and bool(certificate.get("certificado"))
        return certificate

    def enable_successes(self, service="RNDS"):
        """Audit lines of the PEC for a successful "Habilitar o PEC a acessar <service>"."""
        return [line for line in self.sim.audit_lines()
                if line["action"] == AUDIT_ENABLE % service and line["result"] == "sucesso"]

    def disable_successes(self, service="RNDS"):
        return [line for line in self.sim.audit_lines()
                if line["action"] == AUDIT_DISABLE % service and line["result"] == "sucesso"]

    def requests_since(self, start):
        """Lines of the simulator's request log from line ``start`` on (see ``request_mark``)."""
        return self.sim.requests()[start:]

    def request_mark(self):
        return len(self.sim.requests())

    def request_tail(self):
        """A LogTail of the PEC's request log (one line per request, written before its answer leaves)."""
        return LogTail(os.path.join(self.sim.state_dir, "requests.jsonl"))


class Lab:
    """Hosts, inventory, environment and secret scanning for one test."""

    def __init__(self, root, test_ca, base_env):
        self.root = str(root)
        self.ca = test_ca
        self.hosts = {}
        self.certs = os.path.join(self.root, "certs")
        self.operator = os.path.join(self.root, "operator")  # the operator's own secrets: never scanned
        self.inventory_dir = os.path.join(self.root, "inventory")
        self.reports = os.path.join(self.root, "reports")
        self.home = os.path.join(self.root, "home")
        self.tmp = os.path.join(self.root, "tmp")
        for path in (self.certs, self.operator, self.inventory_dir, self.home, self.tmp):
            os.makedirs(path, exist_ok=True)
        os.chmod(self.operator, 0o700)
        self.user = pwd.getpwuid(os.getuid()).pw_name
        self.group = grp.getgrgid(os.getgid()).gr_name
        self.vault_password_file = os.path.join(self.operator, "vault-password.txt")
        with open(self.vault_password_file, "w", encoding="utf-8") as handle:
            handle.write(VAULT_PASSWORD + "\n")
        self.group_vars = {"rnds_report_dir": self.reports, "rnds_min_days_remaining": 30}
        self.secrets = Secrets()
        self.env = dict(base_env)
        self.env.pop("ANSIBLE_LOCAL_TEMP", None)  # the default under HOME, like a real controller
        # The "remote" temp of the local hosts is ~user/.ansible/tmp resolved by the shell (not $HOME):
        # point it at the lab's HOME so the files a run leaves there are walked too.
        self.env.update(HOME=self.home, TMPDIR=self.tmp, ANSIBLE_STDOUT_CALLBACK="default",
                        ANSIBLE_REMOTE_TEMP=os.path.join(self.home, ".ansible", "tmp"),
                        ANSIBLE_VAULT_PASSWORD_FILE=self.vault_password_file)
        self.mock = None
        self.runs = 0

    # -- hosts ---------------------------------------------------------------------------
    def add_host(self, name, ibge="3550308", cert_password=None, admin_password=None, leaf=None, flavour="aes",
                 start=True, **sim_kwargs):
        if cert_password is None:
            cert_password, core = password("cert" + name)
            self.secrets.add("senha do certificado de %s" % name, cert_password, core)
        else:
            self.secrets.add("senha do certificado de %s" % name, cert_password)
        if admin_password is None:
            admin_password, core = password("admin" + name)
            self.secrets.add("senha do administrador de %s" % name, admin_password, core)
        else:
            self.secrets.add("senha do administrador de %s" % name, admin_password)
        host = Host(self, name, ibge, cert_password, admin_password, leaf or self.ca.issue_ecnpj(), flavour, sim_kwargs)
        self.hosts[name] = host
        return host.start() if start else host

    def start_mock_rnds(self):
        from rnds_mock_harness import MockRnds  # pylint: disable=import-outside-toplevel

        self.mock = MockRnds(os.path.join(self.operator, "rnds-mock"), self.ca).start()
        self.group_vars.update(rnds_auth_url=self.mock.token_url)
        # the module validates the mock's server certificate with the system store: point it at the test CA
        self.env["SSL_CERT_FILE"] = self.mock.ca_file
        return self.mock

    def stop(self):
        for host in self.hosts.values():
            host.sim.kill()
        if self.mock is not None:
            self.mock.stop()

    # -- inventory -----------------------------------------------------------------------
    def write_inventory(self, inventory=None):
        """Write the inventory as the hosts are now; ``inventory`` names another folder (concurrent runs)."""
        from ansible.parsing.vault import VaultLib, VaultSecret  # pylint: disable=import-outside-toplevel

        hosts = dict((name, host.vars) for name, host in self.hosts.items())
        directory = self.inventory_dir if inventory is None else "%s-%s" % (self.inventory_dir, inventory)
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, "hosts.yml")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"pec": {"hosts": hosts}}, handle, ensure_ascii=False, indent=1)
        group_vars = os.path.join(directory, "group_vars", "all")
        os.makedirs(group_vars, exist_ok=True)
        with open(os.path.join(group_vars, "main.yml"), "w", encoding="utf-8") as handle:
            json.dump(self.group_vars, handle, ensure_ascii=False, indent=1)
        plain = json.dumps({
            "vault_cert_password": dict((n, h.inventory_cert_password) for n, h in self.hosts.items()),
            "vault_admin_password": dict((n, h.inventory_admin_password) for n, h in self.hosts.items()),
        }, ensure_ascii=False).encode("utf-8")
        vault = VaultLib([("default", VaultSecret(VAULT_PASSWORD.encode()))])
        with open(os.path.join(group_vars, "vault.yml"), "wb") as handle:
            handle.write(vault.encrypt(plain))
        return path

    # -- runs ----------------------------------------------------------------------------
    def command(self, playbook, *args, inventory=None):
        bindir = os.path.dirname(sys.executable)
        return [os.path.join(bindir, "ansible-playbook"), "-i", self.write_inventory(inventory),
                os.path.join(PLAYBOOKS, playbook)] + [str(a) for a in args]

    def run(self, playbook, *args, env_extra=None, timeout=300, inventory=None):
        env = dict(self.env, **(env_extra or {}))
        self.runs += 1
        started = time.monotonic()
        proc = subprocess.run(self.command(playbook, *args, inventory=inventory), env=env, cwd=REPO, capture_output=True, text=True,
                              timeout=timeout, check=False, stdin=subprocess.DEVNULL)
        proc.output = proc.stdout + proc.stderr
        proc.recap = recap(proc.stdout)
        proc.elapsed = time.monotonic() - started
        return proc

    def popen(self, playbook, *args, env_extra=None, inventory=None):
        """Start a run in its own process group (for kills); stdout is a line-buffered pipe."""
        env = dict(self.env, **(env_extra or {}))
        env["PYTHONUNBUFFERED"] = "1"
        self.runs += 1
        return subprocess.Popen(self.command(playbook, *args, inventory=inventory), env=env, cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    # -- secrets -------------------------------------------------------------------------
    def add_runtime_secrets(self):
        """Contra chaves (from each simulator's state file) and RNDS tokens (mock token log).

        The contra-chave belongs to the installation (state.json v2, top-level ``contra_chave``); a
        per-municipality one is searched for too, should a PEC ever keep one.
        """
        for name, host in self.hosts.items():
            try:
                state = host.sim.state()
            except OSError:
                continue
            found = [("contra chave de %s" % name, state.get("contra_chave"))]
            found += [("contra chave de %s/%s" % (name, ibge), entry.get("contra_chave"))
                      for ibge, entry in (state.get("municipios") or {}).items() if isinstance(entry, dict)]
            for label, cc in found:
                if cc:
                    self.secrets.add(label, cc)
                    self.secrets.add(label + " sem hífens", cc.replace("-", ""))
        if self.mock is not None:
            for number, token in enumerate(self.mock.tokens()):
                self.secrets.add("token RNDS %d" % number, token)

    def leftover_roots(self):
        return [os.path.join(self.root, "srv"), self.reports, self.home, self.tmp, self.inventory_dir]

    def scan_files(self):
        """(path, label) for every secret form found in a file the runs could have written."""
        found = []
        state_files = set(os.path.join(h.install_dir, "pec-simulator", "state.json") for h in self.hosts.values())
        files = 0
        for path, data in walk_files(self.leftover_roots()):
            files += 1
            # the PEC's own state holds the contra chave by design
            skip = ("contra chave",) if path in state_files else ()
            for label, _form in self.secrets.find(data, skip_labels=skip):
                found.append((os.path.relpath(path, self.root), label))
        return found, files
