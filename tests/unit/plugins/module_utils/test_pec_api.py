# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PEC client (module_utils/_pec_api.py, PecSession) against real simulator processes on 127.0.0.1.

Round trips are counted from the outside, in the simulator's request log (one line per
``POST /api/graphql``, never the variable values). Odd answers that the simulator never gives
come from a tiny local ``http.server`` stub.

Speed: most tests share one module-scoped simulator (``pec``), reset before each test (faults
cleared, every session ended) and read the request log from a per-test mark. Tests that fail
logins (the PEC counts them and locks accounts), restart the PEC or need another command line
start their own. Backoff sleeps go to a recorder and never really sleep.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import http.server
import json
import os
import re
import sys
import threading
import time

import pytest
import yaml
from cryptography.hazmat.primitives import hashes

import testca

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "pec_simulator"))

from harness import Simulator, closed_port, cpf, format_cpf, sim_factory  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import

from ansible_collections.esus.rnds.plugins.module_utils import _pec_api, _sanitize  # noqa: E402
from ansible_collections.esus.rnds.plugins.module_utils._pec_api import PecApiError, PecSession  # noqa: E402
from ansible_collections.esus.rnds.plugins.module_utils._labels import render  # noqa: E402
from ansible_collections.esus.rnds.plugins.module_utils._pec_contract import validate_contract  # noqa: E402

MODELO_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "pec_contracts",
                           "modelo.yml")

ADMIN = cpf(21)
OTHER = cpf(22)
ADMIN_PASSWORD = "Adm!n " + testca.HARD_PASSWORD
OTHER_PASSWORD = "outra senha do RJ"
CERT_PASSWORD = testca.HARD_PASSWORD
WRONG_PASSWORD = "Errada ção `uname` $PATH 'x'"
SP = "3550308"
RJ = "3304557"
BH = "3106200"
CONTRA_CHAVE_RE = re.compile(r"^[0-9A-Z]{4}(-[0-9A-Z]{4}){7}$")
# What the roles pass as option_labels (module option -> role variable) for the options named here.
ROLE_LABELS = {"force_login": "rnds_pec_force_login", "allow_insecure_http": "rnds_pec_allow_insecure_http",
               "ca_path": "rnds_pec_ca_path", "validate_certs": "rnds_pec_validate_certs",
               "timeout": "rnds_pec_timeout"}


# -- helpers ------------------------------------------------------------------------------------

with open(MODELO_PATH, encoding="utf-8") as _handle:
    _MODELO = validate_contract(yaml.safe_load(_handle), source=MODELO_PATH)


def modelo():
    """A fresh copy of pec_contracts/modelo.yml (validated once at import)."""
    return copy.deepcopy(_MODELO)


class Sleeps:
    """Stands for time.sleep: records the backoff delays, never sleeps."""

    def __init__(self, on_call=None):
        self.calls = []
        self.on_call = on_call

    def __call__(self, seconds):
        self.calls.append(seconds)
        if self.on_call is not None:
            self.on_call(len(self.calls))


def session(target, contract=None, **kwargs):
    """A PecSession on a simulator (or a URL): no retries, no backoff, recorded sleeps by default."""
    kwargs.setdefault("timeout", 10)
    kwargs.setdefault("retries", 0)
    kwargs.setdefault("backoff", 0)
    kwargs.setdefault("sleep", Sleeps())
    url = getattr(target, "url", target)
    return PecSession(url, contract if contract is not None else modelo(), **kwargs)


def logged_in(sim, username=ADMIN, password=ADMIN_PASSWORD, ibge=SP, **kwargs):
    client = session(sim, **kwargs)
    client.login(username, password)
    if ibge:
        client.select(ibge)
    return client


def log_since(sim):
    """The request log lines written since the test began (``sim.mark``, set by the fixtures)."""
    return sim.requests()[getattr(sim, "mark", 0):]


def ops(sim):
    return [line["operation"] for line in log_since(sim)]


def wait_until(predicate, timeout=5.0):
    """Poll ``predicate`` (the simulator writes the log line of a dropped request just after it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def assert_no_secret(text):
    for secret in (ADMIN_PASSWORD, OTHER_PASSWORD, CERT_PASSWORD, WRONG_PASSWORD):
        assert secret not in text


def fingerprint(leaf):
    return leaf.cert.fingerprint(hashes.SHA256()).hex()


def raises(call, *args, **kwargs):
    with pytest.raises(PecApiError) as info:
        call(*args, **kwargs)
    return info.value


# -- simulators ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def leaf(test_ca):
    return test_ca.issue_ecnpj()


def write_chaves(directory, test_ca, leaf):  # pylint: disable=redefined-outer-name
    """fms.pfx (the good one, legacy RC2 like old Windows exports) and one file per refusal."""
    os.makedirs(directory, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    testca.write_pkcs12(os.path.join(directory, "fms.pfx"), leaf, CERT_PASSWORD, flavour="legacy-rc2")
    expired = test_ca.issue_ecnpj(not_before=now - datetime.timedelta(days=30), not_after=now - datetime.timedelta(days=1))
    testca.write_pkcs12(os.path.join(directory, "vencido.pfx"), expired, CERT_PASSWORD)
    future = test_ca.issue_ecnpj(not_before=now + datetime.timedelta(days=2), not_after=now + datetime.timedelta(days=400))
    testca.write_pkcs12(os.path.join(directory, "futuro.pfx"), future, CERT_PASSWORD)
    testca.write_pkcs12(os.path.join(directory, "semchave.pfx"), test_ca.issue_ecnpj(), CERT_PASSWORD, include_key=False)
    testca.write_pkcs12(os.path.join(directory, "outrachave.p12"), test_ca.issue_ecnpj(), CERT_PASSWORD,
                        key_override=test_ca.issue_ecnpj().key)
    with open(os.path.join(directory, "vazio.pfx"), "wb"):
        pass


def reset(sim):
    """Clear faults, end every session, and mark where this test's request log begins."""
    sim.control({"clear": True, "expire_sessions": "now"})
    sim.mark = len(sim.requests())
    return sim


@pytest.fixture(scope="module")
def shared_pec(tmp_path_factory, test_ca, leaf):  # pylint: disable=redefined-outer-name
    """One PEC for the module: ADMIN administers SP; OTHER administers RJ and BH."""
    directory = tmp_path_factory.mktemp("pec-shared")
    sim = Simulator(directory / "install", municipios=[SP, RJ, BH], admins=[
        "%s:%s:%s" % (ADMIN, ADMIN_PASSWORD, SP),
        "%s:%s:%s" % (OTHER, OTHER_PASSWORD, RJ),
        "%s:%s:%s" % (OTHER, OTHER_PASSWORD, BH),
    ])
    write_chaves(sim.chaves, test_ca, leaf)
    sim.start()
    yield sim
    sim.kill()


