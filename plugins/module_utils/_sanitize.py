# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (not a public API): make text that came from a server safe to show or store.

Standard library only, Python >= 3.6 syntax (runs on PEC servers). Four tools:

``scrub(text, secrets)``
    Replace every secret (3 characters or more) by ``********`` in every encoding a server could
    plausibly return: exact, upper/lower/case-folded, Unicode NFD, JSON-escaped at any depth
    (``\\"``, ``\\\\``, ``\\/``, ``\\uXXXX`` in either hex case, also every character ``\\u``-escaped),
    ``\\xHH``, HTML-escaped (named entities, ``&#NN;``, ``&#xHH;``, with or without ``;``, also
    ``&amp;``-doubled), URL-encoded (``%HH`` of the UTF-8 or Latin-1 bytes in either hex case, ``+`` for
    a space, also ``%25``-doubled), any mix of these character by character, hex of the UTF-8 or
    Latin-1 bytes, and base64 (standard and URL-safe, with or without padding, alone or at any of
    the 3 byte alignments inside a larger base64 blob, for the raw and the JSON-escaped secret).
``looks_like_echo(text, secrets=(), markers=())``
    True when the text repeats the request: it carries a GraphQL operation document or its
    ``query``/``variables``/``operationName`` JSON, one of ``markers``, or a secret in any form above.
``neutralize_terminal(text)``
    Make terminal escape sequences and control characters harmless by writing them visibly.
``is_loopback_url(url)``
    True only for http(s) URLs whose host is literally ``localhost``, 127.0.0.0/8 or ``[::1]``.

``clean_server_text(text, secrets, markers=())`` chains them for a caller that shows a server's
message: ``(safe_text, echoed)``.
"""

from __future__ import absolute_import, division, print_function

import base64
import binascii
import html.entities
import ipaddress
import json
import re
import unicodedata
from urllib.parse import urlsplit

__metaclass__ = type

REDACTED = "********"
# Secrets shorter than this are never replaced (too many false hits: "BR", "12"); same rule as before.
MIN_SECRET_LENGTH = 3
# Base64 pieces shorter than this (inside a larger blob) are not searched: too likely by chance.
MIN_BASE64_CORE = 8
ECHO_DROPPED = ("[mensagem do servidor omitida: ela repete o pedido enviado (poderia conter a senha); "
                "veja o log do PEC no servidor]")

# One "backslash" of a JSON/JS escape, written plainly or HTML- or URL-escaped (JSON inside HTML or a URL).
_BACKSLASH = r"(?:\\|%(?:25)*5c|&(?:amp;)*(?:#0*92;?|#x0*5c;?|bsol;))"
# Up to 3 levels of JSON escaping (7 backslashes before a quote, 8 for a backslash).
_MAX_BACKSLASHES = 16
_PREFIX = "(?:%s){0,%d}" % (_BACKSLASH, _MAX_BACKSLASHES)
_JSON_SHORT = {'"': '"', "\\": "\\\\", "/": "/", "\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t", "'": "'"}

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")

# An echo of the request: a GraphQL operation document, or the JSON keys of a GraphQL request body
# (quotes possibly escaped, at any depth).
_Q = r'(?:\\*"|\\*\'|&quot;|&#0*34;?|&#x0*22;?|%22|\\*u0022|\\*u0027|\\*x22)'
# A keyword may follow an escape such as \u0022 (whose last character is a digit): no \b there.
_ECHO = re.compile(
    r"(?:(?<![A-Za-z_])(?:query|mutation|subscription)\s+[A-Za-z_][A-Za-z0-9_]*\s*(?:\(\s*\$|\{)"
    r"|(?<![A-Za-z_])(?:mutation|subscription)\s*\{\s*[A-Za-z_]"
    r"|" + _Q + r"(?:query|operationName)" + _Q + r"\s*:\s*" + _Q +
    r"|" + _Q + r"variables" + _Q + r"\s*:\s*(?:\{|null)"
    r")",
    re.IGNORECASE,
)


def _utf16_units(char):
    data = char.encode("utf-16-be", "surrogatepass")
    return [int(binascii.hexlify(data[i:i + 2]), 16) for i in range(0, len(data), 2)]


def _char_forms(char, after_backslash=False):
    """Regular expression (without the escaping prefix) matching one character in any plain or escaped form.

    ``after_backslash``: the character follows a backslash of the secret, whose run of backslashes took the
    escaping prefix; its ``\\uXXXX`` form then carries its own backslashes.
    """
    # Literal forms. Keep only forms that the case-insensitive match of another kept form does not already
    # cover: two alternatives matching the same text would make a near miss backtrack exponentially.
    literals = []
    for form in (char, char.upper(), char.lower(), char.casefold(), unicodedata.normalize("NFD", char),
                 unicodedata.normalize("NFD", char.upper()), unicodedata.normalize("NFD", char.lower())):
        if not any(re.match(re.escape(kept) + r"\Z", form, re.IGNORECASE) for kept in literals):
            literals.append(form)
    alternatives = set(re.escape(form) for form in literals)
    code = ord(char)
    # JSON / JavaScript escapes (the backslashes come from the prefix or the previous backslash character)
    if char in _JSON_SHORT:
        alternatives.add(re.escape(_JSON_SHORT[char]))
    units = ["u%04x" % unit for unit in _utf16_units(char)]  # a surrogate pair is two escapes
    run = "%s{1,%d}" % (_BACKSLASH, _MAX_BACKSLASHES)
    alternatives.add(run.join(units))
    if after_backslash:
        alternatives.add(run + run.join(units))
    if code < 256:
        alternatives.add("x%02x" % code)
    # HTML entities, possibly &amp;-doubled
    entity = [r"#0*%d;?" % code, r"#x0*%x;?" % code]
    name = html.entities.codepoint2name.get(code)
    if name:
        entity.append(re.escape(name) + ";?")
    if char == "'":
        entity.append("apos;")
    alternatives.add("&(?:amp;)*(?:%s)" % "|".join(entity))
    # URL encoding of the UTF-8 bytes (and Latin-1 when possible), possibly %25-doubled
    pct = "%(?:25)*"
    alternatives.add("".join(pct + "%02x" % byte for byte in bytearray(char.encode("utf-8", "surrogatepass"))))
    if 127 < code < 256:
        alternatives.add(pct + "%02x" % code)
    if char == " ":
        alternatives.add(r"\+")
    return "(?:%s)" % "|".join(sorted(alternatives, key=len, reverse=True))


def _char_pattern(secret):
    run = "(?:%s){1,%d}" % (_BACKSLASH, _MAX_BACKSLASHES)
    parts = []
    previous = None
    for char in secret:
        after_backslash = previous == "\\"
        if char == "\\":
            # a backslash is escaped by doubling it (any run of plain, HTML- or URL-escaped backslashes), or
            # written as \u005c / \x5c
            # (a second backslash in a row is usually inside the first one's run; \u005c\u005c needs its own)
            if after_backslash:
                parts.append("(?:%s(?:u005c|x5c))?" % run)
            else:
                parts.append("(?:%s(?:u005c|x5c)?)" % run)
        else:
            # no escaping prefix right after a backslash: its own run of backslashes already took them
            parts.append(("" if after_backslash else _PREFIX) + _char_forms(char, after_backslash))
        previous = char
    return "".join(parts)


def _base64_cores(data):
    """Base64 strings (standard alphabet) that appear wherever ``data`` is inside a base64 blob."""
    cores = set()
    exact = base64.b64encode(data).decode("ascii")
    cores.add(exact)
    cores.add(exact.rstrip("="))
    for shift in (0, 1, 2):
        encoded = base64.b64encode(b"\x00" * shift + data).decode("ascii")
        first = (shift + 2) // 3  # first group made only of bytes of data
        last = (shift + len(data)) // 3  # groups before this one are complete
        core = encoded[4 * first:4 * last]
        if len(core) >= MIN_BASE64_CORE:
            cores.add(core)
    return cores


def _secret_byte_forms(secret):
    forms = [secret.encode("utf-8", "surrogatepass")]
    try:
        forms.append(secret.encode("latin-1"))
    except UnicodeEncodeError:
        pass
    return forms


_CACHE = {}


def _patterns(secret):
    """(case-insensitive pattern, case-sensitive base64 pattern) of one secret, compiled once per process."""
    cached = _CACHE.get(secret)
    if cached is not None:
        return cached
    texts = [_char_pattern(secret)]
    base64_forms = set()
    byte_strings = list(_secret_byte_forms(secret))
    for ensure_ascii in (True, False):
        escaped = json.dumps(secret, ensure_ascii=ensure_ascii)[1:-1]
        if escaped != secret:
            byte_strings.append(escaped.encode("utf-8"))
    for data in byte_strings:
        texts.append(re.escape(binascii.hexlify(data).decode("ascii")))
        for core in _base64_cores(data):
            base64_forms.add(core)
            base64_forms.add(core.replace("+", "-").replace("/", "_"))
    insensitive = re.compile("|".join("(?:%s)" % text for text in texts), re.IGNORECASE)
    sensitive = re.compile("|".join(re.escape(form) + "={0,2}" for form in sorted(base64_forms, key=len, reverse=True)))
    if len(_CACHE) > 256:
        _CACHE.clear()
    _CACHE[secret] = (insensitive, sensitive)
    return _CACHE[secret]


def _usable(secrets):
    if secrets is None:
        return []
    if isinstance(secrets, str):
        secrets = [secrets]
    unique = set(secret for secret in secrets if isinstance(secret, str) and len(secret) >= MIN_SECRET_LENGTH)
    return sorted(unique, key=len, reverse=True)


def scrub(text, secrets, replacement=REDACTED):
    """Return ``text`` with every secret of ``secrets`` (a string or an iterable of strings) replaced by
    ``replacement``, in every form listed in the module docstring. Secrets shorter than 3 characters and
    values that are not strings are ignored; ``text`` that is not a string is returned unchanged."""
    if not isinstance(text, str) or not text:
        return text
    for secret in _usable(secrets):
        insensitive, sensitive = _patterns(secret)
        text = sensitive.sub(replacement, text)
        text = insensitive.sub(replacement, text)
    return text


def contains_secret(text, secrets):
    """True when ``text`` carries one of ``secrets`` in any form ``scrub`` removes."""
    if not isinstance(text, str) or not text:
        return False
    for secret in _usable(secrets):
        insensitive, sensitive = _patterns(secret)
        if sensitive.search(text) or insensitive.search(text):
            return True
    return False


def looks_like_echo(text, secrets=(), markers=()):
    """True when ``text`` looks like it repeats the request that was sent, so the caller should drop it.

    That is: a GraphQL operation document (``mutation Name(...`` / ``query Name {``), the JSON keys of a
    GraphQL request body (``"query":``, ``"operationName":``, ``"variables": {``, quotes escaped or not),
    one of ``markers`` (strings of the request the caller knows, e.g. field names; matched case-insensitively
    in the same encodings as secrets) or one of ``secrets`` in any form ``scrub`` removes.
    """
    if not isinstance(text, str) or not text:
        return False
    if _ECHO.search(text):
        return True
    return contains_secret(text, markers) or contains_secret(text, secrets)


def neutralize_terminal(text):
    """Write control characters visibly so that printing ``text`` cannot drive the terminal.

    Every C0 control except newline and tab (ESC, carriage return, backspace, BEL...), DEL, every C1
    control (including the 8-bit CSI U+009B) and the Unicode bidirectional and line/paragraph separator
    controls become ``\\xHH`` / ``\\uHHHH`` text: an ANSI sequence such as ``ESC[32m`` is printed as the
    harmless ``\\x1b[32m``. Text that is not a string is returned unchanged.
    """
    if not isinstance(text, str):
        return text

    def visible(match):
        code = ord(match.group(0))
        return "\\x%02x" % code if code < 256 else "\\u%04x" % code

    return _CONTROL.sub(visible, text)


def clean_server_text(text, secrets, markers=()):
    """What a caller does with a message taken from a server: ``(safe_text, echoed)``.

    When the text looks like an echo of the request (see ``looks_like_echo``) it is replaced by a pt-BR
    notice and ``echoed`` is True; otherwise secrets are scrubbed and terminal controls neutralised.
    """
    if not isinstance(text, str):
        return text, False
    if looks_like_echo(text, secrets, markers):
        return ECHO_DROPPED, True
    return neutralize_terminal(scrub(text, secrets)), False


def is_loopback_url(url):
    """True only when ``url`` is http(s) and its host is literally ``localhost``, an address of 127.0.0.0/8,
    ``[::1]`` or an IPv4-mapped loopback (``[::ffff:127.0.0.1]``).

    Anything else is False: other names (even ones that resolve to 127.0.0.1), ``127.1``-style short forms,
    userinfo tricks (``http://127.0.0.1@example.org``), unparsable URLs and other schemes.
    """
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        # .port raises ValueError on a port that is not a number
        parts.port  # noqa: B018  pylint: disable=pointless-statement
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not host:
        return False
    host = host.lower()
    if host in ("localhost", "localhost."):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback
