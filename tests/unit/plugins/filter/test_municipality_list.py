# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""esus.rnds.municipality_list(require=...): what is missing, and where it lives."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.esus.rnds.plugins.filter.municipality_list import municipality_list
from ansible_collections.esus.rnds.plugins.filter.pec_logins import pec_logins

ALL = ["rnds_pec_admin_user", "rnds_pec_admin_password", "rnds_certificate_src", "rnds_certificate_password",
       "rnds_requester_id"]
ORIGIN = {"csv": "municipios.csv", "line": 5, "secrets": "secrets/4313409.yml", "secrets_found": True}


def problem(items, host, require=None):
    return [e["problem"] for e in municipality_list(items, host, require=require or ALL, host_name="pec-x")]


def test_nothing_missing():
    host = {"rnds_pec_admin_user": "12345678909", "rnds_pec_admin_password": "p", "rnds_certificate_src": "/c/a.pfx",
            "rnds_certificate_password": "", "rnds_requester_id": "4507"}
    entries = municipality_list([], host, require=ALL, host_name="pec-x")
    assert entries[0]["problem"] == "" and entries[0]["missing"] == []


def test_spreadsheet_names_column_line_and_secrets_file():
    item = {"rnds_municipio_ibge": "4313409", "rnds_municipio_nome": "Novo Hamburgo", "rnds_inventory_origin": ORIGIN,
            "rnds_certificate_src": "/c/n.pfx", "rnds_requester_id": ""}
    assert problem([item], {}) == [
        "pec-x, Novo Hamburgo (IBGE 4313409): faltam rnds_pec_admin_user (CPF do Administrador Municipal), "
        "rnds_pec_admin_password (senha do Administrador Municipal) e rnds_certificate_password (senha do arquivo "
        ".pfx/.p12), em secrets/4313409.yml, cifrado com ansible-vault; rnds_requester_id (identificador do solicitante "
        "do e-Gestor AB, \"Credenciais geradas\"), na coluna identificador de municipios.csv, linha 5."]


def test_missing_secrets_file_says_how_to_create_it():
    item = {"rnds_municipio_ibge": "4313409", "rnds_inventory_origin": dict(ORIGIN, secrets_found=False),
            "rnds_certificate_src": "/c/n.pfx", "rnds_requester_id": "1"}
    text = problem([item], {}, require=["rnds_certificate_password"])[0]
    assert text == ("pec-x, IBGE 4313409: falta rnds_certificate_password (senha do arquivo .pfx/.p12), em "
                    "secrets/4313409.yml, arquivo que não existe (crie-o com ansible-vault create secrets/4313409.yml).")


def test_hand_written_inventory_points_at_host_vars_and_vault():
    text = problem([], {"rnds_certificate_src": "/c/a.pfx"}, require=["rnds_pec_admin_user", "rnds_certificate_password"])[0]
    assert text == ("pec-x: faltam rnds_pec_admin_user (CPF do Administrador Municipal), no inventário "
                    "(host_vars/pec-x.yml ou o item do município em rnds_municipios); rnds_certificate_password (senha "
                    "do arquivo .pfx/.p12), no arquivo do vault do inventário (por exemplo group_vars/all/vault.yml, "
                    "cifrado com ansible-vault).")


def test_empty_admin_password_is_missing_but_empty_certificate_password_is_not():
    host = {"rnds_pec_admin_password": "  ", "rnds_certificate_password": "", "rnds_certificate_src": "/a.pfx"}
    entry = municipality_list([], host, require=["rnds_pec_admin_password", "rnds_certificate_password"])[0]
    assert entry["missing"] == ["rnds_pec_admin_password"]


def test_audit_needs_no_certificate_password_without_a_file():
    entry = municipality_list([], {}, require=["rnds_certificate_password"])[0]
    assert entry["missing"] == []


@pytest.mark.parametrize("name, fragment", [
    ("fms.cer", "fms.cer é um certificado sem a chave privada (.cer): o PEC precisa do arquivo .pfx/.p12"),
    ("fms.crt", "fms.crt é um certificado sem a chave privada (.crt)"),
    ("fms.zip", "o nome de arquivo fms.zip não termina em .pfx ou .p12"),
])
def test_certificate_without_key_is_named_as_such(name, fragment):
    host = {"rnds_certificate_src": "/c/" + name, "rnds_certificate_password": "x"}
    text = problem([], host, require=["rnds_certificate_src"])[0]
    assert fragment in text and "renome" not in text and "  " not in text


def test_same_name_two_files():
    items = [{"rnds_municipio_ibge": "1", "rnds_certificate_src": "/a/f.pfx"},
             {"rnds_municipio_ibge": "2", "rnds_certificate_src": "/b/f.pfx"}]
    texts = problem(items, {"rnds_certificate_password": "x"}, require=["rnds_certificate_src"])
    assert texts[0] == "" and "o arquivo f.pfx da pasta chaves também é o de IBGE 1" in texts[1]


def test_unknown_required_name_is_refused():
    with pytest.raises(AnsibleFilterError):
        municipality_list([], {}, require=["rnds_nada"])


def test_pec_logins_never_sends_a_municipality_without_password():
    entries = municipality_list([{"rnds_municipio_ibge": "1", "rnds_pec_admin_user": "12345678909"},
                                 {"rnds_municipio_ibge": "2", "rnds_pec_admin_user": "12345678909",
                                  "rnds_pec_admin_password": "p"}], {},
                                require=["rnds_pec_admin_user", "rnds_pec_admin_password"])
    assert [login["ibge"] for login in pec_logins(entries)] == ["2"]