@pytest.fixture
def pec(shared_pec):  # pylint: disable=redefined-outer-name
    sim = reset(shared_pec)
    yield sim
    if sim.proc is not None:
        sim.clear_faults()


@pytest.fixture
def own_pec(sim_factory, test_ca, leaf):  # pylint: disable=redefined-outer-name
    """A PEC of this test alone (failed logins, restarts): ADMIN administers SP."""

    def start(**kwargs):
        kwargs.setdefault("admins", ["%s:%s:%s" % (ADMIN, ADMIN_PASSWORD, SP)])
        kwargs.setdefault("municipios", [SP])
        sim = sim_factory(start=False, **kwargs)
        write_chaves(sim.chaves, test_ca, leaf)
        sim.start()
        sim.mark = 0
        return sim

    return start


# -- the confirmed session protocol -------------------------------------------------------------

def test_full_cycle_request_log_and_headers(own_pec, leaf):  # pylint: disable=redefined-outer-name
    sim = own_pec()
    client = session(sim)
    assert client.read_version() == "5.3.28"  # no login, no cookie yet
    accesses = client.login(format_cpf(ADMIN), ADMIN_PASSWORD)  # punctuation in, digits out
    assert client.username == ADMIN and client.logged_in is True
    assert [(a["tipo"], a["ibge"], a["nome"]) for a in accesses] == [
        ("LOTACAO", None, None), ("ADMINISTRADOR_MUNICIPAL", SP, "São Paulo")]
    assert client.admin_accesses() == [accesses[1]]
    assert client.select(SP) == accesses[1] == client.selected

    files = client.list_files()
    assert [f["name"] for f in files] == ["fms.pfx", "futuro.pfx", "outrachave.p12", "semchave.pfx", "vazio.pfx",
                                          "vencido.pfx"]
    fms = files[0]
    with open(os.path.join(sim.chaves, "fms.pfx"), "rb") as handle:
        assert fms["sha256"] == hashlib.sha256(handle.read()).hexdigest()
    assert fms["fingerprint_sha256"] is None  # the PEC has not opened it yet

    before = client.read_state()
    assert before["enabled"] is False and before["certificate"] is None and before["services"] == []
    enabled = client.enable("fms.pfx", CERT_PASSWORD, "4507", ["rnds", "cadsus"])
    assert enabled["enabled"] is True and enabled["certificate"] == "fms.pfx"
    assert enabled["services"] == ["cadsus", "rnds"]  # PEC names mapped back through the contract
    assert enabled["fingerprint_sha256"] == fingerprint(leaf)
    assert enabled["file_sha256"] == fms["sha256"] and enabled["requester_id"] == "4507"
    assert enabled["enabled_at"] and enabled["not_after"]
    assert client.read_state() == enabled
    assert client.list_files()[0]["fingerprint_sha256"] == fingerprint(leaf)
    chave = client.contra_chave()
    assert CONTRA_CHAVE_RE.match(chave) and chave == sim.state()["contra_chave"]
    left = client.disable(["cadsus"])
    assert left["services"] == ["rnds"] and left["certificate"] == "fms.pfx" and left["enabled"] is True
    gone = client.disable(["rnds"])
    assert gone["enabled"] is False and gone["certificate"] is None and gone["services"] == []
    client.logout()
    assert client.logged_in is False
    client.logout()  # safe to repeat: sends nothing

    log = sim.requests()
    assert [line["operation"] for line in log] == [
        "Info", "Login", "Sessao", "SelecionarAcesso", "CertificadosDisponiveis", "CertificadoMunicipio",
        "HabilitarCertificado", "CertificadoMunicipio", "CertificadosDisponiveis", "ContraChave",
        "DesabilitarCertificado", "DesabilitarCertificado", "Logout"]
    for line in log:
        assert line["api_consumer_id"] == "ESUS_WEB_CLIENT"
        assert line["client_name"] == "PEC Web"
        assert line["client_version"] == "5.5"  # client_version of the contract
        assert line["status"] == 200
    # X-XSRF-TOKEN only once a cookie exists: none before login; GET / took one before Login.
    assert [line["xsrf_header"] for line in log] == [False] + [True] * 12
    assert {line["user"] for line in log[1:]} == {ADMIN}  # the Login is logged under the CPF it logged in
    stats = sim.stats()
    assert stats["xsrf_tokens_issued"] == 2  # GET / and Login: exactly one probe
    assert stats["sessions"][ADMIN] == 0
    actions = [(a["action"], a["result"]) for a in sim.audit_lines()]
    assert actions == [("Habilitar o PEC a acessar RNDS", "sucesso"), ("Habilitar o PEC a acessar CADSUS", "sucesso"),
                       ("Desabilitar PEC a acessar CADSUS", "sucesso"), ("Desabilitar PEC a acessar RNDS", "sucesso")]
    with open(os.path.join(sim.state_dir, "requests.jsonl"), encoding="utf-8") as handle:
        assert_no_secret(handle.read())


def test_login_headers_and_body_on_the_wire(stub):  # pylint: disable=redefined-outer-name
    stub.answer("Login", {"data": {"login": {"success": True}}})
    stub.answer("Sessao", {"data": {"sessao": {"profissional": {"acessos": [
        {"id": "7", "tipo": "ADMINISTRADOR_MUNICIPAL", "municipio": {"ibge": 3550308, "nome": "São Paulo"}},
        "not an access", {"tipo": "SEM_ID"}, {"id": "8", "tipo": "LOTACAO", "municipio": None}]}}}})
    client = session(stub.url)
    accesses = client.login(format_cpf(ADMIN), ADMIN_PASSWORD, force=True)
    # Odd items skipped; an IBGE given as a number is read as text.
    assert accesses == [{"id": "7", "tipo": "ADMINISTRADOR_MUNICIPAL", "ibge": SP, "nome": "São Paulo"},
                        {"id": "8", "tipo": "LOTACAO", "ibge": None, "nome": None}]
    (probe, login, sessao) = stub.requests
    assert (probe["method"], probe["path"]) == ("GET", "/")
    assert (login["method"], login["path"]) == ("POST", "/api/graphql")
    headers = login["headers"]
    assert headers["Api-Consumer-Id"] == "ESUS_WEB_CLIENT"
    assert headers["apollographql-client-name"] == "PEC Web"
    assert headers["apollographql-client-version"] == "5.5"
    assert headers["Content-Type"] == "application/json"
    assert "X-XSRF-TOKEN" not in headers  # this PEC set no XSRF cookie: nothing to echo
    body = json.loads(login["body"])
    assert body["operationName"] == "Login" and body["query"] == _pec_api.LOGIN
    assert body["variables"] == {"input": {"username": ADMIN, "password": ADMIN_PASSWORD, "force": True}}
    assert json.loads(sessao["body"])["operationName"] == "Sessao"


