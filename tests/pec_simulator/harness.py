# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helpers: start/stop real simulator processes on 127.0.0.1 and talk to them raw.

Used by the pytest suites (tests/unit/pec_simulator, tests/unit/plugins/..., tests/integration/...)::

    sys.path.insert(0, "<repo>/tests/pec_simulator")
    from harness import Simulator, RawSession, cpf, sim_factory  # sim_factory is a pytest fixture

    def test_x(sim_factory):
        sim = sim_factory(admins=[cpf(1) + ":senha"], municipios=["3550308"])
        sim.url  # http://127.0.0.1:<port chosen by the kernel>
        client = sim.session()          # RawSession on the PEC session protocol
        client.home()                   # GET / -> XSRF-TOKEN cookie
        client.login(cpf(1), "senha")   # (status, answer)
        client.selecionar_acesso("3550308")
        client.call("query ContraChave { contraChave }")

The process binds port 0 and reports the real port in its readiness line, so there is no
race for a free port and no sleep: the harness waits for that line.
"""

from __future__ import annotations

import json
import os
import re
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
API_CONSUMER_ID = "ESUS_WEB_CLIENT"
CLIENT_NAME = "PEC Web"
CLIENT_VERSION = "5.3.28"

# The confirmed session documents (PEC-FACTS.md 2, 8, 9).
LOGIN = "mutation Login($input: LoginInput!) { login(input: $input) { success } }"
SESSAO = ("query Sessao { sessao { profissional { id nome cpf acessos { id tipo "
          "... on AdministradorMunicipal { municipio { id nome ibge } } } } "
          "acesso { id tipo ... on AdministradorMunicipal { municipio { id nome ibge } } } } }")
SELECIONAR_ACESSO = ("mutation SelecionarAcesso($input: SelecionarAcessoInput!) { selecionarAcesso(input: $input) "
                     "{ id tipo ... on AdministradorMunicipal { municipio { ibge } } } }")
LOGOUT = "mutation Logout { logout { id } }"


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


def client_context(url):
    """TLS context of a test client of ``url`` (None for http): the simulator's certificate is not verified."""
    if not url.startswith("https"):
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class Simulator:
    """One simulator process. ``start()`` returns once it listens."""

    def __init__(self, install_dir, admins=None, municipios=(), faults=(), version=None,
                 https_cert=None, https_key=None, extra_args=(), python=None, listen="127.0.0.1:0",
                 no_certificate_api=False, lock_after=None):
        self.install_dir = str(install_dir)
        self.admins = [DEFAULT_ADMIN] if admins is None else list(admins)
        self.no_certificate_api = no_certificate_api
        self.lock_after = lock_after
        self.municipios = list(municipios)
        self.faults = list(faults)
        self.version = version
        self.https_cert = https_cert
        self.https_key = https_key
        self.extra_args = list(extra_args)
        # The simulator is test tooling: it may run on another Python than the controller under test
        # (the version matrix runs the controller on venvs without graphql-core).
        self.python = python or os.environ.get("ESUS_SIMULATOR_PYTHON") or sys.executable
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
        if self.no_certificate_api:
            cmd.append("--no-certificate-api")
        if self.lock_after is not None:
            cmd += ["--lock-after", str(self.lock_after)]
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
        return read_jsonl(os.path.join(self.state_dir, "audit.jsonl"))

    def requests(self):
        """The request log: one dict per POST /api/graphql (never variable values)."""
        return read_jsonl(os.path.join(self.state_dir, "requests.jsonl"))

    @property
    def api(self):
        """``certificados`` or ``sessao``, from the readiness line."""
        return self.ready_line.rsplit("api=", 1)[1] if self.ready_line and "api=" in self.ready_line else None

    # -- HTTP --------------------------------------------------------------------------
    def _context(self):
        return client_context(self.url)

    def control(self, body=None, method="POST"):
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.url + "/__sim__/fault", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10, context=self._context()) as response:
            return json.loads(response.read().decode("utf-8"))

    def set_fault(self, **faults):
        return self.control(faults)

    def stats(self):
        """``GET /__sim__/stats``: live sessions, forced ends, failed logins, locked users."""
        request = urllib.request.Request(self.url + "/__sim__/stats", method="GET")
        with urllib.request.urlopen(request, timeout=10, context=self._context()) as response:
            return json.loads(response.read().decode("utf-8"))

    def session(self, **kwargs):
        """A new RawSession on this simulator (knows the install dir for ``requests()``)."""
        return RawSession(self.url, install_dir=self.install_dir, **kwargs)

    def clear_faults(self):
        return self.control({"clear": True})


