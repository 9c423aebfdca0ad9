# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PEC e-SUS APS simulator (tests and demo only).

A stand-in for the part of the PEC web server that the collection talks to: GraphQL over
HTTP at ``POST /api/graphql`` with a session cookie and an XSRF token, the way the PEC web
client (a React application) talks to its server. The real API is not published; the
contract is modelled on the web client and the official manual and written down in
``docs/pec-api.md``. See ``README.md`` beside this file for the command line.

Standard library plus ``cryptography`` (only to open PKCS#12 files). Files that the
installed ``cryptography``/OpenSSL cannot open (legacy RC2 on some distributions) are opened
with ``openssl pkcs12 -legacy``; the password goes through the environment, never argv.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
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
from http import cookies

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
MAX_REQUEST_BYTES = 1024 * 1024
HUGE_BODY_BYTES = 4 * 1024 * 1024
SERVICES = ("RNDS", "CADSUS")
CHAVES_DIRNAME = "chaves"
STATE_DIRNAME = "pec-simulator"
STATE_VERSION = 1
PKCS12_PASSWORD_ENV = "PEC_SIMULATOR_PKCS12_PASSWORD"

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
FAULT_NAMES = FAULTS_COUNTED + ("slow", "login_refused")

ACTION_ENABLE = "Habilitar o PEC a acessar %s"
ACTION_DISABLE = "Desabilitar o PEC a acessar %s"

# Messages a PEC user sees (pt-BR). Error codes go in ``extensions.code``.
MSG = {
    "LOGIN_RECUSADO": "Usuário e/ou senha incorretos.",
    "NAO_AUTENTICADO": "Sessão expirada. Faça login novamente.",
    "XSRF_INVALIDO": "Requisição recusada: token XSRF ausente ou inválido.",
    "SEM_PERMISSAO": "O usuário não é administrador municipal de %s.",
    "MUNICIPIO_DESCONHECIDO": "Município %s não está configurado nesta instalação.",
    "SERVICO_INVALIDO": "Serviço inválido: %s. Use RNDS ou CADSUS.",
    "CERTIFICADO_NAO_ENCONTRADO": "Certificado \"%s\" não encontrado na pasta chaves.",
    "CERTIFICADO_SENHA_INCORRETA": "Senha do certificado incorreta.",
    "CERTIFICADO_INVALIDO": "O arquivo \"%s\" não é um certificado digital válido (PKCS#12 .pfx/.p12).",
    "CERTIFICADO_SEM_CHAVE_PRIVADA": "O arquivo \"%s\" não contém a chave privada do certificado.",
    "CERTIFICADO_CHAVE_NAO_CONFERE": "A chave privada do arquivo \"%s\" não corresponde ao certificado.",
    "CERTIFICADO_EXPIRADO": "Certificado expirado em %s.",
    "CERTIFICADO_AINDA_NAO_VALIDO": "Certificado válido somente a partir de %s.",
    "IDENTIFICADOR_OBRIGATORIO": "Informe o identificador do solicitante.",
    "IDENTIFICADOR_INVALIDO": "Identificador do solicitante inválido.",
    "CAMPO_OBRIGATORIO": "Campo obrigatório não informado: %s.",
    "OPERACAO_DESCONHECIDA": "Operação desconhecida: %s.",
    "REQUISICAO_INVALIDA": "Requisição inválida.",
}


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def iso(dt):
    if dt is None:
        return None
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def br_date(dt):
    return dt.astimezone(datetime.timezone.utc).strftime("%d/%m/%Y")


class GraphQLError(Exception):
    """An error answered as ``{"errors": [...]}`` (HTTP 200 unless ``status`` says otherwise)."""

    def __init__(self, code, message, status=200):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


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

    Returns ``(key, cert, extra)`` or raises ``GraphQLError`` with a PEC message.
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
        raise GraphQLError("CERTIFICADO_SENHA_INCORRETA", MSG["CERTIFICADO_SENHA_INCORRETA"])
    if result.returncode != 0:
        stderr = result.stderr.decode("utf-8", "replace").lower()
        if "mac verify" in stderr or "invalid password" in stderr or "bad decrypt" in stderr:
            raise GraphQLError("CERTIFICADO_SENHA_INCORRETA", MSG["CERTIFICADO_SENHA_INCORRETA"])
        raise GraphQLError("CERTIFICADO_INVALIDO", MSG["CERTIFICADO_INVALIDO"] % name)
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
    """Open ``path`` like the PEC does before enabling it; return facts or raise GraphQLError."""
    name = os.path.basename(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        raise GraphQLError("CERTIFICADO_NAO_ENCONTRADO", MSG["CERTIFICADO_NAO_ENCONTRADO"] % name)
    if not data:
        raise GraphQLError("CERTIFICADO_INVALIDO", MSG["CERTIFICADO_INVALIDO"] % name)
    if backend == "openssl":
        key, cert, extra = _load_with_openssl(path, password)
    else:
        try:
            key, cert, extra = _load_with_cryptography(data, password)
        except Exception:
            if backend == "cryptography":
                raise GraphQLError("CERTIFICADO_SENHA_INCORRETA", MSG["CERTIFICADO_SENHA_INCORRETA"])
            key, cert, extra = _load_with_openssl(path, password)
    if key is None:
        raise GraphQLError("CERTIFICADO_SEM_CHAVE_PRIVADA", MSG["CERTIFICADO_SEM_CHAVE_PRIVADA"] % name)
    if cert is None:
        # The key is there but no certificate pairs with it.
        raise GraphQLError("CERTIFICADO_CHAVE_NAO_CONFERE", MSG["CERTIFICADO_CHAVE_NAO_CONFERE"] % name)
    if _spki(cert.public_key()) != _spki(key.public_key()):
        raise GraphQLError("CERTIFICADO_CHAVE_NAO_CONFERE", MSG["CERTIFICADO_CHAVE_NAO_CONFERE"] % name)
    now = now or utcnow()
    not_after = _cert_not_after(cert)
    not_before = _cert_not_before(cert)
    if not_after < now:
        raise GraphQLError("CERTIFICADO_EXPIRADO", MSG["CERTIFICADO_EXPIRADO"] % br_date(not_after))
    if not_before > now:
        raise GraphQLError("CERTIFICADO_AINDA_NAO_VALIDO", MSG["CERTIFICADO_AINDA_NAO_VALIDO"] % br_date(not_before))
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


class Faults:
    """Misbehaviour switches, set at start (--fault) or through ``POST /__sim__/fault``."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.slow = 0.0
        self.login_refused = False
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
                self.login_refused = not (value is False or value in ("off", "0", 0, "false"))
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
            out = {"slow": self.slow, "login_refused": self.login_refused}
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


# --------------------------------------------------------------------------------------
# Persistent state


class Store:
    """Per-municipality state (JSON, atomic writes) and the audit log (JSON lines)."""

    def __init__(self, install_dir, municipios):
        self.lock = threading.RLock()
        self.dir = os.path.join(install_dir, STATE_DIRNAME)
        os.makedirs(self.dir, mode=0o750, exist_ok=True)
        self.state_path = os.path.join(self.dir, "state.json")
        self.audit_path = os.path.join(self.dir, "audit.jsonl")
        self.data = self._load()
        changed = False
        for ibge, nome in municipios.items():
            entry = self.data["municipios"].get(ibge)
            if entry is None:
                entry = {
                    "nome": nome,
                    "contra_chave": self._new_contra_chave(),
                    "servicos": {service: self._disabled(service) for service in SERVICES},
                }
                self.data["municipios"][ibge] = entry
                changed = True
            for service in SERVICES:
                if service not in entry["servicos"]:
                    entry["servicos"][service] = self._disabled(service)
                    changed = True
        self.active = list(municipios)
        if changed or not os.path.exists(self.state_path):
            self.save()

    @staticmethod
    def _new_contra_chave():
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        raw = "".join(secrets.choice(alphabet) for _index in range(24))
        return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))

    @staticmethod
    def _disabled(service):
        return {
            "servico": service,
            "habilitado": False,
            "habilitadoEm": None,
            "certificado": None,
            "arquivoSha256": None,
            "fingerprintSha256": None,
            "validoAte": None,
            "identificadorSolicitante": None,
        }

    def _load(self):
        try:
            with open(self.state_path, "r", encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return {"versao_estado": STATE_VERSION, "municipios": {}, "arquivos": {}}
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

    def audit(self, user, municipio, action, result, **extra):
        line = {"time": iso(utcnow()), "user": user, "municipio": municipio, "action": action, "result": result}
        line.update(extra)
        with self.lock:
            with open(self.audit_path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(line, ensure_ascii=False) + "\n")
                handle.flush()
                os.fsync(handle.fileno())

    def municipio(self, ibge):
        return self.data["municipios"].get(ibge)


# --------------------------------------------------------------------------------------
# The PEC


class Pec:
    def __init__(self, args):
        self.version = args.version
        self.install_dir = os.path.abspath(args.install_dir)
        self.chaves = os.path.join(self.install_dir, "webserver", CHAVES_DIRNAME)
        self.session_timeout = args.session_timeout
        self.pkcs12_backend = args.pkcs12_backend
        self.admins = args.admins  # list of (user, password, ibge or None)
        self.municipios = args.municipios  # ordered dict ibge -> nome
        self.store = Store(self.install_dir, self.municipios)
        self.sessions = {}
        self.sessions_lock = threading.Lock()
        self.faults = Faults()

    # -- sessions -------------------------------------------------------------------
    def managed_by(self, user):
        out = []
        for name, _password, ibge in self.admins:
            if name != user:
                continue
            if ibge is None:
                return list(self.municipios)
            if ibge not in out:
                out.append(ibge)
        return out

    def new_session(self, user):
        sid = secrets.token_hex(16).upper()
        xsrf = secrets.token_urlsafe(24)
        with self.sessions_lock:
            self.sessions[sid] = {"user": user, "xsrf": xsrf, "last_seen": time.monotonic()}
        return sid, xsrf

    def session(self, sid):
        with self.sessions_lock:
            entry = self.sessions.get(sid) if sid else None
            if entry is None:
                return None
            if time.monotonic() - entry["last_seen"] > self.session_timeout:
                del self.sessions[sid]
                return None
            entry["last_seen"] = time.monotonic()
            return entry

    def drop_session(self, sid):
        with self.sessions_lock:
            self.sessions.pop(sid, None)

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

    # -- operations --------------------------------------------------------------------
    def op_info(self, _variables, _session):
        return {"info": {
            "versao": self.version,
            "instalacao": "MULTIMUNICIPAL" if len(self.municipios) > 1 else "MUNICIPAL",
            "municipios": [{"ibge": ibge, "nome": nome} for ibge, nome in self.municipios.items()],
        }}

    def op_login(self, variables, _session):
        data = variables.get("input") if isinstance(variables.get("input"), dict) else variables
        user = data.get("usuario")
        password = data.get("senha")
        if not isinstance(user, str) or not isinstance(password, str) or not user:
            raise GraphQLError("CAMPO_OBRIGATORIO", MSG["CAMPO_OBRIGATORIO"] % "usuario/senha")
        ok = any(name == user and secrets.compare_digest(pw.encode("utf-8"), password.encode("utf-8"))
                 for name, pw, _ibge in self.admins)
        if not ok or self.faults.login_refused:
            raise GraphQLError("LOGIN_RECUSADO", MSG["LOGIN_RECUSADO"])
        sid, xsrf = self.new_session(user)
        managed = self.managed_by(user)
        result = {"login": {
            "usuario": user,
            "versao": self.version,
            "perfil": "ADMINISTRADOR_MUNICIPAL",
            "municipios": [{"ibge": ibge, "nome": self.municipios[ibge]} for ibge in managed],
        }}
        return result, {"sid": sid, "xsrf": xsrf}

    def _check_municipio(self, session, ibge):
        if not isinstance(ibge, str) or not ibge:
            raise GraphQLError("CAMPO_OBRIGATORIO", MSG["CAMPO_OBRIGATORIO"] % "municipio")
        if ibge not in self.municipios:
            raise GraphQLError("MUNICIPIO_DESCONHECIDO", MSG["MUNICIPIO_DESCONHECIDO"] % ibge)
        if ibge not in self.managed_by(session["user"]):
            raise GraphQLError("SEM_PERMISSAO", MSG["SEM_PERMISSAO"] % ibge)
        return self.store.municipio(ibge)

    @staticmethod
    def _service(value):
        service = (value or "").upper() if isinstance(value, str) else ""
        if service not in SERVICES:
            raise GraphQLError("SERVICO_INVALIDO", MSG["SERVICO_INVALIDO"] % value)
        return service

    def op_certificados(self, _variables, _session):
        return {"certificadosDisponiveis": self.list_files()}

    def op_configuracao(self, variables, session):
        ibge = variables.get("municipio")
        with self.store.lock:
            entry = self._check_municipio(session, ibge)
            config = {
                "municipio": {"ibge": ibge, "nome": self.municipios[ibge]},
                "rnds": dict(entry["servicos"]["RNDS"]),
                "cadsus": dict(entry["servicos"]["CADSUS"]),
            }
            if variables.get("comContraChave"):
                config["contraChave"] = entry["contra_chave"]
        return {"certificadosDisponiveis": self.list_files(), "configuracaoCertificados": config}

    def op_habilitar(self, variables, session):
        data = variables.get("input") if isinstance(variables.get("input"), dict) else {}
        ibge = data.get("municipio")
        service = None
        try:
            with self.store.lock:
                entry = self._check_municipio(session, ibge)
                service = self._service(data.get("servico"))
                name = data.get("certificado")
                password = data.get("senha")
                requester = data.get("identificadorSolicitante")
                if not isinstance(name, str) or not name:
                    raise GraphQLError("CAMPO_OBRIGATORIO", MSG["CAMPO_OBRIGATORIO"] % "certificado")
                if not isinstance(password, str):
                    raise GraphQLError("CAMPO_OBRIGATORIO", MSG["CAMPO_OBRIGATORIO"] % "senha")
                if requester is not None and not isinstance(requester, str):
                    raise GraphQLError("IDENTIFICADOR_INVALIDO", MSG["IDENTIFICADOR_INVALIDO"])
                requester = (requester or "").strip() or None
                if service == "RNDS" and not requester:
                    raise GraphQLError("IDENTIFICADOR_OBRIGATORIO", MSG["IDENTIFICADOR_OBRIGATORIO"])
                if requester and (len(requester) > 100 or not re.match(r"^[\w.:/@-]+$", requester)):
                    raise GraphQLError("IDENTIFICADOR_INVALIDO", MSG["IDENTIFICADOR_INVALIDO"])
                if "/" in name or "\\" in name or name in (".", "..") or not name.lower().endswith((".pfx", ".p12")):
                    raise GraphQLError("CERTIFICADO_NAO_ENCONTRADO", MSG["CERTIFICADO_NAO_ENCONTRADO"] % name)
                path = os.path.join(self.chaves, name)
                if not os.path.isfile(path):
                    raise GraphQLError("CERTIFICADO_NAO_ENCONTRADO", MSG["CERTIFICADO_NAO_ENCONTRADO"] % name)
                facts = open_certificate(path, password, backend=self.pkcs12_backend)
                state = {
                    "servico": service,
                    "habilitado": True,
                    "habilitadoEm": iso(utcnow()),
                    "certificado": name,
                    "arquivoSha256": facts["arquivoSha256"],
                    "fingerprintSha256": facts["fingerprintSha256"],
                    "validoAte": facts["validoAte"],
                    "identificadorSolicitante": requester,
                }
                entry["servicos"][service] = state
                self.store.data["arquivos"][facts["arquivoSha256"]] = {
                    "fingerprintSha256": facts["fingerprintSha256"],
                    "validoAte": facts["validoAte"],
                }
                self.store.save()
                self.store.audit(session["user"], ibge, ACTION_ENABLE % service, "sucesso",
                                 certificado=name, fingerprint_sha256=facts["fingerprintSha256"])
                return {"habilitarCertificado": dict(state)}
        except GraphQLError as exc:
            if service is not None:
                self.store.audit(session["user"], ibge, ACTION_ENABLE % service, "falha: " + exc.message,
                                 certificado=data.get("certificado") if isinstance(data.get("certificado"), str) else None)
            raise

    def op_desabilitar(self, variables, session):
        data = variables.get("input") if isinstance(variables.get("input"), dict) else {}
        ibge = data.get("municipio")
        with self.store.lock:
            entry = self._check_municipio(session, ibge)
            service = self._service(data.get("servico"))
            previous = entry["servicos"][service]
            entry["servicos"][service] = Store._disabled(service)
            self.store.save()
            self.store.audit(session["user"], ibge, ACTION_DISABLE % service, "sucesso",
                             certificado=previous.get("certificado"))
            return {"desabilitarCertificado": dict(entry["servicos"][service])}

    def op_logout(self, _variables, _session):
        return {"logout": True}

    OPERATIONS = {
        # name: (method, needs session)
        "Info": ("op_info", False),
        "Login": ("op_login", False),
        "Logout": ("op_logout", True),
        "CertificadosDisponiveis": ("op_certificados", True),
        "ConfiguracaoCertificados": ("op_configuracao", True),
        "HabilitarCertificado": ("op_habilitar", True),
        "DesabilitarCertificado": ("op_desabilitar", True),
    }


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

    def _send(self, status, body, content_type="application/json;charset=UTF-8", extra_headers=()):
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

    def _error(self, status, code, message):
        self._send(status, {"errors": [{"message": message, "extensions": {"code": code}}], "data": None})

    # -- verbs -----------------------------------------------------------------------
    def do_GET(self):
        if self.path.startswith(CONTROL_PREFIX):
            return self._control_get()
        if self.path in ("/", "/index.html"):
            html = ("<!doctype html><html lang=\"pt-BR\"><head><meta charset=\"utf-8\">"
                    "<title>e-SUS APS PEC</title></head><body><div id=\"root\"></div>"
                    "<!-- simulador de testes --></body></html>")
            return self._send(200, html, "text/html;charset=UTF-8")
        return self._send(404, {"status": 404, "error": "Not Found", "path": self.path})

    def do_POST(self):
        if self.path.startswith(CONTROL_PREFIX):
            return self._control_post()
        if self.path.split("?", 1)[0] != GRAPHQL_PATH:
            self._read_body()
            return self._send(404, {"status": 404, "error": "Not Found", "path": self.path})
        raw = self._read_body()
        if raw is None:
            self.close_connection = True
            return self._send(413, {"status": 413, "error": "Payload Too Large", "path": self.path})
        try:
            request = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            request = None
        operation = request.get("operationName") if isinstance(request, dict) else None
        faults = self.pec.faults
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
        if not isinstance(request, dict) or not isinstance(operation, str):
            return self._error(400, "REQUISICAO_INVALIDA", MSG["REQUISICAO_INVALIDA"])
        return self._graphql(request, operation)

    def _graphql(self, request, operation):
        pec = self.pec
        spec = Pec.OPERATIONS.get(operation)
        query = request.get("query")
        if spec is None or not isinstance(query, str) or operation not in query:
            return self._error(200, "OPERACAO_DESCONHECIDA", MSG["OPERACAO_DESCONHECIDA"] % operation)
        variables = request.get("variables") or {}
        if not isinstance(variables, dict):
            return self._error(400, "REQUISICAO_INVALIDA", MSG["REQUISICAO_INVALIDA"])
        method, needs_session = spec
        jar = self._cookies()
        session = None
        sid = jar.get(SESSION_COOKIE)
        if needs_session:
            if pec.faults.take("expire_sessions", operation) and sid:
                pec.drop_session(sid)
            session = pec.session(sid)
            if session is None:
                return self._error(401, "NAO_AUTENTICADO", MSG["NAO_AUTENTICADO"])
            header = self.headers.get(XSRF_HEADER, "")
            if not header or not secrets.compare_digest(header.encode("utf-8"), session["xsrf"].encode("utf-8")):
                return self._error(403, "XSRF_INVALIDO", MSG["XSRF_INVALIDO"])
        try:
            result = getattr(pec, method)(variables, session)
        except GraphQLError as exc:
            return self._error(exc.status, exc.code, exc.message)
        headers = []
        if isinstance(result, tuple):
            result, new = result
            secure = "; Secure" if self.server.https else ""
            headers.append(("Set-Cookie", "%s=%s; Path=/; HttpOnly; SameSite=Lax%s" % (SESSION_COOKIE, new["sid"], secure)))
            headers.append(("Set-Cookie", "%s=%s; Path=/; SameSite=Lax%s" % (XSRF_COOKIE, new["xsrf"], secure)))
            if sid:
                pec.drop_session(sid)
        if operation == "Logout" and sid:
            pec.drop_session(sid)
        return self._send(200, {"data": result}, extra_headers=headers)

    # -- control endpoint (test-only) -------------------------------------------------
    def _control_get(self):
        if self.path.startswith(CONTROL_PREFIX + "fault"):
            return self._send(200, self.pec.faults.snapshot())
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
    user, sep, rest = text.partition(":")
    if not sep or not user:
        raise argparse.ArgumentTypeError("use USUARIO:SENHA[:IBGE]")
    ibge = None
    match = re.match(r"^(.*):(\d{7})$", rest, re.DOTALL)
    if match:
        rest, ibge = match.group(1), match.group(2)
    return user, rest, ibge


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
                        help="USUARIO:SENHA[:IBGE]; sem IBGE administra todos os municípios")
    parser.add_argument("--admin-file", help="arquivo com uma linha USUARIO:SENHA[:IBGE] por administrador "
                                             "(mantém as senhas fora da linha de comando)")
    parser.add_argument("--municipio", dest="municipio_list", action="append", type=parse_municipio, default=[],
                        help="IBGE[:NOME], repetível")
    parser.add_argument("--https-cert", help="certificado PEM do servidor (com a cadeia)")
    parser.add_argument("--https-key", help="chave PEM do servidor")
    parser.add_argument("--version", default=DEFAULT_VERSION, help="versão do PEC informada")
    parser.add_argument("--fault", dest="faults", action="append", default=[],
                        help="NOME[=VALOR]: slow=S, http500=N|always[@Operacao], drop=N, garbage=N, "
                             "huge=N, expire_sessions=N|always, login_refused")
    parser.add_argument("--session-timeout", type=float, default=1800.0, help="inatividade da sessão (s)")
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
    if not HAS_CRYPTOGRAPHY:
        print("ERRO: o simulador precisa do pacote python3-cryptography.", file=sys.stderr)
        return 2
    if bool(args.https_cert) != bool(args.https_key):
        parser.error("--https-cert e --https-key andam juntos")
    args.municipios = resolve_municipios(args)
    faults_at_start = []
    for text in args.faults:
        faults_at_start.append(parse_fault_arg(text))
    os.makedirs(args.install_dir, exist_ok=True)
    pec = Pec(args)
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
    print("PEC simulado pronto url=%s://%s:%d pid=%d versao=%s municipios=%s" % (
        scheme, shown_host, port, os.getpid(), pec.version, ",".join(pec.municipios)), flush=True)
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