def test_xsrf_cookie_is_echoed_when_the_pec_sets_one(stub):  # pylint: disable=redefined-outer-name
    stub.home_cookie = "XSRF-TOKEN=tok-123; Path=/"
    stub.answer("Login", {"data": {"login": {"success": True}}})
    stub.answer("Sessao", {"data": {"sessao": {"profissional": {"acessos": []}}}})
    client = session(stub.url)
    client.login(ADMIN, ADMIN_PASSWORD)
    login = stub.requests[1]
    assert login["headers"]["X-XSRF-TOKEN"] == "tok-123"
    assert "force" not in json.loads(login["body"])["variables"]["input"]  # only sent when asked


def test_username_that_is_not_a_cpf_sends_nothing(pec):
    tokens = pec.stats()["xsrf_tokens_issued"]
    for username in ("admin", "123.456.789-00", "111.111.111-11", "", None):
        error = raises(session(pec).login, username, ADMIN_PASSWORD)
        assert error.code == "invalid_input" and error.operation == "Login"
        assert "CPF" in error.message and "nenhum login foi feito" in error.message
        assert_no_secret(error.message)
    assert ops(pec) == []
    assert pec.stats()["xsrf_tokens_issued"] == tokens  # not even GET /
    assert _pec_api.normalize_username(format_cpf(ADMIN)) == ADMIN
    assert _pec_api.normalize_username(" %s " % ADMIN) == ADMIN


def test_login_success_false_is_refused(stub):  # pylint: disable=redefined-outer-name
    stub.answer("Login", {"data": {"login": {"success": False}}})
    error = raises(session(stub.url, retries=3).login, ADMIN, ADMIN_PASSWORD)
    assert error.code == "login_refused" and "success=false" in error.message
    assert [r["path"] for r in stub.requests] == ["/", "/api/graphql"]


def test_wrong_admin_password_is_tried_once(own_pec):
    sim = own_pec()
    sleeps = Sleeps()
    client = session(sim, retries=5, backoff=1, sleep=sleeps)  # retries never reach the lock
    error = raises(client.login, ADMIN, WRONG_PASSWORD)
    assert error.code == "login_refused" and error.classification == "PecAuthenticationException"
    assert error.message.startswith("login recusado para o CPF %s no PEC em %s" % (ADMIN, sim.url))
    assert "não será repetido" in error.message and "Usuário e/ou senha incorretos." in error.message
    assert_no_secret(error.message)
    assert client.logged_in is False
    assert ops(sim) == ["Login"] and sleeps.calls == []
    stats = sim.stats()
    assert stats["failed_logins"][ADMIN] == 1 and stats["locked"] == []
    client.logout()  # nothing to end: no request
    assert ops(sim) == ["Login"]


def test_login_refused_fault(own_pec):
    sim = own_pec()
    sim.set_fault(login_refused=True)
    error = raises(session(sim, retries=3).login, ADMIN, ADMIN_PASSWORD)
    assert error.code == "login_refused"
    assert ops(sim) == ["Login"]


def test_account_locked_after_three_failures(own_pec):
    sim = own_pec()
    for _attempt in range(3):  # three runs, three new sessions, each refused once
        assert raises(session(sim, retries=3).login, ADMIN, WRONG_PASSWORD).code == "login_refused"
    assert sim.stats()["locked"] == [ADMIN]
    error = raises(session(sim, retries=3).login, format_cpf(ADMIN), ADMIN_PASSWORD)  # the right password, too late
    assert error.code == "account_locked"
    assert "bloqueado" in error.message and "desbloquear" in error.message and ADMIN in error.message
    assert "nenhum novo login foi tentado" in error.message
    assert_no_secret(error.message)
    assert ops(sim) == ["Login"] * 4


def test_already_logged_in_then_force(pec):
    person = pec.session()
    person.home()
    person.login(ADMIN, ADMIN_PASSWORD)
    forced = pec.stats()["sessions_ended_by_force"]
    client = session(pec, retries=3)
    error = raises(client.login, ADMIN, ADMIN_PASSWORD)
    assert error.code == "already_logged_in" and error.classification == "UsuarioJaLogadoException"
    assert "já tem uma sessão aberta" in error.message
    assert "use force_login: true" in render(error.message)
    assert "use rnds_pec_force_login: true" in render(error.message, ROLE_LABELS)
    assert ADMIN in error.message
    assert client.logged_in is False
    assert pec.stats()["sessions_ended_by_force"] == forced
    status, answer = person.sessao()
    assert status == 200 and answer["data"]["sessao"]["profissional"]["cpf"] == ADMIN  # the person still works

    client.login(ADMIN, ADMIN_PASSWORD, force=True)
    assert pec.stats()["sessions_ended_by_force"] == forced + 1
    assert person.sessao()[0] == 401  # that person was thrown out, as asked
    client.select(SP)
    assert isinstance(client.read_state()["enabled"], bool)
    client.logout()
    assert ops(pec).count("Login") == 3  # the person's, the refused one, the forced one
    assert pec.stats()["sessions"][ADMIN] == 0


def test_select_a_municipality_the_cpf_does_not_administer(pec):
    client = session(pec)
    client.login(OTHER, OTHER_PASSWORD)
    assert sorted(a["ibge"] for a in client.admin_accesses()) == [BH, RJ]
    error = raises(client.select, SP)
    assert error.code == "no_access" and error.operation == "SelecionarAcesso"
    assert "município %s" % SP in error.message and OTHER in error.message
    assert "Administrador Municipal: %s, %s" % (BH, RJ) in error.message
    assert raises(client.select, None).code == "no_access"  # two admin accesses: no guess
    assert raises(client.select, SP, alone=True).code == "no_access"
    assert client.select(RJ)["ibge"] == RJ
    client.logout()
    assert ops(pec) == ["Login", "Sessao", "SelecionarAcesso", "Logout"]


