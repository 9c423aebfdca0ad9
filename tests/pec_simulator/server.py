# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PEC e-SUS APS simulator (tests and demo only).

A stand-in for the part of the PEC web server that the collection talks to: GraphQL over
HTTP at ``POST /api/graphql``, executed with graphql-core against the SDL in ``schema/``.

- The session part (``schema/sessao.graphql``) follows what public clients of real PEC
  5.3-5.5 servers show (``Api-Consumer-Id``, CPF login with ``force``, one session per user,
  account lock, access selection, logout, ``extensions.classification`` errors).
- The Certificados tab (``schema/certificados.graphql``) is the collection's MODEL, not a fact;
  ``--no-certificate-api`` serves the session part alone.

See ``README.md`` beside this file for the command line and which parts are confirmed.

Standard library plus ``cryptography`` (to open PKCS#12 files) and ``graphql-core`` (pure
Python; copied to ``_vendor/`` beside this file where it is not installed). Files that the
installed ``cryptography``/OpenSSL cannot open (legacy RC2 on some distributions) are opened
with ``openssl pkcs12 -legacy``; the password goes through the environment, never argv.
"""

from __future__ import annotations

import argparse
import base64
import collections
import datetime
import hashlib
import html
import http.server
import json
import os
import re
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http import cookies

HERE = os.path.dirname(os.path.abspath(__file__))

try:
    import graphql
except ImportError:  # Molecule containers: the pure-Python package is copied to _vendor/
    sys.path.insert(0, os.path.join(HERE, "_vendor"))
    try:
        import graphql
    except ImportError:  # pragma: no cover - reported at start
        graphql = None

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - reported at start
    HAS_CRYPTOGRAPHY = False

DEFAULT_VERSION = "5.3.28"
GRAPHQL_PATH = "/api/graphql"
CONTROL_PREFIX = "/__sim__/"
SESSION_COOKIE = "JSESSIONID"
XSRF_COOKIE = "XSRF-TOKEN"
XSRF_HEADER = "X-XSRF-TOKEN"
API_CONSUMER_HEADER = "Api-Consumer-Id"
API_CONSUMER_ID = "ESUS_WEB_CLIENT"
MAX_REQUEST_BYTES = 1024 * 1024
HUGE_BODY_BYTES = 4 * 1024 * 1024
SERVICES = ("RNDS", "CADSUS")
CHAVES_DIRNAME = "chaves"
STATE_DIRNAME = "pec-simulator"
STATE_VERSION = 2
PKCS12_PASSWORD_ENV = "PEC_SIMULATOR_PKCS12_PASSWORD"
SCHEMA_DIR = os.path.join(HERE, "schema")
SESSION_SCHEMA = "sessao.graphql"
CERTIFICATE_SCHEMA = "certificados.graphql"
# Root fields that run without a session (everything else needs a live JSESSIONID).
OPEN_ROOT_FIELDS = frozenset(("login", "info", "__typename"))
INTROSPECTION_FIELDS = frozenset(("__schema", "__type"))
XSRF_MEMORY = 10000

# Names for the IBGE codes used in the demo and tests; any other code gets a generic name.
KNOWN_MUNICIPIOS = {
    "3550308": "São Paulo",
    "3304557": "Rio de Janeiro",
    "3106200": "Belo Horizonte",
    "4106902": "Curitiba",
    "4314902": "Porto Alegre",
    "5300108": "Brasília",
    "2304400": "Fortaleza",
    "2927408": "Salvador",
    "1302603": "Manaus",
    "2611606": "Recife",
}

FAULTS_COUNTED = ("http500", "drop", "garbage", "huge", "expire_sessions")
FAULT_NAMES = FAULTS_COUNTED + ("slow", "login_refused", "echo")
ECHO_MODES = ("raw", "json", "upper", "html", "url", "base64", "unicode")

# Audit actions: the manual's exact words (note: "Desabilitar PEC", without "o").
ACTION_ENABLE = "Habilitar o PEC a acessar %s"
ACTION_DISABLE = "Desabilitar PEC a acessar %s"
ACTION_FORCED_LOGIN = "Login com encerramento da sessão anterior"

# extensions.classification values (Java exception classes on the real PEC).
CLS_VALIDATION = "ValidationError"
CLS_SYNTAX = "InvalidSyntax"
CLS_NOT_AUTHENTICATED = "NaoAutenticadoException"
CLS_CSRF = "InvalidCsrfTokenException"
CLS_AUTH = "PecAuthenticationException"
CLS_ALREADY_LOGGED = "UsuarioJaLogadoException"
CLS_ACCESS_DENIED = "AccessDeniedException"
CLS_INPUT = "ValidacaoException"
CLS_REQUESTER = "IdentificadorSolicitanteException"
CLS_CERT_MISSING = "CertificadoNaoEncontradoException"
CLS_CERT_PASSWORD = "CertificadoSenhaInvalidaException"
CLS_CERT_EXPIRED = "CertificadoExpiradoException"
CLS_CERT_NOT_YET = "CertificadoAindaNaoValidoException"
CLS_CERT_NO_KEY = "CertificadoSemChavePrivadaException"
CLS_CERT_KEY_MISMATCH = "CertificadoChaveNaoConfereException"
CLS_CERT_INVALID = "CertificadoInvalidoException"
CLS_FETCH = "DataFetchingException"
CLS_BAD_REQUEST = "BadRequest"

# Messages a PEC user sees (pt-BR).
MSG = {
    "LOGIN_RECUSADO": "Usuário e/ou senha incorretos.",
    "USUARIO_BLOQUEADO": "Usuário bloqueado por excesso de tentativas de login. "
                         "Procure o administrador da instalação.",
    "USUARIO_JA_LOGADO": "O usuário já está logado em outra sessão.",
    "NAO_AUTENTICADO": "Sessão expirada. Faça login novamente.",
    "XSRF_INVALIDO": "Requisição recusada: token XSRF inválido.",
    "ACESSO_INVALIDO": "Acesso inválido para este usuário.",
    "SELECIONE_ADMIN": "Selecione o acesso de Administrador Municipal.",
    "SELECIONE_SERVICO": "Selecione ao menos um serviço.",
    "CERTIFICADO_NAO_ENCONTRADO": "Certificado \"%s\" não encontrado na pasta chaves.",
    "CERTIFICADO_SENHA_INCORRETA": "Senha do certificado incorreta.",
    "CERTIFICADO_INVALIDO": "O arquivo \"%s\" não é um certificado digital válido (PKCS#12 .pfx/.p12).",
    "CERTIFICADO_SEM_CHAVE_PRIVADA": "O arquivo \"%s\" não contém a chave privada do certificado.",
    "CERTIFICADO_CHAVE_NAO_CONFERE": "A chave privada do arquivo \"%s\" não corresponde ao certificado.",
    "CERTIFICADO_EXPIRADO": "Certificado expirado em %s.",
    "CERTIFICADO_AINDA_NAO_VALIDO": "Certificado válido somente a partir de %s.",
    "IDENTIFICADOR_OBRIGATORIO": "Informe o identificador do solicitante.",
    "IDENTIFICADOR_INVALIDO": "Identificador do solicitante inválido.",
    "REQUISICAO_INVALIDA": "Requisição inválida.",
}

REQUESTER_RE = re.compile(r"^[\w.:/@-]+$")


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def iso(dt):
    if dt is None:
        return None
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def br_date(dt):
    return dt.astimezone(datetime.timezone.utc).strftime("%d/%m/%Y")


class PecError(Exception):
    """An error the PEC answers in ``errors[]`` with ``extensions.classification``."""

    def __init__(self, classification, message, status=200):
        super().__init__(message)
        self.classification = classification
        self.message = message
        self.status = status
        # graphql-core copies these into the located error it builds.
        self.extensions = {"classification": classification}


# --------------------------------------------------------------------------------------
# CPF


def cpf_check_digits(base9):
    digits = [int(c) for c in base9]
    for weight_start in (10, 11):
        total = sum(d * w for d, w in zip(digits, range(weight_start, 1, -1)))
        rest = (total * 10) % 11
        digits.append(0 if rest == 10 else rest)
    return "".join(str(d) for d in digits[9:])


def normalize_cpf(text):
    """Return the 11 digits of a CPF written with or without punctuation, or None."""
    if not isinstance(text, str):
        return None
    stripped = re.sub(r"[.\-\s/]", "", text.strip())
    if not re.match(r"^\d{11}$", stripped) or len(set(stripped)) == 1:
        return None
    if cpf_check_digits(stripped[:9]) != stripped[9:]:
        return None
    return stripped


# --------------------------------------------------------------------------------------
# PKCS#12


def _cert_not_after(cert):
    value = getattr(cert, "not_valid_after_utc", None)
    if value is None:  # cryptography < 42
        value = cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    return value


def _cert_not_before(cert):
    value = getattr(cert, "not_valid_before_utc", None)
    if value is None:
        value = cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)
    return value


def _spki(public_key):
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _load_with_cryptography(data, password):
    candidates = [password.encode("utf-8")] if password else [None, b""]
    last = None
    for candidate in candidates:
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, candidate)
            return key, cert, list(extra or [])
        except Exception as exc:  # ValueError, or UnsupportedAlgorithm on old builds
            last = exc
    raise last


_PEM_RE = re.compile(
    rb"-----BEGIN ([A-Z ]+)-----\r?\n.+?\r?\n-----END \1-----", re.DOTALL
)


def _load_with_openssl(path, password):
    """Open a PKCS#12 with the openssl command line (password via the environment).

    Returns ``(key, cert, extra)`` or raises ``PecError`` with a PEC message.
    """
    env = dict(os.environ)
    env[PKCS12_PASSWORD_ENV] = password or ""
    base = ["openssl", "pkcs12", "-in", path, "-nodes", "-passin", "env:" + PKCS12_PASSWORD_ENV]
    result = None
    for extra_args in (["-legacy"], []):
        try:
            result = subprocess.run(
                base + extra_args, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            result = None
            break
        stderr = result.stderr.decode("utf-8", "replace").lower()
        if result.returncode == 0 or "legacy" not in stderr:
            break
    name = os.path.basename(path)
    if result is None:
        # No openssl command: cryptography already failed, and that failure is
        # what a wrong password looks like from here.
        raise PecError(CLS_CERT_PASSWORD, MSG["CERTIFICADO_SENHA_INCORRETA"])
    if result.returncode != 0:
        stderr = result.stderr.decode("utf-8", "replace").lower()
        if "mac verify" in stderr or "invalid password" in stderr or "bad decrypt" in stderr:
            raise PecError(CLS_CERT_PASSWORD, MSG["CERTIFICADO_SENHA_INCORRETA"])
        raise PecError(CLS_CERT_INVALID, MSG["CERTIFICADO_INVALIDO"] % name)
    key = None
    certs = []
    for match in _PEM_RE.finditer(result.stdout):
        block = match.group(0)
        label = match.group(1)
        if label == b"CERTIFICATE":
            certs.append(x509.load_pem_x509_certificate(block))
        elif label.endswith(b"PRIVATE KEY") and key is None:
            key = serialization.load_pem_private_key(block, password=None)
    cert = None
    if key is not None:
        wanted = _spki(key.public_key())
        for candidate in certs:
            if _spki(candidate.public_key()) == wanted:
                cert = candidate
                break
    elif certs:
        cert = certs[0]
        for candidate in certs:
            try:
                ca = candidate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
            except x509.ExtensionNotFound:
                ca = False
            if not ca:
                cert = candidate
                break
    extra = [c for c in certs if c is not cert]
    return key, cert, extra


def open_certificate(path, password, backend="auto", now=None):
    """Open ``path`` like the PEC does before enabling it; return facts or raise PecError."""
    name = os.path.basename(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        raise PecError(CLS_CERT_MISSING, MSG["CERTIFICADO_NAO_ENCONTRADO"] % name)
    if not data:
        raise PecError(CLS_CERT_INVALID, MSG["CERTIFICADO_INVALIDO"] % name)
    if backend == "openssl":
        key, cert, extra = _load_with_openssl(path, password)
    else:
        try:
            key, cert, extra = _load_with_cryptography(data, password)
        except Exception:
            if backend == "cryptography":
                raise PecError(CLS_CERT_PASSWORD, MSG["CERTIFICADO_SENHA_INCORRETA"])
            key, cert, extra = _load_with_openssl(path, password)
    if key is None:
        raise PecError(CLS_CERT_NO_KEY, MSG["CERTIFICADO_SEM_CHAVE_PRIVADA"] % name)
    if cert is None:
        # The key is there but no certificate pairs with it.
        raise PecError(CLS_CERT_KEY_MISMATCH, MSG["CERTIFICADO_CHAVE_NAO_CONFERE"] % name)
    if _spki(cert.public_key()) != _spki(key.public_key()):
        raise PecError(CLS_CERT_KEY_MISMATCH, MSG["CERTIFICADO_CHAVE_NAO_CONFERE"] % name)
    now = now or utcnow()
    not_after = _cert_not_after(cert)
    not_before = _cert_not_before(cert)
    if not_after < now:
        raise PecError(CLS_CERT_EXPIRED, MSG["CERTIFICADO_EXPIRADO"] % br_date(not_after))
    if not_before > now:
        raise PecError(CLS_CERT_NOT_YET, MSG["CERTIFICADO_AINDA_NAO_VALIDO"] % br_date(not_before))
    try:
        titular = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    except (IndexError, ValueError):
        titular = cert.subject.rfc4514_string()
    return {
        "fingerprintSha256": cert.fingerprint(hashes.SHA256()).hex(),
        "validoAte": iso(not_after),
        "validoDesde": iso(not_before),
        "titular": titular,
        "arquivoSha256": hashlib.sha256(data).hexdigest(),
        "cadeia": len(extra),
    }


# --------------------------------------------------------------------------------------
# Faults


def _off(value):
    return value is False or value is None or value in ("off", "0", 0, "false", "")


class Faults:
    """Misbehaviour switches, set at start (--fault) or through ``POST /__sim__/fault``."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.slow = 0.0
        self.login_refused = False
        self.echo = None
        # name -> {"remaining": int or None (always), "operation": str or None}
        self.counted = {}

    @staticmethod
    def _parse_count(name, value):
        operation = None
        if isinstance(value, str) and "@" in value:
            value, operation = value.split("@", 1)
        if value is None or value is True or value in ("", "always", "sempre"):
            remaining = None
        elif value is False or value in ("off", "0", 0):
            return None
        else:
            try:
                remaining = int(value)
            except (TypeError, ValueError):
                raise ValueError("valor inválido para a falha %s: %r" % (name, value))
            if remaining <= 0:
                return None
        return {"remaining": remaining, "operation": operation or None}

    def set(self, name, value, sessions=None):
        with self.lock:
            if name == "clear":
                if value:
                    self.reset()
                return
            if name == "slow":
                self.slow = float(value or 0)
                if self.slow < 0:
                    raise ValueError("slow precisa ser >= 0")
                return
            if name == "login_refused":
                self.login_refused = not _off(value)
                return
            if name == "echo":
                if _off(value):
                    self.echo = None
                elif value in ECHO_MODES:
                    self.echo = value
                else:
                    raise ValueError("modo inválido para echo: %r (use %s ou off)" % (value, ", ".join(ECHO_MODES)))
                return
            if name not in FAULTS_COUNTED:
                raise ValueError("falha desconhecida: %s (use %s)" % (name, ", ".join(FAULT_NAMES)))
            if name == "expire_sessions" and (value is True or value in ("now", "agora")):
                if sessions is not None:
                    sessions.clear()
                return
            parsed = self._parse_count(name, value)
            if parsed is None:
                self.counted.pop(name, None)
            else:
                self.counted[name] = parsed

    def take(self, name, operation):
        """Consume one occurrence of a counted fault for ``operation``; True if it applies."""
        with self.lock:
            entry = self.counted.get(name)
            if entry is None:
                return False
            if entry["operation"] and entry["operation"] != operation:
                return False
            if entry["remaining"] is not None:
                entry["remaining"] -= 1
                if entry["remaining"] <= 0:
                    del self.counted[name]
            return True

    def snapshot(self):
        with self.lock:
            out = {"slow": self.slow, "login_refused": self.login_refused, "echo": self.echo or "off"}
            for name in FAULTS_COUNTED:
                entry = self.counted.get(name)
                if entry is None:
                    out[name] = 0
                else:
                    value = "always" if entry["remaining"] is None else entry["remaining"]
                    out[name] = value if not entry["operation"] else "%s@%s" % (value, entry["operation"])
            return out


