# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PEC client (module_utils/_pec_api.py) against real simulator processes on 127.0.0.1."""

from __future__ import annotations

import http.server
import os
import sys
import threading

import pytest
from cryptography.hazmat.primitives import hashes

import testca

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "pec_simulator"))

from harness import closed_port, sim_factory  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import

from ansible_collections.esus.rnds.plugins.module_utils import _pec_api  # noqa: E402
from ansible_collections.esus.rnds.plugins.module_utils._pec_api import PecApiError, PecClient  # noqa: E402

ADMIN_PASSWORD = "adm " + testca.HARD_PASSWORD
SP = "3550308"
RJ = "3304557"


class Sleeps:
    def __init__(self):
        self.calls = []

    def __call__(self, seconds):
        self.calls.append(seconds)


@pytest.fixture
def leaf(test_ca):
    return test_ca.issue_ecnpj()


@pytest.fixture
def pec(sim_factory, leaf):  # pylint: disable=redefined-outer-name
    sim = sim_factory(admins=["admin:" + ADMIN_PASSWORD], municipios=[SP], start=False)
    os.makedirs(sim.chaves)
    testca.write_pkcs12(os.path.join(sim.chaves, "fms.pfx"), leaf, testca.HARD_PASSWORD, flavour="legacy-rc2")
    return sim.start()


def client_for(sim, **kwargs):
    kwargs.setdefault("backoff", 0.01)
    kwargs.setdefault("sleep", Sleeps())
    kwargs.setdefault("timeout", 10)
    return PecClient(sim.url if hasattr(sim, "url") else sim, **kwargs)


def assert_no_secret(text):
    assert ADMIN_PASSWORD not in text
    assert testca.HARD_PASSWORD not in text


def test_full_cycle_and_round_trips(pec, leaf):  # pylint: disable=redefined-outer-name
    client = client_for(pec)
    info = client.info()
    assert info == {"version": "5.3.28", "installation": "MUNICIPAL", "municipios": [{"ibge": SP, "nome": "São Paulo"}]}
    login = client.login("admin", ADMIN_PASSWORD)
    assert login["municipios"] == [{"ibge": SP, "nome": "São Paulo"}]
    state = client.read_state(SP)
    assert state["rnds"]["enabled"] is False and "contra_chave" not in state
    assert [c["name"] for c in state["certificates"]] == ["fms.pfx"]
    assert state["certificates"][0]["fingerprint_sha256"] is None
    enabled = client.enable(SP, "rnds", "fms.pfx", testca.HARD_PASSWORD, "ID-9")
    fingerprint = leaf.cert.fingerprint(hashes.SHA256()).hex()
    assert enabled["enabled"] is True
    assert enabled["fingerprint_sha256"] == fingerprint
    assert enabled["requester_id"] == "ID-9"
    assert enabled["file_sha256"] == state["certificates"][0]["sha256"]
    again = client.read_state(SP, contra_chave=True)
    assert again["rnds"] == enabled
    assert again["contra_chave"] == pec.state()["municipios"][SP]["contra_chave"]
    assert again["certificates"][0]["fingerprint_sha256"] == fingerprint
    assert client.list_certificates() == again["certificates"]
    disabled = client.disable(SP, "rnds")
    assert disabled["enabled"] is False and disabled["certificate"] is None
    assert client.requests == 7  # one HTTP request per call, nothing hidden


def test_wrong_admin_password_message(pec):
    client = client_for(pec)
    with pytest.raises(PecApiError) as info:
        client.login("admin", "errada-" + ADMIN_PASSWORD)
    error = info.value
    assert error.code == "login_refused"
    assert str(error).startswith("login recusado para o usuário admin no PEC em %s" % pec.url)
    assert "confira rnds_pec_admin_user/rnds_pec_admin_password" in str(error)
    assert_no_secret(str(error))
    assert client.requests == 1  # a refused login is not retried


