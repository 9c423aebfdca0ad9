# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (not a public API): one module run over every municipality of a PEC host.

Shared by pec_rnds and pec_rnds_info: the municipalities are grouped by admin user (CPF) so
that each user logs in ONCE per run (a second login of the same user would meet the first
session: the PEC allows one session per user), each municipality gets its access selected,
and every session is logged out at the end, on failure too.

Python standard library only, Python >= 3.6 syntax (ships to PEC servers).
"""

from ansible_collections.esus.rnds.plugins.module_utils._labels import option, render
from ansible_collections.esus.rnds.plugins.module_utils._pec_api import (
    PecApiError,
    PecSession,
    normalize_username,
)
from ansible_collections.esus.rnds.plugins.module_utils._pec_contract import ContractError, validate_contract
from ansible_collections.esus.rnds.plugins.module_utils._sanitize import neutralize_terminal, scrub

SERVICE_LABEL = {"rnds": "RNDS", "cadsus": "CADSUS"}


def service_names(services):
    return ", ".join(SERVICE_LABEL.get(s, str(s).upper()) for s in services) or "nenhum"


def fail(module, msg, **kwargs):
    """fail_json with the module options in ``msg`` named by the task's ``option_labels``."""
    module.fail_json(msg=render(msg, module.params.get("option_labels")), **kwargs)


def load_contract(module):
    """The contract dict the action plugin resolved (a name or path never reaches the host)."""
    contract = module.params.get("api_contract")
    if not isinstance(contract, dict):
        fail(module, "%s=%r não foi resolvido: o contrato da API do PEC é carregado no controlador pelo plugin de ação "
                     "da coleção; use o módulo pelo nome esus.rnds.%s"
             % (option("api_contract"), contract, module._name.split(".")[-1]), error_code="invalid_input")
    try:
        return validate_contract(contract, source=contract.get("name") or option("api_contract"))
    except ContractError as exc:
        fail(module, str(exc), error_code="invalid_contract")
    return None


def new_session(params, contract, secrets):
    return PecSession(
        url=params["url"], contract=contract, timeout=params["timeout"], retries=params["retries"],
        validate_certs=params["validate_certs"], ca_path=params["ca_path"], secrets=secrets,
        allow_insecure_http=params["allow_insecure_http"],
    )


def safe_text(text, secrets, labels=None):
    """Any text a module returns or prints: module options named by ``labels`` (the ``option_labels``
    option), secrets removed in every encoding, terminal controls neutralised."""
    return neutralize_terminal(scrub(render(text, labels), secrets)) if isinstance(text, str) else text


def insecure_http_warning(url):
    return ("a URL do PEC %s usa http:// fora desta máquina (%s): as senhas passam pela rede sem criptografia; "
            "configure HTTPS no PEC (docs/https-pec.md)" % (url, option("allow_insecure_http")))


class ModuleRun(object):
    """One run of pec_rnds / pec_rnds_info: every text it returns or prints goes through ``scrub``."""

    def __init__(self, module, contract, secrets):
        self.module = module
        self.contract = contract
        self.secrets = [s for s in secrets if isinstance(s, str) and s]

    def scrub(self, text):
        return safe_text(text, self.secrets, self.module.params["option_labels"])

    def warn(self, text):
        self.module.warn(self.scrub(text))


def group_by_user(entries):
    """[(cpf, password, [entries])] in first-seen order; raises ValueError (pt-BR) on bad credentials."""
    groups = []
    index = {}
    for entry in entries:
        cpf = normalize_username(entry.get("username"))
        if cpf is None:
            raise ValueError(
                "município %s: o usuário do PEC é o CPF do Administrador Municipal (11 dígitos, pontuação opcional), "
                "e %r não é um CPF válido; nenhum login foi tentado" % (entry.get("ibge") or "?", entry.get("username")))
        if not entry.get("password"):
            raise ValueError("município %s: falta a senha do Administrador Municipal (CPF %s)"
                             % (entry.get("ibge") or "?", cpf))
        if cpf in index:
            group = groups[index[cpf]]
            if group[1] != entry["password"]:
                raise ValueError(
                    "o CPF %s aparece com duas senhas diferentes (municípios %s e %s): uma pessoa tem uma só senha "
                    "no PEC; corrija o inventário antes que uma senha errada conte como tentativa de login"
                    % (cpf, group[2][0].get("ibge") or "?", entry.get("ibge") or "?"))
            group[2].append(entry)
        else:
            index[cpf] = len(groups)
            groups.append((cpf, entry["password"], [entry]))
    return groups


