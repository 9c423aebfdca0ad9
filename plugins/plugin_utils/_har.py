# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (not a public API): turn a browser HAR capture of the PEC into a contract.

Used by the action plugin esus.rnds.pec_contract_from_har (controller only). A team opens its
PEC in a browser, does Gestão municipal > Certificados > Habilitar with the developer tools
open and saves the Network tab "as HAR". This file reads that capture, drops the session
operations the collection already knows (Login, Sessao, SelecionarAcesso, Logout: they are in
``module_utils/_pec_api.py``), guesses which captured operation is which operation of the
contract (``module_utils/_pec_contract.py``), turns the values typed in the form into
placeholders ($certificate, $password, $requester_id, $services) and guesses where each value
sits in the answers. Whatever it cannot place comes from a base contract, and the report says so.

It never keeps a secret: every value under a password-like key anywhere in the capture, every
cookie, token and XSRF value and every CPF-looking value is collected first, and
:func:`find_leaks` refuses a contract (or its rendered text) that still contains any of them.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
from urllib.parse import urlsplit

import yaml

from ansible_collections.esus.rnds.plugins.module_utils._pec_contract import (
    CONTRACT_FORMAT, ContractError, FILE_KEYS, STATE_KEYS, operation_name, validate_contract,
)

# Session documents confirmed and kept in code (PEC-FACTS.md 2, 8, 9): never copied.
SESSION_OPERATIONS = frozenset(("Login", "Logout", "Sessao", "SelecionarAcesso"))
SESSION_ROOTS = frozenset(("login", "logout", "sessao", "selecionarAcesso"))
SERVICE_VALUES = ("RNDS", "CADSUS")
MAX_MESSAGE = 200
MASK = "********"

# Keys whose values are secrets. Matched on the key without accents, lower case.
_PASSWORD_KEY_RE = re.compile(r"senha|password|passwd|passphrase|^pass$|^pwd$|pass$")
_TOKEN_KEY_RE = re.compile(r"token|xsrf|csrf|cookie|jsessionid|sessionid|session_id|authorization|secret|jwt|bearer"
                           r"|apikey|api_key")
_CPF_KEY_RE = re.compile(r"cpf|username|usuario|^login$")
_SECRET_HEADERS = frozenset(("cookie", "set-cookie", "authorization", "proxy-authorization"))
# Key hints (on the last step of a path, without accents, lower case).
_REQUESTER_HINT = re.compile(r"identificador|solicitante|requester")
_SERVICES_HINT = re.compile(r"servic")
_ENABLED_AT_HINT = re.compile(r"habilit|enabled|ativad|desde|inicio")
_NOT_AFTER_HINT = re.compile(r"valid|venc|expir|notafter|not_after|fim")
_MODIFIED_HINT = re.compile(r"modific|alterad|atualiz|modified|update|lastmod")
_SIZE_HINT = re.compile(r"tamanho|size|bytes|length")
_FINGERPRINT_HINT = re.compile(r"fingerprint|impress|digital|thumb")
_FILE_HASH_HINT = re.compile(r"sha|hash|checksum")
_VERSION_HINT = re.compile(r"^(versao|version|info)$")
_DISABLE_HINT = re.compile(r"desabilit|disable|remov")
_STATE_NAME_HINT = re.compile(r"certificad|rnds|habilitac")
# Values.
_PFX_RE = re.compile(r"\.(pfx|p12)$", re.IGNORECASE)
_CONTRA_CHAVE_RE = re.compile(r"^[0-9A-Za-z]{4}(?:-[0-9A-Za-z]{4}){7}$")
_HEX64_RE = re.compile(r"^(?:[0-9A-Fa-f]{64}|[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){31})$")
_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
_CPF_RE = re.compile(r"^(?:\d{11}|\d{3}\.\d{3}\.\d{3}-\d{2})$")
_IBGE_RE = re.compile(r"^\d{7}$")
_VERSION_RE = re.compile(r"^\d+\.\d+(?:\.\d+)*(?:[-+][0-9A-Za-z.-]+)?$")
_TYPE_RE = re.compile(r"^\s*(query|mutation|subscription)\b")
_STRING_RE = re.compile(r'"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"')
_INLINE_PASSWORD_RE = re.compile(
    r'([_A-Za-z][_0-9A-Za-z]*)\s*:\s*("""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*")')
_TOKEN_RE = re.compile(r'[{}()@:]|\.\.\.|[_A-Za-z][_0-9A-Za-z]*')
_GENERATED_LINE_RE = re.compile(r"^# Gerado em: .*$", re.MULTILINE)
_STOP_VALUES = frozenset(("", "true", "false", "null", "none", "undefined", "0", "1", "yes", "no", "on", "off"))

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

