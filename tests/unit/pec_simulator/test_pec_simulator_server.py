# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PEC simulator as a real process on 127.0.0.1: session protocol, GraphQL, certificates, state, faults."""

from __future__ import annotations

import base64
import datetime
import hashlib
import html
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse

import pytest

import testca
from cryptography.hazmat.primitives import hashes
from harness import (DEFAULT_ADMIN_CPF, DEFAULT_ADMIN_PASSWORD, RawSession, classification, cpf, format_cpf,
                     load_server_module)

pec_server = load_server_module()

SP = "3550308"
RJ = "3304557"
ADMIN = DEFAULT_ADMIN_CPF
PASSWORD = DEFAULT_ADMIN_PASSWORD
ADMIN_ARG = "%s:%s" % (ADMIN, PASSWORD)

INFO = "query Info { info { versao } }"
CONTRA_CHAVE = "query ContraChave { contraChave }"
STATE_FIELDS = "certificado servicos identificadorSolicitante habilitadoEm validoAte fingerprintSha256 arquivoSha256"
READ_STATE = "query CertificadoMunicipio { certificadoMunicipio { %s } }" % STATE_FIELDS
LIST_FILES = ("query CertificadosDisponiveis { certificadosDisponiveis { nome tamanho modificadoEm sha256 "
              "fingerprintSha256 validoAte } }")
ENABLE = ("mutation HabilitarCertificado($input: HabilitarCertificadoInput!) { habilitarCertificado(input: $input) "
          "{ %s } }" % STATE_FIELDS)
DISABLE = ("mutation DesabilitarCertificado($input: DesabilitarCertificadoInput!) { "
           "desabilitarCertificado(input: $input) { %s } }" % STATE_FIELDS)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def put(sim, name, leaf, password, flavour="aes", **kwargs):
    os.makedirs(sim.chaves, exist_ok=True)
    return testca.write_pkcs12(os.path.join(sim.chaves, name), leaf, password, flavour=flavour, **kwargs)


def logged_in(sim, user=ADMIN, password=PASSWORD, ibge=SP, force=None):
    """A session that went GET / -> Login -> Sessao -> SelecionarAcesso (when ``ibge``)."""
    session = sim.session()
    assert session.home() == 200
    status, answer = session.login(user, password, force=force)
    assert status == 200 and "errors" not in answer, answer
    if ibge:
        status, answer = session.selecionar_acesso(ibge)
        assert status == 200 and "errors" not in answer, answer
    return session


def data(answer, field):
    assert "errors" not in answer, answer
    return answer["data"][field]


def message(answer):
    return answer["errors"][0]["message"]


def enable(session, name, password, services=("RNDS",), requester="4507"):
    variables = {"input": {"certificado": name, "senha": password, "servicos": list(services)}}
    if requester is not None:
        variables["input"]["identificadorSolicitante"] = requester
    return session.call(ENABLE, variables)


def disable(session, services):
    return session.call(DISABLE, {"input": {"servicos": list(services)}})