def parse_fault_arg(text):
    if "=" in text:
        name, value = text.split("=", 1)
    else:
        name, value = text, True
    return name.strip(), value


def _unicode_escape(text):
    out = []
    for char in text:
        code = ord(char)
        if code > 0x7F or char in "\"'\\":
            if code > 0xFFFF:
                code -= 0x10000
                out.append("\\u%04x\\u%04x" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)))
            else:
                out.append("\\u%04x" % code)
        else:
            out.append(char)
    return "".join(out)


def echo_encode(mode, raw):
    """The raw request body encoded the way a hostile PEC might echo it (``echo`` fault)."""
    text = raw.decode("utf-8", "replace")
    if mode == "raw":
        return text
    if mode == "json":
        return json.dumps(text)
    if mode == "upper":
        return text.upper()
    if mode == "html":
        return html.escape(text)
    if mode == "url":
        return urllib.parse.quote(text)
    if mode == "base64":
        return base64.b64encode(raw).decode("ascii")
    if mode == "unicode":
        return _unicode_escape(text)
    return text


# --------------------------------------------------------------------------------------
# Persistent state


def empty_certificate_state():
    return {
        "certificado": None,
        "servicos": [],
        "identificadorSolicitante": None,
        "habilitadoEm": None,
        "validoAte": None,
        "fingerprintSha256": None,
        "arquivoSha256": None,
    }


