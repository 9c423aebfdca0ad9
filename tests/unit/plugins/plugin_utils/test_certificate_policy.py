# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller-side deployment policy of pec_certificate (plugin_utils/_certificate_policy.py)."""

from __future__ import annotations

from ansible_collections.esus.rnds.plugins.module_utils._labels import render
from ansible_collections.esus.rnds.plugins.plugin_utils._certificate_policy import evaluate

FACTS = {"has_private_key": True, "key_matches": True, "expired": False, "not_yet_valid": False,
         "cnpj": "12345678000195", "icp_brasil": True, "issuer": "CN=AC Teste", "days_remaining": 5,
         "not_before": "2025-01-01T00:00:00Z", "not_after": "2030-01-01T02:00:00Z"}
ROLE_LABELS = {"src": "rnds_certificate_src", "expected_cnpj": "rnds_expected_cnpj",
               "require_icp_brasil": "rnds_require_icp_brasil", "min_days_remaining": "rnds_min_days_remaining"}


def test_few_days_left_is_a_warning_naming_the_options():
    errors, warnings = evaluate(FACTS, "a.pfx", 30, "12.345.678/0001-95", True)
    assert errors == [] and len(warnings) == 1
    # the date in Brasília time: 02:00 UTC on 1 January is still 31 December there
    assert render(warnings[0]) == ("o certificado a.pfx expira em 5 dia(s), em 31/12/2029 (mínimo desejado: 30, "
                                   "min_days_remaining): providencie a renovação e atualize src")
    assert render(warnings[0], ROLE_LABELS).endswith("(mínimo desejado: 30, rnds_min_days_remaining): providencie a "
                                                     "renovação e atualize rnds_certificate_src")
    assert evaluate(FACTS, "a.pfx", 5) == ([], [])


def test_every_refusal_names_what_to_change():
    facts = dict(FACTS, has_private_key=False, icp_brasil=False, expired=True, cnpj="11222333000181")
    errors, warnings = evaluate(facts, "a.pfx", 30, "12345678000195", True)
    assert warnings == []
    assert [render(e) for e in errors] == [
        "o arquivo a.pfx não contém a chave privada: o PEC precisa do .pfx/.p12 com a chave; exporte de novo o "
        "certificado incluindo a chave privada e atualize src",
        "o certificado a.pfx expirou em 31/12/2029: obtenha um novo .pfx e atualize src",
        "o certificado a.pfx é do CNPJ 11.222.333/0001-81, mas o CNPJ esperado é 12.345.678/0001-95 (expected_cnpj): "
        "confira se o arquivo é o do Fundo Municipal de Saúde certo ou corrija o CNPJ esperado",
        "o certificado a.pfx não é ICP-Brasil (emissor: CN=AC Teste) e require_icp_brasil está ativo: use um "
        "certificado A1 ICP-Brasil ou desative require_icp_brasil",
    ]
    relabelled = " ".join(render(e, ROLE_LABELS) for e in errors)
    for name in ("src", "expected_cnpj", "require_icp_brasil"):
        assert "(%s)" % name not in relabelled and " %s " % name not in relabelled
    assert "rnds_require_icp_brasil está ativo" in relabelled and "(rnds_expected_cnpj)" in relabelled


def test_key_mismatch_not_yet_valid_and_missing_cnpj():
    facts = dict(FACTS, key_matches=False, not_yet_valid=True, cnpj=None)
    errors, dummy = evaluate(facts, "b.pfx", 30, "12.345.678/0001-95")
    assert len(errors) == 3
    assert "não corresponde ao certificado" in errors[0]
    assert "só é válido a partir de 31/12/2024" in errors[1]
    assert render(errors[2]).startswith("o certificado b.pfx não traz CNPJ") and "12.345.678/0001-95 (expected_cnpj)" in render(errors[2])


def test_unreadable_expected_cnpj_is_shown_as_given():
    errors, dummy = evaluate(FACTS, "a.pfx", 0, "123")
    assert "o CNPJ esperado é 123 (" in errors[0]
