# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (not a public API): mutual-TLS token request to the RNDS auth service.

Runs on PEC servers: Python standard library only (Python >= 3.6). The PKCS#12 is opened with
``cryptography`` when the host happens to have it, otherwise with the ``openssl`` command line
(password passed through the environment, never on the command line). The private key only
touches the disk inside a private temporary folder (0700), encrypted with a random one-time
password, and is removed as soon as the TLS context has loaded it.

Every failure is classified by the stage where it happened (``certificate``, ``dns``, ``tcp``,
``tls``, ``http``) with a diagnosis in pt-BR an operator can act on. The token is never kept,
returned or logged.
"""

from __future__ import absolute_import, division, print_function

import http.client
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from urllib.parse import urlsplit

# Python 3.6 (CentOS 7) has no ssl.SSLCertVerificationError: there a failed verification is a plain
# ssl.SSLError and is reported by the generic handshake branch below.
_SSL_VERIFY_ERROR = getattr(ssl, "SSLCertVerificationError", ssl.CertificateError)

ENDPOINTS = {
    "homologacao": "https://ehr-auth-hmg.saude.gov.br/api/token",
    "producao": "https://ehr-auth.saude.gov.br/api/token",
}
ENVIRONMENT_LABELS = {"homologacao": "homologação", "producao": "produção"}
DEFAULT_TIMEOUT = 30
MAX_RESPONSE_BYTES = 256 * 1024
USER_AGENT = "esus.rnds (Ansible)"

# TLS alerts a server sends when it does not accept the client certificate.
CLIENT_CERT_ALERTS = (
    "ALERT_BAD_CERTIFICATE",
    "ALERT_UNKNOWN_CA",
    "ALERT_CERTIFICATE_REQUIRED",
    "ALERT_CERTIFICATE_UNKNOWN",
    "ALERT_CERTIFICATE_REVOKED",
    "ALERT_CERTIFICATE_EXPIRED",
    "ALERT_UNSUPPORTED_CERTIFICATE",
    "ALERT_ACCESS_DENIED",
    "ALERT_HANDSHAKE_FAILURE",
    "ALERT_DECRYPT_ERROR",
)

_OPENSSL_ENV_P12 = "ESUS_RNDS_P12_PASSWORD"
_OPENSSL_ENV_KEY = "ESUS_RNDS_KEY_PASSWORD"


class CertificateLoadError(Exception):
    """The PKCS#12 could not be turned into a TLS client certificate (message in pt-BR)."""

    def __init__(self, message):
        super(CertificateLoadError, self).__init__(message)
        self.message = message


class CaPathError(Exception):
    """ca_path was given but cannot be used (message in pt-BR). Never a silent fall-back to the system store."""

    def __init__(self, message):
        super(CaPathError, self).__init__(message)
        self.message = message


def server_trust_context(ca_path):
    """ssl.SSLContext that validates the server with the ACs of ``ca_path`` only (a PEM file or a folder of
    hashed certificates). Raises CaPathError when ``ca_path`` is missing, unreadable or holds no certificate:
    the system trust store is never used in its place."""
    hint = ("informe em ca_path o arquivo PEM (ou a pasta de certificados com hash) das ACs que validam o "
            "serviço de autenticação da RNDS, ou omita ca_path para usar as ACs do sistema")
    if not os.path.exists(ca_path):
        raise CaPathError("ca_path=%s não existe neste servidor: %s" % (ca_path, hint))
    if os.path.isdir(ca_path):
        try:
            os.listdir(ca_path)
        except OSError as exc:
            raise CaPathError("não foi possível ler a pasta ca_path=%s (%s): confira as permissões; %s"
                              % (ca_path, exc.strerror, hint)) from None
        return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, capath=ca_path)
    if not os.path.isfile(ca_path):
        raise CaPathError("ca_path=%s não é um arquivo nem uma pasta: %s" % (ca_path, hint))
    try:
        with open(ca_path, "rb"):
            pass
    except (IOError, OSError) as exc:
        raise CaPathError("não foi possível ler ca_path=%s (%s): confira as permissões; %s"
                          % (ca_path, exc.strerror, hint)) from None
    try:
        return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_path)
    except (ssl.SSLError, ValueError, OSError) as exc:
        raise CaPathError("ca_path=%s não contém certificados de AC em formato PEM que possam ser lidos (%s): %s"
                          % (ca_path, getattr(exc, "reason", None) or exc, hint)) from None