HEURISTICS = (
    "Login, Logout, Sessao e SelecionarAcesso (pelo nome da operação ou pelo campo raiz) são da sessão, já estão "
    "no código e nunca são copiados; a resposta de Sessao só serve para achar o acesso de Administrador Municipal.",
    "mutação cujas variáveis têm uma chave de senha (senha/password/pass) e um nome de arquivo .pfx/.p12 -> enable.",
    "mutação cujo nome (ou campo raiz) contém desabilit/disable/remov -> disable.",
    "consulta cuja resposta tem uma lista de objetos com um nome .pfx/.p12 -> list_files (uma lista por serviço, "
    "com RNDS/CADSUS nos itens, não é representável e fica em unmapped).",
    "consulta cuja resposta tem um texto no formato da contra-chave (8 grupos de 4 [0-9A-Za-z] com '-') -> "
    "contra_chave (result aponta para esse texto).",
    "consulta cuja resposta tem um nome .pfx/.p12 ou uma lista de serviços (RNDS/CADSUS) -> read_state; com "
    "resposta vazia (null), um nome com certificad/rnds/habilitac também -> read_state, sem fields.",
    "consulta cuja resposta tem versao/version com um número de versão -> version.",
    "Cada campo raiz de uma consulta é examinado à parte: um só documento pode servir a várias operações.",
    "fields pelos valores: .pfx/.p12 -> certificate/name; lista de RNDS/CADSUS -> services; o identificador "
    "informado ou visto em Habilitar -> requester_id; datas ISO e hashes de 64 hex pelos nomes das chaves "
    "(habilit -> enabled_at; valid/venc/expir -> not_after; modific/alterad -> modified; fingerprint/impress -> "
    "fingerprint_sha256; sha/hash -> file_sha256/sha256; tamanho/size -> size). Uma resposta de estado com "
    "valores null (lida antes do Habilitar) usa o caminho que outra operação de estado mostrou para a mesma chave.",
    "variables: chave de senha -> $password; texto .pfx/.p12 (ou o certificate informado) -> $certificate; chave "
    "identificador/solicitante (ou o requester_id informado) -> $requester_id; lista de RNDS/CADSUS -> $services; "
    "CPF, tokens e cookies são retirados; outros valores fixos ficam e são listados em literals.",
    "Operação sem os mínimos (list_files: name; read_state: certificate e services; enable/disable: algum campo) "
    "vem do contrato base, e o relatório diz por quê.",
    "Erros: extensions.classification com mensagem de senha, não encontrado, expirado, identificador... viram "
    "regras errors; os outros ficam em unclassified_errors.",
)


class HarError(ValueError):
    """A capture that cannot be turned into a contract: the message (pt-BR) says why and what to do."""


def _norm(text):
    text = unicodedata.normalize("NFKD", str(text))
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def _last(path):
    return _norm(path.rsplit(".", 1)[-1])


def _is_scalar(value):
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _is_cpf(value):
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        value = str(value)
    return isinstance(value, str) and bool(_CPF_RE.match(value.strip()))


def _is_pfx(value):
    return isinstance(value, str) and bool(_PFX_RE.search(value.strip()))


def _is_services(value):
    return isinstance(value, list) and bool(value) and all(
        isinstance(v, str) and v.strip().upper() in SERVICE_VALUES for v in value)


def _json_loads(text):
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


# -- secrets ----------------------------------------------------------------------------------
class Secrets:
    """Values that must never reach the contract, the report or a message, with their kind."""

    def __init__(self):
        self.values = {}

    def add(self, value, kind):
        if value is None or isinstance(value, (bool, dict, list)):
            return
        text = str(value).strip()
        if text.lower() in _STOP_VALUES:
            return
        self.values.setdefault(text, kind)
        if kind == "CPF":
            digits = re.sub(r"\D", "", text)
            self.values.setdefault(digits, kind)
            self.values.setdefault("%s.%s.%s-%s" % (digits[:3], digits[3:6], digits[6:9], digits[9:]), kind)

    def add_cookie_header(self, header, kind="cookie"):
        for part in re.split(r"[;,]", header or ""):
            if "=" in part:
                self.add(part.split("=", 1)[1], kind)
        self.add(header, kind)

    def walk(self, node, key=None):
        """Collect secrets from parsed JSON (request variables, answers, anything)."""
        if isinstance(node, dict):
            for child_key, child in node.items():
                self._leaf(str(child_key), child)
                self.walk(child, child_key)
        elif isinstance(node, list):
            for child in node:
                self.walk(child, key)
        elif isinstance(node, str):
            if _is_cpf(node):
                self.add(node, "CPF")
            elif _CONTRA_CHAVE_RE.match(node.strip()):
                self.add(node, "contra-chave")
        elif isinstance(node, int) and _is_cpf(node):
            self.add(node, "CPF")

    def _leaf(self, key, value):
        if not _is_scalar(value):
            return
        name = _norm(key)
        if _PASSWORD_KEY_RE.search(name):
            self.add(value, "senha")
        elif _TOKEN_KEY_RE.search(name):
            self.add(value, "token/cookie")
        elif _CPF_KEY_RE.search(name) and _is_cpf(value):
            self.add(value, "CPF")

    def document(self, text):
        """Literal arguments with a password-like name inside a GraphQL document."""
        for match in _INLINE_PASSWORD_RE.finditer(text or ""):
            if _PASSWORD_KEY_RE.search(_norm(match.group(1))) or _TOKEN_KEY_RE.search(_norm(match.group(1))):
                raw = match.group(2)
                self.add(raw[3:-3] if raw.startswith('"""') else _json_loads(raw) or raw[1:-1], "senha")

    def _hits(self, text):
        kinds = set()
        for value, kind in self.values.items():
            minimum = 4 if kind == "senha" else 11 if kind == "CPF" else 8
            if value == text or (len(value) >= minimum and value in text):
                kinds.add(kind)
        return kinds

    def in_text(self, text):
        return self._hits(text)

    def in_leaf(self, text):
        return self._hits(text)

    def scrub(self, text):
        for value, kind in sorted(self.values.items(), key=lambda item: -len(item[0])):
            minimum = 4 if kind == "senha" else 11 if kind == "CPF" else 8
            if text == value or (len(value) >= minimum and value in text):
                text = text.replace(value, MASK)
        return text


