# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""esus.rnds.pec_contract_from_har: HAR captures built at test time -> contract files.

The HAR files are written by the tests (nothing committed, no real secret): one mimics a capture
of the operations of the shipped ``modelo`` contract (round trip), one a PEC with other names,
others carry passwords and cookies that must never reach the contract nor the task result.
The action runs in process here; the shipped playbook runs for real in
tests/integration/plugins/modules/test_pec_contract_from_har.py (which reuses the HAR helpers below).
"""

from __future__ import annotations

import base64
import json
import os
import stat

import pytest
import yaml

from ansible_collections.esus.rnds.plugins.module_utils._pec_contract import validate_contract
from ansible_collections.esus.rnds.plugins.plugin_utils import _har, _har_secrets
from ansible_collections.esus.rnds.plugins.plugin_utils._contracts import load_contract

CPF = "12345678909"
ADMIN_PASSWORD = "Adm!n-Ção 'x' $HOME"
CERT_PASSWORD = "Cert#Senh@-2024 çé"
JSESSIONID = "7F3A9C0D4E5B6A7F8091A2B3C4D5E6F7"
XSRF = "5d6c7b8a-1f2e-4d3c-9b8a-7f6e5d4c3b2a"
CONTRA_CHAVE = "AB12-CD34-EF56-GH78-IJ90-KL12-MN34-OP56"
FINGERPRINT = "ab" * 32
FILE_SHA = "cd" * 32
PEC_VERSION = "5.5.22"

MODELO = load_contract("modelo")


# -- HAR building -----------------------------------------------------------------------------
def _headers(extra=None):
    headers = [
        {"name": "Content-Type", "value": "application/json"},
        {"name": "Api-Consumer-Id", "value": "ESUS_WEB_CLIENT"},
        {"name": "apollographql-client-name", "value": "PEC Web"},
        {"name": "apollographql-client-version", "value": PEC_VERSION},
        {"name": "Cookie", "value": "XSRF-TOKEN=%s; JSESSIONID=%s" % (XSRF, JSESSIONID)},
        {"name": "X-XSRF-TOKEN", "value": XSRF},
    ]
    return headers + list(extra or [])


def gql(document, variables=None, data=None, errors=None, name=None, array=True, b64=False):
    """One HAR entry: POST /api/graphql with ``document`` and the answer ``data``/``errors``."""
    body = {"operationName": name or _har.operation_name(document), "query": document, "variables": variables or {}}
    answer = {}
    if data is not None or errors is None:
        answer["data"] = data
    if errors:
        answer["errors"] = errors
    text = json.dumps([answer] if array else answer, ensure_ascii=False)
    content = {"size": len(text), "mimeType": "application/json", "text": text}
    if b64:
        content.update(text=base64.b64encode(text.encode("utf-8")).decode("ascii"), encoding="base64")
    return {
        "startedDateTime": "2025-03-10T14:00:00.000Z",
        "request": {
            "method": "POST", "url": "http://pec.local:8080/api/graphql", "httpVersion": "HTTP/1.1",
            "headers": _headers(), "queryString": [],
            "cookies": [{"name": "JSESSIONID", "value": JSESSIONID}, {"name": "XSRF-TOKEN", "value": XSRF}],
            "postData": {"mimeType": "application/json",
                         "text": json.dumps([body] if array else body, ensure_ascii=False)},
        },
        "response": {
            "status": 200, "headers": [{"name": "Set-Cookie", "value": "JSESSIONID=%s; Path=/; HttpOnly" % JSESSIONID}],
            "cookies": [{"name": "JSESSIONID", "value": JSESSIONID}], "content": content,
        },
    }


def session_entries():
    acessos = [
        {"__typename": "Lotacao", "id": "1", "tipo": "LOTACAO"},
        {"__typename": "AdministradorMunicipal", "id": "2", "tipo": "ADMINISTRADOR_MUNICIPAL",
         "municipio": {"__typename": "Municipio", "id": "9", "nome": "São Paulo", "ibge": "3550308"}},
    ]
    home = {
        "startedDateTime": "2025-03-10T13:59:00.000Z",
        "request": {"method": "GET", "url": "http://pec.local:8080/", "headers": [], "queryString": [],
                    "cookies": []},
        "response": {"status": 200, "headers": [{"name": "Set-Cookie", "value": "XSRF-TOKEN=%s; Path=/" % XSRF}],
                     "cookies": [{"name": "XSRF-TOKEN", "value": XSRF}],
                     "content": {"mimeType": "text/html", "text": "<html></html>"}},
    }
    return [
        home,
        gql("mutation Login($input: LoginInput!) { login(input: $input) { success } }",
            {"input": {"username": CPF, "password": ADMIN_PASSWORD, "force": False}},
            {"login": {"success": True}}),
        gql("query Sessao { sessao { profissional { cpf nome acessos { id tipo ... on AdministradorMunicipal "
            "{ municipio { id nome ibge } } } } } }", {},
            {"sessao": {"profissional": {"cpf": CPF, "nome": "Maria", "acessos": acessos}}}),
        gql("mutation SelecionarAcesso($input: SelecionarAcessoInput!) { selecionarAcesso(input: $input) { id } }",
            {"input": {"id": "2"}}, {"selecionarAcesso": {"id": "2"}}),
    ]


def logout_entry():
    return gql("mutation Logout { logout { id } }", {}, {"logout": {"id": "2"}})


def model_state(services=("RNDS", "CADSUS")):
    return {"certificado": "fms.pfx", "servicos": list(services), "identificadorSolicitante": "4507",
            "habilitadoEm": "2025-03-10T14:01:00Z", "validoAte": "2026-03-10T00:00:00Z",
            "fingerprintSha256": FINGERPRINT, "arquivoSha256": FILE_SHA}


def model_har():
    """A browser capture of the modelo contract's operations, with simulated answers."""
    ops = MODELO["operations"]
    files = [
        {"nome": "fms.pfx", "tamanho": 4321, "modificadoEm": "2025-03-01T10:00:00Z", "sha256": FILE_SHA,
         "fingerprintSha256": FINGERPRINT, "validoAte": "2026-03-10T00:00:00Z"},
        {"nome": "antigo.p12", "tamanho": 4000, "modificadoEm": "2024-01-01T10:00:00Z", "sha256": "ef" * 32,
         "fingerprintSha256": "01" * 32, "validoAte": "2024-12-31T00:00:00Z"},
    ]
    enable_vars = {"input": {"certificado": "fms.pfx", "senha": CERT_PASSWORD, "identificadorSolicitante": "4507",
                             "servicos": ["RNDS", "CADSUS"]}}
    wrong_vars = {"input": dict(enable_vars["input"], senha="errada-123")}
    entries = session_entries() + [
        gql(ops["version"]["document"], {}, {"info": {"versao": PEC_VERSION}}, array=False),
        gql(ops["list_files"]["document"], {}, {"certificadosDisponiveis": files}, b64=True),
        gql(ops["contra_chave"]["document"], {}, {"contraChave": CONTRA_CHAVE}),
        gql(ops["read_state"]["document"], {}, {"certificadoMunicipio": None}),
        gql("query Notificacoes { notificacoes { id texto } }", {}, {"notificacoes": []}),
        gql(ops["enable"]["document"], wrong_vars, None,
            errors=[{"message": "Senha do certificado inválida",
                     "extensions": {"classification": "CertificadoSenhaInvalidaException"}}]),
        gql(ops["enable"]["document"], enable_vars, {"habilitarCertificado": model_state()}),
        gql(ops["read_state"]["document"], {}, {"certificadoMunicipio": model_state()}),
        logout_entry(),
    ]
    return {"log": {"version": "1.2", "creator": {"name": "test"}, "entries": entries}}