def new_contra_chave():
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    raw = "".join(secrets.choice(alphabet) for _index in range(32))
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


class Store:
    """State file (JSON, atomic writes), audit log and request log (JSON lines)."""

    def __init__(self, install_dir, municipios):
        self.lock = threading.RLock()
        self.dir = os.path.join(install_dir, STATE_DIRNAME)
        os.makedirs(self.dir, mode=0o750, exist_ok=True)
        self.state_path = os.path.join(self.dir, "state.json")
        self.audit_path = os.path.join(self.dir, "audit.jsonl")
        self.requests_path = os.path.join(self.dir, "requests.jsonl")
        self.data = self._load()
        changed = not os.path.exists(self.state_path)
        if not self.data.get("contra_chave"):
            self.data["contra_chave"] = new_contra_chave()
            changed = True
        for ibge, nome in municipios.items():
            entry = self.data["municipios"].get(ibge)
            if entry is None:
                self.data["municipios"][ibge] = {"nome": nome, "certificado": empty_certificate_state()}
                changed = True
            elif not isinstance(entry.get("certificado"), dict):
                entry["certificado"] = empty_certificate_state()
                changed = True
        if changed:
            self.save()

    def _fresh(self):
        return {"versao_estado": STATE_VERSION, "contra_chave": None, "municipios": {}, "arquivos": {}}

    def _load(self):
        try:
            with open(self.state_path, "r", encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return self._fresh()
        except (OSError, ValueError) as exc:
            print("AVISO: %s ilegível (%s); o simulador começa com um estado novo." % (self.state_path, exc),
                  file=sys.stderr, flush=True)
            return self._fresh()
        if not isinstance(data, dict) or data.get("versao_estado") != STATE_VERSION:
            version = data.get("versao_estado") if isinstance(data, dict) else None
            print("AVISO: %s tem versao_estado %r (esperado %d); o simulador começa com um estado novo."
                  % (self.state_path, version, STATE_VERSION), file=sys.stderr, flush=True)
            return self._fresh()
        data.setdefault("municipios", {})
        data.setdefault("arquivos", {})
        return data

    def save(self):
        with self.lock:
            fd, tmp = tempfile.mkstemp(prefix=".state-", suffix=".json", dir=self.dir)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(self.data, handle, indent=2, ensure_ascii=False, sort_keys=True)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.state_path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise

    def _append(self, path, line):
        with self.lock:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(line, ensure_ascii=False) + "\n")
                handle.flush()
                os.fsync(handle.fileno())

    def audit(self, user, municipio, action, result, **extra):
        line = {"time": iso(utcnow()), "user": user, "municipio": municipio, "action": action, "result": result}
        line.update(extra)
        self._append(self.audit_path, line)

    def log_request(self, line):
        self._append(self.requests_path, line)

    def certificate(self, ibge):
        return self.data["municipios"][ibge]["certificado"]


# --------------------------------------------------------------------------------------
# GraphQL schema and resolvers


def load_schema(schema_dir, certificate_api=True):
    names = [SESSION_SCHEMA] + ([CERTIFICATE_SCHEMA] if certificate_api else [])
    parts = []
    for name in names:
        with open(os.path.join(schema_dir, name), "r", encoding="utf-8") as handle:
            parts.append(handle.read())
    return graphql.build_schema("\n".join(parts))


