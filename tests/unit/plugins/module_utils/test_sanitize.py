# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/_sanitize.py: secrets in every encoding, echoes of the request, terminal controls, loopback URLs.

Every encoding is tried with the test CA's hard password (accents, quotes, backslash, $, backticks,
semicolon, spaces) and with a second password made of a non-BMP character and a backslash pair.
"""

from __future__ import annotations

import ast
import base64
import html
import json
import pathlib
import time
import urllib.parse

import pytest
import testca

from ansible_collections.esus.rnds.plugins.module_utils import _sanitize

HARD = testca.HARD_PASSWORD
ODD = "pâs\\\\😀'x/y\t"  # backslash pair, non-BMP character (surrogate pair in JSON), slash, tab
SECRETS = [HARD, ODD]


def _u_all(text, fmt="\\u%04x"):
    data = text.encode("utf-16-be", "surrogatepass")
    return "".join(fmt % int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))


ENCODINGS = {
    "exata": lambda s: s,
    "json ascii": lambda s: json.dumps(s)[1:-1],
    "json utf-8": lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    "json com aspas": json.dumps,
    "json duplo": lambda s: json.dumps(json.dumps(s))[1:-1],
    "json triplo": lambda s: json.dumps(json.dumps(json.dumps(s)))[1:-1],
    "json com \\/": lambda s: json.dumps(s)[1:-1].replace("/", "\\/"),
    "json hex maiúsculo": lambda s: json.dumps(s)[1:-1].replace("\\u00ea", "\\u00EA").replace("\\u00e7", "\\u00E7"),
    "\\u em tudo": _u_all,
    "\\u em tudo, maiúsculo": lambda s: _u_all(s, "\\u%04X"),
    "maiúsculas": str.upper,
    "minúsculas": str.lower,
    "casefold": str.casefold,
    "título": str.title,
    "html": html.escape,
    "html sem aspas": lambda s: html.escape(s, quote=False),
    "html decimal": lambda s: "".join("&#%d;" % ord(c) for c in s),
    "html hex": lambda s: "".join("&#x%X;" % ord(c) for c in s),
    "html duplo": lambda s: html.escape(html.escape(s)),
    "json dentro de html": lambda s: html.escape(json.dumps(s)),
    "url": lambda s: urllib.parse.quote(s, safe=""),
    "url padrão": urllib.parse.quote,
    "url plus": lambda s: urllib.parse.quote_plus(s, safe=""),
    "url minúsculo": lambda s: urllib.parse.quote(s, safe="").lower(),
    "url duplo": lambda s: urllib.parse.quote(urllib.parse.quote(s, safe=""), safe=""),
    "json dentro de url": lambda s: urllib.parse.quote(json.dumps(s), safe=""),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64 sem =": lambda s: base64.b64encode(s.encode()).decode().rstrip("="),
    "base64 url": lambda s: base64.urlsafe_b64encode(s.encode()).decode(),
    "base64 url sem =": lambda s: base64.urlsafe_b64encode(s.encode()).decode().rstrip("="),
    "hex": lambda s: s.encode().hex(),
    "HEX": lambda s: s.encode().hex().upper(),
}


def _pieces(secret):
    """Distinctive pieces of a secret that must not survive scrubbing (any 6 consecutive characters)."""
    return [secret[i:i + 6] for i in range(0, len(secret) - 5, 3)]


@pytest.mark.parametrize("secret", SECRETS, ids=["HARD_PASSWORD", "ODD"])
@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_scrub_removes_the_secret_in_every_encoding(secret, encoding):
    if encoding == "json hex maiúsculo" and secret is ODD:
        pytest.skip("only HARD_PASSWORD has ê/ç")
    form = ENCODINGS[encoding](secret)
    assert secret not in form or encoding in ("exata", "json utf-8", "maiúsculas", "minúsculas", "casefold") \
        or form == secret
    text = "Erro do PEC: campo senha=<%s> inválido; tente de novo" % form
    out = _sanitize.scrub(text, SECRETS)
    assert _sanitize.REDACTED in out, (encoding, out)
    assert out.startswith("Erro do PEC: campo senha=<") and out.endswith("> inválido; tente de novo"), out
    # nothing of the encoded secret is left between the brackets but quotes/backslashes of a JSON wrapper
    inner = out[out.index("<") + 1:out.rindex(">")].replace(_sanitize.REDACTED, "")
    for wrapper in ("&quot;", "%22", '"', "\\"):  # quotes (and their escapes) of a JSON string around it
        inner = inner.replace(wrapper, "")
    assert inner == "", (encoding, out)
    for piece in _pieces(secret):
        assert ENCODINGS[encoding](piece) not in out or len(ENCODINGS[encoding](piece)) < 6
    assert _sanitize.contains_secret(text, SECRETS)
    assert not _sanitize.contains_secret(out, SECRETS), (encoding, out)


@pytest.mark.parametrize("secret", SECRETS, ids=["HARD_PASSWORD", "ODD"])
@pytest.mark.parametrize("shift", [0, 1, 2])
@pytest.mark.parametrize("wrap", ["raw", "json"])
def test_scrub_finds_base64_of_the_secret_inside_a_larger_blob(secret, shift, wrap):
    """A server that returns the whole request body base64-encoded: the secret sits at any byte alignment."""
    inner = secret.encode() if wrap == "raw" else json.dumps({"senha": secret}).encode()
    blob = base64.b64encode(b"p" * shift + b'{"variables": ' + inner + b"} fim").decode()
    for form in (blob, blob.replace("+", "-").replace("/", "_")):
        out = _sanitize.scrub("corpo: " + form, [secret])
        assert _sanitize.REDACTED in out, (shift, wrap, out)
        decoded = base64.b64decode(blob)
        assert secret.encode() in decoded or json.dumps(secret)[1:-1].encode() in decoded  # the test is honest


def test_scrub_keeps_the_short_secret_rule_and_other_text():
    text = "CNPJ 11222333000181, UF BR, código 12; Usuário e/ou senha incorretos."
    assert _sanitize.scrub(text, ["BR", "12", "", None, 5]) == text  # shorter than 3: never replaced
    assert _sanitize.scrub(text, ["ção"]) == text
    assert _sanitize.scrub(text, ["incorretos"]) == "CNPJ 11222333000181, UF BR, código 12; Usuário e/ou senha ********."
    assert _sanitize.scrub(text, "senha") == text.replace("senha", "********")  # a single string is accepted
    assert _sanitize.scrub(None, SECRETS) is None and _sanitize.scrub(b"bytes", SECRETS) == b"bytes"
    assert _sanitize.scrub("", SECRETS) == ""


def test_scrub_prefers_the_longest_secret():
    assert _sanitize.scrub("x abcdef y", ["abc", "abcdef"]) == "x ******** y"


def test_scrub_is_fast_on_hostile_text():
    """Long runs of backslashes, entities and percent signs, and near misses (the secret but its last
    character, in every encoding) cannot make the patterns backtrack for long."""
    near_misses = "".join(" %s " % ENCODINGS[name](secret[:-1]) for name in sorted(ENCODINGS) for secret in SECRETS)
    hostile = ("\\" * 100000) + ("&amp;" * 20000) + ("%25" * 30000) + ("\\u00" * 20000) + near_misses * 20 + HARD[:-1]
    started = time.monotonic()
    out = _sanitize.scrub(hostile, SECRETS)
    elapsed = time.monotonic() - started
    assert elapsed < 10, elapsed
    assert out.endswith(HARD[:-1])  # a prefix of the secret is not the secret


# ----------------------------------------------------------------------------- echoes of the request

@pytest.mark.parametrize("text", [
    'Erro ao processar {"query":"mutation Habilitar($senha: String!) { habilitar(senha: $senha) }"}',
    'bad request: {\\"operationName\\":\\"Login\\",\\"variables\\":{\\"x\\":1}}',
    "mutation habilitarCertificado($input: HabilitarInput!) {\n  habilitar(input: $input)\n}",
    "query Sessao { sessao { id } }",
    "corpo recebido: &quot;variables&quot;: {&quot;a&quot;: 1}",
    'O pedido {"variables": null} é inválido',
    "senha recebida: " + html.escape(HARD),
    "senha recebida: " + urllib.parse.quote(HARD),
])
def test_looks_like_echo(text):
    assert _sanitize.looks_like_echo(text, SECRETS)
    safe, echoed = _sanitize.clean_server_text(text, SECRETS)
    assert echoed and safe == _sanitize.ECHO_DROPPED and HARD not in safe


@pytest.mark.parametrize("text", [
    "Usuário e/ou senha incorretos.",
    "Validation error of type FieldUndefined: Field 'habilitar' in type 'Mutation' is undefined",
    "O certificado informado está vencido.",
    "Sessão expirada; faça login novamente (query string inválida)",
    "Não foi possível ler o arquivo fms.pfx: senha incorreta",
])
def test_ordinary_messages_are_not_echoes(text):
    assert not _sanitize.looks_like_echo(text, SECRETS)
    assert _sanitize.clean_server_text(text, SECRETS) == (text, False)


def test_markers_of_the_request():
    text = "campo identificadorSolicitante=ABC inválido"
    assert not _sanitize.looks_like_echo(text, SECRETS)
    assert _sanitize.looks_like_echo(text, SECRETS, markers=["identificadorsolicitante"])
    assert _sanitize.looks_like_echo(text.upper(), SECRETS, markers=["identificadorSolicitante"])


# ----------------------------------------------------------------------------- terminal

def test_neutralize_terminal_defeats_a_fake_green_ok():
    fake = "erro\r\x1b[2K\x1b[0;32mok: [pec-bh]\x1b[0m\x07\x08\x9b31m\x7f fim\u202e\u2066"
    out = _sanitize.neutralize_terminal(fake)
    assert all(ch not in out for ch in "\r\x1b\x07\x08\x9b\x7f\u202e\u2066")
    assert out == ("erro\\x0d\\x1b[2K\\x1b[0;32mok: [pec-bh]\\x1b[0m\\x07\\x08\\x9b31m\\x7f fim\\u202e\\u2066")
    assert _sanitize.neutralize_terminal("linha 1\n\tlinha 2 ção") == "linha 1\n\tlinha 2 ção"
    assert _sanitize.neutralize_terminal(None) is None


def test_clean_server_text_drops_secrets_and_neutralizes():
    # a server that knows the password echoes the request: the whole text goes, not just the password
    safe, echoed = _sanitize.clean_server_text("senha \x1b[31m%s\x1b[0m recusada" % json.dumps(HARD)[1:-1], SECRETS)
    assert echoed and safe == _sanitize.ECHO_DROPPED
    safe, echoed = _sanitize.clean_server_text("certificado \x1b[32mvencido\x1b[0m\r", SECRETS)
    assert not echoed and safe == "certificado \\x1b[32mvencido\\x1b[0m\\x0d"


# ----------------------------------------------------------------------------- loopback

@pytest.mark.parametrize("url,expected", [
    ("http://127.0.0.1:8080", True),
    ("http://127.1.2.3/", True),
    ("https://localhost:8443/api", True),
    ("http://LOCALHOST", True),
    ("http://[::1]:8080", True),
    ("http://[::ffff:127.0.0.1]:8080", True),
    ("http://127.0.0.1@pec.example.org:8080", False),
    ("http://pec.example.org", False),
    ("http://localhost.example.org", False),
    ("http://10.0.0.5:8080", False),
    ("http://127.1:8080", False),
    ("http://0.0.0.0:8080", False),
    ("http://[::]:8080", False),
    ("http://2130706433/", False),
    ("ftp://127.0.0.1/", False),
    ("http://127.0.0.1:porta", False),
    ("http://[::1", False),
    ("", False),
    (None, False),
])
def test_is_loopback_url(url, expected):
    assert _sanitize.is_loopback_url(url) is expected


def test_host_side_python36_syntax():
    source = pathlib.Path(_sanitize.__file__).read_text(encoding="utf-8")
    ast.parse(source, feature_version=(3, 6))
    assert "from __future__ import annotations" not in source
    assert source.splitlines()[3].startswith('"""Internal to esus.rnds')