def other_har():
    """A PEC whose Certificados tab uses other names (salvarCertificadoRnds, arquivo, senhaCertificado...)."""
    state = {"__typename": "ConfiguracaoRnds", "arquivo": "fms-3550308.pfx", "servicosHabilitados": ["RNDS"],
             "identificador": 4507, "dataHabilitacao": "2025-03-10T14:01:00", "dataValidade": "2026-03-10",
             "contraChave": CONTRA_CHAVE}
    entries = session_entries() + [
        gql("query ConfiguracaoRnds {\n  configuracaoRnds {\n    arquivo\n    servicosHabilitados\n    identificador\n"
            "    dataHabilitacao\n    dataValidade\n    contraChave\n    __typename\n  }\n  arquivosChaves {\n"
            "    nomeArquivo\n    __typename\n  }\n}",
            {}, {"configuracaoRnds": dict(state, arquivo=None, servicosHabilitados=[], dataHabilitacao=None),
                 "arquivosChaves": [{"__typename": "ArquivoChave", "nomeArquivo": "fms-3550308.pfx"}]}),
        gql("mutation SalvarCertificadoRnds($input: CertificadoRndsInput!) {\n  salvarCertificadoRnds(input: $input) "
            "{\n    arquivo\n    servicosHabilitados\n    identificador\n    dataHabilitacao\n    dataValidade\n"
            "    __typename\n  }\n}",
            {"input": {"arquivo": "fms-3550308.pfx", "senhaCertificado": CERT_PASSWORD, "identificador": "4507",
                       "servicosHabilitados": ["RNDS"], "origem": "WEB", "cpfResponsavel": CPF}},
            {"salvarCertificadoRnds": {k: v for k, v in state.items() if k != "contraChave"}}),
        gql("mutation {\n  registrarEvento\n}", {}, {"registrarEvento": True}),
        logout_entry(),
    ]
    return {"log": {"version": "1.2", "creator": {"name": "test"}, "entries": entries}}


