# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PEC simulator as a real process on 127.0.0.1: contract, certificates, state, faults."""

from __future__ import annotations

import datetime
import http.client
import json
import os
import socket
import sys
import time

import pytest

import testca
from cryptography.hazmat.primitives import hashes
from harness import RawSession, error_code

from harness import load_server_module

pec_server = load_server_module()

ADMIN = "admin:senha-admin"
SP = "3550308"
RJ = "3304557"


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def put(sim, name, leaf, password, flavour="aes", **kwargs):
    os.makedirs(sim.chaves, exist_ok=True)
    return testca.write_pkcs12(os.path.join(sim.chaves, name), leaf, password, flavour=flavour, **kwargs)


def logged_in(sim, user="admin", password="senha-admin"):
    session = RawSession(sim.url)
    status, document = session.login(user, password)
    assert status == 200 and "errors" not in document, document
    return session


def enable(session, name, password, ibge=SP, service="RNDS", requester="ID-123"):
    return session.post("HabilitarCertificado", {"input": {
        "municipio": ibge, "servico": service, "certificado": name, "senha": password,
        "identificadorSolicitante": requester,
    }})


def test_start_readiness_files_and_clean_shutdown(sim_factory):
    sim = sim_factory(admins=[ADMIN], municipios=[SP], version="5.4.1")
    assert sim.ready_line.startswith("PEC simulado pronto url=http://127.0.0.1:")
    props = os.path.join(sim.install_dir, "webserver", "config", "application.properties")
    with open(props, encoding="utf-8") as handle:
        text = handle.read()
    assert "server.port=%d" % sim.port in text
    assert "server.ssl.enabled=false" in text
    pid_file = os.path.join(sim.state_dir, "pec-simulator.pid")
    with open(pid_file, encoding="utf-8") as handle:
        assert int(handle.read()) == sim.proc.pid
    status, document, _unused = RawSession(sim.url).post("Info")
    assert status == 200
    assert document["data"]["info"]["versao"] == "5.4.1"
    assert document["data"]["info"]["municipios"] == [{"ibge": SP, "nome": "São Paulo"}]
    assert sim.stop() == 0
    assert not os.path.exists(pid_file)


def test_existing_application_properties_is_kept(sim_factory, tmp_path):
    install = tmp_path / "pec"
    config = install / "webserver" / "config"
    config.mkdir(parents=True)
    (config / "application.properties").write_text("server.port=8080\n", encoding="utf-8")
    sim_factory(install_dir=install, admins=[ADMIN])
    assert (config / "application.properties").read_text(encoding="utf-8") == "server.port=8080\n"


def test_login_session_and_xsrf(sim_factory):
    sim = sim_factory(admins=[ADMIN], municipios=[SP])
    session = RawSession(sim.url)
    status, document = session.login("admin", "errada")
    assert status == 200 and error_code(document) == "LOGIN_RECUSADO"
    assert document["errors"][0]["message"] == "Usuário e/ou senha incorretos."
    assert "JSESSIONID" not in session.cookies
    # No session at all.
    status, document, _unused = session.post("ConfiguracaoCertificados", {"municipio": SP})
    assert status == 401 and error_code(document) == "NAO_AUTENTICADO"
    status, document = session.login("admin", "senha-admin")
    assert status == 200
    assert document["data"]["login"]["municipios"] == [{"ibge": SP, "nome": "São Paulo"}]
    assert {"JSESSIONID", "XSRF-TOKEN"} <= set(session.cookies)
    # Session cookie without the XSRF header.
    status, document, _unused = session.post("ConfiguracaoCertificados", {"municipio": SP}, xsrf=False)
    assert status == 403 and error_code(document) == "XSRF_INVALIDO"
    status, document, _unused = session.post("ConfiguracaoCertificados", {"municipio": SP, "comContraChave": False})
    assert status == 200
    config = document["data"]["configuracaoCertificados"]
    assert config["rnds"]["habilitado"] is False and "contraChave" not in config


