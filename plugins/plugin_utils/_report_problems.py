# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (no stable API): the registry of every problem the fleet report can show.

One row per code: severity, what is wrong and what to do (pt-BR ``%(name)s`` templates). The
installation and ``chaves`` rows come from ``module_utils/_install_checks`` (the same rows the
``pec_info`` module uses on the PEC server); the others are the report's own. ``docs/report.md``
documents every code of ``REGISTRY`` with the same severity (checked by a test).
"""

from __future__ import annotations

import collections

from ansible_collections.esus.rnds.plugins.module_utils import _install_checks
from ansible_collections.esus.rnds.plugins.module_utils._problems import ERROR, WARNING, Problem, table

# The host-side rows name pec_info's options; the report is read by the users of the audit role.
ROLE_LABELS = {"install_dir": "rnds_pec_install_dir", "chaves_dirname": "rnds_chaves_dirname"}

_AGAIN = "rode a auditoria de novo."
_ENABLE = "Habilite com o papel esus.rnds.enable (playbooks/site.yml)"

REPORT_PROBLEMS = table(
    # ---------------------------------------------------------------- collection of the results
    Problem("no_data", ERROR,
            "Nenhum resultado da auditoria foi coletado deste host (sem conexão com o Ansible ou falha antes das "
            "coletas).",
            "Teste a conexão (ansible -m ansible.builtin.ping %(host)s) e " + _AGAIN),
    Problem("host_unreachable", ERROR,
            "O Ansible não conseguiu se conectar a este host: %(error)s",
            "Verifique rede, SSH/WinRM e credenciais (ansible -m ansible.builtin.ping HOST) e " + _AGAIN),
    Problem("probe_failed", ERROR,
            "%(probe)s falhou%(where)s: %(error)s",
            "Corrija a causa indicada (permissão, URL, usuário e senha do administrador municipal...) e " + _AGAIN),
    Problem("rnds_info_missing", ERROR,
            "O estado RNDS do PEC (pec_rnds_info) não foi coletado neste host.",
            "Rode a auditoria completa (papel esus.rnds.audit, playbooks/audit.yml)."),
    # ---------------------------------------------------------------- the PEC and how it was read
    Problem("pec_unreachable", ERROR,
            "O PEC não respondeu em %(url)s%(error)s%(state)s.",
            "Verifique se o serviço %(service)s está em execução (systemctl status %(service)s; para iniciá-lo, "
            "systemctl start %(service)s, e veja o log do PEC se ele não subir) e se rnds_pec_url e a porta em "
            "webserver/config/application.properties estão corretas."),
    Problem("insecure_http", WARNING,
            "O PEC foi lido por http:// a partir de outra máquina (%(url)s, rnds_pec_allow_insecure_http: true): a "
            "senha do Administrador Municipal passou pela rede sem criptografia.",
            "Configure HTTPS no PEC e use https:// em rnds_pec_url (docs/https-pec.md)."),
    Problem("force_login", WARNING,
            "A auditoria entrou no PEC com rnds_pec_force_login: true: se o Administrador Municipal estava usando o "
            "PEC, a sessão dele foi encerrada.",
            "Desligue essa opção ou rode a auditoria fora do horário de atendimento."),
    # ---------------------------------------------------------------- files the inventory expects
    Problem("stray_certificate", WARNING,
            "O arquivo %(name)s na pasta %(dirname)s não é o certificado esperado pelo inventário (%(expected)s).",
            "Se for um certificado antigo ou de teste, remova-o para que não seja escolhido por engano (o papel "
            "esus.rnds.certificate pode fazer a limpeza)."),
    Problem("certificate_file_missing", ERROR,
            "O certificado esperado %(name)s não está na pasta %(path)s.",
            "Implante-o com o papel esus.rnds.certificate (rnds_certificate_src) ou corrija rnds_certificate_name no "
            "inventário."),
    # ---------------------------------------------------------------- municipalities
    Problem("no_municipio", ERROR,
            "O PEC não tem nenhum município configurado para o RNDS.",
            "Confira a instalação (Gestão Municipal) e rnds_municipio_ibge / rnds_municipios no inventário."),
    Problem("municipio_not_found", ERROR,
            "O município %(label)s do inventário não está configurado neste PEC.",
            "Confira rnds_municipio_ibge / rnds_municipios no inventário ou cadastre o município no PEC."),
    Problem("municipio_error", ERROR,
            "Não verificado: o PEC recusou a leitura do município %(label)s: %(error)s",
            "Verifique o usuário (CPF) e a senha do Administrador Municipal e o estado do município no PEC."),
    Problem("not_verified_session", WARNING,
            "Não verificado (%(label)s): %(error)s",
            "Rode a auditoria de novo quando o Administrador Municipal não estiver usando o PEC."),
    Problem("manual_pending", WARNING,
            "Habilitação manual pendente em %(label)s: o PEC não tem as operações do contrato da API usado pela "
            "coleção, então o estado do RNDS não pôde ser lido nem alterado.",
            "O Administrador Municipal confere e habilita em Gestão municipal > Certificados (certificado "
            "%(certificate)s, identificador %(requester_id)s); para automatizar, ajuste o contrato "
            "(rnds_pec_api_contract, docs/pec-api.md)."),
    Problem("inventory_missing", ERROR,
            "%(detail)s",
            "Corrija o inventário e rode de novo (docs/mensagens.md)."),
    Problem("source_invalid", ERROR,
            "O arquivo de %(label)s no controlador (rnds_certificate_src) não serve para implantar: %(error)s "
            "site.yml e rotate.yml vão falhar para este município.",
            "Corrija o arquivo ou a senha do inventário conforme a mensagem."),
    # ---------------------------------------------------------------- services
    Problem("state_unknown", ERROR,
            "O PEC não informou o estado do %(services)s para %(label)s (sem credenciais do administrador municipal "
            "ou sem permissão).",
            "Confira rnds_pec_admin_user / rnds_pec_admin_password deste município e " + _AGAIN),
    Problem("rnds_not_enabled", ERROR,
            "O RNDS não está habilitado no PEC para %(label)s.",
            _ENABLE + ", informando certificado, senha e identificador do solicitante."),
    Problem("cadsus_not_enabled", ERROR,
            "O CADSUS não está habilitado no PEC para %(label)s, mas o inventário pede (rnds_services inclui cadsus).",
            _ENABLE + "."),
    Problem("service_not_enabled", ERROR,
            "O serviço %(service)s não está habilitado no PEC para %(label)s.",
            _ENABLE + "."),
    # ---------------------------------------------------------------- the certificate in use
    Problem("certificate_mismatch", WARNING,
            "O PEC usa o certificado %(name)s no %(service)s de %(label)s, mas o inventário espera %(expected)s.",
            "Se o certificado foi trocado de propósito, atualize rnds_certificate_name; senão reabilite com o "
            "certificado certo (playbooks/rotate.yml)."),
    Problem("requester_mismatch", WARNING,
            "O identificador do solicitante configurado no PEC para %(label)s (%(found)s) é diferente do inventário "
            "(%(expected)s).",
            "Confira em e-Gestor AB, \"Credenciais geradas\", e corrija rnds_requester_id ou reabilite com o "
            "identificador certo."),
    Problem("certificate_expiring", WARNING,
            "O certificado %(name)s de %(label)s vence em %(date)s (faltam %(days)d dia(s); o mínimo configurado é "
            "%(min_days)d).",
            "Providencie a renovação e troque-o com playbooks/rotate.yml antes do vencimento."),
    Problem("certificate_expired", ERROR,
            "O certificado %(name)s de %(label)s venceu em %(date)s (%(ago)s): o PEC não consegue mais se autenticar "
            "na RNDS.",
            "Obtenha um novo certificado A1 (e-Gestor AB, credenciamento) e troque-o com playbooks/rotate.yml."),
    Problem("cnpj_mismatch", ERROR,
            "O CNPJ do certificado %(name)s (%(cnpj)s) é diferente do CNPJ esperado do Fundo Municipal de Saúde de "
            "%(label)s (%(expected)s).",
            "Use o e-CNPJ do FMS do município ou corrija rnds_expected_cnpj no inventário."),
    Problem("rnds_auth_failed", ERROR,
            "A autenticação na RNDS com o certificado%(certificate)s falhou%(stage)s%(where)s: %(diagnosis)s",
            "Confira se o certificado está credenciado no e-Gestor AB e se este servidor alcança o serviço da RNDS "
            "(DNS, firewall, proxy)."),
)

REGISTRY = collections.OrderedDict(_install_checks.PROBLEMS)
REGISTRY.update(REPORT_PROBLEMS)
if len(REGISTRY) != len(_install_checks.PROBLEMS) + len(REPORT_PROBLEMS):
    raise ValueError("a problem code is both in _install_checks and in the report registry")


def severity(code):
    return REGISTRY[code].severity


def words(code, params=None):
    """The sentence of one problem, with the audit role's variable names."""
    return REGISTRY[code].words(params, ROLE_LABELS)