def write_har(path, har):
    path.write_text(json.dumps(har, ensure_ascii=False), encoding="utf-8")
    return str(path)


# -- running the action plugin in-process -----------------------------------------------------
class _Task:
    def __init__(self, args, check_mode=False, diff=False):
        self.args = args
        self.check_mode = check_mode
        self.diff = diff
        self.async_val = 0
        self.action = "esus.rnds.pec_contract_from_har"
        self.delegate_to = None
        self.environment = None
        self.no_log = False


class _Shell:
    tmpdir = "/nonexistent"  # never used: the plugin runs nothing on a host


class _Connection:
    _shell = _Shell()


def run_action(args, check_mode=False, diff=False):
    """Run the action plugin as Ansible would, without a play; AnsibleActionFail -> failed result."""
    from ansible.errors import AnsibleActionFail
    from ansible.playbook.play_context import PlayContext
    from ansible_collections.esus.rnds.plugins.action.pec_contract_from_har import ActionModule

    action = ActionModule(_Task(args, check_mode, diff), connection=_Connection(), play_context=PlayContext(), loader=None,
                          templar=None, shared_loader_obj=None)
    try:
        return action.run(task_vars={})
    except AnsibleActionFail as exc:
        return {"failed": True, "msg": exc.message}


def assert_clean(text):
    for secret in (ADMIN_PASSWORD, CERT_PASSWORD, "errada-123", JSESSIONID, XSRF, CPF, "123.456.789-09",
                   CONTRA_CHAVE):
        assert secret not in text


def ops_by_key(result):
    return dict((line["mapped_to"], line) for line in result["operations"])