class Root:
    """Root resolvers (graphql-core calls ``root.<field>(info, **arguments)``)."""

    def __init__(self, pec):
        self.pec = pec

    # Query
    def info(self, _info):
        return {"versao": self.pec.version}

    def sessao(self, info):
        return self.pec.sessao(info.context)

    def certificadosDisponiveis(self, info):  # noqa: N802 - GraphQL field name
        self.pec.admin_ibge(info.context)
        return self.pec.list_files()

    def certificadoMunicipio(self, info):  # noqa: N802
        ibge = self.pec.admin_ibge(info.context)
        with self.pec.store.lock:
            return dict(self.pec.store.certificate(ibge))

    def contraChave(self, info):  # noqa: N802
        self.pec.admin_ibge(info.context)
        return self.pec.store.data["contra_chave"]

    # Mutation
    def login(self, info, input):  # pylint: disable=redefined-builtin
        return self.pec.login(info.context, input)

    def selecionarAcesso(self, info, input):  # noqa: N802 pylint: disable=redefined-builtin
        return self.pec.select_access(info.context, input)

    def logout(self, info):
        return self.pec.logout(info.context)

    def habilitarCertificado(self, info, input):  # noqa: N802 pylint: disable=redefined-builtin
        return self.pec.enable(info.context, input)

    def desabilitarCertificado(self, info, input):  # noqa: N802 pylint: disable=redefined-builtin
        return self.pec.disable(info.context, input)


# --------------------------------------------------------------------------------------
# The PEC


