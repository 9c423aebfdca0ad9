# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (not a public API): what a GraphQL error of the PEC means, in Portuguese.

The PEC answers ``{"errors": [{"message", "extensions": {"classification": ...}}]}``. The
classifications of the session are confirmed (``ValidationError`` for an operation or field the
PEC does not have, ``PecAuthenticationException``, ``UsuarioJaLogadoException``); those of the
Certificados tab come from the contract's ``errors`` rules. Each becomes a :class:`PecApiError`
with a stable ``code`` and a message that says what to fix, naming module options with
``_labels.option``.

Python standard library only (runs on PEC servers), Python >= 3.6 syntax.
"""

from ansible_collections.esus.rnds.plugins.module_utils._labels import option
from ansible_collections.esus.rnds.plugins.module_utils._pec_contract import classify
from ansible_collections.esus.rnds.plugins.module_utils._pec_http import PecApiError, label

# Confirmed error classifications (extensions.classification).
VALIDATION_ERROR = "ValidationError"
AUTHENTICATION_ERROR = "PecAuthenticationException"
ALREADY_LOGGED_IN = "UsuarioJaLogadoException"

# Collection error code -> hint for the operator.
_HINTS = {
    "certificate_missing": "implante o arquivo na pasta chaves (módulo esus.rnds.pec_certificate) e confira o nome "
                           "do certificado",
    "wrong_password": "confira a senha do certificado",
    "expired": "obtenha um certificado A1 válido (AC ICP-Brasil ou credenciamento no e-Gestor AB) e implante-o",
    "not_yet_valid": "confira o relógio do servidor (timedatectl) ou aguarde o início da validade do certificado",
    "no_private_key": "exporte o certificado como .pfx/.p12 com a chave privada (um .cer não serve)",
    "key_mismatch": "a chave privada do arquivo é de outro certificado: exporte o .pfx/.p12 de novo",
    "invalid_certificate": "o arquivo não é um PKCS#12 legível: confira se não foi corrompido na cópia "
                           "(compare o sha256)",
    "requester_id": "confira o identificador do solicitante (e-Gestor AB > Credenciais geradas)",
}
CERTIFICATE_CODES = tuple(_HINTS)

# Message of each code (``%(name)s`` fields: url, label, contract, cpf, said, hint, classification).
_MESSAGES = {
    "contract_mismatch": (
        "o PEC em %(url)s não reconhece a %(label)s do contrato %(contract)s%(said)s: o contrato da API não corresponde "
        "a esta versão do PEC; ajuste o contrato (docs/pec-api.md, \"Ajustar o contrato ao seu PEC\")"),
    "already_logged_in": (
        "o CPF %(cpf)s já tem uma sessão aberta no PEC em %(url)s (uma pessoa usando o PEC agora, ou uma execução "
        "anterior interrompida, cuja sessão expira sozinha pelo tempo de inatividade do PEC)%(said)s: nada foi feito "
        "para não derrubar essa pessoa; rode fora do horário de atendimento ou peça para ela sair do PEC; só se for "
        "aceitável encerrar a sessão dela, use " + option("force_login") + ": true"),
    "account_locked": (
        "o CPF %(cpf)s está bloqueado no PEC em %(url)s%(said)s: o Administrador da Instalação precisa desbloquear o "
        "usuário; nenhum novo login foi tentado"),
    "login_refused": (
        "login recusado para o CPF %(cpf)s no PEC em %(url)s%(said)s: confira o usuário (CPF) e a senha do "
        "Administrador Municipal; o login não será repetido, para não bloquear a conta"),
    "session_expired": "a sessão no PEC em %(url)s expirou%(said)s",
    "forbidden": (
        "o PEC em %(url)s recusou a %(label)s para o CPF %(cpf)s%(said)s: confira se o usuário tem o acesso de "
        "Administrador Municipal do município"),
    "certificate": "o PEC em %(url)s recusou o certificado%(said)s: %(hint)s",
    "pec_error": "o PEC em %(url)s recusou a %(label)s%(said)s [%(classification)s]",
}


def first_error(errors):
    """(classification, message) of the first GraphQL error; either may be None/empty when not text."""
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    extensions = first.get("extensions") if isinstance(first.get("extensions"), dict) else {}
    classification = extensions.get("classification")
    if not isinstance(classification, str):
        classification = extensions.get("code") if isinstance(extensions.get("code"), str) else None
    message = first.get("message") if isinstance(first.get("message"), str) else ""
    return classification, message


def error_code(contract, key, status, classification, message):
    """The collection code of a PEC error on operation ``key``."""
    if classification == VALIDATION_ERROR:
        # An operation or field this PEC does not have (graphql-java "FieldUndefined" and
        # relatives): the contract does not fit. The confirmed session documents are not
        # expected to fail this way; if they do, it is still a mismatch to report, not retry.
        return "contract_mismatch"
    lowered = (message or "").lower()
    if key == "Login":
        if classification == ALREADY_LOGGED_IN or ("logad" in lowered and "sess" in lowered):
            return "already_logged_in"
        if "bloquead" in lowered:
            return "account_locked"
        if classification == AUTHENTICATION_ERROR or status in (401, 403):
            return "login_refused"
    code = classify(contract, classification, message)
    if code:
        return code
    if status == 401:
        return "session_expired"
    if status == 403:
        return "forbidden"
    return "pec_error"


def pec_error(errors, key, status, url, contract, cpf, clean):
    """The PecApiError for the ``errors`` of a GraphQL answer. ``clean(text)`` makes the PEC's own
    message safe to show (secrets scrubbed, terminal controls neutralised, dropped when it echoes)."""
    classification, message = first_error(errors)
    message = clean(message)
    code = error_code(contract, key, status, classification, message)
    said = " (o PEC disse: \"%s\")" % message if message else ""
    fields = dict(url=url, label=label(key), contract=contract.get("name"), cpf=cpf, said=said,
                  hint=_HINTS.get(code), classification=classification or "sem classificação")
    template = _MESSAGES["certificate"] if code in _HINTS else _MESSAGES.get(code, _MESSAGES["pec_error"])
    if code not in _HINTS and code not in _MESSAGES:
        code = "pec_error"
    return PecApiError(code, template % fields, url=url, status=status, operation=key,
                       classification=classification, pec_message=message)