# -- tests ------------------------------------------------------------------------------------
def test_model_capture_round_trips_to_modelo(tmp_path):
    src = write_har(tmp_path / "captura.har", model_har())
    dest = tmp_path / "contracts" / "meu-pec.yml"
    result = run_action({"src": src, "dest": str(dest), "name": "meu-pec-5.5"})
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True and result["written"] is True
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    text = dest.read_text(encoding="utf-8")
    contract = validate_contract(yaml.safe_load(text), source="teste")
    assert contract["name"] == "meu-pec-5.5"
    assert contract["confirmed"] is False and contract["contract_format"] == 1
    assert contract["client_version"] == PEC_VERSION
    assert "captura.har" in text and PEC_VERSION in text and "# Gerado em: " in text
    for key, model in MODELO["operations"].items():
        got = contract["operations"][key]
        assert got["document"] == model["document"], key
        assert got["result"] == model["result"], key
        assert got.get("fields") == model.get("fields"), key
        assert got["variables"] == model["variables"], key
    assert contract["services"] == MODELO["services"]
    access = contract["access"]
    assert (access["tipo"], access["ibge"], access["nome"]) == ("ADMINISTRADOR_MUNICIPAL", "municipio.ibge",
                                                                "municipio.nome")
    assert access["fields"] == "... on AdministradorMunicipal { municipio { ibge nome } }"
    assert result["access"]["source"] == "captura"
    assert set((r["classification"], r["code"]) for r in contract["errors"]) == set(
        (r["classification"], r["code"]) for r in MODELO["errors"])
    mapped = ops_by_key(result)
    assert mapped["enable"]["name"] == "HabilitarCertificado" and mapped["enable"]["source"] == "captura"
    assert mapped["list_files"]["source"] == "captura" and mapped["version"]["source"] == "captura"
    assert mapped["disable"]["source"] == "base"
    assert [item["operation"] for item in result["from_base"]] == ["disable"]
    assert [item["name"] for item in result["unmapped"]] == ["Notificacoes"]
    assert result["pec_version"] == PEC_VERSION
    assert_clean(text)
    assert_clean(json.dumps(result, ensure_ascii=False))


def test_other_names_map_by_values(tmp_path):
    src = write_har(tmp_path / "outro.har", other_har())
    dest = tmp_path / "outro.yml"
    result = run_action({"src": src, "dest": str(dest), "certificate": "fms-3550308.pfx", "requester_id": "4507"})
    assert not result.get("failed"), result.get("msg")
    contract = yaml.safe_load(dest.read_text(encoding="utf-8"))
    assert contract["name"] == "outro"
    ops = contract["operations"]
    enable = ops["enable"]
    assert enable["document"].startswith("mutation SalvarCertificadoRnds($input: CertificadoRndsInput!) { "
                                         "salvarCertificadoRnds(input: $input) { arquivo")
    assert "\n" not in enable["document"]
    assert enable["variables"] == {"input": {"arquivo": "$certificate", "senhaCertificado": "$password",
                                             "identificador": "$requester_id", "servicosHabilitados": "$services",
                                             "origem": "WEB"}}
    assert enable["result"] == "salvarCertificadoRnds"
    assert enable["fields"] == {"certificate": "arquivo", "services": "servicosHabilitados",
                                "requester_id": "identificador", "enabled_at": "dataHabilitacao",
                                "not_after": "dataValidade"}
    # One query with two root fields serves three operations.
    assert ops["list_files"]["result"] == "arquivosChaves"
    assert ops["list_files"]["fields"] == {"name": "nomeArquivo"}
    assert ops["contra_chave"]["result"] == "configuracaoRnds.contraChave"
    assert "fields" not in ops["contra_chave"]
    # The state query answered before Habilitar (nulls): paths taken from the Habilitar answer.
    assert ops["read_state"]["document"].startswith("query ConfiguracaoRnds {")
    assert ops["read_state"]["result"] == "configuracaoRnds"
    assert ops["read_state"]["fields"] == enable["fields"]
    assert "de enable" in ops_by_key(result)["read_state"]["why"]
    from_base = dict((item["operation"], item["why"]) for item in result["from_base"])
    assert set(from_base) == {"disable", "version"}
    assert result["literals"] == {"enable": {"input.origem": "WEB"}}
    assert [d["path"] for d in result["dropped"]] == ["input.cpfResponsavel"]
    assert contract["services"] == {"rnds": "RNDS", "cadsus": "CADSUS"}
    assert result["services"] == {"seen": ["RNDS"], "from_base": ["cadsus"]}
    unmapped = [item["name"] for item in result["unmapped"]]
    assert unmapped == [None]  # the anonymous mutation
    assert any("enable" in line["mapped_to"] and "senhaCertificado" in line["why"] for line in result["operations"])
    text = dest.read_text(encoding="utf-8")
    assert_clean(text)
    assert_clean(json.dumps(result, ensure_ascii=False))