def run_server(*args, python_args=(), timeout=20, server=None):
    return subprocess.run(
        [sys.executable, *python_args, server or pec_server.__file__, *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )


# -- process, files, command line -----------------------------------------------------


def test_start_readiness_files_and_clean_shutdown(sim_factory):
    sim = sim_factory(admins=[ADMIN_ARG], municipios=[SP], version="5.4.1")
    assert sim.ready_line.startswith("PEC simulado pronto url=http://127.0.0.1:")
    assert sim.ready_line.endswith(" municipios=%s api=certificados" % SP)
    assert sim.api == "certificados"
    props = os.path.join(sim.install_dir, "webserver", "config", "application.properties")
    with open(props, encoding="utf-8") as handle:
        text = handle.read()
    assert "server.port=%d" % sim.port in text
    assert "server.ssl.enabled=false" in text
    pid_file = os.path.join(sim.state_dir, "pec-simulator.pid")
    with open(pid_file, encoding="utf-8") as handle:
        assert int(handle.read()) == sim.proc.pid
    status, answer = sim.session().call(INFO)
    assert status == 200 and answer == {"data": {"info": {"versao": "5.4.1"}}}
    assert sim.stop() == 0
    assert not os.path.exists(pid_file)


def test_existing_application_properties_is_kept(sim_factory, tmp_path):
    install = tmp_path / "pec"
    config = install / "webserver" / "config"
    config.mkdir(parents=True)
    (config / "application.properties").write_text("server.port=8080\n", encoding="utf-8")
    sim_factory(install_dir=install)
    assert (config / "application.properties").read_text(encoding="utf-8") == "server.port=8080\n"


def test_admin_is_a_cpf(tmp_path):
    assert pec_server.parse_admin("%s:p" % format_cpf(ADMIN)) == (ADMIN, "p", None)
    assert pec_server.parse_admin("%s:p:a:ss" % ADMIN) == (ADMIN, "p:a:ss", None)
    assert pec_server.parse_admin("%s:p:w:3550308" % ADMIN) == (ADMIN, "p:w", "3550308")
    assert pec_server.parse_municipio("3304557") == ("3304557", "Rio de Janeiro")
    assert pec_server.parse_municipio("1234567:Cidade") == ("1234567", "Cidade")
    for seed in range(50):
        assert pec_server.normalize_cpf(cpf(seed)) == cpf(seed)
    assert cpf(7) == cpf(7) and cpf(7) != cpf(8)
    for bad in ("admin:senha", "11111111111:senha", ADMIN[:10] + str((int(ADMIN[10]) + 1) % 10) + ":senha"):
        with pytest.raises(Exception) as info:
            pec_server.parse_admin(bad)
        assert "CPF" in str(info.value)
    result = run_server("--listen", "127.0.0.1:0", "--install-dir", str(tmp_path), "--admin", "admin:senha-secreta")
    assert result.returncode == 2
    assert "não é um CPF válido" in result.stderr and "senha-secreta" not in result.stderr


def test_punctuated_cpf_on_the_command_line(sim_factory, tmp_path):
    sim = sim_factory(admins=[], start=False, extra_args=["--admin", "%s:%s" % (format_cpf(ADMIN), PASSWORD)])
    sim.start()
    session = logged_in(sim, ibge=None)
    status, answer = session.sessao()
    assert data(answer, "sessao")["profissional"]["cpf"] == ADMIN


def test_cli_errors(tmp_path):
    result = run_server("--listen", "127.0.0.1:0", "--install-dir", str(tmp_path), "--admin", ADMIN_ARG,
                        "--municipio", "355030")
    assert result.returncode == 2 and "355030" in result.stderr
    result = run_server("--listen", "127.0.0.1:0", "--install-dir", str(tmp_path), "--admin", ADMIN_ARG,
                        "--fault", "explode=1")
    assert result.returncode == 2 and "explode" in result.stderr
    result = run_server("--listen", "127.0.0.1:0", "--install-dir", str(tmp_path), "--admin", ADMIN_ARG,
                        "--fault", "echo=rot13")
    assert result.returncode == 2 and "echo" in result.stderr


def test_admin_file_keeps_passwords_off_the_command_line(sim_factory, tmp_path):
    sp_admin, rj_admin = cpf(11), cpf(12)
    admin_file = tmp_path / "admins.txt"
    admin_file.write_text("# administradores\n\n%s:%s:%s\n%s:outra:%s\n" % (
        format_cpf(sp_admin), testca.HARD_PASSWORD, SP, rj_admin, RJ), encoding="utf-8")
    sim = sim_factory(admins=[], extra_args=["--admin-file", str(admin_file)])
    assert all(testca.HARD_PASSWORD not in arg for arg in sim.command())
    logged_in(sim, sp_admin, testca.HARD_PASSWORD, ibge=SP)
    session = logged_in(sim, rj_admin, "outra", ibge=RJ)
    assert [a["municipio"]["ibge"] for a in session.accesses() if a["tipo"] == "ADMINISTRADOR_MUNICIPAL"] == [RJ]
    bad = tmp_path / "bad.txt"
    bad.write_text("sem-dois-pontos\n", encoding="utf-8")
    result = run_server("--listen", "127.0.0.1:0", "--install-dir", str(tmp_path / "x"), "--admin-file", str(bad))
    assert result.returncode == 2 and "linha 1" in result.stderr


def test_graphql_core_missing_and_vendor_fallback(tmp_path):
    # -I -S: no site-packages, so neither graphql-core nor cryptography can be imported.
    result = run_server("--listen", "127.0.0.1:0", "--install-dir", str(tmp_path / "a"), "--admin", ADMIN_ARG,
                        python_args=("-I", "-S"))
    assert result.returncode == 2
    assert "graphql-core" in result.stderr and "_vendor" in result.stderr
    # A copy with graphql-core in _vendor/ beside it gets past that check (and stops at cryptography).
    copy = tmp_path / "sim"
    (copy / "_vendor").mkdir(parents=True)
    import graphql
    os.symlink(os.path.dirname(graphql.__file__), str(copy / "_vendor" / "graphql"))
    with open(pec_server.__file__, "rb") as handle:
        (copy / "server.py").write_bytes(handle.read())
    result = run_server("--listen", "127.0.0.1:0", "--install-dir", str(tmp_path / "b"), "--admin", ADMIN_ARG,
                        python_args=("-I", "-S"), server=str(copy / "server.py"))
    assert result.returncode == 2
    assert "graphql-core" not in result.stderr and "cryptography" in result.stderr


# -- HTTP protocol ----------------------------------------------------------------------


def test_home_sets_xsrf_cookie(sim_factory):
    sim = sim_factory()
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
    conn.request("GET", "/")
    response = conn.getresponse()
    body = response.read()
    assert response.status == 200 and b"<html" in body
    cookie = response.getheader("Set-Cookie")
    assert re.match(r"^XSRF-TOKEN=[\w-]{20,}; Path=/$", cookie), cookie
    conn.request("GET", "/")
    other = conn.getresponse()
    other.read()
    assert other.getheader("Set-Cookie") != cookie
    conn.request("GET", "/api/nada")
    assert conn.getresponse().status == 404
    conn.close()
    assert sim.stats()["xsrf_tokens_issued"] == 2


def test_api_consumer_id_required(sim_factory):
    sim = sim_factory()
    session = sim.session()
    for header in (None, "OUTRO_CLIENTE"):
        status, document, _payload = session.post(
            {"operationName": "Login", "query": "mutation Login($input: LoginInput!) { login(input: $input) "
                                                "{ success } }",
             "variables": {"input": {"username": ADMIN, "password": PASSWORD}}},
            headers={"Api-Consumer-Id": header})
        assert status == 403
        assert set(document) == {"timestamp", "status", "error", "path"}
        assert document["status"] == 403 and document["error"] == "Forbidden" and document["path"] == "/api/graphql"
    # Nothing ran: no session was created, no failure counted.
    stats = sim.stats()
    assert stats["sessions"] == {ADMIN: 0} and stats["failed_logins"] == {ADMIN: 0}
    assert "JSESSIONID" not in session.cookies
    log = sim.requests()
    assert [(line["status"], line["api_consumer_id"], line["operation"]) for line in log] == [
        (403, None, "Login"), (403, "OUTRO_CLIENTE", "Login")]


def test_array_body_answers_array(sim_factory):
    sim = sim_factory()
    session = sim.session()
    body = [{"operationName": "Info", "query": INFO, "variables": {}}]
    status, document, _payload = session.post(body)
    assert status == 200 and document == [{"data": {"info": {"versao": pec_server.DEFAULT_VERSION}}}]
    # Errors keep the shape too.
    status, document, _payload = session.post([{"query": "query S { sessao { profissional { id } } }"}])
    assert status == 401 and isinstance(document, list) and classification(document) == "NaoAutenticadoException"
    status, document, _payload = session.post([{"query": "query X { nada }"}])
    assert status == 200 and classification(document) == "ValidationError"
    status, answer = session.call(INFO, array=True)
    assert status == 200 and answer["data"]["info"]["versao"]
    # Batches are not supported; neither is junk.
    assert session.post(body * 2)[0] == 400
    assert session.post([])[0] == 400
    status, document, _payload = session.post(b"{not json")
    assert status == 400 and classification(document) == "BadRequest"
    assert session.post({"query": 42})[0] == 400
    assert session.post({"query": INFO, "variables": [1]})[0] == 400


def test_xsrf_header_optional_but_must_match(sim_factory):
    sim = sim_factory()
    # No XSRF at all (as [D] 5.5.22 does): works.
    bare = sim.session(xsrf=False)
    status, answer = bare.login(ADMIN, PASSWORD)
    assert status == 200 and answer == {"data": {"login": {"success": True}}}
    assert bare.selecionar_acesso(SP)[0] == 200
    # Header equal to the cookie: works.
    bare.xsrf = True
    assert "XSRF-TOKEN" in bare.cookies
    assert bare.call(CONTRA_CHAVE)[0] == 200
    # Header different from the cookie, or without a cookie: 403, nothing runs.
    status, answer = bare.call(CONTRA_CHAVE, headers={"X-XSRF-TOKEN": "outro"})
    assert status == 403 and classification(answer) == "InvalidCsrfTokenException"
    assert answer["data"] is None
    fresh = sim.session()
    status, answer = fresh.call("mutation Logout { logout { id } }", headers={"X-XSRF-TOKEN": "qualquer"})
    assert status == 403 and classification(answer) == "InvalidCsrfTokenException"
    assert sim.requests()[-1]["xsrf_header"] is True


def test_validation_errors_like_graphql_java(sim_factory):
    sim = sim_factory()
    session = sim.session()
    # A typo in a document: FieldUndefined, before any session check.
    status, answer = session.call("query Info { info { versão } }")
    assert status == 200 and answer["data"] is None
    status, answer = session.call("query Info { info { versao versaoo } }")
    error = answer["errors"][0]
    assert error["message"] == ("Validation error (FieldUndefined@[info/versaoo]) : "
                                "Field 'versaoo' in type 'Info' is undefined")
    assert error["extensions"] == {"classification": "ValidationError"}
    assert error["locations"] == [{"line": 1, "column": 28}]
    status, answer = session.call("query CertificadoMunicipo { certificadoMunicipo { certificado } }")
    assert status == 200 and message(answer) == (
        "Validation error (FieldUndefined@[certificadoMunicipo]) : "
        "Field 'certificadoMunicipo' in type 'Query' is undefined")
    # Any other rule: short rule name + graphql-core's message.
    status, answer = session.call("query Info { info(x: 1) { versao } }")
    assert status == 200 and message(answer).startswith("Validation error (KnownArgumentNames@[info]) : ")
    assert classification(answer) == "ValidationError"
    status, answer = session.call("mutation Login { login { success } }")
    assert message(answer).startswith("Validation error (ProvidedRequiredArguments@[login]) : ")
    # Introspection is off on the real PEC.
    status, answer = session.call("query I { __schema { types { name } } }")
    assert message(answer) == ("Validation error (FieldUndefined@[__schema]) : "
                               "Field '__schema' in type 'Query' is undefined")
    # Syntax error, unknown operation name.
    status, answer = session.call("query Info { info { versao }")
    assert status == 200 and classification(answer) == "InvalidSyntax"
    status, answer = session.call(INFO, operation_name="Outra")
    assert status == 200 and classification(answer) == "ValidationError" and "Outra" in message(answer)


def test_variable_errors_never_echo_values(sim_factory):
    sim = sim_factory()
    session = logged_in(sim)
    status, answer = session.call(ENABLE, {"input": {"certificado": "x.pfx", "senha": testca.HARD_PASSWORD,
                                                     "servicos": ["RNDS", "SISAB"]}})
    assert status == 200 and classification(answer) == "ValidationError"
    assert message(answer) == "Variable 'input' has an invalid value."
    assert "Sênha" not in json.dumps(answer, ensure_ascii=False)


def test_no_certificate_api(sim_factory):
    sim = sim_factory(no_certificate_api=True)
    assert sim.api == "sessao" and sim.ready_line.endswith(" api=sessao")
    session = logged_in(sim)
    for document, field in ((CONTRA_CHAVE, "contraChave"), (READ_STATE, "certificadoMunicipio"),
                            (LIST_FILES, "certificadosDisponiveis")):
        status, answer = session.call(document)
        assert status == 200 and classification(answer) == "ValidationError"
        assert message(answer) == ("Validation error (FieldUndefined@[%s]) : Field '%s' in type 'Query' is undefined"
                                   % (field, field))
    # In document order (like graphql-java): the unknown input type first, then the undefined field.
    status, answer = enable(session, "x.pfx", "senha")
    assert [error["message"] for error in answer["errors"]] == [
        "Validation error (KnownTypeNames) : Unknown type 'HabilitarCertificadoInput'.",
        "Validation error (FieldUndefined@[habilitarCertificado]) : "
        "Field 'habilitarCertificado' in type 'Mutation' is undefined",
    ]
    status, answer = session.call("mutation D { desabilitarCertificado(input: {servicos: [RNDS]}) { certificado } }")
    assert message(answer) == ("Validation error (FieldUndefined@[desabilitarCertificado]) : "
                               "Field 'desabilitarCertificado' in type 'Mutation' is undefined")
    assert data(session.sessao()[1], "sessao")["acesso"]["municipio"]["ibge"] == SP
    assert data(session.logout()[1], "logout") == {"id": "1"}


def test_session_required_before_executing(sim_factory):
    sim = sim_factory()
    session = sim.session()
    session.home()
    assert session.call(INFO)[0] == 200
    for document in ("query Sessao { sessao { profissional { id } } }", CONTRA_CHAVE, READ_STATE,
                     "mutation Logout { logout { id } }",
                     "query Misto { info { versao } sessao { acesso { id } } }",
                     "query Frag { ...F } fragment F on Query { contraChave }"):
        status, answer = session.call(document)
        assert status == 401, document
        assert answer == {"data": None, "errors": [{"message": "Sessão expirada. Faça login novamente.",
                                                    "extensions": {"classification": "NaoAutenticadoException"}}]}
    status, answer = session.call("query Tipo { __typename info { versao } }")
    assert status == 200 and answer["data"]["__typename"] == "Query"


# -- login ------------------------------------------------------------------------------


def test_login_success_cookies_and_wrong_password(sim_factory):
    sim = sim_factory()
    session = sim.session()
    session.home()
    first_xsrf = session.cookies["XSRF-TOKEN"]
    status, answer = session.login(ADMIN, "errada")
    assert status == 200 and answer["data"] is None
    assert answer["errors"][0]["message"] == "Usuário e/ou senha incorretos."
    assert answer["errors"][0]["path"] == ["login"]
    assert classification(answer) == "PecAuthenticationException"
    assert "JSESSIONID" not in session.cookies
    assert sim.stats()["failed_logins"][ADMIN] == 1
    # Unknown user (or a CPF with punctuation, clients strip it): refused, not counted.
    for user in (cpf(99), format_cpf(ADMIN)):
        status, answer = session.login(user, PASSWORD)
        assert classification(answer) == "PecAuthenticationException"
    assert sim.stats()["failed_logins"] == {ADMIN: 1}
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
    body = json.dumps({"operationName": "Login", "query": "mutation Login($input: LoginInput!) { login(input: $input) "
                                                          "{ success } }",
                       "variables": {"input": {"username": ADMIN, "password": PASSWORD}}})
    headers = {"Content-Type": "application/json", "Api-Consumer-Id": "ESUS_WEB_CLIENT"}
    conn.request("POST", "/api/graphql", body=body, headers=headers)
    response = conn.getresponse()
    assert json.loads(response.read()) == {"data": {"login": {"success": True}}}
    set_cookies = response.headers.get_all("Set-Cookie")
    conn.close()
    assert any(re.match(r"^JSESSIONID=[0-9A-F]{32}; Path=/; HttpOnly", c) for c in set_cookies), set_cookies
    assert not any("Secure" in c for c in set_cookies)
    assert any(c.startswith("XSRF-TOKEN=") and first_xsrf not in c for c in set_cookies)
    stats = sim.stats()
    assert stats["failed_logins"] == {ADMIN: 0} and stats["sessions"] == {ADMIN: 1}


def test_lock_after_failed_logins(sim_factory):
    sim = sim_factory()
    session = sim.session()
    for attempt in range(3):
        status, answer = session.login(ADMIN, "errada-%d" % attempt)
        assert message(answer) == "Usuário e/ou senha incorretos."
    assert sim.stats()["locked"] == [ADMIN]
    # Locked: even the right password is refused, and nothing more is counted.
    status, answer = session.login(ADMIN, PASSWORD)
    assert classification(answer) == "PecAuthenticationException"
    assert message(answer) == ("Usuário bloqueado por excesso de tentativas de login. "
                               "Procure o administrador da instalação.")
    assert sim.stats()["failed_logins"] == {ADMIN: 3}
    # --lock-after N; a success resets the count.
    other = sim_factory(lock_after=2)
    session = other.session()
    session.login(ADMIN, "errada")
    assert other.stats()["failed_logins"] == {ADMIN: 1}
    assert session.login(ADMIN, PASSWORD)[1] == {"data": {"login": {"success": True}}}
    assert other.stats()["failed_logins"] == {ADMIN: 0}
    fresh = other.session()
    fresh.login(ADMIN, "errada")
    fresh.login(ADMIN, "errada")
    assert other.stats()["locked"] == [ADMIN]


def test_one_session_per_user_and_force(sim_factory):
    sim = sim_factory()
    first = logged_in(sim)
    second = sim.session()
    second.home()
    status, answer = second.login(ADMIN, PASSWORD)
    assert status == 200 and classification(answer) == "UsuarioJaLogadoException"
    assert message(answer) == "O usuário já está logado em outra sessão."
    assert sim.stats()["failed_logins"] == {ADMIN: 0}  # not counted
    status, answer = second.login(ADMIN, PASSWORD, force=False)
    assert classification(answer) == "UsuarioJaLogadoException"
    assert first.call(CONTRA_CHAVE)[0] == 200
    status, answer = second.login(ADMIN, PASSWORD, force=True)
    assert answer == {"data": {"login": {"success": True}}}
    # The first browser was thrown out.
    status, answer = first.call(CONTRA_CHAVE)
    assert status == 401 and classification(answer) == "NaoAutenticadoException"
    stats = sim.stats()
    assert stats["sessions"] == {ADMIN: 1} and stats["sessions_ended_by_force"] == 1
    assert sim.audit_lines()[-1]["action"] == "Login com encerramento da sessão anterior"
    assert sim.audit_lines()[-1]["user"] == ADMIN
    # force without another session ends nothing.
    second.logout()
    third = sim.session()
    assert third.login(ADMIN, PASSWORD, force=True)[1] == {"data": {"login": {"success": True}}}
    assert sim.stats()["sessions_ended_by_force"] == 1


def test_login_on_authenticated_request_keeps_previous_user(sim_factory):
    other = cpf(21)
    sim = sim_factory(admins=[ADMIN_ARG, other + ":outra"])
    session = logged_in(sim)
    sid = session.cookies["JSESSIONID"]
    status, answer = session.login(other, "outra")
    assert answer == {"data": {"login": {"success": True}}}
    assert session.cookies["JSESSIONID"] == sid
    assert data(session.sessao()[1], "sessao")["profissional"]["cpf"] == ADMIN
    assert sim.stats()["sessions"] == {ADMIN: 1, other: 0}
    # Even a wrong password: the session's user is kept and nothing is counted.
    assert session.login(other, "errada")[1] == {"data": {"login": {"success": True}}}
    assert sim.stats()["failed_logins"][other] == 0


def test_session_idle_timeout(sim_factory):
    sim = sim_factory(extra_args=["--session-timeout", "0.3"])
    session = logged_in(sim, ibge=None)
    assert session.sessao()[0] == 200
    time.sleep(0.5)  # the idle timeout itself is what is tested here
    assert session.sessao()[0] == 401
    # The expired session no longer blocks a new login.
    assert logged_in(sim, ibge=None)


# -- sessao, accesses, logout ------------------------------------------------------------


def test_sessao_accesses_and_selection(sim_factory):
    sp_admin, rj_admin, all_admin = cpf(31), cpf(32), cpf(33)
    sim = sim_factory(admins=["%s:a:%s" % (sp_admin, SP), "%s:b:%s" % (rj_admin, RJ), "%s:c" % all_admin],
                      municipios=[SP, RJ + ":Rio"])
    sp = logged_in(sim, sp_admin, "a", ibge=None)
    sessao = data(sp.sessao()[1], "sessao")
    assert sessao["acesso"] is None
    assert sessao["profissional"]["cpf"] == sp_admin
    assert [a["tipo"] for a in sessao["profissional"]["acessos"]] == ["LOTACAO", "ADMINISTRADOR_MUNICIPAL"]
    _status, answer = sp.call("query S { sessao { profissional { acessos { id tipo __typename "
                              "... on Lotacao { unidadeSaude { id nome } } "
                              "... on AdministradorMunicipal { municipio { id nome ibge } } } } } }")
    lotacao, admin_sp = data(answer, "sessao")["profissional"]["acessos"]
    assert lotacao["__typename"] == "Lotacao" and lotacao["unidadeSaude"]["nome"] == "UBS Centro"
    assert admin_sp["__typename"] == "AdministradorMunicipal"
    assert admin_sp["municipio"] == {"id": "1", "nome": "São Paulo", "ibge": SP}
    rj = logged_in(sim, rj_admin, "b", ibge=None)
    everyone = logged_in(sim, all_admin, "c", ibge=None)
    assert [a["municipio"]["ibge"] for a in everyone.accesses() if a["tipo"] == "ADMINISTRADOR_MUNICIPAL"] == [SP, RJ]
    ids = [a["id"] for s in (sp, rj, everyone) for a in s.accesses()]
    assert len(ids) == len(set(ids)) == 7 and all(i.isdigit() for i in ids)
    # Certificate operations need the admin access selected.
    status, answer = sp.call(CONTRA_CHAVE)
    assert status == 200 and classification(answer) == "AccessDeniedException"
    assert message(answer) == "Selecione o acesso de Administrador Municipal."
    assert data(sp.selecionar_acesso(access_id=lotacao["id"])[1], "selecionarAcesso")["tipo"] == "LOTACAO"
    assert classification(sp.call(READ_STATE)[1]) == "AccessDeniedException"
    # Another municipality's (or another user's) access id is refused.
    for foreign in (rj.access_id(RJ), everyone.access_id(SP), "999"):
        status, answer = sp.selecionar_acesso(access_id=foreign)
        assert status == 200 and classification(answer) == "AccessDeniedException"
        assert message(answer) == "Acesso inválido para este usuário."
    status, answer = sp.selecionar_acesso(SP)
    assert data(answer, "selecionarAcesso") == {"id": admin_sp["id"], "tipo": "ADMINISTRADOR_MUNICIPAL",
                                                "municipio": {"ibge": SP}}
    assert data(sp.sessao()[1], "sessao")["acesso"]["id"] == admin_sp["id"]
    assert re.match(r"^[0-9A-Z]{4}(-[0-9A-Z]{4}){7}$", data(sp.call(CONTRA_CHAVE)[1], "contraChave"))
    # Ids are stable across a restart.
    before = {s_cpf: s.accesses() for s_cpf, s in ((sp_admin, sp), (all_admin, everyone))}
    sim.restart()
    assert logged_in(sim, sp_admin, "a", ibge=None).accesses() == before[sp_admin]
    assert logged_in(sim, all_admin, "c", ibge=None).accesses() == before[all_admin]


def test_logout(sim_factory):
    sim = sim_factory()
    session = logged_in(sim)
    status, answer = session.logout()
    assert answer == {"data": {"logout": {"id": "1"}}}
    assert "JSESSIONID" not in session.cookies
    assert sim.stats()["sessions"] == {ADMIN: 0}
    # A new login needs no force after a logout.
    assert logged_in(sim)


# -- certificates (the model) -------------------------------------------------------------


def test_lists_only_pkcs12_in_lowercase_chaves(sim_factory, test_ca):
    sim = sim_factory(start=False)
    leaf = test_ca.issue_ecnpj()
    put(sim, "b.p12", leaf, "x")
    put(sim, "a.PFX", leaf, "x")
    testca.write_cer(os.path.join(sim.chaves, "c.cer"), leaf)
    os.makedirs(os.path.join(sim.chaves, "pasta.pfx"))
    other = os.path.join(sim.install_dir, "webserver", "Chaves")
    os.makedirs(other)
    testca.write_pkcs12(os.path.join(other, "z.pfx"), leaf, "x")
    sim.start()
    files = data(logged_in(sim).call(LIST_FILES)[1], "certificadosDisponiveis")
    assert [f["nome"] for f in files] == ["a.PFX", "b.p12"]
    with open(os.path.join(sim.chaves, "b.p12"), "rb") as handle:
        content = handle.read()
    assert files[1]["sha256"] == hashlib.sha256(content).hexdigest() and files[1]["tamanho"] == len(content)
    datetime.datetime.strptime(files[1]["modificadoEm"], "%Y-%m-%dT%H:%M:%SZ")
    assert files[1]["fingerprintSha256"] is None and files[1]["validoAte"] is None  # never opened yet


def test_no_chaves_folder_lists_nothing_and_state_starts_empty(sim_factory):
    sim = sim_factory()
    session = logged_in(sim)
    assert data(session.call(LIST_FILES)[1], "certificadosDisponiveis") == []
    assert data(session.call(READ_STATE)[1], "certificadoMunicipio") == {
        "certificado": None, "servicos": [], "identificadorSolicitante": None, "habilitadoEm": None,
        "validoAte": None, "fingerprintSha256": None, "arquivoSha256": None}


@pytest.mark.parametrize("flavour", ["aes", "3des", "legacy-rc2"])
def test_enable_each_pkcs12_flavour_with_hard_password(sim_factory, test_ca, flavour):
    sim = sim_factory(start=False)
    leaf = test_ca.issue_ecnpj()
    put(sim, "fms.pfx", leaf, testca.HARD_PASSWORD, flavour=flavour)
    sim.start()
    session = logged_in(sim)
    status, answer = enable(session, "fms.pfx", testca.HARD_PASSWORD, services=["RNDS", "CADSUS"])
    assert status == 200, answer
    state = data(answer, "habilitarCertificado")
    assert state["certificado"] == "fms.pfx" and state["servicos"] == ["RNDS", "CADSUS"]
    assert state["fingerprintSha256"] == leaf.cert.fingerprint(hashes.SHA256()).hex()
    assert state["validoAte"] == leaf.cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert state["identificadorSolicitante"] == "4507"
    with open(os.path.join(sim.chaves, "fms.pfx"), "rb") as handle:
        assert state["arquivoSha256"] == hashlib.sha256(handle.read()).hexdigest()
    # The listing now knows the fingerprint of that exact file.
    listed = data(session.call(LIST_FILES)[1], "certificadosDisponiveis")[0]
    assert listed["fingerprintSha256"] == state["fingerprintSha256"] and listed["validoAte"] == state["validoAte"]


def test_enable_replace_and_disable_services(sim_factory, test_ca):
    sim = sim_factory(municipios=[SP, RJ], start=False)
    first, second = test_ca.issue_ecnpj(), test_ca.issue_ecnpj()
    put(sim, "um.pfx", first, "senha1")
    put(sim, "dois.pfx", second, "senha2")
    sim.start()
    session = logged_in(sim)
    # One certificate for both services.
    state = data(enable(session, "um.pfx", "senha1", services=["CADSUS", "RNDS", "RNDS"])[1], "habilitarCertificado")
    assert state["servicos"] == ["RNDS", "CADSUS"] and state["certificado"] == "um.pfx"
    assert data(session.call(READ_STATE)[1], "certificadoMunicipio") == state
    # The form sends the whole set: enabling again with [RNDS] only replaces it (and the certificate).
    state = data(enable(session, "dois.pfx", "senha2", services=["RNDS"], requester="4508")[1],
                 "habilitarCertificado")
    assert state["servicos"] == ["RNDS"] and state["certificado"] == "dois.pfx"
    assert state["identificadorSolicitante"] == "4508"
    state = data(enable(session, "dois.pfx", "senha2", services=["RNDS", "CADSUS"])[1], "habilitarCertificado")
    # Disabling one service keeps the other with the same certificate.
    after = data(disable(session, ["RNDS"])[1], "desabilitarCertificado")
    assert after["servicos"] == ["CADSUS"] and after["certificado"] == "dois.pfx"
    assert after["fingerprintSha256"] == state["fingerprintSha256"]
    # Disabling a service that is not enabled changes nothing; disabling all clears the certificate.
    assert data(disable(session, ["RNDS"])[1], "desabilitarCertificado") == after
    cleared = data(disable(session, ["RNDS", "CADSUS"])[1], "desabilitarCertificado")
    assert cleared["certificado"] is None and cleared["servicos"] == [] and cleared["fingerprintSha256"] is None
    status, answer = disable(session, [])
    assert classification(answer) == "ValidacaoException"
    # The other municipality was never touched.
    session.selecionar_acesso(RJ)
    assert data(session.call(READ_STATE)[1], "certificadoMunicipio")["certificado"] is None
    assert [(line["action"], line["result"], line["municipio"]) for line in sim.audit_lines()] == [
        ("Habilitar o PEC a acessar RNDS", "sucesso", SP),
        ("Habilitar o PEC a acessar CADSUS", "sucesso", SP),
        ("Habilitar o PEC a acessar RNDS", "sucesso", SP),
        ("Habilitar o PEC a acessar RNDS", "sucesso", SP),
        ("Habilitar o PEC a acessar CADSUS", "sucesso", SP),
        ("Desabilitar PEC a acessar RNDS", "sucesso", SP),
        ("Desabilitar PEC a acessar CADSUS", "sucesso", SP),
    ]
    assert all(line["user"] == ADMIN for line in sim.audit_lines())


def test_enable_refusals_with_pec_classifications(sim_factory, test_ca):
    sim = sim_factory(start=False)
    now = _now()
    good = test_ca.issue_ecnpj()
    put(sim, "bom.pfx", good, "senha")
    expired = test_ca.issue_ecnpj(not_before=now - datetime.timedelta(days=400),
                                  not_after=now - datetime.timedelta(days=2))
    future = test_ca.issue_ecnpj(not_before=now + datetime.timedelta(days=5),
                                 not_after=now + datetime.timedelta(days=400))
    put(sim, "vencido.pfx", expired, "senha")
    put(sim, "futuro.pfx", future, "senha")
    put(sim, "semchave.pfx", good, "senha", include_key=False)
    put(sim, "trocada.pfx", good, "senha", key_override=test_ca.issue_ecnpj().key)
    with open(os.path.join(sim.chaves, "lixo.pfx"), "wb") as handle:
        handle.write(os.urandom(600))
    sim.start()
    session = logged_in(sim)
    cases = [
        ("bom.pfx", "senha", [], "4507", "ValidacaoException", "Selecione ao menos um serviço."),
        ("bom.pfx", "senha", ["RNDS"], None, "IdentificadorSolicitanteException",
         "Informe o identificador do solicitante."),
        ("bom.pfx", "senha", ["RNDS", "CADSUS"], "  ", "IdentificadorSolicitanteException",
         "Informe o identificador do solicitante."),
        ("bom.pfx", "senha", ["RNDS"], "com espaço", "IdentificadorSolicitanteException",
         "Identificador do solicitante inválido."),
        ("bom.pfx", "senha", ["CADSUS"], "x" * 101, "IdentificadorSolicitanteException",
         "Identificador do solicitante inválido."),
        ("naoexiste.pfx", "senha", ["RNDS"], "4507", "CertificadoNaoEncontradoException",
         "Certificado \"naoexiste.pfx\" não encontrado na pasta chaves."),
        ("../bom.pfx", "senha", ["RNDS"], "4507", "CertificadoNaoEncontradoException", None),
        ("bom.cer", "senha", ["RNDS"], "4507", "CertificadoNaoEncontradoException", None),
        ("bom.pfx", "errada", ["RNDS"], "4507", "CertificadoSenhaInvalidaException", "Senha do certificado incorreta."),
        ("vencido.pfx", "senha", ["RNDS"], "4507", "CertificadoExpiradoException", "Certificado expirado em "),
        ("futuro.pfx", "senha", ["RNDS"], "4507", "CertificadoAindaNaoValidoException",
         "Certificado válido somente a partir de "),
        ("semchave.pfx", "senha", ["RNDS"], "4507", "CertificadoSemChavePrivadaException", "não contém a chave privada"),
        ("trocada.pfx", "senha", ["RNDS"], "4507", "CertificadoChaveNaoConfereException",
         "não corresponde ao certificado"),
        ("lixo.pfx", "senha", ["RNDS"], "4507", "CertificadoInvalidoException", "não é um certificado digital válido"),
    ]
    for name, password, services, requester, expected, text in cases:
        status, answer = enable(session, name, password, services=services, requester=requester)
        assert status == 200 and classification(answer) == expected, (name, answer)
        assert answer["data"] is None and answer["errors"][0]["path"] == ["habilitarCertificado"]
        if text:
            assert text in message(answer)
    assert data(session.call(READ_STATE)[1], "certificadoMunicipio")["certificado"] is None
    # CADSUS alone does not need the identificador.
    state = data(enable(session, "bom.pfx", "senha", services=["CADSUS"], requester=None)[1], "habilitarCertificado")
    assert state["servicos"] == ["CADSUS"] and state["identificadorSolicitante"] is None
    # Failures are audited per requested service (none for an empty list).
    lines = sim.audit_lines()
    assert lines[0] == dict(lines[0], action="Habilitar o PEC a acessar RNDS",
                            result="falha: Informe o identificador do solicitante.")
    assert [line["action"] for line in lines[1:3]] == ["Habilitar o PEC a acessar RNDS",
                                                       "Habilitar o PEC a acessar CADSUS"]
    assert lines[-1]["action"] == "Habilitar o PEC a acessar CADSUS" and lines[-1]["result"] == "sucesso"
    assert sum(1 for line in lines if line["result"].startswith("falha")) == 14


def test_openssl_backend_opens_legacy_and_detects_wrong_password(sim_factory, test_ca):
    """The path used where cryptography cannot read RC2 (Debian bookworm): openssl pkcs12 -legacy."""
    sim = sim_factory(start=False, extra_args=["--pkcs12-backend", "openssl"])
    leaf = test_ca.issue_ecnpj()
    put(sim, "legacy.p12", leaf, testca.HARD_PASSWORD, flavour="legacy-rc2")
    put(sim, "nokey.pfx", leaf, "senha", include_key=False)
    sim.start()
    session = logged_in(sim)
    assert classification(enable(session, "legacy.p12", "outra senha")[1]) == "CertificadoSenhaInvalidaException"
    assert classification(enable(session, "nokey.pfx", "senha")[1]) == "CertificadoSemChavePrivadaException"
    state = data(enable(session, "legacy.p12", testca.HARD_PASSWORD)[1], "habilitarCertificado")
    assert state["fingerprintSha256"] == leaf.cert.fingerprint(hashes.SHA256()).hex()


def test_auto_backend_falls_back_to_openssl(tmp_path, test_ca, monkeypatch):
    """When cryptography refuses the file (as python3-cryptography 38 does with RC2), openssl opens it."""
    leaf = test_ca.issue_ecnpj()
    path = testca.write_pkcs12(str(tmp_path / "legacy.p12"), leaf, testca.HARD_PASSWORD, flavour="legacy-rc2")

    def refuse(_data, _password):
        raise ValueError("Invalid password or PKCS12 data")

    monkeypatch.setattr(pec_server, "_load_with_cryptography", refuse)
    calls = []
    real_run = pec_server.subprocess.run

    def spy(cmd, **kwargs):
        calls.append((list(cmd), dict(kwargs.get("env") or {})))
        return real_run(cmd, **kwargs)

    monkeypatch.setattr(pec_server.subprocess, "run", spy)
    facts = pec_server.open_certificate(path, testca.HARD_PASSWORD)
    assert facts["fingerprintSha256"] == leaf.cert.fingerprint(hashes.SHA256()).hex()
    assert calls and all(testca.HARD_PASSWORD not in " ".join(cmd) for cmd, _env in calls)
    assert calls[0][1][pec_server.PKCS12_PASSWORD_ENV] == testca.HARD_PASSWORD
    with pytest.raises(pec_server.PecError) as info:
        pec_server.open_certificate(path, "errada")
    assert info.value.classification == "CertificadoSenhaInvalidaException"


def test_multimunicipal_state_is_per_municipality(sim_factory, test_ca):
    sp_admin, rj_admin = cpf(41), cpf(42)
    sim = sim_factory(admins=["%s:senha-sp:%s" % (sp_admin, SP), "%s:senha-rj:%s" % (rj_admin, RJ)],
                      municipios=[SP], start=False)
    put(sim, "comum.pfx", test_ca.issue_ecnpj(), "senha")
    sim.start()
    assert sim.ready_line.split("municipios=")[1].split()[0] == "%s,%s" % (SP, RJ)
    sp = logged_in(sim, sp_admin, "senha-sp", ibge=SP)
    assert data(enable(sp, "comum.pfx", "senha")[1], "habilitarCertificado")["servicos"] == ["RNDS"]
    rj = logged_in(sim, rj_admin, "senha-rj", ibge=RJ)
    assert data(rj.call(READ_STATE)[1], "certificadoMunicipio")["certificado"] is None
    # One contra-chave per installation.
    assert data(sp.call(CONTRA_CHAVE)[1], "contraChave") == data(rj.call(CONTRA_CHAVE)[1], "contraChave")


# -- state, logs ----------------------------------------------------------------------------


def test_state_survives_restart(sim_factory, test_ca):
    sim = sim_factory(municipios=[SP], start=False)
    leaf = test_ca.issue_ecnpj()
    put(sim, "fms.pfx", leaf, testca.HARD_PASSWORD, flavour="legacy-rc2")
    sim.start()
    session = logged_in(sim)
    contra_chave = data(session.call(CONTRA_CHAVE)[1], "contraChave")
    enabled = data(enable(session, "fms.pfx", testca.HARD_PASSWORD, services=["RNDS", "CADSUS"])[1],
                   "habilitarCertificado")
    port = sim.port
    sim.restart()
    assert sim.port == port
    # Sessions do not survive a restart, the state does.
    old = RawSession(sim.url)
    old.cookies = dict(session.cookies)
    assert old.call(READ_STATE)[0] == 401
    session = logged_in(sim)
    assert data(session.call(READ_STATE)[1], "certificadoMunicipio") == enabled
    assert data(session.call(CONTRA_CHAVE)[1], "contraChave") == contra_chave
    state = sim.state()
    assert state["versao_estado"] == 2 and state["contra_chave"] == contra_chave
    assert state["municipios"][SP]["nome"] == "São Paulo"
    assert state["municipios"][SP]["certificado"] == enabled
    assert state["arquivos"][enabled["arquivoSha256"]]["fingerprintSha256"] == enabled["fingerprintSha256"]
    assert not [name for name in os.listdir(sim.state_dir) if name.startswith(".state-")]


def test_state_of_another_version_starts_fresh(sim_factory):
    sim = sim_factory(start=False)
    os.makedirs(sim.state_dir)
    with open(os.path.join(sim.state_dir, "state.json"), "w", encoding="utf-8") as handle:
        json.dump({"versao_estado": 1, "municipios": {SP: {"contra_chave": "X", "servicos": {}}}}, handle)
    sim.start()
    state = sim.state()
    assert state["versao_estado"] == 2 and state["municipios"][SP]["certificado"]["certificado"] is None
    assert re.match(r"^[0-9A-Z]{4}(-[0-9A-Z]{4}){7}$", state["contra_chave"])
    with open(sim.stderr_path, encoding="utf-8") as handle:
        assert "versao_estado 1" in handle.read()


def test_request_log_and_files_never_hold_a_password(sim_factory, test_ca):
    sim = sim_factory(admins=["%s:%s" % (ADMIN, testca.HARD_PASSWORD)], start=False)
    put(sim, "fms.pfx", test_ca.issue_ecnpj(), "Cert-Senha-Única")
    sim.start()
    session = sim.session()
    session.home()
    session.login(ADMIN, "Tentativa-Errada-1")
    session.login(ADMIN, testca.HARD_PASSWORD)
    session.selecionar_acesso(SP)
    enable(session, "fms.pfx", "Cert-Senha-Errada-2")
    enable(session, "fms.pfx", "Cert-Senha-Única")
    session.post({"query": "mutation Login($input: LoginInput!) { login(input: $input) { success } }",
                  "variables": {"input": {"username": ADMIN, "password": "Sem-Consumer-3"}}},
                 headers={"Api-Consumer-Id": None})
    session.call("mutation Login($input: LoginInput!) { login(input: $input) { sucess } }",
                 {"input": {"username": ADMIN, "password": "Validacao-4"}})
    log = sim.requests()
    assert [line["operation"] for line in log] == ["Login", "Login", "Sessao", "SelecionarAcesso",
                                                   "HabilitarCertificado", "HabilitarCertificado", None, "Login"]
    assert log[0] == dict(log[0], fields=["login"], user=None, api_consumer_id="ESUS_WEB_CLIENT",
                          client_name="PEC Web", client_version="5.3.28", xsrf_header=True, status=200,
                          classification="PecAuthenticationException")
    assert log[2]["user"] == ADMIN and log[5]["classification"] is None
    assert log[4]["classification"] == "CertificadoSenhaInvalidaException"
    assert log[6]["status"] == 403 and log[6]["api_consumer_id"] is None and log[6]["fields"] == ["login"]
    assert log[7]["classification"] == "ValidationError"
    assert set(log[0]) == {"time", "operation", "fields", "user", "api_consumer_id", "client_name",
                           "client_version", "xsrf_header", "status", "classification"}
    secrets_used = [testca.HARD_PASSWORD, "Tentativa-Errada-1", "Cert-Senha-Única", "Cert-Senha-Errada-2",
                    "Sem-Consumer-3", "Validacao-4", "Sênha"]
    paths = [os.path.join(sim.state_dir, name) for name in os.listdir(sim.state_dir)] + [sim.stderr_path]
    for path in paths:
        with open(path, "rb") as handle:
            content = handle.read()
        for secret in secrets_used:
            for form in (secret, json.dumps(secret)[1:-1]):
                assert form.encode("utf-8") not in content, (path, secret)


def test_stats_endpoint(sim_factory):
    other = cpf(51)
    sim = sim_factory(admins=[ADMIN_ARG, other + ":x"])
    assert sim.stats() == {"sessions": {ADMIN: 0, other: 0}, "sessions_ended_by_force": 0,
                           "failed_logins": {ADMIN: 0, other: 0}, "locked": [], "xsrf_tokens_issued": 0}
    session = logged_in(sim, ibge=None)
    assert session.stats()["sessions"] == {ADMIN: 1, other: 0}
    assert session.requests() == sim.requests()


# -- faults ------------------------------------------------------------------------------------


def test_runtime_faults(sim_factory):
    sim = sim_factory()
    session = sim.session()
    # http500 for the next 2 requests, then normal.
    assert sim.set_fault(http500=2)["http500"] == 2
    assert session.call(INFO)[0] == 500
    assert session.call(INFO)[0] == 500
    assert session.call(INFO)[0] == 200
    # garbage: HTTP 200 with a body that is not JSON.
    sim.set_fault(garbage=1)
    status, document, payload = session.post({"query": INFO})
    assert status == 200 and document is None and payload
    # huge: a valid but very large body.
    sim.set_fault(huge=1)
    status, _unused, payload = session.post({"query": INFO})
    assert status == 200 and len(payload) > 4 * 1024 * 1024
    # drop: connection closed without any answer.
    sim.set_fault(drop=1)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, OSError)):
        session.call(INFO)
    assert session.call(INFO)[0] == 200
    # slow: every answer waits.
    sim.set_fault(slow=0.6)
    started = time.monotonic()
    assert session.call(INFO)[0] == 200
    assert time.monotonic() - started >= 0.6
    sim.set_fault(slow=0)
    # login_refused: even the right password is refused (and counted).
    sim.set_fault(login_refused=True)
    assert classification(session.login(ADMIN, PASSWORD)[1]) == "PecAuthenticationException"
    assert sim.stats()["failed_logins"] == {ADMIN: 1}
    sim.set_fault(login_refused=False)
    session = logged_in(sim)
    # expire_sessions now: the next authenticated request is 401.
    sim.set_fault(expire_sessions="now")
    assert session.call(CONTRA_CHAVE)[0] == 401
    # expire_sessions N: the next N authenticated requests find their session expired.
    session = logged_in(sim)
    sim.set_fault(expire_sessions=1)
    assert session.call(INFO)[0] == 200  # no session needed, nothing consumed
    assert session.call(CONTRA_CHAVE)[0] == 401
    # Fault scoped to one operation.
    session = logged_in(sim)
    sim.set_fault(http500="always@HabilitarCertificado")
    assert session.call(INFO)[0] == 200
    assert enable(session, "x.pfx", "s")[0] == 500
    assert enable(session, "x.pfx", "s")[0] == 500
    snapshot = sim.control(method="GET")
    assert snapshot["http500"] == "always@HabilitarCertificado" and snapshot["echo"] == "off"
    assert sim.clear_faults()["http500"] == 0
    assert classification(enable(session, "x.pfx", "s")[1]) == "CertificadoNaoEncontradoException"
    statuses = [line["status"] for line in sim.requests()]
    assert statuses[:2] == [500, 500] and None in statuses  # the dropped request is logged without status