class RawSession:
    """One browser-like client of the PEC session protocol (cookies by hand), to test the simulator.

    Every request carries ``Api-Consumer-Id: ESUS_WEB_CLIENT`` and the ``apollographql-client-*``
    headers of the PEC web client, plus ``X-XSRF-TOKEN`` when an XSRF cookie is known (``xsrf``).
    """

    def __init__(self, url, install_dir=None, consumer_id=API_CONSUMER_ID, client_name=CLIENT_NAME,
                 client_version=CLIENT_VERSION, xsrf=True):
        self.url = url
        self.install_dir = None if install_dir is None else str(install_dir)
        self.consumer_id = consumer_id
        self.client_name = client_name
        self.client_version = client_version
        self.xsrf = xsrf
        self.cookies = {}

    # -- transport -------------------------------------------------------------------
    def _context(self):
        return client_context(self.url)

    def _open(self, request, timeout):
        try:
            response = urllib.request.urlopen(request, timeout=timeout, context=self._context())  # pylint: disable=consider-using-with
        except urllib.error.HTTPError as exc:
            response = exc
        with response:
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _sep, rest = header.partition("=")
                value = rest.split(";", 1)[0]
                if "max-age=0" in header.lower().replace(" ", ""):
                    self.cookies.pop(name.strip(), None)
                else:
                    self.cookies[name.strip()] = value
            payload = response.read()
            status = response.status if hasattr(response, "status") else response.code
        return status, payload

    def home(self, timeout=10):
        """``GET /`` (takes the XSRF-TOKEN cookie, like [C] does before Login); returns the status."""
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join("%s=%s" % item for item in self.cookies.items())
        request = urllib.request.Request(self.url + "/", headers=headers, method="GET")
        return self._open(request, timeout)[0]

    def headers(self, extra=None):
        headers = {"Content-Type": "application/json"}
        if self.consumer_id is not None:
            headers["Api-Consumer-Id"] = self.consumer_id
        if self.client_name is not None:
            headers["apollographql-client-name"] = self.client_name
        if self.client_version is not None:
            headers["apollographql-client-version"] = self.client_version
        if self.cookies:
            headers["Cookie"] = "; ".join("%s=%s" % item for item in self.cookies.items())
        if self.xsrf and "XSRF-TOKEN" in self.cookies:
            headers["X-XSRF-TOKEN"] = self.cookies["XSRF-TOKEN"]
        for name, value in (extra or {}).items():
            if value is None:
                headers.pop(name, None)
            else:
                headers[name] = value
        return headers

    def post(self, body, headers=None, timeout=10):
        """POST ``body`` (an object/list, JSON-encoded here, or raw bytes) to /api/graphql.

        ``headers`` adds or (value None) removes headers. Returns ``(status, document, payload)``;
        ``document`` is None when the answer is not JSON.
        """
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.url + "/api/graphql", data=data, headers=self.headers(headers),
                                         method="POST")
        status, payload = self._open(request, timeout)
        try:
            document = json.loads(payload.decode("utf-8"))
        except ValueError:
            document = None
        return status, document, payload

    def call(self, document, variables=None, operation_name=None, array=False, headers=None, timeout=10):
        """Send one GraphQL document; returns ``(status, answer)`` (array in -> the one item out)."""
        if operation_name is None:
            match = re.match(r"\s*(?:query|mutation)\s+(\w+)", document)
            operation_name = match.group(1) if match else None
        body = {"operationName": operation_name, "query": document, "variables": variables or {}}
        status, answer, _payload = self.post([body] if array else body, headers=headers, timeout=timeout)
        if array and isinstance(answer, list) and len(answer) == 1:
            answer = answer[0]
        return status, answer

    # -- the confirmed session operations ---------------------------------------------
    def login(self, cpf, password, force=None):
        login_input = {"username": cpf, "password": password}
        if force is not None:
            login_input["force"] = force
        return self.call(LOGIN, {"input": login_input})

    def sessao(self):
        return self.call(SESSAO)

    def accesses(self):
        """The accesses listed by Sessao (list of dicts), or [] on error."""
        _status, answer = self.sessao()
        try:
            return answer["data"]["sessao"]["profissional"]["acessos"]
        except (KeyError, TypeError):
            return []

    def access_id(self, ibge=None):
        """Id of the Administrador Municipal access of ``ibge`` (the first one when None)."""
        for access in self.accesses():
            if access.get("tipo") == "ADMINISTRADOR_MUNICIPAL" and (
                    ibge is None or access.get("municipio", {}).get("ibge") == ibge):
                return access["id"]
        return None

    def selecionar_acesso(self, ibge=None, access_id=None):
        """Select the admin access of ``ibge`` (or the access ``access_id``); ``(status, answer)``."""
        if access_id is None:
            access_id = self.access_id(ibge)
            if access_id is None:
                raise AssertionError("nenhum acesso de Administrador Municipal para %s" % ibge)
        return self.call(SELECIONAR_ACESSO, {"input": {"id": access_id}})

    def logout(self):
        return self.call(LOGOUT)

    # -- test-only views ----------------------------------------------------------------
    def stats(self):
        """``GET /__sim__/stats``."""
        request = urllib.request.Request(self.url + "/__sim__/stats", method="GET")
        return json.loads(self._open(request, 10)[1].decode("utf-8"))

    def requests(self):
        """The request log (``DIR/pec-simulator/requests.jsonl``) as a list of dicts."""
        if self.install_dir is None:
            raise ValueError("RawSession sem install_dir: use Simulator.session() ou Simulator.requests()")
        return read_jsonl(os.path.join(self.install_dir, "pec-simulator", "requests.jsonl"))


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path, "r", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def classification(document):
    """``extensions.classification`` of the first error of an answer (None without errors)."""
    if isinstance(document, list) and len(document) == 1:
        document = document[0]
    errors = (document or {}).get("errors") or []
    return (errors[0].get("extensions") or {}).get("classification") if errors else None


error_code = classification  # older name


def cpf(seed):
    """A valid CPF (11 digits, right check digits), deterministic from the integer ``seed``."""
    base = "%09d" % ((int(seed) * 387420489 + 123456789) % 1000000000)
    if len(set(base)) == 1:
        base = base[:8] + str((int(base[8]) + 1) % 10)
    digits = [int(c) for c in base]
    for start in (10, 11):
        total = sum(d * w for d, w in zip(digits, range(start, 1, -1)))
        rest = (total * 10) % 11
        digits.append(0 if rest == 10 else rest)
    return "".join(str(d) for d in digits)


def format_cpf(digits):
    return "%s.%s.%s-%s" % (digits[:3], digits[3:6], digits[6:9], digits[9:])


DEFAULT_ADMIN_CPF = cpf(1)
DEFAULT_ADMIN_PASSWORD = "senha-admin"
DEFAULT_ADMIN = "%s:%s" % (DEFAULT_ADMIN_CPF, DEFAULT_ADMIN_PASSWORD)


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