def test_minimums_missing_take_the_operation_from_base(tmp_path):
    har = other_har()
    har["log"]["entries"] = [e for e in har["log"]["entries"] if "SalvarCertificadoRnds" not in
                             e["request"].get("postData", {}).get("text", "")]
    result = run_action({"src": write_har(tmp_path / "sem.har", har), "dest": str(tmp_path / "sem.yml")})
    assert not result.get("failed"), result.get("msg")
    ops = result["contract"]["operations"]
    assert ops["read_state"] == MODELO["operations"]["read_state"]
    assert ops["enable"] == MODELO["operations"]["enable"]
    from_base = dict((item["operation"], item["why"]) for item in result["from_base"])
    assert "certificate" in from_base["read_state"] and from_base["enable"] == "não aparece na captura"
    line = ops_by_key(result)["read_state"]
    assert line["source"] == "base" and line["name"] == "ConfiguracaoRnds" and "faltam certificate" in line["why"]
    assert "file_sha256" not in line["fields"]  # "arquivo" (null) is not taken as a hash
    assert any("Habilitar" in w for w in result["warnings"])
    assert ops_by_key(result)["list_files"]["source"] == "captura"


def test_state_read_after_enable_is_mapped(tmp_path):
    har = other_har()
    state = {"arquivo": "fms-3550308.pfx", "servicosHabilitados": ["RNDS"], "identificador": 4507,
             "dataHabilitacao": "2025-03-10T14:01:00", "dataValidade": "2026-03-10", "contraChave": CONTRA_CHAVE}
    har["log"]["entries"].insert(-1, gql(
        "query ConfiguracaoRnds { configuracaoRnds { arquivo servicosHabilitados identificador dataHabilitacao "
        "dataValidade contraChave } arquivosChaves { nomeArquivo } }", {},
        {"configuracaoRnds": state, "arquivosChaves": [{"nomeArquivo": "fms-3550308.pfx"}]}))
    result = run_action({"src": write_har(tmp_path / "c.har", har), "dest": str(tmp_path / "c.yml")})
    assert not result.get("failed"), result.get("msg")
    read_state = result["contract"]["operations"]["read_state"]
    assert read_state["result"] == "configuracaoRnds"
    assert read_state["fields"] == {"certificate": "arquivo", "services": "servicosHabilitados",
                                    "requester_id": "identificador", "enabled_at": "dataHabilitacao",
                                    "not_after": "dataValidade"}
    assert ops_by_key(result)["read_state"]["source"] == "captura"


def test_login_password_and_cookies_never_reach_the_output(tmp_path):
    har = model_har()
    # Extra places a browser may put secrets: a form post, a query string, an Authorization header.
    har["log"]["entries"].append({
        "request": {"method": "POST", "url": "http://pec.local:8080/login?senha=%s" % "Qs-Secret-99",
                    "headers": [{"name": "Authorization", "value": "Bearer tok-ABCDEFGHIJKLMNOP"}],
                    "queryString": [{"name": "senha", "value": "Qs-Secret-99"}],
                    "postData": {"mimeType": "application/x-www-form-urlencoded",
                                 "params": [{"name": "password", "value": "Form-Secret-77"}],
                                 "text": "username=%s&password=Form-Secret-77" % CPF}},
        "response": {"status": 302, "headers": [], "content": {"text": ""}},
    })
    src = write_har(tmp_path / "login.har", har)
    dest = tmp_path / "login.yml"
    result = run_action({"src": src, "dest": str(dest)}, diff=True)
    assert not result.get("failed"), result.get("msg")
    text = dest.read_text(encoding="utf-8")
    dumped = json.dumps(result, ensure_ascii=False)
    for secret in ("Qs-Secret-99", "tok-ABCDEFGHIJKLMNOP", "Form-Secret-77"):
        assert secret not in text and secret not in dumped
    assert_clean(text)
    assert_clean(dumped)
    assert "Login" not in json.dumps(result["contract"]) and "login" not in result["contract"]["operations"]
    assert result["diff"]["after"] == text
    # The secrets were seen (so the scan had something to look for).
    secrets = _har_secrets.collect_secrets(har)
    for secret in (ADMIN_PASSWORD, CERT_PASSWORD, JSESSIONID, XSRF, CPF, "Qs-Secret-99", "Form-Secret-77",
                   "tok-ABCDEFGHIJKLMNOP", CONTRA_CHAVE):
        assert secret in secrets.values, secret