class Pec:
    def __init__(self, args, schema):
        self.version = args.version
        self.install_dir = os.path.abspath(args.install_dir)
        self.chaves = os.path.join(self.install_dir, "webserver", CHAVES_DIRNAME)
        self.session_timeout = args.session_timeout
        self.pkcs12_backend = args.pkcs12_backend
        self.lock_after = args.lock_after
        self.certificate_api = not args.no_certificate_api
        self.schema = schema
        self.root = Root(self)
        self.admins = args.admins  # list of (cpf, password, ibge or None)
        self.municipios = args.municipios  # ordered dict ibge -> nome
        self.users = []
        for cpf, _password, _ibge in self.admins:
            if cpf not in self.users:
                self.users.append(cpf)
        self.store = Store(self.install_dir, self.municipios)
        self.sessions = {}
        self.sessions_lock = threading.RLock()
        self.failures = {cpf: 0 for cpf in self.users}
        self.locked = set()
        self.ended_by_force = 0
        self.xsrf_issued = collections.OrderedDict()
        self.faults = Faults()

    # -- users and accesses ---------------------------------------------------------
    def user_id(self, cpf):
        return self.users.index(cpf) + 1

    def managed_by(self, cpf):
        out = []
        for name, _password, ibge in self.admins:
            if name != cpf:
                continue
            if ibge is None:
                return list(self.municipios)
            if ibge not in out:
                out.append(ibge)
        return out

    def accesses(self, cpf):
        """The user's accesses: a Lotacao, then one AdministradorMunicipal per municipality.

        Ids are stable numeric strings: user number followed by the 7-digit IBGE code
        (``0000000`` for the Lotacao), so they differ across users and municipalities.
        """
        uid = self.user_id(cpf)
        out = [{
            "__typename": "Lotacao", "id": "%d0000000" % uid, "tipo": "LOTACAO",
            "unidadeSaude": {"id": str(uid), "nome": "UBS Centro"},
        }]
        order = list(self.municipios)
        for ibge in self.managed_by(cpf):
            out.append({
                "__typename": "AdministradorMunicipal", "id": "%d%s" % (uid, ibge),
                "tipo": "ADMINISTRADOR_MUNICIPAL",
                "municipio": {"id": str(order.index(ibge) + 1), "nome": self.municipios[ibge], "ibge": ibge},
            })
        return out

    def find_access(self, cpf, access_id):
        for access in self.accesses(cpf):
            if access["id"] == access_id:
                return access
        return None

    # -- sessions -------------------------------------------------------------------
    def new_xsrf(self):
        token = secrets.token_urlsafe(24)
        with self.sessions_lock:
            self.xsrf_issued[token] = True
            while len(self.xsrf_issued) > XSRF_MEMORY:
                self.xsrf_issued.popitem(last=False)
        return token

    def _expired(self, entry, now):
        return now - entry["last_seen"] > self.session_timeout

    def session(self, sid):
        """The live session of ``sid`` (touched), or None."""
        with self.sessions_lock:
            entry = self.sessions.get(sid) if sid else None
            if entry is None:
                return None
            now = time.monotonic()
            if self._expired(entry, now):
                del self.sessions[sid]
                return None
            entry["last_seen"] = now
            return entry

    def live_sids(self, cpf):
        with self.sessions_lock:
            now = time.monotonic()
            out = []
            for sid, entry in list(self.sessions.items()):
                if self._expired(entry, now):
                    del self.sessions[sid]
                elif entry["user"] == cpf:
                    out.append(sid)
            return out

    def drop_session(self, sid):
        with self.sessions_lock:
            self.sessions.pop(sid, None)

    def stats(self):
        with self.sessions_lock:
            live = {cpf: len(self.live_sids(cpf)) for cpf in self.users}
            return {
                "sessions": live,
                "sessions_ended_by_force": self.ended_by_force,
                "failed_logins": dict(self.failures),
                "locked": sorted(self.locked),
                "xsrf_tokens_issued": len(self.xsrf_issued),
            }

    # -- session operations ----------------------------------------------------------
    def login(self, ctx, data):
        if ctx["session"] is not None:
            # Confirmed behaviour: an authenticated request keeps its user, no new session.
            return {"success": True}
        user = data.get("username")
        password = data.get("password") or ""
        force = data.get("force") is True
        ended = 0
        with self.sessions_lock:
            if user not in self.users:
                raise PecError(CLS_AUTH, MSG["LOGIN_RECUSADO"])
            if user in self.locked:
                raise PecError(CLS_AUTH, MSG["USUARIO_BLOQUEADO"])
            ok = any(
                name == user and secrets.compare_digest(pw.encode("utf-8"), password.encode("utf-8"))
                for name, pw, _ibge in self.admins
            )
            if not ok or self.faults.login_refused:
                self.failures[user] += 1
                if 0 < self.lock_after <= self.failures[user]:
                    self.locked.add(user)
                raise PecError(CLS_AUTH, MSG["LOGIN_RECUSADO"])
            others = self.live_sids(user)
            if others and not force:
                raise PecError(CLS_ALREADY_LOGGED, MSG["USUARIO_JA_LOGADO"])
            for sid in others:
                del self.sessions[sid]
                ended += 1
            self.ended_by_force += ended
            self.failures[user] = 0
            sid = secrets.token_hex(16).upper()
            self.sessions[sid] = {"user": user, "acesso": None, "last_seen": time.monotonic()}
        if ended:
            self.store.audit(user, None, ACTION_FORCED_LOGIN, "sucesso", sessoes_encerradas=ended)
        xsrf = self.new_xsrf()
        secure = "; Secure" if ctx["https"] else ""
        ctx["set_cookies"].append("%s=%s; Path=/; HttpOnly; SameSite=Lax%s" % (SESSION_COOKIE, sid, secure))
        ctx["set_cookies"].append("%s=%s; Path=/%s" % (XSRF_COOKIE, xsrf, secure))
        ctx["new_user"] = user
        return {"success": True}

    def _session_or_fail(self, ctx):
        session = ctx["session"]
        if session is None or self.session(ctx["sid"]) is None:
            raise PecError(CLS_NOT_AUTHENTICATED, MSG["NAO_AUTENTICADO"], status=401)
        return session

    def sessao(self, ctx):
        session = self._session_or_fail(ctx)
        cpf = session["user"]
        uid = self.user_id(cpf)
        return {
            "profissional": {
                "id": str(uid), "nome": "ADMINISTRADOR MUNICIPAL %d" % uid, "cpf": cpf,
                "acessos": self.accesses(cpf),
            },
            "acesso": self.find_access(cpf, session["acesso"]) if session["acesso"] else None,
        }

    def select_access(self, ctx, data):
        session = self._session_or_fail(ctx)
        access = self.find_access(session["user"], str(data.get("id")))
        if access is None:
            raise PecError(CLS_ACCESS_DENIED, MSG["ACESSO_INVALIDO"])
        with self.sessions_lock:
            session["acesso"] = access["id"]
        return access

    def logout(self, ctx):
        session = self._session_or_fail(ctx)
        self.drop_session(ctx["sid"])
        ctx["set_cookies"].append("%s=; Path=/; Max-Age=0; HttpOnly" % SESSION_COOKIE)
        return {"id": str(self.user_id(session["user"]))}

    def admin_ibge(self, ctx):
        """The municipality of the selected Administrador Municipal access, or AccessDenied."""
        session = self._session_or_fail(ctx)
        access = self.find_access(session["user"], session["acesso"]) if session["acesso"] else None
        if access is None or access["tipo"] != "ADMINISTRADOR_MUNICIPAL":
            raise PecError(CLS_ACCESS_DENIED, MSG["SELECIONE_ADMIN"])
        return access["municipio"]["ibge"]

    # -- chaves ------------------------------------------------------------------------
    def list_files(self):
        files = []
        try:
            names = sorted(os.listdir(self.chaves))
        except OSError:
            return files
        known = self.store.data["arquivos"]
        for name in names:
            if not name.lower().endswith((".pfx", ".p12")):
                continue
            path = os.path.join(self.chaves, name)
            if not os.path.isfile(path):
                continue
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
                stat = os.stat(path)
            except OSError:
                continue
            digest = hashlib.sha256(data).hexdigest()
            facts = known.get(digest) or {}
            files.append({
                "nome": name,
                "tamanho": len(data),
                "modificadoEm": iso(datetime.datetime.fromtimestamp(int(stat.st_mtime), datetime.timezone.utc)),
                "sha256": digest,
                "fingerprintSha256": facts.get("fingerprintSha256"),
                "validoAte": facts.get("validoAte"),
            })
        return files

    # -- certificate operations (the model) -------------------------------------------
    def _service_request(self, ctx, data):
        """(IBGE, user, services asked for) of an enable/disable; PecError when no service is ticked."""
        ibge = self.admin_ibge(ctx)
        services = [service for service in SERVICES if service in (data.get("servicos") or [])]
        if not services:
            raise PecError(CLS_INPUT, MSG["SELECIONE_SERVICO"])
        return ibge, ctx["session"]["user"], services

    def enable(self, ctx, data):
        ibge, user, services = self._service_request(ctx, data)
        name = data.get("certificado") or ""
        try:
            with self.store.lock:
                requester = (data.get("identificadorSolicitante") or "").strip() or None
                if "RNDS" in services and not requester:
                    raise PecError(CLS_REQUESTER, MSG["IDENTIFICADOR_OBRIGATORIO"])
                if requester and (len(requester) > 100 or not REQUESTER_RE.match(requester)):
                    raise PecError(CLS_REQUESTER, MSG["IDENTIFICADOR_INVALIDO"])
                if ("/" in name or "\\" in name or name in ("", ".", "..")
                        or not name.lower().endswith((".pfx", ".p12"))):
                    raise PecError(CLS_CERT_MISSING, MSG["CERTIFICADO_NAO_ENCONTRADO"] % name)
                path = os.path.join(self.chaves, name)
                if not os.path.isfile(path):
                    raise PecError(CLS_CERT_MISSING, MSG["CERTIFICADO_NAO_ENCONTRADO"] % name)
                facts = open_certificate(path, data.get("senha") or "", backend=self.pkcs12_backend)
                state = {
                    "certificado": name,
                    "servicos": services,
                    "identificadorSolicitante": requester,
                    "habilitadoEm": iso(utcnow()),
                    "validoAte": facts["validoAte"],
                    "fingerprintSha256": facts["fingerprintSha256"],
                    "arquivoSha256": facts["arquivoSha256"],
                }
                self.store.data["municipios"][ibge]["certificado"] = state
                self.store.data["arquivos"][facts["arquivoSha256"]] = {
                    "fingerprintSha256": facts["fingerprintSha256"],
                    "validoAte": facts["validoAte"],
                }
                self.store.save()
        except PecError as exc:
            for service in services:
                self.store.audit(user, ibge, ACTION_ENABLE % service, "falha: " + exc.message, certificado=name)
            raise
        for service in services:
            self.store.audit(user, ibge, ACTION_ENABLE % service, "sucesso", certificado=name,
                             fingerprint_sha256=state["fingerprintSha256"])
        return dict(state)

    def disable(self, ctx, data):
        ibge, user, wanted = self._service_request(ctx, data)
        with self.store.lock:
            state = self.store.certificate(ibge)
            removed = [service for service in state["servicos"] if service in wanted]
            name = state["certificado"]
            if removed:
                left = [service for service in state["servicos"] if service not in removed]
                if left:
                    state = dict(state, servicos=left)
                else:
                    state = empty_certificate_state()
                self.store.data["municipios"][ibge]["certificado"] = state
                self.store.save()
        for service in removed:
            self.store.audit(user, ibge, ACTION_DISABLE % service, "sucesso", certificado=name)
        return dict(state)


# --------------------------------------------------------------------------------------
# GraphQL helpers


def rule_name(rule):
    if rule is graphql.FieldsOnCorrectTypeRule:
        return "FieldUndefined"
    name = rule.__name__
    return name[:-4] if name.endswith("Rule") else name


def _node_paths(document):
    """Map id(AST node) -> query path (field names) of the field it belongs to."""
    paths = {}

    def walk(node, path):
        if isinstance(node, graphql.language.FieldNode):
            path = path + [node.name.value]
        paths[id(node)] = path
        for key in node.keys:
            value = getattr(node, key, None)
            if isinstance(value, graphql.language.Node):
                walk(value, path)
            elif isinstance(value, (list, tuple)):
                for item in value:
                    if isinstance(item, graphql.language.Node):
                        walk(item, path)

    for definition in document.definitions:
        walk(definition, [])
    return paths


_FIELD_UNDEFINED_RE = re.compile(r"^Cannot query field '([^']*)' on type '([^']*)'\.")


def _locations(error):
    return [{"line": loc.line, "column": loc.column} for loc in (error.locations or [])]