# ---------------------------------------------------------------------------------------------
# PKCS#12 -> files ssl.SSLContext.load_cert_chain accepts


def _write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _password_bytes(password):
    return (password or "").encode("utf-8")


def _convert_with_cryptography(data, password, workdir, one_time):
    """Return (certfile, keyfile) using the cryptography library; raise ValueError on failure."""
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.serialization import pkcs12  # pylint: disable=import-outside-toplevel

    candidates = [_password_bytes(password)]
    if not password:
        candidates.insert(0, None)
    last_error = None
    for candidate in candidates:
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, candidate)
            break
        except ValueError as exc:  # wrong password, unsupported cipher or not PKCS#12
            last_error = exc
    else:
        raise ValueError(str(last_error))
    if cert is None:
        raise CertificateLoadError(
            "O arquivo PKCS#12 não contém o certificado do titular. Exporte o certificado A1 "
            "completo (com a chave privada) em .pfx/.p12."
        )
    if key is None:
        raise CertificateLoadError(
            "O arquivo PKCS#12 não contém a chave privada. Um arquivo só com o certificado "
            "(como um .cer) não serve: exporte o certificado A1 com a chave privada."
        )
    certfile = os.path.join(workdir, "client.crt")
    keyfile = os.path.join(workdir, "client.key")
    pem = cert.public_bytes(serialization.Encoding.PEM)
    pem += b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (extra or []))
    _write_private(certfile, pem)
    _write_private(keyfile, key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(one_time.encode("ascii")),
    ))
    return certfile, keyfile


def _run_openssl(openssl, args, env):
    proc = subprocess.run(
        [openssl, "pkcs12"] + args,
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
    )
    return proc.returncode, proc.stderr.decode("utf-8", "replace")


def _convert_with_openssl(path, password, workdir, one_time):
    """Return (certfile, keyfile) using the openssl command line."""
    openssl = shutil.which("openssl")
    if not openssl:
        raise CertificateLoadError(
            "Para abrir o certificado este servidor precisa do comando 'openssl' ou do módulo "
            "Python 'cryptography'; nenhum dos dois foi encontrado."
        )
    env = dict(os.environ)
    env[_OPENSSL_ENV_P12] = password or ""
    env[_OPENSSL_ENV_KEY] = one_time
    keyfile = os.path.join(workdir, "client.key")
    leaf = os.path.join(workdir, "leaf.pem")
    chain = os.path.join(workdir, "chain.pem")
    passin = ["-in", path, "-passin", "env:" + _OPENSSL_ENV_P12]
    steps = [
        passin + ["-nocerts", "-out", keyfile, "-passout", "env:" + _OPENSSL_ENV_KEY],
        passin + ["-nokeys", "-clcerts", "-out", leaf],
        passin + ["-nokeys", "-cacerts", "-out", chain],
    ]
    # OpenSSL 3 needs -legacy for RC2-40/3DES files; OpenSSL 1.1 does not know the option.
    errors = []
    for extra in ([], ["-legacy"]):
        failed = False
        for step in steps:
            code, stderr = _run_openssl(openssl, step + extra, env)
            if code != 0:
                errors.append(stderr)
                failed = True
                break
        if not failed:
            break
    else:
        text = "\n".join(errors).lower()
        if "invalid password" in text or "mac verify" in text:
            raise CertificateLoadError(
                "Senha do certificado incorreta (o openssl não conseguiu verificar o arquivo com a "
                "senha informada)."
            )
        raise CertificateLoadError(
            "O openssl não conseguiu abrir o arquivo como PKCS#12: o arquivo não é um .pfx/.p12 "
            "válido, está corrompido ou usa uma cifra não suportada."
        )
    for name in (keyfile, leaf, chain):
        if os.path.exists(name):
            os.chmod(name, 0o600)
    with open(keyfile, "rb") as handle:
        if b"PRIVATE KEY" not in handle.read():
            raise CertificateLoadError(
                "O arquivo PKCS#12 não contém a chave privada. Um arquivo só com o certificado "
                "(como um .cer) não serve: exporte o certificado A1 com a chave privada."
            )
    with open(leaf, "rb") as handle:
        leaf_pem = handle.read()
    if b"BEGIN CERTIFICATE" not in leaf_pem:
        raise CertificateLoadError("O arquivo PKCS#12 não contém o certificado do titular.")
    chain_pem = b""
    if os.path.exists(chain):
        with open(chain, "rb") as handle:
            chain_pem = handle.read()
    certfile = os.path.join(workdir, "client.crt")
    _write_private(certfile, leaf_pem + b"\n" + chain_pem)
    return certfile, keyfile