def test_unknown_operation_and_bad_requests(sim_factory):
    sim = sim_factory(admins=[ADMIN])
    session = RawSession(sim.url)
    status, document, _unused = session.post("RemoverTudo")
    assert status == 200 and error_code(document) == "OPERACAO_DESCONHECIDA"
    status, document, _unused = session.post(None, raw_body=b"{not json")
    assert status == 400 and error_code(document) == "REQUISICAO_INVALIDA"
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
    conn.request("GET", "/api/nada")
    assert conn.getresponse().status == 404
    conn.close()


def test_lists_only_pkcs12_in_lowercase_chaves(sim_factory, test_ca):
    sim = sim_factory(admins=[ADMIN], start=False)
    leaf = test_ca.issue_ecnpj()
    put(sim, "b.p12", leaf, "x")
    put(sim, "a.PFX", leaf, "x")
    testca.write_cer(os.path.join(sim.chaves, "c.cer"), leaf)
    os.makedirs(os.path.join(sim.chaves, "pasta.pfx"))
    other = os.path.join(sim.install_dir, "webserver", "Chaves")
    os.makedirs(other)
    testca.write_pkcs12(os.path.join(other, "z.pfx"), leaf, "x")
    sim.start()
    session = logged_in(sim)
    _unused, document, _unused = session.post("CertificadosDisponiveis")
    files = document["data"]["certificadosDisponiveis"]
    assert [f["nome"] for f in files] == ["a.PFX", "b.p12"]
    with open(os.path.join(sim.chaves, "b.p12"), "rb") as handle:
        import hashlib
        assert files[1]["sha256"] == hashlib.sha256(handle.read()).hexdigest()
    assert files[1]["fingerprintSha256"] is None  # never opened yet


def test_no_chaves_folder_lists_nothing(sim_factory):
    sim = sim_factory(admins=[ADMIN])
    _unused, document, _unused = logged_in(sim).post("CertificadosDisponiveis")
    assert document["data"]["certificadosDisponiveis"] == []


@pytest.mark.parametrize("flavour", ["aes", "3des", "legacy-rc2"])
def test_enable_each_pkcs12_flavour_with_hard_password(sim_factory, test_ca, flavour):
    sim = sim_factory(admins=[ADMIN], start=False)
    leaf = test_ca.issue_ecnpj()
    put(sim, "fms.pfx", leaf, testca.HARD_PASSWORD, flavour=flavour)
    sim.start()
    session = logged_in(sim)
    status, document, _unused = enable(session, "fms.pfx", testca.HARD_PASSWORD)
    assert status == 200, document
    state = document["data"]["habilitarCertificado"]
    assert state["habilitado"] is True
    assert state["fingerprintSha256"] == leaf.cert.fingerprint(hashes.SHA256()).hex()
    assert state["validoAte"] == leaf.cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert state["identificadorSolicitante"] == "ID-123"
    assert state["certificado"] == "fms.pfx"
    # The listing now knows the fingerprint of that exact file.
    _unused, document, _unused = session.post("CertificadosDisponiveis")
    assert document["data"]["certificadosDisponiveis"][0]["fingerprintSha256"] == state["fingerprintSha256"]


def test_openssl_backend_opens_legacy_and_detects_wrong_password(sim_factory, test_ca):
    """The path used where cryptography cannot read RC2 (Debian bookworm): openssl pkcs12 -legacy."""
    sim = sim_factory(admins=[ADMIN], start=False, extra_args=["--pkcs12-backend", "openssl"])
    leaf = test_ca.issue_ecnpj()
    put(sim, "legacy.p12", leaf, testca.HARD_PASSWORD, flavour="legacy-rc2")
    put(sim, "nokey.pfx", leaf, "senha", include_key=False)
    sim.start()
    session = logged_in(sim)
    _unused, document, _unused = enable(session, "legacy.p12", "outra senha")
    assert error_code(document) == "CERTIFICADO_SENHA_INCORRETA"
    _unused, document, _unused = enable(session, "nokey.pfx", "senha")
    assert error_code(document) == "CERTIFICADO_SEM_CHAVE_PRIVADA"
    _unused, document, _unused = enable(session, "legacy.p12", testca.HARD_PASSWORD)
    assert document["data"]["habilitarCertificado"]["fingerprintSha256"] == leaf.cert.fingerprint(
        hashes.SHA256()).hex()


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
    with pytest.raises(pec_server.GraphQLError) as info:
        pec_server.open_certificate(path, "errada")
    assert info.value.code == "CERTIFICADO_SENHA_INCORRETA"