def test_select_the_only_admin_access_without_ibge(pec):
    client = session(pec)
    client.login(ADMIN, ADMIN_PASSWORD)
    assert client.select(None)["ibge"] == SP
    assert client.read_state()["enabled"] is False
    client.logout()


# -- retries and transport faults ---------------------------------------------------------------

def test_connection_refused_is_retried_with_exponential_backoff():
    url = "http://127.0.0.1:%d" % closed_port()
    sleeps = Sleeps()
    error = raises(session(url, retries=3, backoff=0.5, sleep=sleeps).login, ADMIN, ADMIN_PASSWORD)
    assert error.code == "unreachable"
    assert error.message.startswith("PEC não responde em %s: o serviço e-SUS-PEC está ativo? "
                                    "(systemctl status e-SUS-PEC)" % url)
    assert sleeps.calls == [0.5, 1.0, 2.0]  # 4 attempts
    capped = Sleeps()
    assert raises(session(url, retries=3, backoff=10, sleep=capped).read_version).code == "unreachable"
    assert capped.calls == [10.0, 20.0, _pec_api.MAX_BACKOFF]
    none = Sleeps()
    assert raises(session(url, retries=0, backoff=1, sleep=none).read_version).code == "unreachable"
    assert none.calls == []


def test_login_refused_before_sending_is_retried(own_pec):
    """GET / worked, then the PEC restarted: the refused Login never reached it, so it is repeated."""
    sim = own_pec()
    sleeps = Sleeps(on_call=lambda n: sim.restart() if n == 1 else None)
    client = session(sim, retries=3, backoff=0.25, sleep=sleeps)
    client.probe()
    sim.stop()
    client.login(ADMIN, ADMIN_PASSWORD)
    assert sleeps.calls == [0.25]
    assert client.select(SP)["ibge"] == SP
    client.logout()
    assert ops(sim) == ["Login", "Sessao", "SelecionarAcesso", "Logout"]


def test_login_http500_is_not_retried(pec):
    pec.set_fault(http500="1@Login")
    sleeps = Sleeps()
    client = session(pec, retries=3, backoff=1, sleep=sleeps)
    error = raises(client.login, ADMIN, ADMIN_PASSWORD)
    assert error.code == "server_error" and error.status == 500 and error.operation == "Login"
    assert ops(pec) == ["Login"] and sleeps.calls == []
    assert client.logged_in is False
    assert pec.stats()["failed_logins"][ADMIN] == 0


def test_fixed_login_error_does_not_claim_retries_it_never_made(pec):
    pec.set_fault(http500="1@Login")
    error = raises(session(pec, retries=3).login, ADMIN, ADMIN_PASSWORD)
    assert ops(pec) == ["Login"]
    assert "nova(s) tentativa(s)" not in error.message, error.message
    assert "o login não foi repetido" in error.message


def test_login_dropped_connection_is_not_retried(pec):
    pec.set_fault(drop="1@Login")
    sleeps = Sleeps()
    error = raises(session(pec, retries=3, backoff=1, sleep=sleeps).login, ADMIN, ADMIN_PASSWORD)
    assert error.code == "unreachable" and "fechou a conexão" in error.message
    assert sleeps.calls == []
    assert wait_until(lambda: ops(pec) == ["Login"]), ops(pec)
    assert pec.stats()["sessions"][ADMIN] == 0


def test_http500_then_recover_on_a_read(pec):
    sleeps = Sleeps()
    client = logged_in(pec, retries=3, backoff=0.25, sleep=sleeps)
    pec.set_fault(http500="2@CertificadoMunicipio")
    assert client.read_state()["enabled"] is False
    assert sleeps.calls == [0.25, 0.5]
    client.logout()
    assert ops(pec).count("CertificadoMunicipio") == 3
    assert [line["status"] for line in log_since(pec) if line["operation"] == "CertificadoMunicipio"] == [500, 500, 200]


def test_http500_always_gives_up_after_the_retries(pec):
    client = logged_in(pec, retries=2)
    pec.set_fault(http500="always@CertificadoMunicipio")
    error = raises(client.read_state)
    assert error.code == "server_error" and error.status == 500
    assert "HTTP 500" in error.message and "journalctl -u e-SUS-PEC" in error.message
    assert "também após 2 nova(s) tentativa(s)" in error.message
    assert "leitura do certificado do município" in error.message
    client.logout()
    assert ops(pec).count("CertificadoMunicipio") == 3 and ops(pec)[-1] == "Logout"


def test_mutation_is_never_sent_twice_after_a_500(pec):
    """A mutation the PEC may have applied before answering 500 is not re-sent (pec_rnds reads the
    state back instead, see test_pec_rnds)."""
    client = logged_in(pec, retries=3)
    pec.set_fault(http500="1@HabilitarCertificado")
    error = raises(client.enable, "fms.pfx", CERT_PASSWORD, "4507", ["rnds"])
    assert error.code == "server_error" and "não foi repetido" in error.message
    assert "nova(s) tentativa(s)" not in error.message
    assert ops(pec).count("HabilitarCertificado") == 1
    assert client.enable("fms.pfx", CERT_PASSWORD, "4507", ["rnds"])["enabled"] is True
    assert client.disable(["rnds"])["enabled"] is False  # the shared simulator is left as found
    client.logout()


def test_dropped_connection_is_retried(pec):
    sleeps = Sleeps()
    client = logged_in(pec, retries=3, backoff=0.1, sleep=sleeps)
    pec.set_fault(drop="2@CertificadoMunicipio")
    assert isinstance(client.read_state()["enabled"], bool)
    assert sleeps.calls == [0.1, 0.2]
    client.logout()
    assert wait_until(lambda: ops(pec).count("CertificadoMunicipio") == 3), ops(pec)


def test_dropped_connection_without_retries(pec):
    client = logged_in(pec, retries=0)
    pec.set_fault(drop="1@CertificadoMunicipio")
    error = raises(client.read_state)
    assert error.code == "unreachable" and "fechou a conexão" in error.message
    assert "nova(s) tentativa(s)" not in error.message
    assert client.read_state()["enabled"] is False  # the next call is normal again
    client.logout()


def test_garbage_is_a_clear_error_not_retried(pec):
    client = logged_in(pec, retries=3)
    pec.set_fault(garbage="1@CertificadoMunicipio")
    error = raises(client.read_state)
    assert error.code == "bad_response"
    assert "não é JSON" in error.message and "confira se a URL aponta para o PEC" in error.message
    client.logout()
    assert ops(pec).count("CertificadoMunicipio") == 1