def _has_cryptography():
    try:
        from cryptography.hazmat.primitives.serialization import pkcs12  # noqa: F401 pylint: disable=import-outside-toplevel,unused-import
    except ImportError:
        return False
    return True


def build_ssl_context(path, password, ca_path=None, validate_certs=True, backend="auto"):
    """Return (ssl.SSLContext with the client certificate loaded, backend used).

    ``backend``: ``auto`` (cryptography when importable, then openssl), ``cryptography`` or
    ``openssl``. Raises CertificateLoadError with a pt-BR message, or CaPathError when ``ca_path`` is
    given (and ``validate_certs`` is on) but cannot be used.
    """
    trust = server_trust_context(ca_path) if (validate_certs and ca_path) else None
    if not os.path.exists(path):
        raise CertificateLoadError("Arquivo do certificado não encontrado: %s" % path)
    if not os.path.isfile(path):
        raise CertificateLoadError("O caminho do certificado não é um arquivo: %s" % path)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        raise CertificateLoadError("Não foi possível ler o certificado %s: %s" % (path, exc.strerror)) from None
    if not data:
        raise CertificateLoadError("O arquivo do certificado está vazio: %s" % path)
    stripped = data.lstrip()
    if stripped.startswith(b"-----BEGIN"):
        raise CertificateLoadError(
            "O arquivo é um certificado PEM, não um PKCS#12 (.pfx/.p12) com a chave privada."
        )

    context = trust if trust is not None else ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if not validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE

    if backend == "auto":
        backends = (["cryptography"] if _has_cryptography() else []) + ["openssl"]
    else:
        backends = [backend]

    one_time = secrets.token_urlsafe(32)
    workdir = tempfile.mkdtemp(prefix="esus-rnds-auth-")  # mode 0700
    try:
        os.chmod(workdir, 0o700)
        last_error = None
        for name in backends:
            try:
                if name == "cryptography":
                    certfile, keyfile = _convert_with_cryptography(data, password, workdir, one_time)
                else:
                    certfile, keyfile = _convert_with_openssl(path, password, workdir, one_time)
            except ValueError:
                last_error = CertificateLoadError(
                    "Não foi possível abrir o certificado: senha incorreta, arquivo que não é "
                    "PKCS#12 (.pfx/.p12) ou cifra não suportada."
                )
                continue
            except CertificateLoadError as exc:
                last_error = exc
                if name == "cryptography" and "chave privada" not in exc.message:
                    continue
                raise
            try:
                context.load_cert_chain(certfile, keyfile, password=one_time)
            except ssl.SSLError as exc:
                raise CertificateLoadError(
                    "O certificado foi aberto, mas a chave privada não corresponde ao certificado "
                    "ou não pôde ser usada em TLS (%s)." % (exc.reason or exc.__class__.__name__)
                ) from None
            return context, name
        raise last_error
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# The request, stage by stage