def test_refusals_with_pec_messages(sim_factory, test_ca):
    sim = sim_factory(admins=[ADMIN], start=False)
    now = _now()
    good = test_ca.issue_ecnpj()
    put(sim, "bom.pfx", good, "senha")
    expired = test_ca.issue_ecnpj(not_before=now - datetime.timedelta(days=400), not_after=now - datetime.timedelta(days=2))
    future = test_ca.issue_ecnpj(not_before=now + datetime.timedelta(days=5), not_after=now + datetime.timedelta(days=400))
    put(sim, "vencido.pfx", expired, "senha")
    put(sim, "futuro.pfx", future, "senha")
    put(sim, "semchave.pfx", good, "senha", include_key=False)
    put(sim, "trocada.pfx", good, "senha", key_override=test_ca.issue_ecnpj().key)
    with open(os.path.join(sim.chaves, "lixo.pfx"), "wb") as handle:
        handle.write(os.urandom(600))
    sim.start()
    session = logged_in(sim)
    cases = [
        ("naoexiste.pfx", "senha", "ID-1", "CERTIFICADO_NAO_ENCONTRADO",
         "Certificado \"naoexiste.pfx\" não encontrado na pasta chaves."),
        ("../bom.pfx", "senha", "ID-1", "CERTIFICADO_NAO_ENCONTRADO", None),
        ("bom.pfx", "errada", "ID-1", "CERTIFICADO_SENHA_INCORRETA", "Senha do certificado incorreta."),
        ("vencido.pfx", "senha", "ID-1", "CERTIFICADO_EXPIRADO", "Certificado expirado em "),
        ("futuro.pfx", "senha", "ID-1", "CERTIFICADO_AINDA_NAO_VALIDO", "Certificado válido somente a partir de "),
        ("semchave.pfx", "senha", "ID-1", "CERTIFICADO_SEM_CHAVE_PRIVADA", "não contém a chave privada"),
        ("trocada.pfx", "senha", "ID-1", "CERTIFICADO_CHAVE_NAO_CONFERE", "não corresponde ao certificado"),
        ("lixo.pfx", "senha", "ID-1", "CERTIFICADO_INVALIDO", "não é um certificado digital válido"),
        ("bom.pfx", "senha", "", "IDENTIFICADOR_OBRIGATORIO", "Informe o identificador do solicitante."),
        ("bom.pfx", "senha", "com espaço", "IDENTIFICADOR_INVALIDO", None),
    ]
    for name, password, requester, code, message in cases:
        status, document, _unused = enable(session, name, password, requester=requester)
        assert status == 200 and error_code(document) == code, (name, document)
        if message:
            assert message in document["errors"][0]["message"]
    _unused, document, _unused = session.post("ConfiguracaoCertificados", {"municipio": SP})
    assert document["data"]["configuracaoCertificados"]["rnds"]["habilitado"] is False
    # CADSUS does not need the identificador.
    _unused, document, _unused = enable(session, "bom.pfx", "senha", service="CADSUS", requester=None)
    assert document["data"]["habilitarCertificado"]["habilitado"] is True
    _unused, document, _unused = enable(session, "bom.pfx", "senha", service="SISAB")
    assert error_code(document) == "SERVICO_INVALIDO"