def test_fault_control_rejects_unknown(sim_factory):
    sim = sim_factory()
    for body in ({"explode": 1}, {"echo": "rot13"}):
        with pytest.raises(urllib.error.HTTPError) as info:
            sim.control(body)
        assert info.value.code == 400


def test_faults_at_start(sim_factory):
    sim = sim_factory(faults=["http500=1", "expire_sessions=always"])
    session = sim.session()
    assert session.call(INFO)[0] == 500
    status, answer = session.login(ADMIN, PASSWORD)
    assert answer == {"data": {"login": {"success": True}}}
    assert session.sessao()[0] == 401
    sim2 = sim_factory(faults=["login_refused", "echo=upper"])
    assert classification(sim2.session().login(ADMIN, PASSWORD)[1]) == "PecAuthenticationException"
    assert sim2.control(method="GET")["echo"] == "upper"


ECHO_PASSWORD = "Sênha çã 'aspas' \"duplas\" \\ <b>&amp; 🔑"


@pytest.mark.parametrize("mode", ["raw", "json", "upper", "html", "url", "base64", "unicode"])
def test_echo_fault_embeds_the_request_body(sim_factory, mode):
    sim = sim_factory(faults=["echo=" + mode])
    session = sim.session()
    body = json.dumps({"operationName": "Login",
                       "query": "mutation Login($input: LoginInput!) { login(input: $input) { success } }",
                       "variables": {"input": {"username": ADMIN, "password": ECHO_PASSWORD}}},
                      ensure_ascii=False).encode("utf-8")
    status, document, _payload = session.post(body)
    assert status == 200 and classification(document) == "PecAuthenticationException"
    text = message(document)
    prefix = "Usuário e/ou senha incorretos. Requisição: "
    assert text.startswith(prefix)
    echoed = text[len(prefix):]
    in_body = json.dumps(ECHO_PASSWORD, ensure_ascii=False)[1:-1]  # the password as the JSON body holds it
    expected = {
        "raw": in_body,
        "json": json.dumps(in_body)[1:-1],
        "upper": in_body.upper(),
        "html": html.escape(in_body),
        "url": urllib.parse.quote(in_body),
    }
    if mode == "base64":
        assert in_body in base64.b64decode(echoed).decode("utf-8")
    elif mode == "unicode":
        expected_unicode = "".join(
            ch if ord(ch) < 0x80 and ch not in "\"'\\" else
            "".join("\\u%04x" % int.from_bytes(ch.encode("utf-16-be")[i:i + 2], "big")
                    for i in range(0, len(ch.encode("utf-16-be")), 2))
            for ch in in_body)
        assert expected_unicode in echoed
    else:
        assert expected[mode] in echoed
    assert echoed == pec_server.echo_encode(mode, body)
    if mode == "unicode":
        assert re.fullmatch(r"[\x20-\x7e]*", echoed) and "\\u00ea" in echoed and "\\ud83d\\udd11" in echoed
        assert "'" not in echoed and '"' not in echoed
    # Every error of any answer carries it: validation and session errors too.
    status, document = session.call("query X { nada }")
    assert " Requisição: " in message(document)
    status, document = session.call(CONTRA_CHAVE)
    assert status == 401 and " Requisição: " in message(document)
    # Switched off at run time.
    sim.set_fault(echo="off")
    assert message(session.call(CONTRA_CHAVE)[1]) == "Sessão expirada. Faça login novamente."