def resolve_url(environment, url):
    """Return the URL to call: ``url`` when given, else the endpoint of ``environment``."""
    return url or ENDPOINTS[environment]


def _alert_name(exc):
    reason = getattr(exc, "reason", None) or ""
    text = "%s %s" % (reason, exc)
    for alert in CLIENT_CERT_ALERTS:
        if alert in text.upper():
            return reason or alert
    return None


def _refused_client_cert(host, detail):
    return (
        "O servidor %s recusou o certificado do cliente no handshake TLS (%s): o certificado não "
        "foi aceito - não está credenciado na RNDS para este ambiente, é de uma AC não reconhecida, "
        "está vencido ou foi revogado." % (host, detail)
    )


def _http_diagnosis(status, label):
    if status in (401, 403):
        return (
            "O serviço de autenticação respondeu HTTP %d: a conexão TLS foi aceita, mas o "
            "certificado não está credenciado (ou o credenciamento ainda não foi concluído) para "
            "o ambiente de %s. Confira o credenciamento no e-Gestor AB." % (status, label)
        )
    if status == 404:
        return "O serviço respondeu HTTP 404: a URL do serviço de autenticação está errada."
    if status >= 500:
        return (
            "O serviço de autenticação respondeu HTTP %d: erro do lado da RNDS; tente de novo "
            "mais tarde." % status
        )
    return "O serviço de autenticação respondeu HTTP %d, sem token." % status