def test_state_persists_across_restart_and_audit_log(sim_factory, test_ca):
    sim = sim_factory(admins=[ADMIN], municipios=[SP], start=False)
    leaf = test_ca.issue_ecnpj()
    put(sim, "fms.pfx", leaf, testca.HARD_PASSWORD, flavour="legacy-rc2")
    sim.start()
    session = logged_in(sim)
    _unused, document, _unused = session.post("ConfiguracaoCertificados", {"municipio": SP, "comContraChave": True})
    contra_chave = document["data"]["configuracaoCertificados"]["contraChave"]
    assert len(contra_chave.replace("-", "")) == 24
    enable(session, "fms.pfx", "errada")
    _unused, document, _unused = enable(session, "fms.pfx", testca.HARD_PASSWORD)
    enabled = document["data"]["habilitarCertificado"]
    port = sim.port
    sim.restart()
    assert sim.port == port
    # Sessions do not survive a restart, the state does.
    old = RawSession(sim.url)
    old.cookies = dict(session.cookies)
    status, document, _unused = old.post("ConfiguracaoCertificados", {"municipio": SP})
    assert status == 401
    session = logged_in(sim)
    _unused, document, _unused = session.post("ConfiguracaoCertificados", {"municipio": SP, "comContraChave": True})
    config = document["data"]["configuracaoCertificados"]
    assert config["rnds"] == enabled
    assert config["contraChave"] == contra_chave
    _unused, document, _unused = session.post("DesabilitarCertificado", {"input": {"municipio": SP, "servico": "RNDS"}})
    assert document["data"]["desabilitarCertificado"]["habilitado"] is False
    lines = sim.audit_lines()
    assert [(line["action"], line["result"].split(":")[0]) for line in lines] == [
        ("Habilitar o PEC a acessar RNDS", "falha"),
        ("Habilitar o PEC a acessar RNDS", "sucesso"),
        ("Desabilitar o PEC a acessar RNDS", "sucesso"),
    ]
    for line in lines:
        assert line["user"] == "admin" and line["municipio"] == SP
        datetime.datetime.strptime(line["time"], "%Y-%m-%dT%H:%M:%SZ")
    for name in os.listdir(sim.state_dir):
        with open(os.path.join(sim.state_dir, name), "rb") as handle:
            content = handle.read()
        assert testca.HARD_PASSWORD.encode("utf-8") not in content
        assert b"senha-admin" not in content
        assert not name.startswith(".state-")  # no temp file left behind
    assert sim.state()["municipios"][SP]["servicos"]["RNDS"]["habilitado"] is False


def test_admin_municipio_is_added_to_the_installation(sim_factory):
    sim = sim_factory(admins=["a:b:" + RJ], municipios=[SP])
    _unused, document, _unused = RawSession(sim.url).post("Info")
    assert [m["ibge"] for m in document["data"]["info"]["municipios"]] == [SP, RJ]


def test_multimunicipal_admins(sim_factory, test_ca):
    sim = sim_factory(admins=["sp:senha-sp:" + SP, "rj:senha-rj:" + RJ, "geral:senha-geral"],
                      municipios=[SP, RJ + ":Rio"], start=False)
    put(sim, "comum.pfx", test_ca.issue_ecnpj(), "senha")
    sim.start()
    _unused, document, _unused = RawSession(sim.url).post("Info")
    assert document["data"]["info"]["instalacao"] == "MULTIMUNICIPAL"
    sp = logged_in(sim, "sp", "senha-sp")
    status, document = RawSession(sim.url).login("sp", "senha-rj")
    assert error_code(document) == "LOGIN_RECUSADO"
    _unused, document, _unused = sp.post("ConfiguracaoCertificados", {"municipio": RJ})
    assert error_code(document) == "SEM_PERMISSAO"
    _unused, document, _unused = sp.post("ConfiguracaoCertificados", {"municipio": "1234567"})
    assert error_code(document) == "MUNICIPIO_DESCONHECIDO"
    _unused, document, _unused = enable(sp, "comum.pfx", "senha", ibge=RJ)
    assert error_code(document) == "SEM_PERMISSAO"
    _unused, document, _unused = enable(sp, "comum.pfx", "senha", ibge=SP)
    assert document["data"]["habilitarCertificado"]["habilitado"] is True
    rj = logged_in(sim, "rj", "senha-rj")
    _unused, document, _unused = rj.post("ConfiguracaoCertificados", {"municipio": RJ})
    config = document["data"]["configuracaoCertificados"]
    assert config["municipio"] == {"ibge": RJ, "nome": "Rio"}
    assert config["rnds"]["habilitado"] is False  # state is per municipality
    status, document = RawSession(sim.url).login("geral", "senha-geral")
    assert [m["ibge"] for m in document["data"]["login"]["municipios"]] == [SP, RJ]