def validation_errors(schema, document):
    """Validate like graphql-java: one message per failure, ``Validation error (Rule@[path]) : text``."""
    paths = None
    out = []
    # Introspection is off on the real PEC: __schema/__type are undefined fields.
    for definition in document.definitions:
        if isinstance(definition, graphql.language.OperationDefinitionNode):
            for selection in definition.selection_set.selections:
                if isinstance(selection, graphql.language.FieldNode) and selection.name.value in INTROSPECTION_FIELDS:
                    root = schema.mutation_type if definition.operation.value == "mutation" else schema.query_type
                    field = selection.name.value
                    loc = selection.loc.source.get_location(selection.loc.start) if selection.loc else None
                    out.append({
                        "message": "Validation error (FieldUndefined@[%s]) : Field '%s' in type '%s' is undefined"
                                   % (field, field, root.name if root else "Query"),
                        "locations": [{"line": loc.line, "column": loc.column}] if loc else [],
                        "extensions": {"classification": CLS_VALIDATION},
                    })
    for rule in graphql.specified_rules:
        for error in graphql.validate(schema, document, [rule]):
            if paths is None:
                paths = _node_paths(document)
            path = paths.get(id(error.nodes[0])) if error.nodes else None
            text = error.message
            match = _FIELD_UNDEFINED_RE.match(text)
            if rule is graphql.FieldsOnCorrectTypeRule and match:
                if match.group(1) in INTROSPECTION_FIELDS:
                    continue  # already reported above
                text = "Field '%s' in type '%s' is undefined" % (match.group(1), match.group(2))
            where = "@[%s]" % "/".join(path) if path else ""
            out.append({
                "message": "Validation error (%s%s) : %s" % (rule_name(rule), where, text),
                "locations": _locations(error),
                "extensions": {"classification": CLS_VALIDATION},
            })
    out.sort(key=lambda item: tuple(item["locations"][0].values()) if item["locations"] else (0, 0))
    return out


