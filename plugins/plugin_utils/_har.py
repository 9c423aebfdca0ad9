# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (not a public API): read a browser HAR capture of the PEC.

Used by the action plugin esus.rnds.pec_contract_from_har (controller only) to write a PEC API
contract from what a browser recorded on a real PEC (Gestão municipal > Certificados >
Habilitar, with the developer tools' Network tab saved "as HAR"). The work is split by concept:

* this file reads the capture: every ``POST .../api/graphql`` call with its document, variables,
  answer and errors, and the value shapes the other files recognise (.pfx/.p12 names, services,
  CPFs, contra-chaves);
* ``_har_secrets.py`` collects every secret of the capture first and refuses a contract (or its
  text) that still holds one;
* ``_har_guess.py`` guesses which captured operation is which operation of the contract
  (``module_utils/_pec_contract.py``) and where each value sits in the answers;
* ``_har_contract.py`` builds the contract (whatever the capture lacks comes from a base
  contract, and the report says so) and renders it as commented YAML.

The session operations the collection already knows (Login, Sessao, SelecionarAcesso, Logout:
``module_utils/_pec_api.py``) are recognised here and never copied.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
from urllib.parse import urlsplit

from ansible_collections.esus.rnds.plugins.module_utils._pec_contract import operation_name

SESSION_OPERATIONS = frozenset(("Login", "Logout", "Sessao", "SelecionarAcesso"))
SESSION_ROOTS = frozenset(("login", "logout", "sessao", "selecionarAcesso"))
SERVICE_VALUES = ("RNDS", "CADSUS")
# Values.
_PFX_RE = re.compile(r"\.(pfx|p12)$", re.IGNORECASE)
CONTRA_CHAVE_RE = re.compile(r"^[0-9A-Za-z]{4}(?:-[0-9A-Za-z]{4}){7}$")
_CPF_RE = re.compile(r"^(?:\d{11}|\d{3}\.\d{3}\.\d{3}-\d{2})$")
_TYPE_RE = re.compile(r"^\s*(query|mutation|subscription)\b")
_STRING_RE = re.compile(r'"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"')
_TOKEN_RE = re.compile(r'[{}()@:]|\.\.\.|[_A-Za-z][_0-9A-Za-z]*')


class HarError(ValueError):
    """A capture that cannot be turned into a contract: the message (pt-BR) says why and what to do."""


def norm(text):
    text = unicodedata.normalize("NFKD", str(text))
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def last_step(path):
    return norm(path.rsplit(".", 1)[-1])


def is_scalar(value):
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def is_cpf(value):
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        value = str(value)
    return isinstance(value, str) and bool(_CPF_RE.match(value.strip()))


def is_pfx(value):
    return isinstance(value, str) and bool(_PFX_RE.search(value.strip()))


def is_services(value):
    return isinstance(value, list) and bool(value) and all(
        isinstance(v, str) and v.strip().upper() in SERVICE_VALUES for v in value)


def json_loads(text):
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


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


def har_entries(har):
    return [e for e in (har.get("log") or {}).get("entries") or [] if isinstance(e, dict)]


def content_text(response):
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


def strip_strings(document):
    return _STRING_RE.sub('""', document or "")


def root_fields(document):
    """Response keys (aliases included) of the top selection set of a GraphQL document."""
    text = strip_strings(document)
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


def collapse(document):
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
    for number, entry in enumerate(har_entries(har), 1):
        request = entry.get("request") or {}
        if str(request.get("method") or "").upper() != "POST":
            continue
        if not urlsplit(str(request.get("url") or "")).path.rstrip("/").endswith("/graphql"):
            continue
        body = json_loads((request.get("postData") or {}).get("text"))
        answer = json_loads(content_text(entry.get("response")))
        bodies = body if isinstance(body, list) else [body]
        answers = answer if isinstance(answer, list) else [answer] * len(bodies) if len(bodies) == 1 else []
        version = _header(request, "apollographql-client-version")
        for index, item in enumerate(bodies):
            if not isinstance(item, dict) or not isinstance(item.get("query"), str):
                continue
            reply = answers[index] if index < len(answers) and isinstance(answers[index], dict) else {}
            document = item["query"]
            type_match = _TYPE_RE.match(strip_strings(document))
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


def is_session(call):
    return call["name"] in SESSION_OPERATIONS or bool(set(call["roots"]) & SESSION_ROOTS)