def test_password_repeated_in_a_literal_fails_without_writing(tmp_path):
    har = model_har()
    for entry in har["log"]["entries"]:
        body = json.loads(entry["request"].get("postData", {}).get("text") or "null")
        if isinstance(body, list) and body[0]["operationName"] == "HabilitarCertificado":
            body[0]["variables"]["input"]["confirmacao"] = body[0]["variables"]["input"]["senha"]
            entry["request"]["postData"]["text"] = json.dumps(body, ensure_ascii=False)
    dest = tmp_path / "vaza.yml"
    result = run_action({"src": write_har(tmp_path / "vaza.har", har), "dest": str(dest)})
    assert result["failed"] is True
    assert "NÃO foi gravado" in result["msg"] and "operations.enable.variables.input.confirmacao" in result["msg"]
    assert "senha" in result["msg"]
    assert not dest.exists()
    assert_clean(result["msg"])


def test_password_inline_in_the_document_fails_without_writing(tmp_path):
    har = other_har()
    for entry in har["log"]["entries"]:
        body = json.loads(entry["request"].get("postData", {}).get("text") or "null")
        if isinstance(body, list) and body[0]["operationName"] == "SalvarCertificadoRnds":
            body[0]["query"] = body[0]["query"].replace(
                "salvarCertificadoRnds(input: $input)",
                'salvarCertificadoRnds(input: $input, senhaAdmin: "Inline-Secret-42")')
            entry["request"]["postData"]["text"] = json.dumps(body, ensure_ascii=False)
    dest = tmp_path / "inline.yml"
    result = run_action({"src": write_har(tmp_path / "inline.har", har), "dest": str(dest)})
    assert result["failed"] is True
    assert "operations.enable.document" in result["msg"]
    assert "Inline-Secret-42" not in result["msg"]
    assert not dest.exists()


def test_check_mode_writes_nothing_and_diff_shows_the_file(tmp_path):
    src = write_har(tmp_path / "captura.har", model_har())
    dest = tmp_path / "sub" / "check.yml"
    result = run_action({"src": src, "dest": str(dest)}, check_mode=True, diff=True)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True and result["written"] is False
    assert not dest.exists() and not dest.parent.exists()
    assert result["diff"]["before"] == "" and "contract_format: 1" in result["diff"]["after"]
    assert result["contract"]["operations"]["enable"]["variables"]["input"]["senha"] == "$password"
    assert_clean(json.dumps(result, ensure_ascii=False))


def test_idempotent_and_force(tmp_path):
    src = write_har(tmp_path / "captura.har", model_har())
    dest = tmp_path / "idem.yml"
    first = run_action({"src": src, "dest": str(dest)})
    assert first["changed"] is True
    # Make the generation date differ: still the same contract.
    text = dest.read_text(encoding="utf-8")
    dest.write_text(text.replace(text.split("# Gerado em: ")[1].split("\n")[0], "2000-01-01T00:00:00Z"),
                    encoding="utf-8")
    second = run_action({"src": src, "dest": str(dest)})
    assert second["changed"] is False and second["written"] is False
    assert "2000-01-01T00:00:00Z" in dest.read_text(encoding="utf-8")
    # A contract the team edited is not replaced without force.
    dest.write_text(text.replace("confirmed: false", "confirmed: true"), encoding="utf-8")
    third = run_action({"src": src, "dest": str(dest)})
    assert third["failed"] is True and "force=true" in third["msg"]
    assert "confirmed: true" in dest.read_text(encoding="utf-8")
    fourth = run_action({"src": src, "dest": str(dest), "force": True})
    assert fourth["changed"] is True and "confirmed: false" in dest.read_text(encoding="utf-8")


