# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The replaceable PEC API contract (module_utils/_pec_contract.py): checks, placeholders, paths, errors."""

from __future__ import annotations

import copy
import os

import pytest
import yaml

from ansible_collections.esus.rnds.plugins.module_utils._pec_contract import (
    ERROR_CODES,
    OPERATIONS,
    PLACEHOLDERS,
    ContractError,
    classify,
    fill,
    get_path,
    map_fields,
    operation_name,
    validate_contract,
)

MODELO_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "pec_contracts",
                           "modelo.yml")

with open(MODELO_PATH, encoding="utf-8") as _handle:
    _MODELO = yaml.safe_load(_handle)


@pytest.fixture
def contract():
    return copy.deepcopy(_MODELO)


def refused(data, source="teste.yml"):
    with pytest.raises(ContractError) as info:
        validate_contract(data, source=source)
    return str(info.value)


# -- validate_contract -------------------------------------------------------------------------

def test_modelo_is_valid(contract):  # pylint: disable=redefined-outer-name
    checked = validate_contract(contract, source=MODELO_PATH)
    assert checked is contract  # returned as is, not copied or changed
    assert contract == _MODELO
    assert contract["name"] == "modelo" and contract["confirmed"] is False
    assert set(contract["operations"]) == set(OPERATIONS)
    assert {rule["code"] for rule in contract["errors"]} <= set(ERROR_CODES)
    assert operation_name(contract["operations"]["enable"]["document"]) == "HabilitarCertificado"


def test_a_minimal_contract_is_valid():
    minimal = {
        "contract_format": 1,
        "services": {"rnds": "RNDS"},
        "access": {"tipo": "ADMINISTRADOR_MUNICIPAL", "ibge": "municipio.ibge"},
        "operations": {},
    }
    assert validate_contract(minimal) is minimal


@pytest.mark.parametrize("data", [None, [], "texto", 1])
def test_not_a_dict(data):
    message = refused(data, source="/tmp/c.yml")
    assert "/tmp/c.yml" in message and "não é um dicionário" in message


@pytest.mark.parametrize("value", [2, "1", None, 0])
def test_wrong_contract_format(contract, value):  # pylint: disable=redefined-outer-name
    contract["contract_format"] = value
    message = refused(contract)
    assert message.startswith("contrato modelo: contract_format")
    assert "contract_format %r não é suportado" % (value,) in message and "esperado 1" in message


def test_contract_without_name_is_named_by_its_source(contract):  # pylint: disable=redefined-outer-name
    del contract["name"]
    contract["contract_format"] = 9
    assert refused(contract, source="/etc/pec/da-equipe.yml").startswith("contrato /etc/pec/da-equipe.yml:")


@pytest.mark.parametrize("services", [None, [], {}, {"cadsus": "CADSUS"}, {"rnds": ""}, {"rnds": "RNDS", "cadsus": 1}])
def test_bad_services(contract, services):  # pylint: disable=redefined-outer-name
    contract["services"] = services
    assert "contrato modelo: services deve mapear rnds" in refused(contract)


@pytest.mark.parametrize("change, key", [
    (lambda c: c.__setitem__("access", None), "access"),
    (lambda c: c["access"].pop("tipo"), "access"),
    (lambda c: c["access"].__setitem__("fields", ["x"]), "access.fields"),
    (lambda c: c["access"].pop("ibge"), "access.ibge"),
    (lambda c: c["access"].__setitem__("ibge", "municipio..ibge"), "access.ibge"),
    (lambda c: c["access"].__setitem__("nome", "municipio nome"), "access.nome"),
])
def test_bad_access(contract, change, key):  # pylint: disable=redefined-outer-name
    change(contract)
    assert "contrato modelo: %s " % key in refused(contract)


def test_operations_not_a_dict(contract):  # pylint: disable=redefined-outer-name
    contract["operations"] = ["list_files"]
    assert "operations deve ser um dicionário" in refused(contract)


def test_unknown_operation(contract):  # pylint: disable=redefined-outer-name
    contract["operations"]["habilitar"] = contract["operations"]["enable"]
    message = refused(contract)
    assert "operações desconhecidas habilitar" in message and "list_files, read_state, enable" in message


def test_operation_not_a_dict_and_unknown_keys(contract):  # pylint: disable=redefined-outer-name
    contract["operations"]["enable"] = "mutation X { x }"
    assert "operations.enable deve ser um dicionário" in refused(contract)
    contract["operations"]["enable"] = dict(_MODELO["operations"]["enable"], headers={"a": "b"})
    assert "operations.enable tem chaves desconhecidas: headers" in refused(contract)


@pytest.mark.parametrize("document", ["{ contraChave }", "query { contraChave }", "subscription C { c }", None, ""])
def test_document_without_operation_name(contract, document):  # pylint: disable=redefined-outer-name
    contract["operations"]["contra_chave"]["document"] = document
    message = refused(contract)
    assert "operations.contra_chave.document deve ser um documento GraphQL com nome" in message