def test_login_refused_fault(pec):
    pec.set_fault(login_refused=True)
    with pytest.raises(PecApiError) as info:
        client_for(pec).login("admin", ADMIN_PASSWORD)
    assert info.value.code == "login_refused"


def test_connection_refused_retries_with_exponential_backoff():
    sleeps = Sleeps()
    url = "http://127.0.0.1:%d" % closed_port()
    client = PecClient(url, retries=3, backoff=0.5, sleep=sleeps, timeout=5)
    with pytest.raises(PecApiError) as info:
        client.info()
    assert info.value.code == "unreachable"
    assert str(info.value).startswith("PEC não responde em %s: o serviço e-SUS-PEC está ativo? "
                                      "(systemctl status e-SUS-PEC)" % url)
    assert client.requests == 4
    assert sleeps.calls == [0.5, 1.0, 2.0]


def test_http500_then_recover(pec):
    pec.set_fault(http500=2)
    client = client_for(pec, retries=3, backoff=0.25)
    assert client.info()["version"] == "5.3.28"
    assert client.requests == 3
    assert client._sleep.calls == [0.25, 0.5]  # pylint: disable=protected-access


def test_http500_always_gives_up(pec):
    pec.set_fault(http500="always")
    client = client_for(pec, retries=2)
    with pytest.raises(PecApiError) as info:
        client.info()
    assert info.value.code == "server_error" and info.value.status == 500
    assert "HTTP 500" in str(info.value) and "journalctl -u e-SUS-PEC" in str(info.value)
    assert client.requests == 3


def test_dropped_connection_is_retried(pec):
    pec.set_fault(drop=2)
    client = client_for(pec, retries=3)
    assert client.info()["version"]
    assert client.requests == 3


def test_dropped_connection_without_retries(pec):
    pec.set_fault(drop=1)
    client = client_for(pec, retries=0)
    with pytest.raises(PecApiError) as info:
        client.info()
    assert info.value.code == "unreachable"


def test_garbage_is_a_clear_error_not_retried(pec):
    pec.set_fault(garbage=1)
    client = client_for(pec, retries=3)
    with pytest.raises(PecApiError) as info:
        client.info()
    assert info.value.code == "bad_response"
    assert "não é JSON" in str(info.value) and "rnds_pec_url" in str(info.value)
    assert client.requests == 1


def test_huge_answer_is_capped(pec):
    pec.set_fault(huge=1)
    client = client_for(pec)
    with pytest.raises(PecApiError) as info:
        client.info()
    assert info.value.code == "too_large"
    assert "1024 KiB" in str(info.value)
    assert client.info()["version"]  # the next answer is normal again


def test_slow_pec_times_out_without_retry(pec):
    pec.set_fault(slow=1.5)
    client = client_for(pec, timeout=0.4, retries=3)
    with pytest.raises(PecApiError) as info:
        client.info()
    assert info.value.code == "timeout"
    assert "não respondeu" in str(info.value) and "0.4 s" in str(info.value)
    assert client.requests == 1
    pec.set_fault(slow=0)


def test_slow_pec_within_timeout(pec):
    pec.set_fault(slow=0.3)
    assert client_for(pec, timeout=5).info()["version"]


def test_session_expiry_relogs_in_once(pec):
    client = client_for(pec)
    client.login("admin", ADMIN_PASSWORD)
    pec.set_fault(expire_sessions="now")
    state = client.read_state(SP)
    assert state["ibge"] == SP
    # login, read (401), login again, read again.
    assert client.requests == 4


def test_session_expiring_forever_fails_clearly(pec):
    client = client_for(pec)
    client.login("admin", ADMIN_PASSWORD)
    pec.set_fault(expire_sessions="always")
    with pytest.raises(PecApiError) as info:
        client.read_state(SP)
    assert info.value.code == "session_expired"
    assert "logo após um novo login" in str(info.value)
    assert client.requests == 4  # no loop