def request_token(url, context, timeout=DEFAULT_TIMEOUT, environment=None):
    """GET ``url`` with mutual TLS. Return the result dict (never the token).

    Keys: authenticated, url, environment, status_code, expires_in, scope, elapsed_ms, stage,
    diagnosis, tls_version.
    """
    label = ENVIRONMENT_LABELS.get(environment, environment or "informado")
    result = dict(
        authenticated=False, url=url, environment=environment, status_code=None,
        expires_in=None, scope=None, elapsed_ms=0, stage="dns", diagnosis=None, tls_version=None,
    )
    parts = urlsplit(url)
    host = parts.hostname
    port = parts.port or 443
    path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    started = time.monotonic()

    def done(stage, diagnosis, **extra):
        result.update(extra)
        result["stage"] = stage
        result["diagnosis"] = diagnosis
        result["elapsed_ms"] = int(round((time.monotonic() - started) * 1000))
        return result

    # 1. DNS
    try:
        addresses = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return done("dns", "Falha de DNS: o nome %s não pôde ser resolvido (%s). Verifique o DNS "
                           "do servidor e se ele tem saída para a internet." % (host, exc.strerror or exc))
    except UnicodeError:
        return done("dns", "Falha de DNS: o nome %s é inválido." % host)

    # 2. TCP
    sock = None
    tcp_errors = []
    for family, socktype, proto, dummy, address in addresses:
        candidate = socket.socket(family, socktype, proto)
        candidate.settimeout(timeout)
        try:
            candidate.connect(address)
        except socket.timeout:
            candidate.close()
            tcp_errors.append("timeout")
        except ConnectionRefusedError:
            candidate.close()
            tcp_errors.append("refused")
        except OSError as exc:
            candidate.close()
            tcp_errors.append(exc.strerror or str(exc))
        else:
            sock = candidate
            break
    if sock is None:
        where = "%s:%d" % (host, port)
        if "refused" in tcp_errors:
            return done("tcp", "Conexão TCP recusada em %s: nada escuta nessa porta ou um firewall "
                               "rejeita a conexão." % where)
        if "timeout" in tcp_errors:
            return done("tcp", "Tempo esgotado (%ss) ao abrir a conexão TCP com %s: firewall ou "
                               "proxy bloqueando a saída deste servidor." % (timeout, where))
        return done("tcp", "Falha de rede ao conectar em %s: %s." % (where, "; ".join(tcp_errors)))

    # 3. TLS handshake
    try:
        tls = context.wrap_socket(sock, server_hostname=host)
    except _SSL_VERIFY_ERROR as exc:
        sock.close()
        return done("tls", "O certificado do servidor %s não foi validado (%s). Confira a data e hora "
                           "deste servidor e as ACs confiáveis (opção ca_path)."
                    % (host, getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or exc))
    except ssl.SSLError as exc:
        sock.close()
        alert = _alert_name(exc)
        if alert:
            return done("tls", _refused_client_cert(host, alert))
        return done("tls", "Falha no handshake TLS com %s: %s." % (host, exc.reason or exc))
    except socket.timeout:
        sock.close()
        return done("tls", "Tempo esgotado (%ss) no handshake TLS com %s." % (timeout, host))
    except (ConnectionError, OSError) as exc:
        sock.close()
        return done("tls", "O servidor %s encerrou a conexão durante o handshake TLS (%s): provável "
                           "recusa do certificado do cliente." % (host, exc.strerror or exc.__class__.__name__))
    result["tls_version"] = tls.version()

    # 4. HTTP (TLS 1.3: a refused client certificate only shows up here, on the first read)
    conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    conn.sock = tls
    try:
        try:
            conn.request("GET", path, headers={"Accept": "application/json", "User-Agent": USER_AGENT})
            response = conn.getresponse()
            status = response.status
            body = response.read(MAX_RESPONSE_BYTES)
        except ssl.SSLError as exc:
            alert = _alert_name(exc)
            if alert:
                return done("tls", _refused_client_cert(host, alert))
            if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
                return done("tls", "O servidor %s encerrou a conexão TLS antes de responder: em TLS 1.3 é "
                                   "assim que um certificado de cliente recusado aparece." % host)
            return done("tls", "Erro TLS após o handshake com %s: %s." % (host, exc.reason or exc))
        except socket.timeout:
            return done("http", "O serviço %s não respondeu em %ss." % (host, timeout))
        except (http.client.RemoteDisconnected, ConnectionError) as exc:
            return done("tls", "O servidor %s fechou a conexão antes de responder (%s): em TLS 1.3 é "
                               "assim que um certificado de cliente recusado aparece."
                        % (host, exc.__class__.__name__))
        except (http.client.HTTPException, OSError) as exc:
            return done("http", "Resposta HTTP inválida de %s (%s)." % (host, exc.__class__.__name__))
    finally:
        conn.close()

    result["status_code"] = status
    if status != 200:
        return done("http", _http_diagnosis(status, label))
    try:
        payload = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeError):
        payload = None
    if not isinstance(payload, dict) or not payload.get("access_token"):
        return done("http", "O serviço respondeu HTTP 200 sem um token (resposta inesperada): a URL "
                            "pode não ser a do serviço de autenticação da RNDS.")
    expires_in = payload.get("expires_in")
    try:
        expires_in = int(expires_in) if expires_in is not None else None
    except (TypeError, ValueError):
        expires_in = None
    scope = payload.get("scope")
    payload.clear()  # the token is dropped here and never leaves this function
    return done(
        "ok",
        "Token obtido: o certificado foi aceito pelo serviço de autenticação (%s)." % label,
        authenticated=True, expires_in=expires_in, scope=scope if isinstance(scope, str) else None,
    )


def authenticate(path, password, environment="homologacao", url=None, ca_path=None,
                 validate_certs=True, timeout=DEFAULT_TIMEOUT, backend="auto"):
    """Load the certificate and request a token. Return the result dict (never the token)."""
    target = resolve_url(environment, url)
    try:
        context, used = build_ssl_context(path, password, ca_path=ca_path,
                                          validate_certs=validate_certs, backend=backend)
    except (CertificateLoadError, CaPathError) as exc:
        return dict(
            authenticated=False, url=target, environment=environment, status_code=None,
            expires_in=None, scope=None, elapsed_ms=0,
            stage="ca_path" if isinstance(exc, CaPathError) else "certificate",
            diagnosis=exc.message, tls_version=None, certificate_backend=None,
        )
    result = request_token(target, context, timeout=timeout, environment=environment)
    result["certificate_backend"] = used
    return result