@pytest.mark.parametrize("value, where", [
    ("$senha", "operations.enable.variables.input.senha"),
    ("$Password", "operations.enable.variables.input.senha"),
    ("$", "operations.enable.variables.input.senha"),
    (["$certificate", "$pass"], "operations.enable.variables.input.senha[1]"),
    ({"valor": "$requester"}, "operations.enable.variables.input.senha.valor"),
])
def test_unknown_placeholder(contract, value, where):  # pylint: disable=redefined-outer-name
    contract["operations"]["enable"]["variables"]["input"]["senha"] = value
    message = refused(contract)
    assert message.startswith("contrato modelo: %s usa " % where)
    assert "$certificate, $password, $requester_id, $services" in message


def test_variables_not_a_dict(contract):  # pylint: disable=redefined-outer-name
    contract["operations"]["enable"]["variables"] = ["$password"]
    assert "operations.enable.variables deve ser um dicionário" in refused(contract)


def test_text_that_merely_contains_a_dollar_is_accepted(contract):  # pylint: disable=redefined-outer-name
    contract["operations"]["enable"]["variables"]["input"]["nota"] = "custa R$ 10"
    validate_contract(contract)


@pytest.mark.parametrize("path", ["", "a..b", ".a", "a.", "a b", "a.1b", "a-b", None, 3, ["a"]])
def test_bad_result_path(contract, path):  # pylint: disable=redefined-outer-name
    contract["operations"]["read_state"]["result"] = path
    message = refused(contract)
    assert "contrato modelo: operations.read_state.result deve ser um caminho com pontos" in message


def test_bad_field_path(contract):  # pylint: disable=redefined-outer-name
    contract["operations"]["list_files"]["fields"]["size"] = "tamanho em bytes"
    assert "operations.list_files.fields.size deve ser um caminho com pontos" in refused(contract)


def test_unknown_field_key(contract):  # pylint: disable=redefined-outer-name
    contract["operations"]["read_state"]["fields"]["cor"] = "cor"
    message = refused(contract)
    assert "operations.read_state.fields.cor não é uma chave da coleção" in message
    assert "certificate, services, requester_id" in message


def test_field_key_of_another_operation(contract):  # pylint: disable=redefined-outer-name
    contract["operations"]["list_files"]["fields"]["services"] = "servicos"  # a state key, not a file key
    assert "operations.list_files.fields.services não é uma chave da coleção" in refused(contract)


@pytest.mark.parametrize("missing", ["certificate", "services"])
def test_read_state_needs_certificate_and_services(contract, missing):  # pylint: disable=redefined-outer-name
    del contract["operations"]["read_state"]["fields"][missing]
    assert "operations.read_state.fields precisa de %s" % missing in refused(contract)


def test_list_files_needs_name(contract):  # pylint: disable=redefined-outer-name
    del contract["operations"]["list_files"]["fields"]["name"]
    assert "operations.list_files.fields precisa de name" in refused(contract)


@pytest.mark.parametrize("fields", [None, {}, ["certificate"]])
def test_operations_with_fields_need_a_mapping(contract, fields):  # pylint: disable=redefined-outer-name
    contract["operations"]["enable"]["fields"] = fields
    assert "operations.enable.fields deve mapear chaves da coleção" in refused(contract)


def test_value_operations_take_no_fields(contract):  # pylint: disable=redefined-outer-name
    contract["operations"]["contra_chave"]["fields"] = {"name": "x"}
    assert "operations.contra_chave não usa fields" in refused(contract)


def test_errors_not_a_list(contract):  # pylint: disable=redefined-outer-name
    contract["errors"] = {"classification": "X", "code": "expired"}
    assert "contrato modelo: errors deve ser uma lista" in refused(contract)


@pytest.mark.parametrize("rule", [{"code": "expired"}, "expired", {"classification": 3, "code": "expired"}])
def test_error_rule_without_classification(contract, rule):  # pylint: disable=redefined-outer-name
    contract["errors"].append(rule)
    assert "errors[%d] precisa de classification" % (len(contract["errors"]) - 1) in refused(contract)


@pytest.mark.parametrize("code", ["vencido", None, "timeout"])
def test_unknown_error_code(contract, code):  # pylint: disable=redefined-outer-name
    contract["errors"].insert(0, {"classification": "X", "code": code})
    message = refused(contract)
    assert message.startswith("contrato modelo: errors[0]: code %r desconhecido" % (code,))
    assert "certificate_missing" in message


@pytest.mark.parametrize("pattern", ["([", "*senha", 42])
def test_bad_error_regex(contract, pattern):  # pylint: disable=redefined-outer-name
    contract["errors"].insert(0, {"classification": "X", "code": "expired", "message": pattern})
    assert "contrato modelo: errors[0]: message não é uma expressão regular válida" in refused(contract)


# -- operation_name, fill, get_path, map_fields ------------------------------------------------

