# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (not a public API): the replaceable PEC API contract.

The PEC publishes no API for its Certificados tab. What the collection sends there (GraphQL
documents, where it reads each value in the answers, how it classifies errors) is DATA: a
contract file (``pec_contracts/*.yml`` in the collection, or a file of the user's), loaded on
the controller by the action plugins of pec_rnds / pec_rnds_info, checked here and passed to
the module. A team that captured its PEC's requests adapts the collection by writing such a
file, with no Python change (docs/pec-api.md).

Python standard library only, Python >= 3.6 syntax (this file ships to PEC servers).
"""

import re

CONTRACT_FORMAT = 1

# Operations a contract may describe, and what each must have.
OPERATIONS = ("list_files", "read_state", "enable", "disable", "contra_chave", "version")
# Collection keys a contract may map, per operation (``fields``).
STATE_KEYS = ("certificate", "services", "requester_id", "enabled_at", "not_after", "fingerprint_sha256",
              "file_sha256")
FILE_KEYS = ("name", "size", "modified", "sha256", "fingerprint_sha256", "not_after")
FIELD_KEYS = {
    "list_files": FILE_KEYS,
    "read_state": STATE_KEYS,
    "enable": STATE_KEYS,
    "disable": STATE_KEYS,
}
# "$name" values a contract may use in ``variables``.
PLACEHOLDERS = ("certificate", "password", "requester_id", "services")
# Codes a contract may give to an error classification.
ERROR_CODES = (
    "certificate_missing", "wrong_password", "expired", "not_yet_valid", "no_private_key", "key_mismatch",
    "invalid_certificate", "requester_id", "session_expired", "forbidden", "already_logged_in",
    "account_locked", "login_refused", "contract_mismatch", "pec_error",
)

_OPERATION_RE = re.compile(r"^\s*(query|mutation)\s+([_A-Za-z][_0-9A-Za-z]*)")
_PLACEHOLDER_RE = re.compile(r"^\$([a-z_]+)$")
_PATH_RE = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*(\.[_A-Za-z][_0-9A-Za-z]*)*$")


class ContractError(ValueError):
    """A contract that cannot be used: the message (pt-BR) names the key and the fix."""


def operation_name(document):
    """``query Foo { ... }`` -> ``Foo`` (None when the document has no named operation)."""
    match = _OPERATION_RE.match(document or "")
    return match.group(2) if match else None


def _where(name, key):
    return "contrato %s: %s" % (name, key)


def _check_path(name, key, value):
    if not isinstance(value, str) or not _PATH_RE.match(value):
        raise ContractError(
            "%s deve ser um caminho com pontos (por exemplo certificadoMunicipio.certificado), não %r"
            % (_where(name, key), value))


def _check_variables(name, key, value):
    if isinstance(value, dict):
        for child_key, child in value.items():
            _check_variables(name, "%s.%s" % (key, child_key), child)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            _check_variables(name, "%s[%d]" % (key, index), child)
    elif isinstance(value, str) and value.startswith("$"):
        match = _PLACEHOLDER_RE.match(value)
        if not match or match.group(1) not in PLACEHOLDERS:
            accepted = ", ".join("$" + p for p in PLACEHOLDERS)
            raise ContractError("%s usa %r: as variáveis aceitas são %s" % (_where(name, key), value, accepted))


def _check_operation(name, key, op):
    where = "operations.%s" % key
    if not isinstance(op, dict):
        raise ContractError("%s deve ser um dicionário com document, variables e result" % _where(name, where))
    unknown = sorted(set(op) - {"document", "variables", "result", "fields"})
    if unknown:
        raise ContractError("%s tem chaves desconhecidas: %s" % (_where(name, where), ", ".join(unknown)))
    document = op.get("document")
    if not isinstance(document, str) or not operation_name(document):
        raise ContractError(
            "%s.document deve ser um documento GraphQL com nome (query Nome { ... } ou mutation Nome(...) { ... })"
            % _where(name, where))
    variables = op.get("variables", {})
    if not isinstance(variables, dict):
        raise ContractError("%s.variables deve ser um dicionário" % _where(name, where))
    _check_variables(name, where + ".variables", variables)
    _check_path(name, where + ".result", op.get("result"))
    fields = op.get("fields")
    allowed = FIELD_KEYS.get(key)
    if allowed is None:
        if fields:
            raise ContractError("%s não usa fields (o resultado é um valor)" % _where(name, where))
        return
    if not isinstance(fields, dict) or not fields:
        raise ContractError("%s.fields deve mapear chaves da coleção (%s) a caminhos na resposta"
                            % (_where(name, where), ", ".join(allowed)))
    for field_key, path in fields.items():
        if field_key not in allowed:
            raise ContractError("%s.fields.%s não é uma chave da coleção (aceitas: %s)"
                                % (_where(name, where), field_key, ", ".join(allowed)))
        _check_path(name, "%s.fields.%s" % (where, field_key), path)
    required = {"list_files": ("name",), "read_state": ("certificate", "services")}.get(key, ())
    missing = [k for k in required if k not in fields]
    if missing:
        raise ContractError("%s.fields precisa de %s" % (_where(name, where), ", ".join(missing)))


def validate_contract(data, source="?"):
    """Check a contract (already parsed from YAML/JSON); return it, or raise ContractError."""
    if not isinstance(data, dict):
        raise ContractError("o contrato da API do PEC em %s não é um dicionário (YAML/JSON)" % source)
    name = data.get("name") or source
    if data.get("contract_format") != CONTRACT_FORMAT:
        raise ContractError(
            "contrato %s: contract_format %r não é suportado por esta versão da coleção (esperado %d)"
            % (name, data.get("contract_format"), CONTRACT_FORMAT))
    version = data.get("client_version", "")
    if not isinstance(version, (str, int, float)) or not re.match(r"^[ -~]*$", str(version)):
        raise ContractError("%s deve ser um texto ASCII simples (vai num cabeçalho HTTP), por exemplo \"5.5\""
                            % _where(name, "client_version"))
    services = data.get("services")
    if not isinstance(services, dict) or not services.get("rnds") or not all(
            isinstance(v, str) and v for v in services.values()):
        raise ContractError("%s deve mapear rnds (e cadsus) ao valor que o PEC usa, por exemplo rnds: RNDS"
                            % _where(name, "services"))
    access = data.get("access")
    if not isinstance(access, dict) or not isinstance(access.get("tipo"), str) or not access.get("tipo"):
        raise ContractError("%s precisa de tipo (o tipo do acesso de Administrador Municipal) e ibge"
                            % _where(name, "access"))
    if not isinstance(access.get("fields", ""), str):
        raise ContractError("%s deve ser um trecho de documento GraphQL" % _where(name, "access.fields"))
    _check_path(name, "access.ibge", access.get("ibge"))
    if access.get("nome") is not None:
        _check_path(name, "access.nome", access.get("nome"))
    operations = data.get("operations")
    if not isinstance(operations, dict):
        raise ContractError("%s deve ser um dicionário de operações" % _where(name, "operations"))
    unknown = sorted(set(operations) - set(OPERATIONS))
    if unknown:
        raise ContractError("%s: operações desconhecidas %s (aceitas: %s)"
                            % (_where(name, "operations"), ", ".join(unknown), ", ".join(OPERATIONS)))
    for key, op in operations.items():
        _check_operation(name, key, op)
    errors = data.get("errors", [])
    if not isinstance(errors, list):
        raise ContractError("%s deve ser uma lista" % _where(name, "errors"))
    for index, rule in enumerate(errors):
        where = "errors[%d]" % index
        if not isinstance(rule, dict) or not isinstance(rule.get("classification"), str):
            raise ContractError("%s precisa de classification" % _where(name, where))
        if rule.get("code") not in ERROR_CODES:
            raise ContractError("%s: code %r desconhecido (aceitos: %s)"
                                % (_where(name, where), rule.get("code"), ", ".join(ERROR_CODES)))
        if rule.get("message") is not None:
            try:
                re.compile(rule["message"])
            except (re.error, TypeError) as exc:
                raise ContractError("%s: message não é uma expressão regular válida (%s)" % (_where(name, where), exc))
    return data


def get_path(data, path):
    """Walk ``a.b.c`` into nested dicts; None when any step is missing."""
    value = data
    for step in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def map_leaves(node, function):
    """Copy of nested dicts and lists with every other value ``leaf`` replaced by ``function(leaf)``."""
    if isinstance(node, dict):
        return dict((key, map_leaves(child, function)) for key, child in node.items())
    if isinstance(node, list):
        return [map_leaves(child, function) for child in node]
    return function(node)


def fill(template, values):
    """Copy ``template`` replacing each ``"$name"`` string with ``values[name]``."""

    def leaf(value):
        match = _PLACEHOLDER_RE.match(value) if isinstance(value, str) else None
        return values.get(match.group(1)) if match else value

    return map_leaves(template, leaf)


def map_fields(item, fields):
    """``{collection key: value read at path}`` for one answer object."""
    item = item if isinstance(item, dict) else {}
    return dict((key, get_path(item, path)) for key, path in fields.items())


def classify(contract, classification, message):
    """The collection code a contract gives to an error, or None."""
    for rule in contract.get("errors") or []:
        if rule.get("classification") != classification:
            continue
        pattern = rule.get("message")
        if pattern and not re.search(pattern, message or "", re.IGNORECASE):
            continue
        return rule["code"]
    return None