def test_garbage_on_login_is_not_retried(pec):
    pec.set_fault(garbage="1@Login")
    assert raises(session(pec, retries=3).login, ADMIN, ADMIN_PASSWORD).code == "bad_response"
    assert ops(pec) == ["Login"]


def test_huge_answer_is_capped(pec):
    client = logged_in(pec, retries=3)
    pec.set_fault(huge="1@CertificadoMunicipio")
    error = raises(client.read_state)
    assert error.code == "too_large" and "1024 KiB" in error.message
    assert client.read_state()["enabled"] is False  # the next answer is normal again
    client.logout()
    assert ops(pec).count("CertificadoMunicipio") == 2


def test_slow_pec_times_out_without_retry(own_pec):
    sim = own_pec()
    sleeps = Sleeps()
    client = logged_in(sim, retries=3, backoff=1, timeout=0.5, sleep=sleeps)
    sim.set_fault(slow=1.5)
    error = raises(client.read_state)
    assert error.code == "timeout"
    assert "não respondeu" in error.message and "0.5 s" in error.message
    assert "leitura do certificado do município" in error.message
    assert "aumente timeout " in render(error.message)
    assert "aumente rnds_pec_timeout " in render(error.message, ROLE_LABELS)
    assert sleeps.calls == []
    sim.set_fault(slow=0)
    assert wait_until(lambda: ops(sim).count("CertificadoMunicipio") == 1)
    assert ops(sim).count("CertificadoMunicipio") == 1


def test_slow_pec_within_the_timeout(pec):
    client = logged_in(pec, timeout=5)
    pec.set_fault(slow=0.3)
    assert client.read_state()["enabled"] is False
    pec.set_fault(slow=0)
    client.logout()


# -- session expiry -------------------------------------------------------------------------------

def test_session_expiry_relogs_in_once_and_selects_again(pec):
    client = logged_in(pec)
    pec.set_fault(expire_sessions="now")
    assert client.read_state()["enabled"] is False
    assert client.selected["ibge"] == SP
    client.logout()
    assert ops(pec) == ["Login", "Sessao", "SelecionarAcesso", "CertificadoMunicipio",
                        "Login", "Sessao", "SelecionarAcesso", "CertificadoMunicipio", "Logout"]
    assert [line["status"] for line in log_since(pec) if line["operation"] == "CertificadoMunicipio"] == [401, 200]
    assert pec.stats()["sessions"][ADMIN] == 0


def test_session_expiring_again_right_after_relogin(pec):
    client = logged_in(pec)
    pec.set_fault(expire_sessions="2@CertificadoMunicipio")
    error = raises(client.read_state)
    assert error.code == "session_expired"
    assert "logo após um novo login" in error.message and ADMIN in error.message
    client.logout()
    assert ops(pec).count("Login") == 2 and ops(pec).count("SelecionarAcesso") == 2
    assert ops(pec).count("CertificadoMunicipio") == 2


def test_session_expiring_forever_fails_without_a_loop(pec):
    client = logged_in(pec)
    pec.set_fault(expire_sessions="always")
    error = raises(client.read_state)
    assert error.code == "session_expired"
    assert pec.url in error.message and "sessão" in error.message
    error = raises(client.contra_chave)  # one re-login per session object, never more
    assert error.code == "session_expired"
    client.logout()
    assert ops(pec).count("Login") == 2


def test_fixed_session_expiring_forever_gives_the_operator_hint(pec):
    client = logged_in(pec)
    pec.set_fault(expire_sessions="always")
    error = raises(client.read_state)
    client.logout()
    assert "logo após um novo login" in error.message, error.message


def test_pec_restart_mid_session_keeps_working(own_pec):
    sim = own_pec()
    client = logged_in(sim)
    sim.restart()
    assert client.read_state()["enabled"] is False
    assert client.contra_chave() == sim.state()["contra_chave"]
    client.logout()
    assert ops(sim).count("Login") == 2 and ops(sim).count("SelecionarAcesso") == 2
    assert sim.stats()["sessions"][ADMIN] == 0


# -- certificate refusals (the contract's error rules) -------------------------------------------

CERTIFICATE_REFUSALS = [
    ("fms.pfx", WRONG_PASSWORD, "4507", "wrong_password", "CertificadoSenhaInvalidaException",
     "confira a senha do certificado"),
    ("nao-existe.pfx", CERT_PASSWORD, "4507", "certificate_missing", "CertificadoNaoEncontradoException",
     "implante o arquivo na pasta chaves"),
    ("vencido.pfx", CERT_PASSWORD, "4507", "expired", "CertificadoExpiradoException", "certificado A1 válido"),
    ("futuro.pfx", CERT_PASSWORD, "4507", "not_yet_valid", "CertificadoAindaNaoValidoException", "timedatectl"),
    ("semchave.pfx", CERT_PASSWORD, "4507", "no_private_key", "CertificadoSemChavePrivadaException",
     "um .cer não serve"),
    ("outrachave.p12", CERT_PASSWORD, "4507", "key_mismatch", "CertificadoChaveNaoConfereException",
     "exporte o .pfx/.p12 de novo"),
    ("vazio.pfx", CERT_PASSWORD, "4507", "invalid_certificate", "CertificadoInvalidoException", "compare o sha256"),
    ("fms.pfx", CERT_PASSWORD, None, "requester_id", "IdentificadorSolicitanteException", "e-Gestor AB"),
]


@pytest.mark.parametrize("name, password, requester, code, classification, hint",
                         [pytest.param(*case, id=case[3]) for case in CERTIFICATE_REFUSALS])
def test_certificate_refusals_map_to_codes(pec, name, password, requester, code, classification, hint):  # pylint: disable=too-many-arguments
    client = logged_in(pec, retries=3)
    error = raises(client.enable, name, password, requester, ["rnds"])
    assert error.code == code and error.classification == classification
    assert error.operation == "enable" and error.status == 200
    assert error.message.startswith("o PEC em %s recusou o certificado (o PEC disse: \"" % pec.url)
    assert hint in error.message and error.pec_message in error.message
    assert_no_secret(error.message)
    client.logout()
    assert ops(pec).count("HabilitarCertificado") == 1  # a refusal is an answer, not retried