@pytest.mark.parametrize("document, name", [
    ("query Foo { foo }", "Foo"),
    ("  \n mutation Habilitar($input: X!) { h(input: $input) { id } }", "Habilitar"),
    ("query _a1 { a }", "_a1"),
    ("{ foo }", None),
    ("query { foo }", None),
    ("", None),
    (None, None),
])
def test_operation_name(document, name):
    assert operation_name(document) == name


def test_fill_substitutes_nested_placeholders():
    template = {
        "input": {
            "certificado": "$certificate",
            "senha": "$password",
            "servicos": "$services",
            "lista": ["$requester_id", {"fundo": "$certificate"}, "fixo"],
            "texto": "R$ 10 e $password junto",
            "maiuscula": "$Password",
            "numero": 7,
            "nada": None,
            "sim": True,
        },
    }
    original = copy.deepcopy(template)
    values = {"certificate": "fms.pfx", "password": "s3nh@ ção", "services": ["RNDS", "CADSUS"],
              "requester_id": "4507"}
    filled = fill(template, values)
    assert filled == {
        "input": {
            "certificado": "fms.pfx",
            "senha": "s3nh@ ção",
            "servicos": ["RNDS", "CADSUS"],
            "lista": ["4507", {"fundo": "fms.pfx"}, "fixo"],
            "texto": "R$ 10 e $password junto",
            "maiuscula": "$Password",
            "numero": 7,
            "nada": None,
            "sim": True,
        },
    }
    assert template == original  # the contract itself is never changed
    assert fill({"a": "$requester_id"}, {}) == {"a": None}  # a value not given becomes null
    assert fill("$certificate", {"certificate": "x.pfx"}) == "x.pfx"
    assert fill([], values) == [] and fill({}, values) == {}
    assert sorted(PLACEHOLDERS) == ["certificate", "password", "requester_id", "services"]


def test_get_path():
    data = {"a": {"b": {"c": 1, "zero": 0, "falso": False, "lista": [1, 2], "nulo": None}}, "s": "texto"}
    assert get_path(data, "a.b.c") == 1
    assert get_path(data, "a.b.zero") == 0 and get_path(data, "a.b.falso") is False
    assert get_path(data, "a.b.lista") == [1, 2]
    assert get_path(data, "a") == data["a"]
    assert get_path(data, "a.x.c") is None  # a missing step
    assert get_path(data, "a.b.c.d") is None  # through a number
    assert get_path(data, "a.b.lista.0") is None  # through a list
    assert get_path(data, "a.b.nulo.x") is None  # through null
    assert get_path(data, "s.x") is None  # through a string
    assert get_path(None, "a") is None and get_path([], "a") is None


def test_map_fields():
    fields = {"name": "nome", "size": "meta.tamanho", "sha256": "meta.hash.sha256"}
    assert map_fields({"nome": "fms.pfx", "meta": {"tamanho": 10}}, fields) == {
        "name": "fms.pfx", "size": 10, "sha256": None}
    assert map_fields(None, fields) == {"name": None, "size": None, "sha256": None}
    assert map_fields("texto", fields) == {"name": None, "size": None, "sha256": None}
    assert map_fields({"nome": "x"}, {}) == {}


# -- classify --------------------------------------------------------------------------------------

RULES = {"errors": [
    {"classification": "CertificadoException", "message": "senha", "code": "wrong_password"},
    {"classification": "CertificadoException", "message": r"expirad[oa] em \d+", "code": "expired"},
    {"classification": "CertificadoException", "code": "invalid_certificate"},
    {"classification": "AccessDeniedException", "code": "forbidden"},
]}


@pytest.mark.parametrize("classification, message, code", [
    ("AccessDeniedException", "qualquer coisa", "forbidden"),  # no message regex: the classification decides
    ("AccessDeniedException", None, "forbidden"),
    ("CertificadoException", "Senha do certificado incorreta.", "wrong_password"),  # case-insensitive search
    ("CertificadoException", "Certificado EXPIRADO em 12/01/2020.", "expired"),
    ("CertificadoException", "Certificado expirado.", "invalid_certificate"),  # regex misses: next rule
    ("CertificadoException", "", "invalid_certificate"),
    ("CertificadoException", None, "invalid_certificate"),
    ("OutraException", "senha", None),
    (None, "senha", None),
])
def test_classify(classification, message, code):
    assert classify(RULES, classification, message) == code


def test_classify_first_match_wins_and_no_rules():
    rules = {"errors": [{"classification": "X", "code": "expired"}, {"classification": "X", "code": "pec_error"}]}
    assert classify(rules, "X", "m") == "expired"
    assert classify({}, "X", "m") is None
    assert classify({"errors": None}, "X", "m") is None
    assert classify(validate_contract(copy.deepcopy(_MODELO)), "CertificadoExpiradoException", "") == "expired"
    assert classify(_MODELO, "NaoAutenticadoException", "Sessão expirada.") == "session_expired"