def test_https_mode(sim_factory, test_ca, tmp_path):
    server_leaf = test_ca.issue_server("127.0.0.1")
    cert, key = testca.write_pem_files(str(tmp_path), server_leaf, "server")
    sim = sim_factory(https_cert=cert, https_key=key)
    assert sim.url.startswith("https://127.0.0.1:")
    session = sim.session()
    assert session.home() == 200
    assert session.call(INFO)[0] == 200
    import ssl
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", sim.port, timeout=10, context=context)
    conn.request("POST", "/api/graphql", body=json.dumps({
        "query": "mutation Login($input: LoginInput!) { login(input: $input) { success } }",
        "variables": {"input": {"username": ADMIN, "password": PASSWORD}}}),
        headers={"Content-Type": "application/json", "Api-Consumer-Id": "ESUS_WEB_CLIENT"})
    response = conn.getresponse()
    response.read()
    conn.close()
    assert all(c.endswith("; Secure") for c in response.headers.get_all("Set-Cookie"))
    props = os.path.join(sim.install_dir, "webserver", "config", "application.properties")
    with open(props, encoding="utf-8") as handle:
        assert "server.ssl.enabled=true" in handle.read()
    # A plain-HTTP client talking to the HTTPS port gets no HTTP answer, and the server survives it.
    with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        received = sock.recv(100)
    assert not received.startswith(b"HTTP/")
    assert sim.session().call(INFO)[0] == 200


def test_state_file_is_valid_json_after_many_writes(sim_factory, test_ca):
    sim = sim_factory(start=False)
    put(sim, "fms.pfx", test_ca.issue_ecnpj(), "senha")
    sim.start()
    session = logged_in(sim)
    for _round in range(3):
        enable(session, "fms.pfx", "senha", services=["RNDS", "CADSUS"])
        disable(session, ["RNDS", "CADSUS"])
    assert sim.state()["versao_estado"] == 2
    assert len(sim.audit_lines()) == 12
