# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (not a public API): guess what each operation of a HAR capture is.

Which captured GraphQL operation is which operation of the contract (``list_files``,
``read_state``, ``enable``, ``disable``, ``contra_chave``, ``version``), where each value sits in
its answer (``fields``), which variables are the values typed in the form (placeholders
``$certificate``, ``$password``, ``$requester_id``, ``$services``), how an Administrador
Municipal access names its municipality, and which errors become contract rules. The heuristics
are listed for the operator in ``_har_contract.HEURISTICS``. Controller only.
"""

from __future__ import annotations

import re

from ansible_collections.esus.rnds.plugins.module_utils._pec_contract import get_path
from ansible_collections.esus.rnds.plugins.plugin_utils._har import (
    CONTRA_CHAVE_RE, SERVICE_VALUES, is_cpf, is_pfx, is_scalar, is_services, last_step, norm, strip_strings,
)
from ansible_collections.esus.rnds.plugins.plugin_utils._har_secrets import CPF_KEY_RE, PASSWORD_KEY_RE, TOKEN_KEY_RE

MAX_MESSAGE = 200
# Key hints (on the last step of a path, without accents, lower case).
REQUESTER_HINT = re.compile(r"identificador|solicitante|requester")
SERVICES_HINT = re.compile(r"servic")
_ENABLED_AT_HINT = re.compile(r"habilit|enabled|ativad|desde|inicio")
_NOT_AFTER_HINT = re.compile(r"valid|venc|expir|notafter|not_after|fim")
_MODIFIED_HINT = re.compile(r"modific|alterad|atualiz|modified|update|lastmod")
_SIZE_HINT = re.compile(r"tamanho|size|bytes|length")
_FINGERPRINT_HINT = re.compile(r"fingerprint|impress|digital|thumb")
_FILE_HASH_HINT = re.compile(r"sha|hash|checksum")
_VERSION_HINT = re.compile(r"^(versao|version|info)$")
_DISABLE_HINT = re.compile(r"desabilit|disable|remov")
_STATE_NAME_HINT = re.compile(r"certificad|rnds|habilitac")

_HEX64_RE = re.compile(r"^(?:[0-9A-Fa-f]{64}|[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){31})$")
_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
_IBGE_RE = re.compile(r"^\d{7}$")
_VERSION_RE = re.compile(r"^\d+\.\d+(?:\.\d+)*(?:[-+][0-9A-Za-z.-]+)?$")

# Error messages -> collection codes (patterns work on the raw message, accents and any case).
ERROR_RULES = (
    ("session_expired", r"sess[aã]o (expirad|encerrad)|n[aã]o autenticad|unauthenticated"),
    ("not_yet_valid", r"ainda n[aã]o (é |e |est[aá] )?v[aá]lid|not yet valid"),
    ("expired", r"expirad|vencid|expired"),
    ("wrong_password", r"senha|password"),
    ("key_mismatch", r"n[aã]o confere|n[aã]o corresponde|does not match"),
    ("no_private_key", r"chave privada|private key"),
    ("requester_id", r"identificador|solicitante"),
    ("certificate_missing", r"n[aã]o (foi )?encontrad|inexistente|not found"),
    ("forbidden", r"acesso negado|sem permiss[aã]o|access denied|forbidden"),
    ("invalid_certificate", r"certificad\w* inv[aá]lid|invalid certificate|n[aã]o [eé] um certificado"),
)
_GENERIC_CLASSIFICATION_RE = re.compile(
    r"^(DataFetchingException|ExecutionAborted|GraphQLError|InternalError|Exception|RuntimeException|"
    r"\w*BusinessException|\w*ValidationException|IllegalArgumentException|IllegalStateException)$")


# -- value search -----------------------------------------------------------------------------
def flatten(node, prefix="", depth=0):
    """(dotted path, value) of every leaf reachable through dicts (lists are leaves)."""
    out = []
    if not isinstance(node, dict) or depth > 5:
        return out
    for key, value in node.items():
        if key == "__typename" or not re.match(r"^[_A-Za-z][_0-9A-Za-z]*$", str(key)):
            continue
        path = prefix + key
        if isinstance(value, dict):
            out.extend(flatten(value, path + ".", depth + 1))
        else:
            out.append((path, value))
    return out


def value_paths(objects):
    """path -> all values seen at that path, in first-seen order of paths."""
    seen = {}
    for obj in objects:
        for path, value in flatten(obj):
            seen.setdefault(path, []).append(value)
    return seen


def _find(node, predicate, prefix, depth=0):
    """Dotted path (from ``prefix``) of the first value satisfying ``predicate``, through dicts."""
    if predicate(node):
        return prefix
    if isinstance(node, dict) and depth < 5:
        for key, value in node.items():
            if key != "__typename":
                found = _find(value, predicate, "%s.%s" % (prefix, key), depth + 1)
                if found:
                    return found
    return None


def _file_list(node):
    if not isinstance(node, list):
        return False
    items = [i for i in node if isinstance(i, dict)]
    return any(is_pfx(v) for item in items for _path, v in flatten(item))


class _Picker:
    def __init__(self, objects):
        self.paths = value_paths(objects)
        self.used = set()
        self.fields = {}

    def pick(self, key, predicate=None, hint=None, avoid=None, prefer=None, allow_null=True):
        candidates = []
        for path, values in self.paths.items():
            if path in self.used:
                continue
            name = last_step(path)
            if avoid and avoid.search(name):
                continue
            typed = predicate is not None and any(predicate(v) for v in values)
            hinted = hint is not None and bool(hint.search(name))
            nulls = all(v is None for v in values)
            if hint is not None and predicate is not None:
                ok = hinted and (typed or (allow_null and nulls))
            else:
                ok = typed or (hinted and allow_null and nulls)
            if ok:
                candidates.append((0 if prefer and any(prefer(v) for v in values) else 1, path))
        if candidates:
            path = sorted(candidates, key=lambda c: c[0])[0][1]
            self.used.add(path)
            self.fields[key] = path
        return self.fields.get(key)


def _iso(value):
    return isinstance(value, str) and bool(_ISO_RE.match(value.strip()))


def _hex64(value):
    return isinstance(value, str) and bool(_HEX64_RE.match(value.strip()))


def guess_fields(objects, keys, known):
    """Collection key -> path, for the keys whose value could be recognised in ``objects``."""
    picker = _Picker(objects)
    certificates = known.get("certificates") or set()
    requester_ids = known.get("requester_ids") or set()
    if "certificate" in keys:
        picker.pick("certificate", is_pfx, prefer=lambda v: v in certificates)
    if "name" in keys:
        picker.pick("name", is_pfx, prefer=lambda v: v in certificates)
    if "services" in keys:
        if not picker.pick("services", is_services):
            picker.pick("services", lambda v: v == [], hint=SERVICES_HINT)
    if "requester_id" in keys:
        if not (requester_ids and picker.pick(
                "requester_id", lambda v: is_scalar(v) and str(v).strip() in requester_ids)):
            picker.pick("requester_id", lambda v: is_scalar(v) and not is_cpf(v), hint=REQUESTER_HINT)
    if "enabled_at" in keys:
        picker.pick("enabled_at", _iso, hint=_ENABLED_AT_HINT)
    if "not_after" in keys:
        picker.pick("not_after", _iso, hint=_NOT_AFTER_HINT, avoid=_ENABLED_AT_HINT)
    if "modified" in keys:
        picker.pick("modified", _iso, hint=_MODIFIED_HINT)
    if "size" in keys:
        picker.pick("size", lambda v: isinstance(v, int) and not isinstance(v, bool), hint=_SIZE_HINT)
    if "fingerprint_sha256" in keys:
        picker.pick("fingerprint_sha256", _hex64, hint=_FINGERPRINT_HINT)
    for key in ("file_sha256", "sha256"):
        if key in keys:
            picker.pick(key, _hex64, hint=_FILE_HASH_HINT, avoid=_FINGERPRINT_HINT)
    return dict((key, picker.fields[key]) for key in keys if key in picker.fields)


# -- variables --------------------------------------------------------------------------------
def template_variables(variables, known, dropped, literals, prefix=""):
    """Replace the values typed in the form with placeholders; drop CPFs and tokens."""
    out = {}
    for key, value in (variables or {}).items():
        path = prefix + str(key)
        name = norm(key)
        if isinstance(value, dict):
            out[key] = template_variables(value, known, dropped, literals, path + ".")
        elif isinstance(value, list):
            if is_services(value) or (value == [] and SERVICES_HINT.search(name)):
                out[key] = "$services"
            elif any(isinstance(v, (dict, list)) for v in value):
                dropped.append({"path": path, "why": "lista de objetos nas variáveis: confira à mão"})
            else:
                literals[path] = value
                out[key] = value
        elif PASSWORD_KEY_RE.search(name) and value not in (None, ""):
            out[key] = "$password"
        elif is_pfx(value) or (isinstance(value, str) and value in known.get("certificates", ())):
            out[key] = "$certificate"
        elif REQUESTER_HINT.search(name) or (
                is_scalar(value) and str(value).strip() in known.get("requester_option", ())):
            out[key] = "$requester_id"
        elif is_cpf(value) or CPF_KEY_RE.search(name):
            dropped.append({"path": path, "why": "CPF/usuário da captura: retirado"})
        elif TOKEN_KEY_RE.search(name):
            dropped.append({"path": path, "why": "token/cookie da captura: retirado"})
        else:
            if value is not None:
                literals[path] = value
            out[key] = value
    return out


def _flat_variables(node, prefix=""):
    out = []
    if isinstance(node, dict):
        for key, value in node.items():
            out.append((prefix + str(key), value))
            out.extend(_flat_variables(value, prefix + str(key) + "."))
    elif isinstance(node, list):
        for value in node:
            out.extend(_flat_variables(value, prefix))
    return out


# -- classification ---------------------------------------------------------------------------
def known_values(calls, certificate, requester_id):
    certificates, requester_ids, services = set(), set(), {}
    if certificate:
        certificates.add(certificate)
    if requester_id not in (None, ""):
        requester_ids.add(str(requester_id).strip())
    for call in calls:
        if call["type"] != "mutation":
            continue
        for path, value in _flat_variables(call["variables"]):
            if is_pfx(value):
                certificates.add(value.strip())
            elif REQUESTER_HINT.search(last_step(path)) and is_scalar(value) and str(value).strip():
                requester_ids.add(str(value).strip())
    for call in calls:
        for node in (call["variables"], call["data"]):
            for _path, value in _flat_variables(node):
                if is_services(value):
                    for item in value:
                        services.setdefault(item.strip().lower(), item.strip())
            for _path, value in flatten(node or {}):
                if is_services(value):
                    for item in value:
                        services.setdefault(item.strip().lower(), item.strip())
    return {"certificates": certificates, "requester_ids": requester_ids,
            "requester_option": {str(requester_id).strip()} if requester_id not in (None, "") else set(),
            "services": services}


def classify_mutation(calls, known):
    pairs = [pair for call in calls for pair in _flat_variables(call["variables"])]
    password = [p for p, v in pairs if PASSWORD_KEY_RE.search(last_step(p)) and is_scalar(v) and str(v) != ""]
    files = [p for p, v in pairs if is_pfx(v) or (isinstance(v, str) and v in known["certificates"])]
    if password and files:
        return "enable", ("mutação com chave de senha (%s) e arquivo .pfx/.p12 (%s) nas variáveis"
                          % (password[0], files[0]))
    text = norm(" ".join([calls[0]["name"] or ""] + list(calls[0]["roots"])))
    match = _DISABLE_HINT.search(text)
    if match:
        return "disable", "mutação cujo nome contém \"%s\"" % match.group()
    return None, "mutação sem senha + arquivo .pfx/.p12 nas variáveis e sem desabilit/disable/remov no nome"


def classify_root(root, values, name, client_versions):
    """[(key, result path, why)] for one root field of a query, or ([], why) when it fits nothing."""
    present = [v for v in values if v is not None]
    for value in present:
        path = _find(value, _file_list, root)
        if path:
            items = get_path({root: value}, path)
            if any(is_services(v) or (isinstance(v, str) and v.strip().upper() in SERVICE_VALUES)
                   for item in items if isinstance(item, dict) for _path, v in flatten(item)):
                return [], ("lista com arquivo .pfx/.p12 e serviços em cada item (estado por serviço): o formato 1 "
                            "do contrato não representa; ajuste à mão")
            return [("list_files", path, "resposta com uma lista de objetos com nome .pfx/.p12 (%s)" % path)], None
    found = []
    for value in present:
        path = _find(value, lambda v: isinstance(v, str) and bool(CONTRA_CHAVE_RE.match(v.strip())), root)
        if path:
            found.append(("contra_chave", path, "resposta com um texto no formato da contra-chave (%s)" % path))
            break
    for value in present:
        pairs = flatten(value) if isinstance(value, dict) else []
        if any(is_pfx(v) for _path, v in pairs) or any(is_services(v) for _path, v in pairs):
            found.append(("read_state", root, "resposta com o nome do certificado .pfx/.p12 ou a lista de serviços"))
            break
        if any(isinstance(v, list) and SERVICES_HINT.search(last_step(p)) for p, v in pairs):
            found.append(("read_state", root, "resposta com uma lista de serviços (vazia: nada habilitado ainda)"))
            break
    for value in present:
        path = _find(value, lambda v: isinstance(v, str) and bool(_VERSION_RE.match(v.strip())), root)
        if path and (get_path({root: value}, path) in client_versions or _VERSION_HINT.search(last_step(path))
                     or _VERSION_HINT.search(norm(root))):
            found.append(("version", path, "resposta com a versão do PEC (%s)" % path))
            break
    if not found and not present and _STATE_NAME_HINT.search(norm("%s %s" % (name or "", root))):
        found.append(("read_state", root, "resposta vazia (null), mas o nome lembra o estado do certificado"))
    if found:
        return found, None
    return [], "a resposta não tem arquivo .pfx/.p12, serviços, contra-chave nem versão"


def error_rules(calls, report):
    rules = []
    by_classification = {}
    for call in calls:
        for error in call["errors"]:
            classification = (error.get("extensions") or {}).get("classification")
            message = error.get("message") if isinstance(error.get("message"), str) else ""
            code = pattern = None
            for rule_code, rule_pattern in ERROR_RULES:
                if message and re.search(rule_pattern, message, re.IGNORECASE):
                    code, pattern = rule_code, rule_pattern
                    break
            if not isinstance(classification, str) or classification == "ValidationError" or not code:
                report["unclassified_errors"].append({
                    "operation": call["name"], "classification": classification,
                    "message": message[:MAX_MESSAGE],
                    "why": ("a operação ou um campo não existe neste PEC (ValidationError): confira o documento"
                            if classification == "ValidationError" else
                            "sem classification" if not isinstance(classification, str) else
                            "mensagem sem palavra conhecida (senha, não encontrado, expirado, identificador...)"),
                })
                continue
            by_classification.setdefault(classification, []).append((code, pattern))
    for classification, found in by_classification.items():
        codes = []
        for code, pattern in found:
            if (code, pattern) not in codes:
                codes.append((code, pattern))
        specific = len(set(c for c, _pattern in codes)) == 1 and not _GENERIC_CLASSIFICATION_RE.match(classification)
        for code, pattern in codes:
            rule = {"classification": classification, "code": code}
            if not specific:
                rule["message"] = pattern
            if rule not in rules:
                rules.append(rule)
    return rules


def access_from_sessao(calls):
    """access dict from a captured Sessao answer, or (None, why)."""
    for call in calls:
        sessao = (call["data"] or {}).get("sessao")
        acessos = get_path(sessao, "profissional.acessos") if isinstance(sessao, dict) else None
        if not isinstance(acessos, list):
            continue
        for item in acessos:
            if not isinstance(item, dict):
                continue
            tipo = item.get("tipo")
            typename = item.get("__typename")
            admin = isinstance(tipo, str) and "MUNICIPAL" in tipo.upper() and "ADMIN" in tipo.upper()
            if not admin and not (isinstance(typename, str) and "administradormunicipal" in norm(typename)):
                continue
            pairs = [(p, v) for p, v in flatten(item) if "." in p and last_step(p) != "id"]
            ibge = [p for p, v in pairs if is_scalar(v) and _IBGE_RE.match(str(v).strip())]
            ibge.sort(key=lambda p: 0 if "ibge" in last_step(p) else 1)
            if not ibge or not isinstance(tipo, str):
                continue
            parent = ibge[0].rsplit(".", 1)[0]
            nome = [p for p, v in pairs if p.rsplit(".", 1)[0] == parent and last_step(p) == "nome" and isinstance(v, str)]
            paths = [ibge[0]] + nome[:1]
            selection = _selection(paths)
            type_name = typename if isinstance(typename, str) and typename else _fragment_type(
                call["document"], paths[0].split(".")[0])
            fields = "... on %s { %s }" % (type_name, selection) if type_name else selection
            access = {"fields": fields, "tipo": tipo, "ibge": ibge[0]}
            if nome:
                access["nome"] = nome[0]
            return access, "resposta de Sessao com acesso %s e código IBGE em %s" % (tipo, ibge[0])
    return None, "sem resposta de Sessao com um acesso de Administrador Municipal e um código IBGE (7 dígitos)"


def _selection(paths):
    tree = {}
    for path in paths:
        node = tree
        for step in path.split("."):
            node = node.setdefault(step, {})

    def render(node):
        return " ".join(k if not v else "%s { %s }" % (k, render(v)) for k, v in node.items())
    return render(tree)


def _fragment_type(document, first_step):
    text = strip_strings(document or "")
    for match in re.finditer(r"\.\.\.\s*on\s+([_A-Za-z][_0-9A-Za-z]*)\s*\{", text):
        depth, index = 1, match.end()
        while index < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            index += 1
        if re.search(r"\b%s\b" % re.escape(first_step), text[match.end():index]):
            return match.group(1)
    return None