def test_expired_message_carries_the_pec_date(pec):
    client = logged_in(pec)
    error = raises(client.enable, "vencido.pfx", CERT_PASSWORD, "4507", ["rnds", "cadsus"])
    client.logout()
    assert re.search(r"Certificado expirado em \d\d/\d\d/\d{4}\.", error.pec_message)


def test_contract_error_rule_with_a_message_regex(pec):
    contract = modelo()
    contract["errors"].insert(0, {"classification": "CertificadoSenhaInvalidaException", "message": "outra coisa",
                                  "code": "invalid_certificate"})
    contract["errors"].insert(0, {"classification": "CertificadoSenhaInvalidaException", "message": "SENHA.*INCORRETA",
                                  "code": "key_mismatch"})
    client = logged_in(pec, contract=contract)
    error = raises(client.enable, "fms.pfx", WRONG_PASSWORD, "4507", ["rnds"])
    client.logout()
    assert error.code == "key_mismatch"  # first rule whose classification and message (case-insensitive) match


# -- the contract does not fit this PEC ----------------------------------------------------------

def test_pec_without_the_certificate_api_is_a_contract_mismatch(own_pec):
    sim = own_pec(no_certificate_api=True)
    assert sim.api == "sessao"
    client = session(sim, retries=3)
    assert client.read_version() == "5.3.28"  # Info is in the session part
    client.login(ADMIN, ADMIN_PASSWORD)
    assert client.select(SP)["ibge"] == SP  # the confirmed session works
    for call, label in ((client.list_files, "lista de certificados da pasta chaves"),
                        (client.read_state, "leitura do certificado do município"),
                        (client.contra_chave, "leitura da contra-chave")):
        error = raises(call)
        assert error.code == "contract_mismatch" and error.classification == "ValidationError"
        assert "não reconhece a %s do contrato modelo" % label in error.message
        assert "docs/pec-api.md" in error.message and "FieldUndefined" in error.pec_message
    error = raises(client.enable, "fms.pfx", CERT_PASSWORD, "4507", ["rnds"])
    assert error.code == "contract_mismatch" and "contrato modelo" in error.message
    assert_no_secret(error.message)
    client.logout()
    assert ops(sim) == ["Info", "Login", "Sessao", "SelecionarAcesso", "CertificadosDisponiveis",
                        "CertificadoMunicipio", "ContraChave", "HabilitarCertificado", "Logout"]


def test_contract_with_a_typo_is_a_contract_mismatch(pec):
    contract = modelo()
    contract["name"] = "com-erro"
    op = contract["operations"]["read_state"]
    op["document"] = op["document"].replace("certificadoMunicipio {", "certificadoMunicipioo {")
    assert "certificadoMunicipioo" in op["document"]
    client = logged_in(pec, contract=validate_contract(contract), retries=3)
    error = raises(client.read_state)
    assert error.code == "contract_mismatch"
    assert "do contrato com-erro" in error.message and "certificadoMunicipioo" in error.message
    assert client.list_files()  # the rest of the contract still works
    client.logout()
    assert ops(pec).count("CertificadoMunicipio") == 1


def test_operation_missing_from_the_contract_sends_nothing(pec):
    contract = modelo()
    del contract["operations"]["disable"]
    del contract["operations"]["version"]
    client = session(pec, contract=contract)
    assert client.has("enable") and not client.has("disable")
    error = raises(client.disable, ["rnds"])
    assert error.code == "contract_mismatch"
    assert "o contrato modelo não descreve a desabilitação do certificado" in error.message
    assert client.read_version() is None
    assert ops(pec) == []


def test_version_query_the_pec_lacks_gives_none(pec):
    contract = modelo()
    contract["operations"]["version"]["document"] = "query Versao { versaoDoPec }"
    assert session(pec, contract=contract).read_version() is None
    assert ops(pec) == ["Versao"]


# -- odd answers (local stub) ----------------------------------------------------------------------

class _Stub(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args):
        pass

    def _reply(self, status, body, headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _record(self, body):
        self.server.stub.requests.append({"method": self.command, "path": self.path, "headers": self.headers,  # case-insensitive lookups
                                          "body": body})

    def do_GET(self):  # noqa: N802
        self._record(None)
        stub = self.server.stub
        if stub.redirect:
            return self._reply(302, b"", [("Location", stub.redirect)])
        return self._reply(200, b"<html></html>", [("Set-Cookie", stub.home_cookie)] if stub.home_cookie else [])

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
        self._record(body)
        stub = self.server.stub
        if stub.redirect:
            return self._reply(302, b"", [("Location", stub.redirect)])
        try:
            name = json.loads(body).get("operationName")
        except (ValueError, AttributeError):
            name = None
        status, answer = stub.answers.get(name, stub.answers.get(None, (200, {"data": {}})))
        return self._reply(status, answer)


class Stub:
    """A fake PEC on 127.0.0.1 answering each operation with what the test set."""

    def __init__(self):
        self.requests = []
        self.answers = {}
        self.home_cookie = None
        self.redirect = None
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
        self.server.stub = self
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, operation, body, status=200):
        """``operation`` None: the answer to every operation without its own."""
        self.answers[operation] = (status, body)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub():
    server = Stub()
    yield server
    server.close()


@pytest.mark.parametrize("status, body, code", [
    (200, {"errors": "boom"}, "pec_error"),                                                   # not a list
    (200, {"errors": {"message": "x"}}, "pec_error"),                                         # a dict
    (200, {"errors": ["texto solto"]}, "pec_error"),                                          # first not a dict
    (200, {"errors": [None, {"message": "segundo"}]}, "pec_error"),
    (200, {"errors": [{"message": "m", "extensions": {"classification": 42}}]}, "pec_error"),
    (200, {"errors": [{"message": {"texto": 1}, "extensions": "x"}]}, "pec_error"),           # message a dict
    (200, {"errors": [{"message": ["a"], "extensions": {"classification": ["ValidationError"]}}]}, "pec_error"),
    (200, {"errors": [{"message": "x", "extensions": {"code": "ValidationError"}}]}, "contract_mismatch"),
    (200, [{"errors": [{"message": "Senha", "extensions": {"classification": "CertificadoSenhaInvalidaException"}}]}],
     "wrong_password"),                                                                       # one-item batch
    (200, {"errors": [], "data": None}, "bad_response"),
    (200, {"data": "texto"}, "bad_response"),
    (200, {"outra": "coisa"}, "bad_response"),
    (200, [{"data": {}}, {"data": {}}], "bad_response"),
    (200, "só um texto", "bad_response"),
    (200, b"\xff\xfe nem utf-8", "bad_response"),
    (401, b"<html>login</html>", "session_expired"),
    (403, b"Forbidden", "http_error"),
    (404, {"status": 404}, "http_error"),
    (400, {"data": None}, "http_error"),
    (403, {"errors": [{"message": "nope", "extensions": {"classification": "Outra"}}]}, "forbidden"),
])
def test_odd_answers_become_clean_errors(stub, status, body, code):  # pylint: disable=redefined-outer-name
    stub.answer(None, body, status=status)
    client = session(stub.url, retries=2)
    error = raises(client.contra_chave)
    assert isinstance(error, PecApiError) and error.code == code
    assert error.message.startswith(("o PEC em %s" % stub.url, "a sessão no PEC em %s" % stub.url))
    assert len(stub.requests) == 1  # answers, even odd ones, are never retried


