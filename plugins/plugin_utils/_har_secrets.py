# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (not a public API): the secrets of a HAR capture, kept out of the contract.

A capture of the PEC holds the admin's and the certificate's passwords, session cookies, XSRF
tokens and CPFs. :func:`collect_secrets` collects every value under a password-like key anywhere
in the capture, every cookie, token and XSRF value and every CPF-looking value FIRST; then
:func:`find_leaks` refuses a contract (or its rendered text) that still contains any of them, and
:func:`scrub` masks them in the report and in messages. Controller only.
"""

from __future__ import annotations

import re

from ansible_collections.esus.rnds.plugins.module_utils._pec_contract import map_leaves
from ansible_collections.esus.rnds.plugins.plugin_utils._har import (
    CONTRA_CHAVE_RE, content_text, har_entries, is_cpf, is_scalar, json_loads, norm,
)

MASK = "********"

# Keys whose values are secrets. Matched on the key without accents, lower case.
PASSWORD_KEY_RE = re.compile(r"senha|password|passwd|passphrase|^pass$|^pwd$|pass$")
TOKEN_KEY_RE = re.compile(r"token|xsrf|csrf|cookie|jsessionid|sessionid|session_id|authorization|secret|jwt|bearer"
                          r"|apikey|api_key")
CPF_KEY_RE = re.compile(r"cpf|username|usuario|^login$")
_SECRET_HEADERS = frozenset(("cookie", "set-cookie", "authorization", "proxy-authorization"))

_INLINE_PASSWORD_RE = re.compile(
    r'([_A-Za-z][_0-9A-Za-z]*)\s*:\s*("""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*")')
_STOP_VALUES = frozenset(("", "true", "false", "null", "none", "undefined", "0", "1", "yes", "no", "on", "off"))


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
            if is_cpf(node):
                self.add(node, "CPF")
            elif CONTRA_CHAVE_RE.match(node.strip()):
                self.add(node, "contra-chave")
        elif isinstance(node, int) and is_cpf(node):
            self.add(node, "CPF")

    def _leaf(self, key, value):
        if not is_scalar(value):
            return
        name = norm(key)
        if PASSWORD_KEY_RE.search(name):
            self.add(value, "senha")
        elif TOKEN_KEY_RE.search(name):
            self.add(value, "token/cookie")
        elif CPF_KEY_RE.search(name) and is_cpf(value):
            self.add(value, "CPF")

    def document(self, text):
        """Literal arguments with a password-like name inside a GraphQL document."""
        for match in _INLINE_PASSWORD_RE.finditer(text or ""):
            if PASSWORD_KEY_RE.search(norm(match.group(1))) or TOKEN_KEY_RE.search(norm(match.group(1))):
                raw = match.group(2)
                self.add(raw[3:-3] if raw.startswith('"""') else json_loads(raw) or raw[1:-1], "senha")

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
    for entry in har_entries(har):
        for part in ("request", "response"):
            message = entry.get(part) or {}
            for header in message.get("headers") or []:
                if not isinstance(header, dict):
                    continue
                name = str(header.get("name") or "").lower()
                value = header.get("value")
                if name in ("cookie", "set-cookie"):
                    secrets.add_cookie_header(value)
                elif name in _SECRET_HEADERS or TOKEN_KEY_RE.search(name):
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
                text = content_text(message)
            parsed = json_loads(text) if text else None
            if parsed is not None:
                secrets.walk(parsed)
                for body in parsed if isinstance(parsed, list) else [parsed]:
                    if isinstance(body, dict) and isinstance(body.get("query"), str):
                        secrets.document(body["query"])
            elif isinstance(text, str):
                for match in re.finditer(r"(?:^|[&?])([^=&]+)=([^&]*)", text):
                    secrets._leaf(match.group(1), match.group(2))  # pylint: disable=protected-access
    return secrets


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

    def leaf(value):
        if isinstance(value, str):
            return secrets.scrub(value)
        if is_scalar(value) and secrets.in_leaf(str(value)):
            return MASK
        return value

    return map_leaves(node, leaf)