def for_each_municipality(params, contract, entries, work, on_error, secrets, warn, force=False, refused_now=None):
    """Log in once per user, select each municipality's access, call ``work(session, entry, access)``.

    ``on_error(entry, exc)`` records a failure of one municipality (login failures apply to every
    municipality of that user). Sessions are always logged out. ``force`` ends another live
    session of the same user (the caller never forces in check mode: ending a session is a change).
    CPFs whose password the PEC refused are appended to ``refused_now``; those the controller
    already knows as refused (``params["refused_logins"]``, set by the action plugin) are not tried.
    """
    refused = dict((item.get("cpf"), item.get("at")) for item in params.get("refused_logins") or [])
    warned = []
    for cpf, password, group in group_by_user(entries):
        if cpf in refused:
            exc = PecApiError(
                "login_refused",
                "a senha do CPF %s já foi recusada pelo PEC deste host (%s UTC): para não bloquear a conta, a mesma "
                "senha não é tentada de novo; corrija a senha do Administrador Municipal no inventário ou, se ela foi "
                "redefinida para este mesmo valor, use %s: true"
                % (cpf, str(refused[cpf]).replace("T", " ").rstrip("Z"), option("retry_refused_login")))
            for entry in group:
                on_error(entry, exc)
            continue
        session = new_session(params, contract, secrets)
        if session.insecure_http and not warned:
            warned.append(True)
            warn(insecure_http_warning(session.url))
        try:
            try:
                session.login(cpf, password, force=force)
                if force:
                    warn("%s: o login do CPF %s no PEC em %s encerrou uma sessão aberta dessa pessoa, se havia uma"
                         % (option("force_login"), cpf, session.url))
            except PecApiError as exc:
                if exc.code in ("login_refused", "account_locked") and refused_now is not None:
                    refused_now.append(cpf)
                for entry in group:
                    on_error(entry, exc)
                continue
            alone = len(group) == 1
            for entry in group:
                try:
                    access = session.select(entry.get("ibge"), alone=alone)
                    work(session, entry, access)
                except PecApiError as exc:
                    on_error(entry, exc)
        finally:
            session.logout()


def manual_steps(entry, nome, contract_name, url, state="enabled"):
    """What the Administrador Municipal does by hand when the contract does not fit this PEC (pt-BR)."""
    where = "%s (IBGE %s)" % (nome, entry.get("ibge")) if nome else "IBGE %s" % (entry.get("ibge") or "?")
    steps = [
        "Entre no PEC (%s) com o CPF do Administrador Municipal e escolha o acesso de Administrador Municipal de %s."
        % (url, where),
        "Abra Gestão municipal > aba Certificados.",
    ]
    if state == "enabled":
        steps += [
            "Marque os serviços: %s." % service_names(entry.get("services") or ["rnds"]),
            "Em Certificado, escolha o arquivo %s (já está na pasta chaves)." % entry.get("certificate"),
            "Digite a senha do certificado e o identificador solicitante %s." % (entry.get("requester_id") or "(do e-Gestor AB)"),
            "Clique em Habilitar e confira a mensagem de sucesso.",
        ]
    else:
        steps += ["Desmarque os serviços %s e confirme." % service_names(entry.get("services") or ["rnds"])]
    steps.append(
        "Para automatizar da próxima vez, ajuste o contrato da API (%s) a este PEC: docs/pec-api.md, "
        "\"Ajustar o contrato ao seu PEC\"." % contract_name)
    return steps