@pytest.mark.parametrize("body", [
    {"errors": "boom"},
    {"errors": [{"message": {"a": 1}, "extensions": {"classification": 7}}]},
    {"errors": [None]},
    {"data": {"login": "sim"}},
    {"data": {"login": {"success": "true"}}},
])
def test_odd_login_answers_become_clean_errors(stub, body):  # pylint: disable=redefined-outer-name
    stub.answer("Login", body)
    client = session(stub.url, retries=3)
    error = raises(client.login, ADMIN, ADMIN_PASSWORD)
    assert error.code in ("pec_error", "login_refused") and error.operation == "Login"
    assert client.logged_in is False
    assert [r["path"] for r in stub.requests] == ["/", "/api/graphql"]  # one Login, never repeated


@pytest.mark.parametrize("classification, message, code", [
    ("UsuarioJaLogadoException", "", "already_logged_in"),
    ("PecAuthenticationException", "O usuário já está logado em outra sessão.", "already_logged_in"),
    ("PecAuthenticationException", "Usuário bloqueado por excesso de tentativas de login.", "account_locked"),
    ("PecAuthenticationException", "Usuário e/ou senha incorretos.", "login_refused"),
    ("ValidationError", "Validation error (FieldUndefined@[login])", "contract_mismatch"),
])
def test_login_error_classifications(stub, classification, message, code):  # pylint: disable=redefined-outer-name
    stub.answer("Login", {"data": None, "errors": [{"message": message,
                                                    "extensions": {"classification": classification}}]})
    error = raises(session(stub.url, retries=3).login, ADMIN, ADMIN_PASSWORD)
    assert error.code == code and error.classification == classification


def test_sessao_without_accesses_is_a_bad_response(stub):  # pylint: disable=redefined-outer-name
    stub.answer("Login", {"data": {"login": {"success": True}}})
    stub.answer("Sessao", {"data": {"sessao": {"profissional": {"acessos": "nenhum"}}}})
    error = raises(session(stub.url).login, ADMIN, ADMIN_PASSWORD)
    assert error.code == "bad_response" and "sessao.profissional.acessos" in error.message


ECHO_MODES = ("raw", "json", "upper", "html", "url", "base64", "unicode")


@pytest.mark.parametrize("mode", ECHO_MODES)
def test_a_pec_echoing_the_request_never_shows_a_password(own_pec, mode):
    """A PEC that echoes the request body in its errors (in any of these encodings) would print the
    password: the client drops such a text and says so (issue: escaped secrets in PEC messages)."""
    password = "Senha \"Ecoada\" \\ 123 ção"  # quotes and a backslash: JSON would escape them
    sim = own_pec(admins=["%s:%s:%s" % (ADMIN, password, SP)])
    wrong = "errada " + password
    sim.set_fault(echo=mode)
    error = raises(session(sim, secrets=[wrong]).login, ADMIN, wrong)
    assert error.code == "login_refused"
    assert "omitida" in error.message  # dropped and said
    for text in (error.message, error.pec_message):
        assert not _sanitize.contains_secret(text, [wrong, password]), text
    # A certificate refusal too (the certificate password is in the echoed HabilitarCertificado body).
    sim.set_fault(echo="off")
    client = session(sim, secrets=[password, "senha-do-pfx"])
    client.login(ADMIN, password)
    client.select(SP)
    sim.set_fault(echo=mode)
    error = raises(client.enable, "fms.pfx", "senha-do-pfx", "4507", ["rnds"])
    assert error.code == "wrong_password", error.message
    assert not _sanitize.contains_secret(error.message, ["senha-do-pfx", password])
    sim.set_fault(echo="off")
    client.logout()


def test_terminal_control_sequences_from_the_pec_are_neutralised(own_pec):
    """A review drew a fake green "ok" with ANSI codes in a PEC message."""
    sim = own_pec()
    stub_message = "\x1b[32mok\x1b[0m Senha incorreta"
    client = session(sim)
    errors = [{"message": stub_message, "extensions": {"classification": "PecAuthenticationException"}}]
    error = client._pec_error("Login", 200, errors)  # pylint: disable=protected-access
    assert "\x1b" not in error.message and "\\x1b[32m" in error.message


# -- HTTPS, URLs, redirects ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def https_shared(tmp_path_factory, test_ca):  # pylint: disable=redefined-outer-name
    directory = tmp_path_factory.mktemp("pec-https")
    server_leaf = test_ca.issue_server("127.0.0.1")
    cert, key = testca.write_pem_files(str(directory), server_leaf, "server")
    bundle = directory / "ca.pem"
    bundle.write_bytes(test_ca.ca_bundle_pem())
    sim = Simulator(directory / "install", admins=["%s:%s:%s" % (ADMIN, ADMIN_PASSWORD, SP)], municipios=[SP],
                    https_cert=cert, https_key=key)
    sim.start()
    sim.bundle = str(bundle)
    yield sim
    sim.kill()


@pytest.fixture
def https_pec(https_shared):  # pylint: disable=redefined-outer-name
    return reset(https_shared)


def test_https_needs_the_ca(https_pec):  # pylint: disable=redefined-outer-name
    assert https_pec.url.startswith("https://")
    sleeps = Sleeps()
    error = raises(session(https_pec, retries=3, backoff=1, sleep=sleeps).login, ADMIN, ADMIN_PASSWORD)
    assert error.code == "tls_verify"
    assert "informe ca_path " in render(error.message) and "validate_certs=false" in render(error.message)
    assert "informe rnds_pec_ca_path " in render(error.message, ROLE_LABELS)
    assert "rnds_pec_validate_certs=false" in render(error.message, ROLE_LABELS)
    assert sleeps.calls == [] and ops(https_pec) == []  # refused at GET /, not retried