def collect_secrets(har):
    """Every secret of the capture: passwords, cookies, tokens, XSRF values, CPFs, contra-chaves."""
    secrets = Secrets()
    for entry in _entries(har):
        for part in ("request", "response"):
            message = entry.get(part) or {}
            for header in message.get("headers") or []:
                if not isinstance(header, dict):
                    continue
                name = str(header.get("name") or "").lower()
                value = header.get("value")
                if name in ("cookie", "set-cookie"):
                    secrets.add_cookie_header(value)
                elif name in _SECRET_HEADERS or _TOKEN_KEY_RE.search(name):
                    secrets.add(value, "token/cookie")
                    if isinstance(value, str) and " " in value.strip():
                        secrets.add(value.strip().split(None, 1)[1], "token/cookie")
            for cookie in message.get("cookies") or []:
                if isinstance(cookie, dict):
                    secrets.add(cookie.get("value"), "token/cookie")
            for param in (message.get("queryString") or []) + ((message.get("postData") or {}).get("params") or []):
                if isinstance(param, dict):
                    secrets._leaf(str(param.get("name") or ""), param.get("value"))  # pylint: disable=protected-access
            if part == "request":
                text = (message.get("postData") or {}).get("text")
            else:
                text = _content_text(message)
            parsed = _json_loads(text) if text else None
            if parsed is not None:
                secrets.walk(parsed)
                for body in parsed if isinstance(parsed, list) else [parsed]:
                    if isinstance(body, dict) and isinstance(body.get("query"), str):
                        secrets.document(body["query"])
            elif isinstance(text, str):
                for match in re.finditer(r"(?:^|[&?])([^=&]+)=([^&]*)", text):
                    secrets._leaf(match.group(1), match.group(2))  # pylint: disable=protected-access
    return secrets