def root_field_names(document, operation):
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, graphql.language.FragmentDefinitionNode)}
    names = []
    seen = set()

    def walk(selection_set):
        for selection in selection_set.selections:
            if isinstance(selection, graphql.language.FieldNode):
                if selection.name.value not in names:
                    names.append(selection.name.value)
            elif isinstance(selection, graphql.language.InlineFragmentNode):
                walk(selection.selection_set)
            elif isinstance(selection, graphql.language.FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is not None and fragment.name.value not in seen:
                    seen.add(fragment.name.value)
                    walk(fragment.selection_set)

    walk(operation.selection_set)
    return names


_VARIABLE_ERROR_RE = re.compile(r"^Variable '\$([^']*)' (got invalid value|of required type|of non-null type)")


def format_execution_error(error):
    """graphql-core error -> PEC answer item (``extensions.classification`` always set)."""
    original = error.original_error
    classification = (error.extensions or {}).get("classification")
    message = error.message
    match = _VARIABLE_ERROR_RE.match(message)
    if match:
        # Never echo variable values (graphql-core puts them in the message).
        message = "Variable '%s' has an invalid value." % match.group(1)
        classification = CLS_VALIDATION
    if classification is None:
        if isinstance(original, PecError):
            classification = original.classification
        elif original is None:
            classification = CLS_VALIDATION if error.path is None else "NullValueInNonNullableField"
        else:
            classification = CLS_FETCH
    item = {"message": message}
    locations = _locations(error)
    if locations:
        item["locations"] = locations
    if error.path:
        item["path"] = list(error.path)
    item["extensions"] = {"classification": classification}
    return item


# --------------------------------------------------------------------------------------
# HTTP


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "e-SUS-APS-PEC-Simulador"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 120  # idle keep-alive connections do not hold a thread forever

    @property
    def pec(self):
        return self.server.pec

    def setup(self):
        super().setup()
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(30)
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError):
                self.close_connection = True
                raise
            self.request.settimeout(self.timeout)

    def log_message(self, fmt, *args):  # noqa: D401 - quiet unless asked
        if self.server.verbose:
            sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % args))

    # -- helpers ---------------------------------------------------------------------
    def _cookies(self):
        jar = cookies.SimpleCookie()
        try:
            jar.load(self.headers.get("Cookie", ""))
        except cookies.CookieError:
            pass
        return {key: morsel.value for key, morsel in jar.items()}

    def _write_request_log(self, status):
        """One line per POST /api/graphql, written before the answer leaves (tests read it right after)."""
        line = getattr(self, "_log", None)
        if line is None:
            return
        self._log = None
        line["status"] = status
        try:
            self.pec.store.log_request(line)
        except OSError:
            pass

    def _send(self, status, body, content_type="application/json;charset=UTF-8", extra_headers=()):
        self._write_request_log(status)
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False).encode("utf-8")
        elif isinstance(body, str):
            body = body.encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in extra_headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout):
            self.close_connection = True

    def _read_body(self):
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_REQUEST_BYTES:
            return None
        return self.rfile.read(length) if length else b""

    # -- verbs -----------------------------------------------------------------------
    def do_GET(self):
        if self.path.startswith(CONTROL_PREFIX):
            return self._control_get()
        if self.path.split("?", 1)[0] in ("/", "/index.html"):
            page = ("<!doctype html><html lang=\"pt-BR\"><head><meta charset=\"utf-8\">"
                    "<title>e-SUS APS PEC</title></head><body><div id=\"root\"></div>"
                    "<!-- simulador de testes --></body></html>")
            secure = "; Secure" if self.server.https else ""
            cookie = "%s=%s; Path=/%s" % (XSRF_COOKIE, self.pec.new_xsrf(), secure)
            return self._send(200, page, "text/html;charset=UTF-8", extra_headers=[("Set-Cookie", cookie)])
        return self._send(404, {"status": 404, "error": "Not Found", "path": self.path})

    def do_POST(self):
        if self.path.startswith(CONTROL_PREFIX):
            return self._control_post()
        if self.path.split("?", 1)[0] != GRAPHQL_PATH:
            self._read_body()
            return self._send(404, {"status": 404, "error": "Not Found", "path": self.path})
        self._log = {
            "time": iso(utcnow()), "operation": None, "fields": None, "user": None,
            "api_consumer_id": self.headers.get(API_CONSUMER_HEADER),
            "client_name": self.headers.get("apollographql-client-name"),
            "client_version": self.headers.get("apollographql-client-version"),
            "xsrf_header": self.headers.get(XSRF_HEADER) is not None,
            "status": None, "classification": None,
        }
        try:
            self._graphql_post()
        finally:
            self._write_request_log(None)  # dropped connection: no answer, no status

    def _answer(self, status, payload, as_array, raw, extra_headers=()):
        """Send a GraphQL answer, in the request's shape, with the echo fault applied."""
        errors = payload.get("errors")
        if errors:
            self._log["classification"] = (errors[0].get("extensions") or {}).get("classification")
            mode = self.pec.faults.echo
            if mode:
                suffix = " Requisição: " + echo_encode(mode, raw)
                for error in errors:
                    error["message"] = error.get("message", "") + suffix
        return self._send(status, [payload] if as_array else payload, extra_headers=extra_headers)

    def _error_answer(self, status, classification, message, as_array, raw):
        payload = {"data": None, "errors": [{"message": message, "extensions": {"classification": classification}}]}
        return self._answer(status, payload, as_array, raw)

    def _graphql_post(self):
        pec = self.pec
        raw = self._read_body()
        if raw is None:
            self.close_connection = True
            return self._send(413, {"status": 413, "error": "Payload Too Large", "path": GRAPHQL_PATH})
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = None
        as_array = isinstance(body, list)
        request = body[0] if as_array and len(body) == 1 else body
        if not isinstance(request, dict):
            request = None
        operation = request.get("operationName") if request is not None else None
        if not isinstance(operation, str):
            operation = None
        self._log["operation"] = operation
        query = request.get("query") if request is not None else None
        document = None
        if isinstance(query, str):
            try:
                document = graphql.parse(query)
            except graphql.GraphQLError as exc:
                syntax_error = exc
            else:
                syntax_error = None
        selected = graphql.get_operation_ast(document, operation) if document is not None else None
        fields = root_field_names(document, selected) if selected is not None else None
        self._log["fields"] = fields
        jar = self._cookies()
        sid = jar.get(SESSION_COOKIE)
        session = pec.session(sid)
        if session is not None:
            self._log["user"] = session["user"]

        # Faults first: they stand for what happens between the client and the PEC.
        faults = pec.faults
        if faults.take("drop", operation):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return None
        if faults.slow:
            time.sleep(faults.slow)
        if faults.take("http500", operation):
            return self._send(500, {"timestamp": iso(utcnow()), "status": 500,
                                    "error": "Internal Server Error", "path": GRAPHQL_PATH})
        if faults.take("garbage", operation):
            return self._send(200, b'{"data": {"info": <html>Erro interno</html> \x00\xff')
        if faults.take("huge", operation):
            padding = "x" * HUGE_BODY_BYTES
            return self._send(200, '{"data": null, "padding": "%s"}' % padding)

        # Refused before anything runs.
        if self.headers.get(API_CONSUMER_HEADER) != API_CONSUMER_ID:
            return self._send(403, {"timestamp": iso(utcnow()), "status": 403, "error": "Forbidden",
                                    "path": GRAPHQL_PATH})
        header = self.headers.get(XSRF_HEADER)
        if header is not None:
            cookie = jar.get(XSRF_COOKIE)
            if cookie is None or not secrets.compare_digest(header.encode("utf-8"), cookie.encode("utf-8")):
                return self._error_answer(403, CLS_CSRF, MSG["XSRF_INVALIDO"], as_array, raw)
        if request is None or (as_array and len(body) != 1) or not isinstance(query, str):
            return self._error_answer(400, CLS_BAD_REQUEST, MSG["REQUISICAO_INVALIDA"], as_array, raw)
        variables = request.get("variables")
        if variables is not None and not isinstance(variables, dict):
            return self._error_answer(400, CLS_BAD_REQUEST, MSG["REQUISICAO_INVALIDA"], as_array, raw)
        if document is None:
            item = {"message": "Invalid Syntax : %s" % syntax_error.message,
                    "locations": _locations(syntax_error), "extensions": {"classification": CLS_SYNTAX}}
            return self._answer(200, {"data": None, "errors": [item]}, as_array, raw)
        errors = validation_errors(pec.schema, document)
        if errors:
            return self._answer(200, {"data": None, "errors": errors}, as_array, raw)
        if selected is None:
            item = {"message": "Unknown operation named '%s'." % operation if operation
                    else "Must provide operation name if query contains multiple operations.",
                    "extensions": {"classification": CLS_VALIDATION}}
            return self._answer(200, {"data": None, "errors": [item]}, as_array, raw)

        # Session check before executing.
        if any(name not in OPEN_ROOT_FIELDS for name in fields):
            if sid and faults.take("expire_sessions", operation):
                pec.drop_session(sid)
                session = None
            if session is None:
                return self._error_answer(401, CLS_NOT_AUTHENTICATED, MSG["NAO_AUTENTICADO"], as_array, raw)

        ctx = {"pec": pec, "sid": sid if session is not None else None, "session": session,
               "https": self.server.https, "set_cookies": [], "new_user": None}
        result = graphql.graphql_sync(pec.schema, query, pec.root, context_value=ctx,
                                      variable_values=variables, operation_name=operation)
        if ctx["new_user"] and getattr(self, "_log", None) is not None:
            self._log["user"] = ctx["new_user"]  # a Login is logged under the CPF it logged in
        payload = {"data": result.data}
        status = 200
        if result.errors:
            payload["errors"] = [format_execution_error(error) for error in result.errors]
            for error in result.errors:
                if isinstance(error.original_error, PecError) and error.original_error.status != 200:
                    status = error.original_error.status
                    break
            if self.server.verbose:
                for error in result.errors:
                    if error.original_error is not None and not isinstance(error.original_error, PecError):
                        sys.stderr.write("erro interno: %r\n" % (error.original_error,))
        headers = [("Set-Cookie", value) for value in ctx["set_cookies"]]
        return self._answer(status, payload, as_array, raw, extra_headers=headers)

    # -- control endpoint (test-only) -------------------------------------------------
    def _control_get(self):
        if self.path.startswith(CONTROL_PREFIX + "fault"):
            return self._send(200, self.pec.faults.snapshot())
        if self.path.startswith(CONTROL_PREFIX + "stats"):
            return self._send(200, self.pec.stats())
        if self.path.startswith(CONTROL_PREFIX + "health"):
            return self._send(200, {"status": "ok", "versao": self.pec.version})
        return self._send(404, {"status": 404, "error": "Not Found", "path": self.path})

    def _control_post(self):
        raw = self._read_body()
        if not self.path.startswith(CONTROL_PREFIX + "fault"):
            return self._send(404, {"status": 404, "error": "Not Found", "path": self.path})
        try:
            body = json.loads((raw or b"{}").decode("utf-8"))
            if not isinstance(body, dict):
                raise ValueError("o corpo precisa ser um objeto JSON")
            if body.get("clear"):
                self.pec.faults.set("clear", True)
            with self.pec.sessions_lock:
                for name, value in body.items():
                    if name == "clear":
                        continue
                    self.pec.faults.set(name, value, sessions=self.pec.sessions)
        except ValueError as exc:
            return self._send(400, {"error": str(exc)})
        return self._send(200, self.pec.faults.snapshot())


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, pec, ssl_context=None, verbose=False):
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.address_family = family
        super().__init__(address, Handler)
        self.pec = pec
        self.verbose = verbose
        self.https = ssl_context is not None
        self.ssl_context = ssl_context

    def get_request(self):
        sock, addr = super().get_request()
        if self.ssl_context is not None:
            # The handshake happens in the handler thread (Handler.setup), not here.
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


# --------------------------------------------------------------------------------------
# Command line


def parse_listen(text):
    if text.startswith("["):
        host, _sep, port = text[1:].partition("]:")
    else:
        host, _sep, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError("use HOST:PORTA, por exemplo 127.0.0.1:8080")
    return host, int(port)