def test_pec_restart_keeps_working(pec):
    client = client_for(pec)
    client.login("admin", ADMIN_PASSWORD)
    pec.restart()
    assert client.read_state(SP)["ibge"] == SP


@pytest.mark.parametrize("fault_op", ["HabilitarCertificado"])
def test_mutation_500_then_recover(pec, fault_op):
    pec.set_fault(http500="1@" + fault_op)
    client = client_for(pec)
    client.login("admin", ADMIN_PASSWORD)
    assert client.enable(SP, "rnds", "fms.pfx", testca.HARD_PASSWORD, "ID-1")["enabled"] is True
    assert len([line for line in pec.audit_lines() if line["result"] == "sucesso"]) == 1


@pytest.mark.parametrize("case", [
    ("fms.pfx", "errada", "wrong_password", "confira rnds_certificate_password"),
    ("outro.pfx", testca.HARD_PASSWORD, "certificate_missing", "rnds_certificate_name"),
])
def test_certificate_errors(pec, case):
    name, password, code, hint = case
    client = client_for(pec)
    client.login("admin", ADMIN_PASSWORD)
    with pytest.raises(PecApiError) as info:
        client.enable(SP, "rnds", name, password, "ID-1")
    assert info.value.code == code
    assert hint in str(info.value)
    assert "'%s'" % name in str(info.value) and SP in str(info.value)
    assert password not in str(info.value)
    assert_no_secret(str(info.value))


def test_expired_and_keyless_certificates(sim_factory, test_ca):  # pylint: disable=redefined-outer-name
    import datetime

    now = datetime.datetime.now(datetime.timezone.utc)
    sim = sim_factory(admins=["admin:" + ADMIN_PASSWORD], start=False)
    os.makedirs(sim.chaves)
    expired = test_ca.issue_ecnpj(not_before=now - datetime.timedelta(days=30), not_after=now - datetime.timedelta(days=1))
    testca.write_pkcs12(os.path.join(sim.chaves, "vencido.pfx"), expired, "senha")
    testca.write_pkcs12(os.path.join(sim.chaves, "semchave.pfx"), test_ca.issue_ecnpj(), "senha", include_key=False)
    sim.start()
    client = client_for(sim)
    client.login("admin", ADMIN_PASSWORD)
    with pytest.raises(PecApiError) as info:
        client.enable(SP, "rnds", "vencido.pfx", "senha", "ID-1")
    assert info.value.code == "expired"
    assert "Certificado expirado em" in str(info.value) and "certificado A1 válido" in str(info.value)
    with pytest.raises(PecApiError) as info:
        client.enable(SP, "rnds", "semchave.pfx", "senha", "ID-1")
    assert info.value.code == "no_private_key" and ".cer não serve" in str(info.value)
    with pytest.raises(PecApiError) as info:
        client.enable(SP, "rnds", "vencido.pfx", "senha", None)
    assert info.value.code == "requester_id"


def test_multimunicipal_forbidden(sim_factory):
    sim = sim_factory(admins=["sp:" + ADMIN_PASSWORD + ":" + SP, "rj:outra-senha:" + RJ])
    client = client_for(sim)
    assert client.login("sp", ADMIN_PASSWORD)["municipios"] == [{"ibge": SP, "nome": "São Paulo"}]
    with pytest.raises(PecApiError) as info:
        client.read_state(RJ)
    assert info.value.code == "forbidden"
    assert "rnds_municipio_ibge" in str(info.value)
    with pytest.raises(PecApiError) as info:
        client.read_state("1111111")
    assert info.value.code == "unknown_municipio"


def test_unknown_operation_means_unsupported_pec(pec, monkeypatch):
    monkeypatch.setitem(_pec_api.OPERATIONS, "Novidade", "query Novidade { novidade }")
    client = client_for(pec)
    client.info()
    with pytest.raises(PecApiError) as info:
        client._call("Novidade", {}, session=False)  # pylint: disable=protected-access
    assert info.value.code == "unsupported_operation"
    assert "versão 5.3.28" in str(info.value) and "docs/pec-api.md" in str(info.value)


