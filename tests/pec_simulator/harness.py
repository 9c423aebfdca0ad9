# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helpers: start/stop real simulator processes on 127.0.0.1 and talk to them raw.

Used by the pytest suites (tests/unit/pec_simulator, tests/unit/plugins/...)::

    sys.path.insert(0, "<repo>/tests/pec_simulator")
    from harness import Simulator, sim_factory  # sim_factory is a pytest fixture

    def test_x(sim_factory, tmp_path):
        sim = sim_factory(admins=["admin:senha"], municipios=["3550308"])
        sim.url  # http://127.0.0.1:<port chosen by the kernel>

The process binds port 0 and reports the real port in its readiness line, so there is no
race for a free port and no sleep: the harness waits for that line.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "server.py")
READY_PREFIX = "PEC simulado pronto "


def load_server_module():
    """Import server.py under a unique module name (other suites may have a ``server`` module)."""
    import importlib.util

    name = "esus_rnds_pec_simulator_server"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SERVER)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class Simulator:
    """One simulator process. ``start()`` returns once it listens."""

    def __init__(self, install_dir, admins=("admin:senha-admin",), municipios=(), faults=(), version=None,
                 https_cert=None, https_key=None, extra_args=(), python=None, listen="127.0.0.1:0"):
        self.install_dir = str(install_dir)
        self.admins = list(admins)
        self.municipios = list(municipios)
        self.faults = list(faults)
        self.version = version
        self.https_cert = https_cert
        self.https_key = https_key
        self.extra_args = list(extra_args)
        self.python = python or sys.executable
        self.listen = listen
        self.proc = None
        self.url = None
        self.ready_line = None
        self.stderr_path = os.path.join(self.install_dir, "simulator-stderr.log")

    # -- process ---------------------------------------------------------------------
    def command(self):
        cmd = [self.python, SERVER, "--listen", self.listen, "--install-dir", self.install_dir]
        if self.admins:
            # Passwords go through a 0600 file next to the install dir, never the command line.
            admin_file = self.install_dir.rstrip(os.sep) + ".admins"
            fd = os.open(admin_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write("".join(admin + "\n" for admin in self.admins))
            cmd += ["--admin-file", admin_file]
        for municipio in self.municipios:
            cmd += ["--municipio", municipio]
        for fault in self.faults:
            cmd += ["--fault", fault]
        if self.version:
            cmd += ["--version", self.version]
        if self.https_cert:
            cmd += ["--https-cert", str(self.https_cert), "--https-key", str(self.https_key)]
        return cmd + self.extra_args

    def start(self, timeout=30):
        os.makedirs(self.install_dir, exist_ok=True)
        stderr = open(self.stderr_path, "ab")  # pylint: disable=consider-using-with
        try:
            self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
                self.command(), stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL,
            )
        finally:
            stderr.close()
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline:
            ready, _unused_w, _unused_x = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                if line:
                    break
            if self.proc.poll() is not None:
                break
        text = line.decode("utf-8", "replace").strip()
        if not text.startswith(READY_PREFIX):
            self.kill()
            with open(self.stderr_path, "r", encoding="utf-8", errors="replace") as handle:
                raise RuntimeError("simulador não ficou pronto: %r\n%s" % (text, handle.read()))
        self.ready_line = text
        fields = dict(part.split("=", 1) for part in text[len(READY_PREFIX):].split() if "=" in part)
        self.url = fields["url"]
        return self

    @property
    def port(self):
        return int(self.url.rsplit(":", 1)[1])

    def stop(self, timeout=15):
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc.stdout.close()
        self.proc = None
        return code

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None:
            self.proc.stdout.close()
        self.proc = None

    def restart(self, same_port=True):
        if same_port and self.url:
            self.listen = "127.0.0.1:%d" % self.port
        self.stop()
        return self.start()

    # -- files -----------------------------------------------------------------------
    @property
    def state_dir(self):
        return os.path.join(self.install_dir, "pec-simulator")

    @property
    def chaves(self):
        return os.path.join(self.install_dir, "webserver", "chaves")

    def state(self):
        with open(os.path.join(self.state_dir, "state.json"), "r", encoding="utf-8") as handle:
            return json.load(handle)

    def audit_lines(self):
        path = os.path.join(self.state_dir, "audit.jsonl")
        if not os.path.exists(path):
            return []
        with open(path, "r", encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    # -- HTTP --------------------------------------------------------------------------
    def _context(self):
        if not self.url.startswith("https"):
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context

    def control(self, body=None, method="POST"):
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.url + "/__sim__/fault", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10, context=self._context()) as response:
            return json.loads(response.read().decode("utf-8"))

    def set_fault(self, **faults):
        return self.control(faults)

    def clear_faults(self):
        return self.control({"clear": True})