def test_https_with_ca_path_full_session(https_pec):  # pylint: disable=redefined-outer-name
    client = session(https_pec, ca_path=https_pec.bundle)
    client.login(ADMIN, ADMIN_PASSWORD)  # Secure cookies travel over HTTPS
    client.select(SP)
    assert client.read_state()["enabled"] is False
    client.logout()
    assert all(line["xsrf_header"] for line in log_since(https_pec))
    assert ops(https_pec) == ["Login", "Sessao", "SelecionarAcesso", "CertificadoMunicipio", "Logout"]


def test_https_without_validation(https_pec):  # pylint: disable=redefined-outer-name
    client = session(https_pec, validate_certs=False)
    client.login(ADMIN, ADMIN_PASSWORD)
    assert client.select(SP)["ibge"] == SP
    client.logout()


def test_https_bad_ca_path(https_pec, tmp_path):  # pylint: disable=redefined-outer-name
    error = raises(session, https_pec, ca_path=str(tmp_path / "nao-existe.pem"))
    assert error.code == "ca_path" and "nao-existe.pem" in error.message
    garbage = tmp_path / "lixo.pem"
    garbage.write_text("não é PEM", encoding="utf-8")
    assert raises(session, https_pec, ca_path=str(garbage)).code == "ca_path"


def test_https_url_against_an_http_pec(pec):
    url = pec.url.replace("http://", "https://")
    sleeps = Sleeps()
    error = raises(session(url, validate_certs=False, retries=3, sleep=sleeps).login, ADMIN, ADMIN_PASSWORD)
    assert error.code == "tls" and "esquema" in error.message
    assert sleeps.calls == [] and ops(pec) == []


def test_http_url_against_an_https_pec(https_pec):  # pylint: disable=redefined-outer-name
    url = https_pec.url.replace("https://", "http://")
    error = raises(session(url, retries=0, timeout=5).login, ADMIN, ADMIN_PASSWORD)
    assert error.code == "unreachable"
    assert "https" in error.message
    assert ops(https_pec) == []


def test_redirect_is_reported_not_followed(stub):  # pylint: disable=redefined-outer-name
    stub.redirect = "https://127.0.0.1:8443/"
    client = session(stub.url + "/", retries=3)
    error = raises(client.login, ADMIN, ADMIN_PASSWORD)
    assert error.code == "redirect" and error.status == 302
    assert "https://127.0.0.1:8443/" in error.message and "ajuste a URL do PEC" in error.message
    error = raises(client.contra_chave)
    assert error.code == "redirect" and error.operation == "contra_chave"
    assert len(stub.requests) == 2  # each reported once, never followed nor retried


def test_normalize_url():
    assert _pec_api.normalize_url(None) == "http://127.0.0.1:8080"
    assert _pec_api.normalize_url("") == "http://127.0.0.1:8080"
    assert _pec_api.normalize_url(" 127.0.0.1:8080/ ") == "http://127.0.0.1:8080"
    assert _pec_api.normalize_url("https://pec.example.org/pec/") == "https://pec.example.org/pec"
    client = session("pec.example.org:8080/", allow_insecure_http=True)
    assert client.url == "http://pec.example.org:8080" and client.insecure_http is True
    assert client.endpoint == "http://pec.example.org:8080/api/graphql"


@pytest.mark.parametrize("url", ["pec.example.org:8080", "http://10.0.0.5:8080", "http://127.0.0.1.nip.example:8080",
                                 "http://[::2]:8080", "HTTP://PEC.example.org"])
def test_plain_http_to_another_machine_is_refused(url):
    """The admin and certificate passwords would cross the network in clear (nothing is sent)."""
    error = raises(session, url)
    assert error.code == "insecure_http"
    assert "sem criptografia" in error.message
    # The module option for a direct module user; the role variable once the role passes option_labels.
    assert "só numa rede confiável, allow_insecure_http: true" in render(error.message)
    assert "rnds_pec_allow_insecure_http: true" in render(error.message, ROLE_LABELS)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080",
                                 "http://127.1.2.3:18081", "https://pec.example.org"])
def test_loopback_http_and_any_https_are_accepted(url):
    assert session(url).insecure_http is False


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/", "FILE:///etc/shadow"])
def test_non_http_urls_are_refused(url):
    error = raises(session, url)
    assert error.code == "invalid_input" and "http://" in error.message


def test_error_object():
    error = PecApiError("timeout", "mensagem", url="http://x", status=500, operation="Login")
    assert str(error) == "mensagem" and error.code == "timeout" and error.status == 500
    assert set(_pec_api.CERTIFICATE_CODES) == {
        "certificate_missing", "wrong_password", "expired", "not_yet_valid", "no_private_key", "key_mismatch",
        "invalid_certificate", "requester_id"}
    spec = _pec_api.connection_argument_spec()
    assert spec["retries"]["default"] == 3 and spec["force_login"]["default"] is False


# -- bugs found while rewriting these tests, fixed in the client -----

def test_fixed_result_path_missing_from_the_answer_is_not_read_as_disabled(pec):
    contract = modelo()
    contract["name"] = "caminho-errado"
    contract["operations"]["read_state"]["result"] = "certificadoDoMunicipio"  # the PEC answers certificadoMunicipio
    client = logged_in(pec, contract=validate_contract(contract))
    try:
        with pytest.raises(PecApiError) as info:
            client.read_state()
    finally:
        client.logout()
    assert info.value.code in ("contract_mismatch", "bad_response")


def test_fixed_contract_client_version_outside_latin1(pec):
    from ansible_collections.esus.rnds.plugins.module_utils._pec_contract import ContractError

    contract = modelo()
    contract["client_version"] = "5.5 \u2014 capturado"
    # refused when the contract is checked (every module checks it before the client uses it), with the reason
    with pytest.raises(ContractError) as info:
        validate_contract(contract)
    assert "client_version deve ser um texto ASCII simples (vai num cabeçalho HTTP)" in str(info.value)


@pytest.mark.parametrize("url", ["http://[::1", "http://127.0.0.1:abc"])
def test_fixed_malformed_url_is_invalid_input(url):
    sleeps = Sleeps()
    with pytest.raises(PecApiError) as info:
        session(url, retries=2, backoff=1, sleep=sleeps).login(ADMIN, ADMIN_PASSWORD)
    assert info.value.code == "invalid_input" and sleeps.calls == []