# -- HAR reading ------------------------------------------------------------------------------
def load_har(raw, source="HAR"):
    """Parse the bytes of a HAR file; raise HarError (pt-BR) when it is not one."""
    try:
        har = json.loads(raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise HarError("%s não é um arquivo HAR (JSON) legível: %s. No navegador, use Ferramentas do "
                       "desenvolvedor > Rede > \"Salvar tudo como HAR\"." % (source, str(exc).split(":", maxsplit=1)[0]))
    if not isinstance(har, dict) or not isinstance(har.get("log"), dict) or not isinstance(
            har["log"].get("entries"), list):
        raise HarError("%s não tem log.entries: não parece um HAR salvo pelo navegador (Ferramentas do "
                       "desenvolvedor > Rede > \"Salvar tudo como HAR\")." % source)
    return har


def _entries(har):
    return [e for e in (har.get("log") or {}).get("entries") or [] if isinstance(e, dict)]


def _content_text(response):
    content = (response or {}).get("content") or {}
    text = content.get("text")
    if not isinstance(text, str):
        return None
    if str(content.get("encoding") or "").lower() == "base64":
        try:
            return base64.b64decode(text).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return None
    return text


def _header(message, name):
    for header in (message or {}).get("headers") or []:
        if isinstance(header, dict) and str(header.get("name") or "").lower() == name:
            return header.get("value")
    return None


def _strip_strings(document):
    return _STRING_RE.sub('""', document or "")


def root_fields(document):
    """Response keys (aliases included) of the top selection set of a GraphQL document."""
    text = _strip_strings(document)
    start = None
    paren = 0
    for index, char in enumerate(text):
        if char == "(":
            paren += 1
        elif char == ")":
            paren -= 1
        elif char == "{" and paren == 0:
            start = index
            break
    if start is None:
        return []
    fields, depth, paren, skip_next, alias = [], 0, 0, False, False
    for match in _TOKEN_RE.finditer(text[start:]):
        token = match.group()
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
            if depth == 0:
                break
        elif token == "(":
            paren += 1
        elif token == ")":
            paren -= 1
        elif depth != 1 or paren:
            continue
        elif token == "@" or token == "...":
            skip_next = True
        elif token == ":":
            alias = True
        elif skip_next:
            skip_next = False
        elif alias:
            alias = False
        elif token != "__typename":
            fields.append(token)
    return fields


def _collapse(document):
    """One-line document: whitespace runs outside string literals become one space."""
    out, last = [], 0
    for match in _STRING_RE.finditer(document):
        out.append(re.sub(r"[\s,]*\s[\s,]*", " ", document[last:match.start()]))
        out.append(match.group())
        last = match.end()
    out.append(re.sub(r"[\s,]*\s[\s,]*", " ", document[last:]))
    return "".join(out).strip()


def graphql_calls(har):
    """Every GraphQL call of the capture: name, type, document, variables, data, errors, headers."""
    calls = []
    for number, entry in enumerate(_entries(har), 1):
        request = entry.get("request") or {}
        if str(request.get("method") or "").upper() != "POST":
            continue
        if not urlsplit(str(request.get("url") or "")).path.rstrip("/").endswith("/graphql"):
            continue
        body = _json_loads((request.get("postData") or {}).get("text"))
        answer = _json_loads(_content_text(entry.get("response")))
        bodies = body if isinstance(body, list) else [body]
        answers = answer if isinstance(answer, list) else [answer] * len(bodies) if len(bodies) == 1 else []
        version = _header(request, "apollographql-client-version")
        for index, item in enumerate(bodies):
            if not isinstance(item, dict) or not isinstance(item.get("query"), str):
                continue
            reply = answers[index] if index < len(answers) and isinstance(answers[index], dict) else {}
            document = item["query"]
            type_match = _TYPE_RE.match(_strip_strings(document))
            data = reply.get("data") if isinstance(reply.get("data"), dict) else None
            calls.append({
                "entry": number,
                "name": item.get("operationName") or operation_name(document),
                "type": type_match.group(1) if type_match else ("query" if document.lstrip().startswith("{")
                                                                else None),
                "document": document,
                "variables": item.get("variables") if isinstance(item.get("variables"), dict) else {},
                "data": data,
                "errors": [e for e in reply.get("errors") or [] if isinstance(e, dict)],
                "roots": list(data) if data else root_fields(document),
                "client_version": version if isinstance(version, str) else None,
                "started": entry.get("startedDateTime"),
                "answered": bool(reply),
            })
    return calls


# -- value search -----------------------------------------------------------------------------
def _flatten(node, prefix="", depth=0):
    """(dotted path, value) of every leaf reachable through dicts (lists are leaves)."""
    out = []
    if not isinstance(node, dict) or depth > 5:
        return out
    for key, value in node.items():
        if key == "__typename" or not re.match(r"^[_A-Za-z][_0-9A-Za-z]*$", str(key)):
            continue
        path = prefix + key
        if isinstance(value, dict):
            out.extend(_flatten(value, path + ".", depth + 1))
        else:
            out.append((path, value))
    return out


def _paths(objects):
    """path -> all values seen at that path, in first-seen order of paths."""
    seen = {}
    for obj in objects:
        for path, value in _flatten(obj):
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
    return any(_is_pfx(v) for item in items for _path, v in _flatten(item))


def _get(node, path):
    for step in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(step)
    return node


class _Picker:
    def __init__(self, objects):
        self.paths = _paths(objects)
        self.used = set()
        self.fields = {}

    def pick(self, key, predicate=None, hint=None, avoid=None, prefer=None, allow_null=True):
        candidates = []
        for path, values in self.paths.items():
            if path in self.used:
                continue
            name = _last(path)
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
        picker.pick("certificate", _is_pfx, prefer=lambda v: v in certificates)
    if "name" in keys:
        picker.pick("name", _is_pfx, prefer=lambda v: v in certificates)
    if "services" in keys:
        if not picker.pick("services", _is_services):
            picker.pick("services", lambda v: v == [], hint=_SERVICES_HINT)
    if "requester_id" in keys:
        if not (requester_ids and picker.pick(
                "requester_id", lambda v: _is_scalar(v) and str(v).strip() in requester_ids)):
            picker.pick("requester_id", lambda v: _is_scalar(v) and not _is_cpf(v), hint=_REQUESTER_HINT)
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
        name = _norm(key)
        if isinstance(value, dict):
            out[key] = template_variables(value, known, dropped, literals, path + ".")
        elif isinstance(value, list):
            if _is_services(value) or (value == [] and _SERVICES_HINT.search(name)):
                out[key] = "$services"
            elif any(isinstance(v, (dict, list)) for v in value):
                dropped.append({"path": path, "why": "lista de objetos nas variáveis: confira à mão"})
            else:
                literals[path] = value
                out[key] = value
        elif _PASSWORD_KEY_RE.search(name) and value not in (None, ""):
            out[key] = "$password"
        elif _is_pfx(value) or (isinstance(value, str) and value in known.get("certificates", ())):
            out[key] = "$certificate"
        elif _REQUESTER_HINT.search(name) or (
                _is_scalar(value) and str(value).strip() in known.get("requester_option", ())):
            out[key] = "$requester_id"
        elif _is_cpf(value) or _CPF_KEY_RE.search(name):
            dropped.append({"path": path, "why": "CPF/usuário da captura: retirado"})
        elif _TOKEN_KEY_RE.search(name):
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
def _known_values(calls, certificate, requester_id):
    certificates, requester_ids, services = set(), set(), {}
    if certificate:
        certificates.add(certificate)
    if requester_id not in (None, ""):
        requester_ids.add(str(requester_id).strip())
    for call in calls:
        if call["type"] != "mutation":
            continue
        for path, value in _flat_variables(call["variables"]):
            if _is_pfx(value):
                certificates.add(value.strip())
            elif _REQUESTER_HINT.search(_last(path)) and _is_scalar(value) and str(value).strip():
                requester_ids.add(str(value).strip())
    for call in calls:
        for node in (call["variables"], call["data"]):
            for _path, value in _flat_variables(node):
                if _is_services(value):
                    for item in value:
                        services.setdefault(item.strip().lower(), item.strip())
            for _path, value in _flatten(node or {}):
                if _is_services(value):
                    for item in value:
                        services.setdefault(item.strip().lower(), item.strip())
    return {"certificates": certificates, "requester_ids": requester_ids,
            "requester_option": {str(requester_id).strip()} if requester_id not in (None, "") else set(),
            "services": services}


def _is_session(call):
    return call["name"] in SESSION_OPERATIONS or bool(set(call["roots"]) & SESSION_ROOTS)


def _classify_mutation(calls, known):
    pairs = [pair for call in calls for pair in _flat_variables(call["variables"])]
    password = [p for p, v in pairs if _PASSWORD_KEY_RE.search(_last(p)) and _is_scalar(v) and str(v) != ""]
    files = [p for p, v in pairs if _is_pfx(v) or (isinstance(v, str) and v in known["certificates"])]
    if password and files:
        return "enable", ("mutação com chave de senha (%s) e arquivo .pfx/.p12 (%s) nas variáveis"
                          % (password[0], files[0]))
    text = _norm(" ".join([calls[0]["name"] or ""] + list(calls[0]["roots"])))
    match = _DISABLE_HINT.search(text)
    if match:
        return "disable", "mutação cujo nome contém \"%s\"" % match.group()
    return None, "mutação sem senha + arquivo .pfx/.p12 nas variáveis e sem desabilit/disable/remov no nome"


def _classify_root(root, values, name, client_versions):
    """[(key, result path, why)] for one root field of a query, or ([], why) when it fits nothing."""
    present = [v for v in values if v is not None]
    for value in present:
        path = _find(value, _file_list, root)
        if path:
            items = _get({root: value}, path)
            if any(_is_services(v) or (isinstance(v, str) and v.strip().upper() in SERVICE_VALUES)
                   for item in items if isinstance(item, dict) for _path, v in _flatten(item)):
                return [], ("lista com arquivo .pfx/.p12 e serviços em cada item (estado por serviço): o formato 1 "
                            "do contrato não representa; ajuste à mão")
            return [("list_files", path, "resposta com uma lista de objetos com nome .pfx/.p12 (%s)" % path)], None
    found = []
    for value in present:
        path = _find(value, lambda v: isinstance(v, str) and bool(_CONTRA_CHAVE_RE.match(v.strip())), root)
        if path:
            found.append(("contra_chave", path, "resposta com um texto no formato da contra-chave (%s)" % path))
            break
    for value in present:
        pairs = _flatten(value) if isinstance(value, dict) else []
        if any(_is_pfx(v) for _path, v in pairs) or any(_is_services(v) for _path, v in pairs):
            found.append(("read_state", root, "resposta com o nome do certificado .pfx/.p12 ou a lista de serviços"))
            break
        if any(isinstance(v, list) and _SERVICES_HINT.search(_last(p)) for p, v in pairs):
            found.append(("read_state", root, "resposta com uma lista de serviços (vazia: nada habilitado ainda)"))
            break
    for value in present:
        path = _find(value, lambda v: isinstance(v, str) and bool(_VERSION_RE.match(v.strip())), root)
        if path and (_get({root: value}, path) in client_versions or _VERSION_HINT.search(_last(path))
                     or _VERSION_HINT.search(_norm(root))):
            found.append(("version", path, "resposta com a versão do PEC (%s)" % path))
            break
    if not found and not present and _STATE_NAME_HINT.search(_norm("%s %s" % (name or "", root))):
        found.append(("read_state", root, "resposta vazia (null), mas o nome lembra o estado do certificado"))
    if found:
        return found, None
    return [], "a resposta não tem arquivo .pfx/.p12, serviços, contra-chave nem versão"


def _errors(calls, report):
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


def _access_from_sessao(calls):
    """access dict from a captured Sessao answer, or (None, why)."""
    for call in calls:
        sessao = (call["data"] or {}).get("sessao")
        acessos = _get(sessao, "profissional.acessos") if isinstance(sessao, dict) else None
        if not isinstance(acessos, list):
            continue
        for item in acessos:
            if not isinstance(item, dict):
                continue
            tipo = item.get("tipo")
            typename = item.get("__typename")
            admin = isinstance(tipo, str) and "MUNICIPAL" in tipo.upper() and "ADMIN" in tipo.upper()
            if not admin and not (isinstance(typename, str) and "administradormunicipal" in _norm(typename)):
                continue
            pairs = [(p, v) for p, v in _flatten(item) if "." in p and _last(p) != "id"]
            ibge = [p for p, v in pairs if _is_scalar(v) and _IBGE_RE.match(str(v).strip())]
            ibge.sort(key=lambda p: 0 if "ibge" in _last(p) else 1)
            if not ibge or not isinstance(tipo, str):
                continue
            parent = ibge[0].rsplit(".", 1)[0]
            nome = [p for p, v in pairs if p.rsplit(".", 1)[0] == parent and _last(p) == "nome" and isinstance(v, str)]
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
    text = _strip_strings(document or "")
    for match in re.finditer(r"\.\.\.\s*on\s+([_A-Za-z][_0-9A-Za-z]*)\s*\{", text):
        depth, index = 1, match.end()
        while index < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            index += 1
        if re.search(r"\b%s\b" % re.escape(first_step), text[match.end():index]):
            return match.group(1)
    return None


# -- the contract -----------------------------------------------------------------------------
def _plain(value):
    return json.loads(json.dumps(value))


def build_contract(har, base, name, base_name="modelo", certificate=None, requester_id=None):
    """(contract, report) from a parsed HAR and a checked base contract. Raises HarError."""
    calls = graphql_calls(har)
    if not calls:
        raise HarError(
            "a captura não tem nenhum pedido POST .../api/graphql: grave o HAR com a aba Rede aberta (marque "
            "\"Preservar log\") ANTES de entrar no PEC e de abrir Gestão municipal > Certificados, e salve com "
            "\"Salvar tudo como HAR\" (com conteúdo).")
    report = {"operations": [], "unmapped": [], "from_base": [], "unclassified_errors": [], "dropped": [],
              "literals": {}, "warnings": []}
    versions = sorted(set(c["client_version"] for c in calls if c["client_version"]))
    session = [c for c in calls if _is_session(c)]
    others = [c for c in calls if not _is_session(c)]
    known = _known_values(others, certificate, requester_id)
    silent = sorted(set(c["name"] or "?" for c in others if not c["answered"]))
    if silent:
        report["warnings"].append(
            "o HAR não tem a resposta de %s: sem resposta não dá para achar result/fields. Salve o HAR com o "
            "conteúdo das respostas (Chrome: \"Salvar tudo como HAR com conteúdo\")" % ", ".join(silent))
    groups = {}
    for call in others:
        if not call["name"]:
            report["unmapped"].append({"name": None, "type": call["type"], "entry": call["entry"],
                                       "why": "documento sem nome de operação: o contrato exige query/mutation Nome"})
            continue
        groups.setdefault(call["name"], []).append(call)

    candidates = {}  # key -> list of candidate dicts
    for op_name, group in groups.items():
        kind = group[0]["type"]
        entry = group[0]["entry"]
        if kind == "mutation":
            key, why = _classify_mutation(group, known)
            if key is None:
                report["unmapped"].append({"name": op_name, "type": kind, "entry": entry, "why": why})
                continue
            with_data = [c for c in group if c["data"]]
            chosen = ([c for c in group if c["data"] and not c["errors"]] or with_data or group)[0]
            roots = chosen["roots"]
            root = roots[0] if len(roots) == 1 else None
            if root is None:
                report["unmapped"].append({"name": op_name, "type": kind, "entry": entry,
                                           "why": "%s; mas a resposta tem %d campos raiz, o contrato lê um"
                                                  % (why, len(roots))})
                continue
            objects = [c["data"][root] for c in group if c["data"] and isinstance(c["data"].get(root), dict)]
            candidates.setdefault(key, []).append({
                "name": op_name, "type": kind, "entry": entry, "why": why, "document": chosen["document"],
                "variables_from": next((c["variables"] for c in group if key == "enable"
                                        and _classify_mutation([c], known)[0] == "enable"), chosen["variables"]),
                "result": root, "objects": objects})
            continue
        if kind != "query":
            report["unmapped"].append({"name": op_name, "type": kind, "entry": entry,
                                       "why": "não é query nem mutation"})
            continue
        roots = []
        for call in group:
            for root in call["roots"]:
                if root not in roots:
                    roots.append(root)
        placed = False
        for root in roots:
            values = [c["data"].get(root) for c in group if c["data"] and root in c["data"]]
            found, why = _classify_root(root, values, op_name, versions)
            if not found:
                if len(roots) == 1 or "formato 1" in why:
                    report["unmapped"].append({"name": op_name, "type": kind, "entry": entry, "root": root,
                                               "why": why})
                continue
            placed = True
            for key, path, why in found:
                if key == "list_files":
                    objects = [i for v in values for i in (_get({root: v}, path) or []) if isinstance(i, dict)]
                else:
                    objects = [_get({root: v}, path) for v in values]
                    objects = [o for o in objects if isinstance(o, dict)]
                candidates.setdefault(key, []).append({
                    "name": op_name, "type": kind, "entry": entry, "why": why, "document": group[0]["document"],
                    "variables_from": group[0]["variables"], "result": path, "objects": objects})
        if not placed and len(roots) > 1:
            report["unmapped"].append({"name": op_name, "type": kind, "entry": entry, "roots": roots,
                                       "why": "nenhum campo raiz tem arquivo .pfx/.p12, serviços, contra-chave "
                                              "nem versão"})

    operations = {}
    base_ops = base.get("operations") or {}
    chosen = {}
    for key in ("list_files", "read_state", "enable", "disable", "contra_chave", "version"):
        scored = []
        for candidate in candidates.get(key) or []:
            fields = guess_fields(candidate["objects"], _field_keys(key), known) if _field_keys(key) else {}
            scored.append((len(fields), candidate, fields))
        scored.sort(key=lambda s: -s[0])
        for _score, extra, _fields in scored[1:]:
            report["unmapped"].append({"name": extra["name"], "type": extra["type"], "entry": extra["entry"],
                                       "why": "também parece %s, mas %s foi escolhida (mais campos reconhecidos)"
                                              % (key, scored[0][1]["name"])})
        chosen[key] = scored
    _borrow_fields(chosen)
    for key in ("list_files", "read_state", "enable", "disable", "contra_chave", "version"):
        scored = chosen[key]
        if scored:
            candidate, fields = scored[0][1:]
            missing = _missing(key, fields)
            line = {"name": candidate["name"], "type": candidate["type"], "entry": candidate["entry"],
                    "mapped_to": key, "why": candidate["why"], "result": candidate["result"], "fields": fields}
            if missing:
                line["source"] = "base"
                line["why"] += "; faltam %s na resposta capturada: operação copiada do contrato base %s" % (
                    ", ".join(missing), base_name)
                report["operations"].append(line)
                if key in base_ops:
                    operations[key] = _plain(base_ops[key])
                    report["from_base"].append({"operation": key, "why": "mínimos ausentes na captura (%s)"
                                                % ", ".join(missing)})
                continue
            dropped = []
            literals = {}
            op = {"document": _collapse(candidate["document"]),
                  "variables": template_variables(candidate["variables_from"], known, dropped, literals),
                  "result": candidate["result"]}
            if fields:
                op["fields"] = fields
            for item in dropped:
                report["dropped"].append(dict(item, operation=key))
            if literals:
                report["literals"][key] = literals
            line["source"] = "captura"
            report["operations"].append(line)
            operations[key] = op
            if key == "enable":
                if "$password" not in json.dumps(op["variables"]):
                    report["warnings"].append("enable: a senha do certificado não ficou como $password nas variáveis")
                for wanted in ("certificate", "services"):
                    if wanted not in fields:
                        report["warnings"].append(
                            "enable: a resposta de Habilitar não mostra %s; o pec_rnds confere o resultado por "
                            "ele: ajuste fields à mão" % wanted)
        elif key in base_ops:
            operations[key] = _plain(base_ops[key])
            report["from_base"].append({"operation": key, "why": "não aparece na captura"})
            report["operations"].append({"name": operation_name(base_ops[key]["document"]), "mapped_to": key,
                                         "source": "base", "why": "não capturada: copiada do contrato base %s"
                                                                  % base_name})
    captured = [line["mapped_to"] for line in report["operations"] if line.get("source") == "captura"]
    if not captured:
        seen = sorted(set(c["name"] or "?" for c in calls))
        raise HarError(
            "a captura não tem nenhuma operação da aba Certificados que dê para usar (operações GraphQL vistas: "
            "%s). Refaça a captura: abra as Ferramentas do desenvolvedor > Rede com \"Preservar log\", entre no "
            "PEC, escolha o acesso de Administrador Municipal, abra Gestão municipal > Certificados, escolha o "
            "certificado, digite a senha e o identificador, clique em Habilitar e salve \"tudo como HAR\"."
            % (", ".join(seen) or "nenhuma"))
    if "enable" not in captured:
        report["warnings"].append("a captura não tem o Habilitar (mutação com senha e arquivo .pfx/.p12): a operação "
                                  "enable veio do contrato base e provavelmente não existe no seu PEC")

    access, why = _access_from_sessao(session)
    report["access"] = {"source": "base" if access is None else "captura", "why": why}
    if access is None:
        access = _plain(base["access"])
        report["from_base"].append({"operation": "access", "why": why})

    services = {}
    base_services = base.get("services") or {}
    for service in ("rnds", "cadsus"):
        if service in known["services"]:
            services[service] = known["services"][service]
        elif base_services.get(service):
            services[service] = base_services[service]
    report["services"] = {"seen": sorted(known["services"].values()),
                          "from_base": sorted(k for k in services if k not in known["services"])}

    errors = _errors(others, report)
    captured_plain = set(r["classification"] for r in errors if "message" not in r)
    errors.extend(_plain(r) for r in base.get("errors") or [] if r.get("classification") not in captured_plain)

    report["pec_version"] = versions[-1] if versions else None
    contract = {
        "contract_format": CONTRACT_FORMAT,
        "name": name,
        "description": "Gerado de uma captura HAR do PEC%s; operações não conferidas." % (
            " " + versions[-1] if versions else ""),
        "confirmed": False,
        "client_version": versions[-1] if versions else base.get("client_version") or "esus.rnds",
        "services": services,
        "access": access,
        "operations": operations,
        "errors": errors,
    }
    report["graphql_calls"] = len(calls)
    report["started"] = next((c["started"] for c in calls if c["started"]), None)
    try:
        validate_contract(_plain(contract), source=name)
    except ContractError as exc:
        raise HarError("o contrato gerado não passou na validação (%s): informe este erro aos mantenedores da "
                       "coleção junto com o relatório (sem o HAR)" % exc)
    return contract, report


def _borrow_fields(chosen):
    """A state answer captured before Habilitar has nulls: take the paths another state operation showed.

    read_state, enable and disable answer the same state; a path found in one of them is used in
    another when that answer has the same key (even null) and the key was not recognised there.
    """
    state_ops = [k for k in ("read_state", "enable", "disable") if chosen.get(k)]
    donors = dict((k, dict(chosen[k][0][2])) for k in state_ops)
    for key in state_ops:
        candidate, fields = chosen[key][0][1:]
        present = _paths(candidate["objects"])
        borrowed = []
        for donor in state_ops:
            for field_key, path in donors[donor].items():
                if donor != key and field_key not in fields and path in present and path not in fields.values():
                    fields[field_key] = path
                    borrowed.append("%s (de %s)" % (field_key, donor))
        if borrowed:
            ordered = dict((k, fields[k]) for k in STATE_KEYS if k in fields)
            fields.clear()
            fields.update(ordered)
            candidate["why"] += "; campos com o mesmo caminho de outra operação: %s" % ", ".join(borrowed)


def _field_keys(key):
    return {"list_files": FILE_KEYS, "read_state": STATE_KEYS, "enable": STATE_KEYS, "disable": STATE_KEYS}.get(key)


def _missing(key, fields):
    required = {"list_files": ("name",), "read_state": ("certificate", "services")}.get(key)
    if required is None:
        return [] if _field_keys(key) is None or fields else ["algum campo (certificado, serviços...)"]
    return [k for k in required if k not in fields]


# -- rendering and checks ---------------------------------------------------------------------
class _Dumper(yaml.SafeDumper):  # pylint: disable=too-many-ancestors
    def ignore_aliases(self, data):
        return True


def _str_presenter(dumper, data):
    style = ">" if len(data) > 90 and "\n" not in data and " " in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


def render(contract, report, har_name, generated_at, base_name):
    """The contract as commented YAML (the ``# Gerado em:`` line is the only one that changes)."""
    captured = [line["mapped_to"] for line in report["operations"] if line.get("source") == "captura"]
    from_base = [item["operation"] for item in report["from_base"]]
    header = [
        "# Contrato da API do PEC gerado por esus.rnds.pec_contract_from_har - NÃO CONFERIDO (confirmed: false).",
        "# Origem: captura HAR %s (%d pedidos GraphQL%s); versão do PEC vista na captura: %s."
        % (har_name, report["graphql_calls"],
           ", capturada em %s" % report["started"] if report.get("started") else "",
           report.get("pec_version") or "desconhecida"),
        "# Gerado em: %s" % generated_at,
        "# Da captura: %s." % (", ".join(captured) or "nada"),
        "# Do contrato base %s: %s." % (base_name, ", ".join(from_base) or "nada"),
        "# Antes de usar: confira cada operação (document, variables, result, fields) com o que o navegador",
        "# mostrou, rode playbooks/audit.yml --check com rnds_pec_api_contract apontando para este arquivo",
        "# e só então mude confirmed para true. Formato: comentários de pec_contracts/modelo.yml.",
        "# Não há senhas, cookies, tokens nem CPFs da captura neste arquivo (o gerador recusa gravar se houver).",
    ]
    notes = {}
    for line in report["operations"]:
        if line.get("source") == "captura":
            notes[line["mapped_to"]] = "capturada: %s %s (pedido %s do HAR) - %s" % (
                line["type"], line["name"], line["entry"], line["why"])
        else:
            notes[line["mapped_to"]] = line["why"]
    body = yaml.dump(contract, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)
    out = []
    in_operations = False
    for text in body.splitlines():
        if text and not text.startswith(" "):
            in_operations = text.startswith("operations:")
            top = text.split(":", 1)[0]
            if top == "access":
                out.append("# %s" % ("da captura (Sessao): " + report["access"]["why"]
                                     if report["access"]["source"] == "captura"
                                     else "do contrato base %s: %s" % (base_name, report["access"]["why"])))
            elif top == "services":
                out.append("# serviço da coleção -> valor do PEC (vistos na captura: %s)"
                           % (", ".join(report["services"]["seen"]) or "nenhum"))
        elif in_operations and re.match(r"^  [a-z_]+:$", text) and text.strip()[:-1] in notes:
            out.append("  # " + notes[text.strip()[:-1]])
        out.append(text)
    return "\n".join(header) + "\n" + "\n".join(out) + "\n"


def without_generated(text):
    """Text without the generation date line, for idempotence."""
    return _GENERATED_LINE_RE.sub("", text or "")


def _leaves(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield "%s.%s" % (path, key) if path else str(key), str(key)
            yield from _leaves(value, "%s.%s" % (path, key) if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, "%s[%d]" % (path, index))
    elif node is not None:
        yield path, str(node)


def find_leaks(secrets, contract, text):
    """[(where, kind)] for every secret of the capture still in the contract or its text."""
    leaks = []
    for where, value in _leaves(contract):
        for kind in sorted(secrets.in_leaf(value)):
            leaks.append((where, kind))
    if not leaks:
        for kind in sorted(secrets.in_text(text)):
            leaks.append(("texto do arquivo", kind))
    return leaks


def scrub(node, secrets):
    """Copy of ``node`` with every secret of the capture masked (for the report and messages)."""
    if isinstance(node, dict):
        return dict((key, scrub(value, secrets)) for key, value in node.items())
    if isinstance(node, list):
        return [scrub(value, secrets) for value in node]
    if isinstance(node, str):
        return secrets.scrub(node)
    if _is_scalar(node) and secrets.in_leaf(str(node)):
        return MASK
    return node