def test_runtime_faults(sim_factory):
    sim = sim_factory(admins=[ADMIN])
    session = RawSession(sim.url)
    # http500 for the next 2 requests, then normal.
    assert sim.set_fault(http500=2)["http500"] == 2
    assert session.post("Info")[0] == 500
    assert session.post("Info")[0] == 500
    assert session.post("Info")[0] == 200
    # garbage: HTTP 200 with a body that is not JSON.
    sim.set_fault(garbage=1)
    status, document, payload = session.post("Info")
    assert status == 200 and document is None and payload
    # huge: a valid but very large body.
    sim.set_fault(huge=1)
    status, _unused, payload = session.post("Info")
    assert status == 200 and len(payload) > 4 * 1024 * 1024
    # drop: connection closed without any answer.
    sim.set_fault(drop=1)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, OSError)):
        session.post("Info")
    assert session.post("Info")[0] == 200
    # slow: every answer waits.
    sim.set_fault(slow=0.6)
    started = time.monotonic()
    assert session.post("Info")[0] == 200
    assert time.monotonic() - started >= 0.6
    sim.set_fault(slow=0)
    # login_refused: even the right password is refused.
    sim.set_fault(login_refused=True)
    assert error_code(session.login("admin", "senha-admin")[1]) == "LOGIN_RECUSADO"
    sim.set_fault(login_refused=False)
    session = logged_in(sim)
    # expire_sessions now: the next authenticated request is 401.
    sim.set_fault(expire_sessions="now")
    assert session.post("CertificadosDisponiveis")[0] == 401
    # Fault scoped to one operation.
    session = logged_in(sim)
    sim.set_fault(http500="always@HabilitarCertificado")
    assert session.post("Info")[0] == 200
    assert session.post("HabilitarCertificado", {"input": {}})[0] == 500
    assert session.post("HabilitarCertificado", {"input": {}})[0] == 500
    snapshot = sim.control(method="GET")
    assert snapshot["http500"] == "always@HabilitarCertificado"
    assert sim.clear_faults()["http500"] == 0
    assert session.post("Info")[0] == 200


def test_fault_control_rejects_unknown(sim_factory):
    sim = sim_factory(admins=[ADMIN])
    import urllib.error
    with pytest.raises(urllib.error.HTTPError) as info:
        sim.set_fault(explode=1)
    assert info.value.code == 400


def test_faults_at_start(sim_factory):
    sim = sim_factory(admins=[ADMIN], faults=["http500=1", "expire_sessions=always"])
    session = RawSession(sim.url)
    assert session.post("Info")[0] == 500
    session = logged_in(sim)
    assert session.post("CertificadosDisponiveis")[0] == 401
    sim2 = sim_factory(admins=[ADMIN], faults=["login_refused"])
    assert error_code(RawSession(sim2.url).login("admin", "senha-admin")[1]) == "LOGIN_RECUSADO"


def test_session_idle_timeout(sim_factory):
    sim = sim_factory(admins=[ADMIN], extra_args=["--session-timeout", "0.3"])
    session = logged_in(sim)
    assert session.post("CertificadosDisponiveis")[0] == 200
    time.sleep(0.5)  # the idle timeout itself is what is tested here
    assert session.post("CertificadosDisponiveis")[0] == 401


