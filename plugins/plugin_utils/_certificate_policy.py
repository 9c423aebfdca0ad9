# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This plugin_utils file is internal to esus.rnds: no compatibility promise for other collections.
"""The deployment policy the pec_certificate action applies on the controller, before any remote call.

Controller side only. Messages are pt-BR and name the options of ``esus.rnds.pec_certificate`` with
``_labels.option`` placeholders (the action renders them with the task's ``option_labels``).
"""

from __future__ import annotations

from ansible_collections.esus.rnds.plugins.module_utils._brdocs import display_cnpj, normalize_cnpj
from ansible_collections.esus.rnds.plugins.module_utils._dates import local_date
from ansible_collections.esus.rnds.plugins.module_utils._labels import option


def _key_errors(facts, name):
    src = option("src")
    if not facts.get("has_private_key"):
        return ["o arquivo %s não contém a chave privada: o PEC precisa do .pfx/.p12 com a chave; exporte de novo o "
                "certificado incluindo a chave privada e atualize %s" % (name, src)]
    if not facts.get("key_matches"):
        return ["a chave privada do arquivo %s não corresponde ao certificado: o arquivo está montado errado; exporte "
                "de novo o .pfx a partir do certificado instalado e atualize %s" % (name, src)]
    return []


def _validity_errors(facts, name):
    if facts.get("expired"):
        return ["o certificado %s expirou em %s: obtenha um novo .pfx e atualize %s"
                % (name, local_date(facts.get("not_after")), option("src"))]
    if facts.get("not_yet_valid"):
        return ["o certificado %s só é válido a partir de %s: confira o relógio do controlador ou use o "
                "certificado anterior até essa data" % (name, local_date(facts.get("not_before")))]
    return []


def _cnpj_errors(facts, name, expected_cnpj):
    if not expected_cnpj:
        return []
    wanted = normalize_cnpj(expected_cnpj)
    found = normalize_cnpj(facts.get("cnpj") or "")
    if not found:
        return ["o certificado %s não traz CNPJ (e-CPF ou certificado sem o campo 2.16.76.1.3.3), mas o CNPJ "
                "esperado é %s (%s): use o e-CNPJ do Fundo Municipal de Saúde"
                % (name, display_cnpj(wanted), option("expected_cnpj"))]
    if found != wanted:
        return ["o certificado %s é do CNPJ %s, mas o CNPJ esperado é %s (%s): confira se o arquivo é o do Fundo "
                "Municipal de Saúde certo ou corrija o CNPJ esperado"
                % (name, display_cnpj(found), display_cnpj(wanted), option("expected_cnpj"))]
    return []


def evaluate(facts, name, min_days_remaining=30, expected_cnpj=None, require_icp_brasil=False):
    """Apply the deployment policy to the facts of an opened file (``_pkcs12.inspect_pkcs12``).

    Returns ``(errors, warnings)``: lists of pt-BR messages that say what to fix.
    """
    errors = _key_errors(facts, name) + _validity_errors(facts, name) + _cnpj_errors(facts, name, expected_cnpj)
    if require_icp_brasil and not facts.get("icp_brasil"):
        errors.append("o certificado %s não é ICP-Brasil (emissor: %s) e %s está ativo: use um certificado A1 "
                      "ICP-Brasil ou desative %s" % (name, facts.get("issuer"), option("require_icp_brasil"),
                                                      option("require_icp_brasil")))
    warnings = []
    days = facts.get("days_remaining")
    if not errors and isinstance(days, int) and days < min_days_remaining:
        warnings.append("o certificado %s expira em %d dia(s), em %s (mínimo desejado: %d, %s): providencie a "
                        "renovação e atualize %s" % (name, days, local_date(facts.get("not_after")),
                                                     min_days_remaining, option("min_days_remaining"), option("src")))
    return errors, warnings