def parse_admin(text):
    """``CPF:SENHA[:IBGE]`` -> ``(cpf 11 digits, password, ibge or None)``."""
    user, sep, rest = text.partition(":")
    if not sep or not user:
        raise argparse.ArgumentTypeError("use CPF:SENHA[:IBGE]")
    cpf = normalize_cpf(user)
    if cpf is None:
        raise argparse.ArgumentTypeError(
            "o usuário do PEC é o CPF do profissional (11 dígitos com dígitos verificadores válidos, "
            "pontuação aceita): %r não é um CPF válido" % user)
    ibge = None
    match = re.match(r"^(.*):(\d{7})$", rest, re.DOTALL)
    if match:
        rest, ibge = match.group(1), match.group(2)
    return cpf, rest, ibge


def parse_municipio(text):
    ibge, _sep, nome = text.partition(":")
    if not re.match(r"^\d{7}$", ibge):
        raise argparse.ArgumentTypeError("código IBGE precisa ter 7 dígitos: %s" % ibge)
    return ibge, nome or KNOWN_MUNICIPIOS.get(ibge) or "Município %s" % ibge


def build_parser():
    parser = argparse.ArgumentParser(
        description="Simulador do PEC e-SUS APS (somente testes e demonstração).",
    )
    parser.add_argument("--listen", required=True, type=parse_listen, help="HOST:PORTA (porta 0 = livre)")
    parser.add_argument("--install-dir", required=True, help="pasta de instalação simulada (ex.: /opt/e-SUS)")
    parser.add_argument("--admin", dest="admins", action="append", type=parse_admin, default=[],
                        help="CPF:SENHA[:IBGE]; sem IBGE administra todos os municípios")
    parser.add_argument("--admin-file", help="arquivo com uma linha CPF:SENHA[:IBGE] por administrador "
                                             "(mantém as senhas fora da linha de comando)")
    parser.add_argument("--municipio", dest="municipio_list", action="append", type=parse_municipio, default=[],
                        help="IBGE[:NOME], repetível")
    parser.add_argument("--https-cert", help="certificado PEM do servidor (com a cadeia)")
    parser.add_argument("--https-key", help="chave PEM do servidor")
    parser.add_argument("--version", default=DEFAULT_VERSION, help="versão do PEC informada")
    parser.add_argument("--fault", dest="faults", action="append", default=[],
                        help="NOME[=VALOR]: slow=S, http500=N|always[@Operacao], drop=N, garbage=N, "
                             "huge=N, expire_sessions=N|always, login_refused, echo=MODO")
    parser.add_argument("--session-timeout", type=float, default=1800.0, help="inatividade da sessão (s)")
    parser.add_argument("--lock-after", type=int, default=3,
                        help="tentativas de login erradas até bloquear o usuário (0 = nunca)")
    parser.add_argument("--no-certificate-api", action="store_true",
                        help="servir só a parte de sessão (sem as operações da aba Certificados)")
    parser.add_argument("--schema-dir", default=SCHEMA_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--pid-file", help="padrão: INSTALL_DIR/pec-simulator/pec-simulator.pid")
    parser.add_argument("--pkcs12-backend", choices=["auto", "cryptography", "openssl"], default="auto",
                        help=argparse.SUPPRESS)
    parser.add_argument("--verbose", action="store_true", help="registra cada requisição no stderr")
    return parser


def resolve_municipios(args):
    municipios = {}
    for ibge, nome in args.municipio_list:
        municipios[ibge] = nome
    for _user, _password, ibge in args.admins:
        if ibge and ibge not in municipios:
            municipios[ibge] = KNOWN_MUNICIPIOS.get(ibge) or "Município %s" % ibge
    if not municipios:
        municipios["3550308"] = KNOWN_MUNICIPIOS["3550308"]
    return municipios


def write_application_properties(install_dir, port, https, cert, key):
    config_dir = os.path.join(install_dir, "webserver", "config")
    path = os.path.join(config_dir, "application.properties")
    if os.path.exists(path):
        return
    os.makedirs(config_dir, exist_ok=True)
    lines = [
        "# Escrito pelo simulador do PEC (tests/pec_simulator) porque o arquivo não existia.",
        "server.port=%d" % port,
        "server.ssl.enabled=%s" % ("true" if https else "false"),
    ]
    if https:
        lines += [
            "server.ssl.certificate=%s" % os.path.abspath(cert),
            "server.ssl.certificate-private-key=%s" % os.path.abspath(key),
        ]
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.admin_file:
        try:
            with open(args.admin_file, encoding="utf-8") as handle:
                lines = [line.rstrip("\r\n") for line in handle]
        except OSError as exc:
            parser.error("não foi possível ler --admin-file: %s" % exc.strerror)
        for number, line in enumerate(lines, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                args.admins.append(parse_admin(line))
            except argparse.ArgumentTypeError as exc:
                parser.error("--admin-file, linha %d: %s" % (number, exc))
    if not args.admins:
        parser.error("informe ao menos um administrador (--admin ou --admin-file)")
    if graphql is None:
        print("ERRO: o simulador precisa do pacote graphql-core (pip install graphql-core, ou copie o "
              "pacote para %s)." % os.path.join(HERE, "_vendor"), file=sys.stderr)
        return 2
    if not HAS_CRYPTOGRAPHY:
        print("ERRO: o simulador precisa do pacote python3-cryptography.", file=sys.stderr)
        return 2
    if bool(args.https_cert) != bool(args.https_key):
        parser.error("--https-cert e --https-key andam juntos")
    try:
        schema = load_schema(args.schema_dir, certificate_api=not args.no_certificate_api)
    except OSError as exc:
        print("ERRO: não foi possível ler o esquema GraphQL em %s: %s" % (args.schema_dir, exc.strerror),
              file=sys.stderr)
        return 2
    except (graphql.GraphQLError, TypeError) as exc:
        print("ERRO: esquema GraphQL inválido em %s: %s" % (args.schema_dir, exc), file=sys.stderr)
        return 2
    args.municipios = resolve_municipios(args)
    faults_at_start = [parse_fault_arg(text) for text in args.faults]
    os.makedirs(args.install_dir, exist_ok=True)
    pec = Pec(args, schema)
    for name, value in faults_at_start:
        try:
            pec.faults.set(name, value, sessions=pec.sessions)
        except ValueError as exc:
            parser.error(str(exc))
    context = None
    if args.https_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.https_cert, args.https_key)
    host, port = args.listen
    server = Server((host, port), pec, ssl_context=context, verbose=args.verbose)
    port = server.server_address[1]
    write_application_properties(pec.install_dir, port, context is not None, args.https_cert, args.https_key)
    pid_file = args.pid_file or os.path.join(pec.store.dir, "pec-simulator.pid")
    with open(pid_file, "w", encoding="utf-8") as handle:
        handle.write("%d\n" % os.getpid())

    def stop(_signum, _frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheme = "https" if context is not None else "http"
    shown_host = "[%s]" % host if ":" in host else host
    print("PEC simulado pronto url=%s://%s:%d pid=%d versao=%s municipios=%s api=%s" % (
        scheme, shown_host, port, os.getpid(), pec.version, ",".join(pec.municipios),
        "certificados" if pec.certificate_api else "sessao"), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        try:
            os.unlink(pid_file)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