def test_https_mode(sim_factory, test_ca, tmp_path):
    server_leaf = test_ca.issue_server("127.0.0.1")
    cert, key = testca.write_pem_files(str(tmp_path), server_leaf, "server")
    sim = sim_factory(admins=[ADMIN], https_cert=cert, https_key=key)
    assert sim.url.startswith("https://127.0.0.1:")
    status, document, _unused = RawSession(sim.url).post("Info")
    assert status == 200 and document["data"]["info"]["versao"]
    props = os.path.join(sim.install_dir, "webserver", "config", "application.properties")
    with open(props, encoding="utf-8") as handle:
        assert "server.ssl.enabled=true" in handle.read()
    # A plain-HTTP client talking to the HTTPS port gets no HTTP answer, and the server survives it.
    with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = sock.recv(100)
    assert not data.startswith(b"HTTP/")
    assert RawSession(sim.url).post("Info")[0] == 200


def test_cli_errors(tmp_path):
    import subprocess
    result = subprocess.run(
        [sys.executable, pec_server.__file__, "--listen", "127.0.0.1:0", "--install-dir", str(tmp_path),
         "--admin", "a:b", "--municipio", "355030"],
        capture_output=True, text=True, timeout=20, check=False,
    )
    assert result.returncode == 2
    assert "355030" in result.stderr
    result = subprocess.run(
        [sys.executable, pec_server.__file__, "--listen", "127.0.0.1:0", "--install-dir", str(tmp_path),
         "--admin", "a:b", "--fault", "explode=1"],
        capture_output=True, text=True, timeout=20, check=False,
    )
    assert result.returncode == 2 and "explode" in result.stderr


def test_admin_file_keeps_passwords_off_the_command_line(sim_factory, tmp_path):
    admin_file = tmp_path / "admins.txt"
    admin_file.write_text("# administradores\n\nsp:%s:%s\nrj:outra:%s\n" % (testca.HARD_PASSWORD, SP, RJ), encoding="utf-8")
    sim = sim_factory(admins=[], extra_args=["--admin-file", str(admin_file)])
    assert all(testca.HARD_PASSWORD not in arg for arg in sim.command())
    logged_in(sim, "sp", testca.HARD_PASSWORD)
    document = RawSession(sim.url).login("rj", "outra")[1]
    assert [m["ibge"] for m in document["data"]["login"]["municipios"]] == [RJ]
    bad = tmp_path / "bad.txt"
    bad.write_text("sem-dois-pontos\n", encoding="utf-8")
    import subprocess
    result = subprocess.run(
        [sys.executable, pec_server.__file__, "--listen", "127.0.0.1:0", "--install-dir", str(tmp_path / "x"),
         "--admin-file", str(bad)],
        capture_output=True, text=True, timeout=20, check=False,
    )
    assert result.returncode == 2 and "linha 1" in result.stderr


def test_admin_argument_parsing():
    assert pec_server.parse_admin("u:p") == ("u", "p", None)
    assert pec_server.parse_admin("u:p:a:ss") == ("u", "p:a:ss", None)
    assert pec_server.parse_admin("u:p:w:3550308") == ("u", "p:w", "3550308")
    assert pec_server.parse_municipio("3304557") == ("3304557", "Rio de Janeiro")
    assert pec_server.parse_municipio("1234567:Cidade") == ("1234567", "Cidade")


def test_state_file_is_valid_json_after_many_writes(sim_factory, test_ca):
    sim = sim_factory(admins=[ADMIN], start=False)
    put(sim, "fms.pfx", test_ca.issue_ecnpj(), "senha")
    sim.start()
    session = logged_in(sim)
    for _round in range(3):
        enable(session, "fms.pfx", "senha")
        session.post("DesabilitarCertificado", {"input": {"municipio": SP, "servico": "RNDS"}})
    with open(os.path.join(sim.state_dir, "state.json"), encoding="utf-8") as handle:
        data = json.load(handle)
    assert data["versao_estado"] == 1
    assert len(sim.audit_lines()) == 6