class RawSession:
    """Speaks the GraphQL contract directly (cookies by hand), to test the simulator itself."""

    def __init__(self, url):
        self.url = url
        self.cookies = {}

    def post(self, operation, variables=None, query=None, xsrf=True, raw_body=None, timeout=10):
        body = raw_body if raw_body is not None else json.dumps({
            "operationName": operation,
            "query": query if query is not None else "query %s { x }" % operation,
            "variables": variables or {},
        }).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.cookies:
            headers["Cookie"] = "; ".join("%s=%s" % item for item in self.cookies.items())
        if xsrf and "XSRF-TOKEN" in self.cookies:
            headers["X-XSRF-TOKEN"] = self.cookies["XSRF-TOKEN"]
        request = urllib.request.Request(self.url + "/api/graphql", data=body, headers=headers, method="POST")
        context = None
        if self.url.startswith("https"):
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        try:
            response = urllib.request.urlopen(request, timeout=timeout, context=context)  # pylint: disable=consider-using-with
        except urllib.error.HTTPError as exc:
            response = exc
        with response:
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _sep, rest = header.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
            payload = response.read()
            status = response.status if hasattr(response, "status") else response.code
        try:
            document = json.loads(payload.decode("utf-8"))
        except ValueError:
            document = None
        return status, document, payload

    def login(self, user, password):
        status, document, _payload = self.post("Login", {"input": {"usuario": user, "senha": password}})
        return status, document


def error_code(document):
    return document["errors"][0]["extensions"]["code"]


def closed_port():
    """A port on 127.0.0.1 where nothing listens (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def sim_factory(tmp_path):
    """Start simulators (``sim_factory(**Simulator kwargs)``); all are stopped at teardown."""
    started = []

    def factory(install_dir=None, start=True, **kwargs):
        directory = install_dir or tmp_path / ("pec%d" % len(started))
        sim = Simulator(directory, **kwargs)
        started.append(sim)
        return sim.start() if start else sim

    yield factory
    for sim in started:
        sim.kill()


def run_playbook(run_ansible, directory, tasks, extra_vars=None, check=False, diff=False, verbosity=0,
                 json_output=True):
    """Run ``tasks`` on localhost (connection local) with ansible-playbook.

    Secrets go in ``extra_vars`` (written to a JSON file passed with ``-e @file``), never on
    the command line. Returns ``(completed_process, results)`` where ``results`` is the list of
    per-task results for localhost (``None`` without ``json_output``).
    """
    directory = str(directory)
    os.makedirs(directory, exist_ok=True)
    vars_path = os.path.join(directory, "vars.json")
    fd = os.open(vars_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(extra_vars or {}, handle, ensure_ascii=False)
    play_path = os.path.join(directory, "play.yml")
    with open(play_path, "w", encoding="utf-8") as handle:
        json.dump([{"name": "teste", "hosts": "localhost", "gather_facts": False, "tasks": list(tasks)}],
                  handle, ensure_ascii=False, indent=1)
    args = ["-i", "localhost,", "-c", "local", "-e", "@" + vars_path, play_path]
    if check:
        args.append("--check")
    if diff:
        args.append("--diff")
    if verbosity:
        args.append("-" + "v" * verbosity)
    env = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"} if json_output else {"ANSIBLE_STDOUT_CALLBACK": "default"}
    proc = run_ansible("ansible-playbook", *args, env_extra=env)
    if not json_output:
        return proc, None
    try:
        document = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("saída do ansible-playbook não é JSON:\n%s\n%s" % (proc.stdout, proc.stderr))
    results = [task["hosts"]["localhost"] for task in document["plays"][0]["tasks"]]
    return proc, results