def test_capture_without_certificados_operations_fails_clearly(tmp_path):
    har = {"log": {"entries": session_entries() + [
        gql("query Notificacoes { notificacoes { id texto } }", {}, {"notificacoes": []}), logout_entry()]}}
    dest = tmp_path / "nada.yml"
    result = run_action({"src": write_har(tmp_path / "nada.har", har), "dest": str(dest)})
    assert result["failed"] is True
    assert "nenhuma operação da aba Certificados" in result["msg"]
    assert "Habilitar" in result["msg"] and "Notificacoes" in result["msg"]
    assert not dest.exists()
    assert_clean(result["msg"])


def test_not_a_har_and_no_graphql(tmp_path):
    bad = tmp_path / "bad.har"
    bad.write_text("<html>", encoding="utf-8")
    result = run_action({"src": str(bad), "dest": str(tmp_path / "x.yml")})
    assert result["failed"] is True and "HAR" in result["msg"]
    empty = write_har(tmp_path / "vazio.har", {"log": {"entries": []}})
    result = run_action({"src": empty, "dest": str(tmp_path / "x.yml")})
    assert result["failed"] is True and "api/graphql" in result["msg"]


def test_errors_are_classified_or_listed(tmp_path):
    har = model_har()
    enable_doc = MODELO["operations"]["enable"]["document"]
    variables = {"input": {"certificado": "fms.pfx", "senha": CERT_PASSWORD, "identificadorSolicitante": "4507",
                           "servicos": ["RNDS"]}}
    captured = (("Certificado não encontrado na pasta chaves", "BusinessException"),
                ("O certificado está expirado", "BusinessException"),
                ("Identificador do solicitante inválido", "IdentificadorException"),
                ("Falha inesperada %s" % CERT_PASSWORD, "BusinessException"))
    for message, classification in captured:
        har["log"]["entries"].insert(-3, gql(enable_doc, variables, None, errors=[
            {"message": message, "extensions": {"classification": classification}}]))
    result = run_action({"src": write_har(tmp_path / "erros.har", har), "dest": str(tmp_path / "erros.yml")})
    assert not result.get("failed"), result.get("msg")
    rules = result["contract"]["errors"]
    assert {"classification": "IdentificadorException", "code": "requester_id"} in rules
    generic = [r for r in rules if r["classification"] == "BusinessException"]
    assert [r["code"] for r in generic] == ["certificate_missing", "expired"]
    assert all(r.get("message") for r in generic)
    assert [e["classification"] for e in result["unclassified_errors"]] == ["BusinessException"]
    assert CERT_PASSWORD not in result["unclassified_errors"][0]["message"]
    assert "********" in result["unclassified_errors"][0]["message"]


def test_root_fields_and_collapse():
    doc = 'query X($a: Int) { a: certificado(id: $a) @include(if: true) { nome } contraChave ...F } fragment F on Q { b }'
    assert _har.root_fields(doc) == ["a", "contraChave"]
    assert _har.collapse('query  X {\n  a(s: "x   y")\n  b\n}') == 'query X { a(s: "x   y") b }'


@pytest.mark.parametrize("value", [ADMIN_PASSWORD, JSESSIONID, XSRF, CPF])
def test_scrub_masks_every_secret(value):
    secrets = _har_secrets.collect_secrets(model_har())
    assert value not in json.dumps(_har_secrets.scrub({"m": "x %s y" % value, "l": [value]}, secrets), ensure_ascii=False)


def test_capture_without_answers_warns(tmp_path):
    har = other_har()
    for entry in har["log"]["entries"]:
        if "SalvarCertificadoRnds" in entry["request"].get("postData", {}).get("text", ""):
            entry["response"]["content"] = {"size": 0, "mimeType": "application/json"}
    result = run_action({"src": write_har(tmp_path / "mudo.har", har), "dest": str(tmp_path / "mudo.yml")})
    assert not result.get("failed"), result.get("msg")
    assert any("SalvarCertificadoRnds" in w and "com conteúdo" in w for w in result["warnings"])
    line = ops_by_key(result)["enable"]
    assert line["name"] == "SalvarCertificadoRnds" and line["source"] == "base"
