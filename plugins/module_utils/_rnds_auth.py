# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (not a public API): mutual-TLS token request to the RNDS auth service.

Runs on PEC servers: Python standard library only (Python >= 3.6). The certificate is turned into a
TLS client context by ``_pkcs12_tls`` (the PKCS#12 side); this file makes the request.

Every failure is classified by the stage where it happened (``certificate``, ``dns``, ``tcp``,
``tls``, ``http``) with a diagnosis in pt-BR an operator can act on. The token is never kept,
returned or logged.
"""

from __future__ import absolute_import, division, print_function

import http.client
import json
import socket
import ssl
import time
from urllib.parse import urlsplit

from ansible_collections.esus.rnds.plugins.module_utils._labels import option
from ansible_collections.esus.rnds.plugins.module_utils._pkcs12_tls import (
    CaPathError,
    CertificateLoadError,
    build_ssl_context,
)

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

# ---------------------------------------------------------------------------------------------
# The request, stage by stage


class _Stop(Exception):
    """The attempt ended at ``stage`` with ``diagnosis`` (pt-BR)."""

    def __init__(self, stage, diagnosis):
        super(_Stop, self).__init__(diagnosis)
        self.stage = stage
        self.diagnosis = diagnosis


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
        return "O serviço respondeu HTTP 404: a URL do serviço de autenticação está errada (%s)." % option("url")
    if status >= 500:
        return (
            "O serviço de autenticação respondeu HTTP %d: erro do lado da RNDS; tente de novo "
            "mais tarde." % status
        )
    return "O serviço de autenticação respondeu HTTP %d, sem token." % status


def _resolve(host, port):
    """Stage 1, DNS: the addresses of ``host``."""
    try:
        return socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise _Stop("dns", "Falha de DNS: o nome %s não pôde ser resolvido (%s). Verifique o DNS do servidor e se "
                           "ele tem saída para a internet." % (host, exc.strerror or exc)) from None
    except UnicodeError:
        raise _Stop("dns", "Falha de DNS: o nome %s é inválido." % host) from None


def _connect(addresses, host, port, timeout):
    """Stage 2, TCP: a connected socket to the first address that answers."""
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
            return candidate
    where = "%s:%d" % (host, port)
    if "refused" in tcp_errors:
        raise _Stop("tcp", "Conexão TCP recusada em %s: nada escuta nessa porta ou um firewall rejeita a "
                           "conexão." % where)
    if "timeout" in tcp_errors:
        raise _Stop("tcp", "Tempo esgotado (%ss) ao abrir a conexão TCP com %s: firewall ou proxy bloqueando a "
                           "saída deste servidor." % (timeout, where))
    raise _Stop("tcp", "Falha de rede ao conectar em %s: %s." % (where, "; ".join(tcp_errors)))


def _handshake(context, sock, host, timeout):
    """Stage 3, TLS handshake (the socket is closed when it fails)."""
    try:
        return context.wrap_socket(sock, server_hostname=host)
    except _SSL_VERIFY_ERROR as exc:
        sock.close()
        raise _Stop("tls", "O certificado do servidor %s não foi validado (%s). Confira a data e hora deste servidor "
                           "e as ACs confiáveis (%s)."
                    % (host, getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or exc,
                       option("ca_path"))) from None
    except ssl.SSLError as exc:
        sock.close()
        alert = _alert_name(exc)
        if alert:
            raise _Stop("tls", _refused_client_cert(host, alert)) from None
        raise _Stop("tls", "Falha no handshake TLS com %s: %s." % (host, exc.reason or exc)) from None
    except socket.timeout:
        sock.close()
        raise _Stop("tls", "Tempo esgotado (%ss) no handshake TLS com %s." % (timeout, host)) from None
    except (ConnectionError, OSError) as exc:
        sock.close()
        raise _Stop("tls", "O servidor %s encerrou a conexão durante o handshake TLS (%s): provável recusa do "
                           "certificado do cliente." % (host, exc.strerror or exc.__class__.__name__)) from None


def _exchange(conn, host, path, timeout):
    """Stage 4, HTTP: (status, body). With TLS 1.3 a refused client certificate only shows up here."""
    try:
        conn.request("GET", path, headers={"Accept": "application/json", "User-Agent": USER_AGENT})
        response = conn.getresponse()
        return response.status, response.read(MAX_RESPONSE_BYTES)
    except ssl.SSLError as exc:
        alert = _alert_name(exc)
        if alert:
            raise _Stop("tls", _refused_client_cert(host, alert)) from None
        if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
            raise _Stop("tls", "O servidor %s encerrou a conexão TLS antes de responder: em TLS 1.3 é assim que um "
                               "certificado de cliente recusado aparece." % host) from None
        raise _Stop("tls", "Erro TLS após o handshake com %s: %s." % (host, exc.reason or exc)) from None
    except socket.timeout:
        raise _Stop("http", "O serviço %s não respondeu em %ss." % (host, timeout)) from None
    except (http.client.RemoteDisconnected, ConnectionError) as exc:
        raise _Stop("tls", "O servidor %s fechou a conexão antes de responder (%s): em TLS 1.3 é assim que um "
                           "certificado de cliente recusado aparece." % (host, exc.__class__.__name__)) from None
    except (http.client.HTTPException, OSError) as exc:
        raise _Stop("http", "Resposta HTTP inválida de %s (%s)." % (host, exc.__class__.__name__)) from None


def _token_facts(status, body, label):
    """Stage 5, the answer: (expires_in, scope) of a token answer. The token itself is dropped here."""
    if status != 200:
        raise _Stop("http", _http_diagnosis(status, label))
    try:
        payload = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeError):
        payload = None
    if not isinstance(payload, dict) or not payload.get("access_token"):
        raise _Stop("http", "O serviço respondeu HTTP 200 sem um token (resposta inesperada): a URL pode não ser a "
                            "do serviço de autenticação da RNDS (%s)." % option("url"))
    expires_in = payload.get("expires_in")
    try:
        expires_in = int(expires_in) if expires_in is not None else None
    except (TypeError, ValueError):
        expires_in = None
    scope = payload.get("scope")
    payload.clear()  # the token never leaves this function
    return expires_in, scope if isinstance(scope, str) else None


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
    try:
        sock = _connect(_resolve(host, port), host, port, timeout)
        tls = _handshake(context, sock, host, timeout)
        result["tls_version"] = tls.version()
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
        conn.sock = tls
        try:
            status, body = _exchange(conn, host, path, timeout)
        finally:
            conn.close()
        result["status_code"] = status
        result["expires_in"], result["scope"] = _token_facts(status, body, label)
        result.update(authenticated=True, stage="ok",
                      diagnosis="Token obtido: o certificado foi aceito pelo serviço de autenticação (%s)." % label)
    except _Stop as stop:
        result.update(stage=stop.stage, diagnosis=stop.diagnosis)
    result["elapsed_ms"] = int(round((time.monotonic() - started) * 1000))
    return result


def authenticate(path, passphrase, environment="homologacao", url=None, ca_path=None,
                 validate_certs=True, timeout=DEFAULT_TIMEOUT, backend="auto"):
    """Load the certificate and request a token. Return the result dict (never the token).

    ``diagnosis`` names module options with ``_labels.option`` placeholders (the module renders them).
    """
    target = resolve_url(environment, url)
    try:
        context, used = build_ssl_context(path, passphrase, ca_path=ca_path,
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