def test_invalid_service_name(pec):
    client = client_for(pec)
    with pytest.raises(PecApiError) as info:
        client.disable(SP, "sisab")
    assert info.value.code == "invalid_input"
    assert client.requests == 0


def test_scrub_hides_secrets_echoed_by_a_pec():
    client = PecClient("http://127.0.0.1:1")
    client._add_secret(ADMIN_PASSWORD)  # pylint: disable=protected-access
    text = client.scrub("falhou com %s aqui" % ADMIN_PASSWORD)
    assert ADMIN_PASSWORD not in text and "********" in text
    error = client._pec_error("Login", 200, "LOGIN_RECUSADO", client.scrub(ADMIN_PASSWORD), None, None)  # pylint: disable=protected-access
    assert_no_secret(str(error))


@pytest.fixture
def https_pec(sim_factory, test_ca, tmp_path):  # pylint: disable=redefined-outer-name
    server_leaf = test_ca.issue_server("127.0.0.1")
    cert, key = testca.write_pem_files(str(tmp_path), server_leaf, "server")
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(test_ca.ca_bundle_pem())
    sim = sim_factory(admins=["admin:" + ADMIN_PASSWORD], https_cert=cert, https_key=key)
    return sim, str(bundle)


def test_https_validate_certs(https_pec):  # pylint: disable=redefined-outer-name
    sim, bundle = https_pec
    with pytest.raises(PecApiError) as info:
        client_for(sim, validate_certs=True).info()
    assert info.value.code == "tls_verify"
    assert "ca_path" in str(info.value) and "validate_certs=false" in str(info.value)
    assert client_for(sim, validate_certs=True, ca_path=bundle).info()["version"]
    client = client_for(sim, validate_certs=False)
    assert client.info()["version"]
    client.login("admin", ADMIN_PASSWORD)  # Secure cookies travel over HTTPS
    assert client.read_state(SP)["ibge"] == SP


def test_https_bad_ca_path(https_pec, tmp_path):  # pylint: disable=redefined-outer-name
    sim, _bundle = https_pec
    with pytest.raises(PecApiError) as info:
        client_for(sim, ca_path=str(tmp_path / "nao-existe.pem"))
    assert info.value.code == "ca_path"


def test_https_url_against_http_pec(pec):
    url = pec.url.replace("http://", "https://")
    with pytest.raises(PecApiError) as info:
        PecClient(url, validate_certs=False, retries=0).info()
    assert info.value.code == "tls"
    assert "esquema" in str(info.value)


def test_http_url_against_https_pec(https_pec):  # pylint: disable=redefined-outer-name
    sim, _bundle = https_pec
    url = sim.url.replace("https://", "http://")
    with pytest.raises(PecApiError) as info:
        PecClient(url, retries=0, timeout=5).info()
    assert info.value.code in ("unreachable", "bad_response", "http_error")
    assert "https" in str(info.value) or "rnds_pec_url" in str(info.value)


class _Redirect(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        self.send_response(302)
        self.send_header("Location", "https://127.0.0.1:8443/api/graphql")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args):
        pass


def test_redirect_is_reported_not_followed():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = PecClient("http://127.0.0.1:%d/" % server.server_address[1])
        with pytest.raises(PecApiError) as info:
            client.info()
    finally:
        server.shutdown()
        server.server_close()
    assert info.value.code == "redirect"
    assert "https://127.0.0.1:8443/api/graphql" in str(info.value)


def test_normalize_url():
    assert _pec_api.normalize_url(None) == "http://127.0.0.1:8080"
    assert _pec_api.normalize_url("127.0.0.1:8080/") == "http://127.0.0.1:8080"
    assert _pec_api.normalize_url("https://pec.example.org/pec/") == "https://pec.example.org/pec"
