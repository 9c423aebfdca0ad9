# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (not a public API): HTTP to one PEC e-SUS APS, below the GraphQL session.

One cookie jar (``JSESSIONID``, ``XSRF-TOKEN``), TLS with the operator's CA, no redirects
followed, answers capped in size, new attempts with exponential backoff after a connection error
or an HTTP 5xx, and every failure turned into a :class:`PecApiError` whose message (pt-BR) names
the problem and the fix. A request that may have reached the PEC is repeated only when the caller
says it may (``once=False``): a Login or a mutation is never sent twice from here.

The session protocol above it is ``_pec_api.py``. Python standard library only (runs on PEC
servers), Python >= 3.6 syntax.
"""

import http.client
import http.cookiejar
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request

from ansible_collections.esus.rnds.plugins.module_utils._labels import option

# ssl.SSLCertVerificationError exists from Python 3.7; on 3.6 a failed verification is a CertificateError.
_CERT_VERIFY_ERROR = getattr(ssl, "SSLCertVerificationError", ssl.CertificateError)

DEFAULT_URL = "http://127.0.0.1:8080"
USER_AGENT = "esus.rnds (Ansible)"
MAX_RESPONSE_BYTES = 1024 * 1024
DEFAULT_TIMEOUT = 30
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 1.0
MAX_BACKOFF = 30.0

# Codes of a failure after which a request that changes the PEC may or may not have been applied.
UNCERTAIN_CODES = ("server_error", "unreachable", "timeout")

# What each operation does, for messages ("na %s", "à %s": feminine nouns only).
LABELS = {
    "Login": "operação de login",
    "Sessao": "leitura da sessão",
    "SelecionarAcesso": "seleção do acesso",
    "Logout": "operação de logout",
    "list_files": "lista de certificados da pasta chaves",
    "read_state": "leitura do certificado do município",
    "enable": "habilitação do certificado",
    "disable": "desabilitação do certificado",
    "contra_chave": "leitura da contra-chave",
    "version": "consulta de versão",
}


def label(key):
    """The pt-BR name of an operation (session document or contract operation) for messages."""
    return LABELS.get(key, key)


class PecApiError(Exception):
    """A failure talking to the PEC. ``message`` is pt-BR, names the problem and the fix.

    ``code`` is stable for callers: unreachable, timeout, tls, tls_verify, ca_path, redirect,
    http_error, server_error, bad_response, too_large, invalid_input, insecure_http, login_refused,
    account_locked, already_logged_in, session_expired, forbidden, no_access,
    contract_mismatch, pec_error and the certificate codes of ``_pec_errors.CERTIFICATE_CODES``.
    Never carries a password. Module options are named with ``_labels.option`` placeholders.
    """

    def __init__(self, code, message, url=None, status=None, operation=None, classification=None,
                 pec_message=None):
        super(PecApiError, self).__init__(message)
        self.code = code
        self.message = message
        self.url = url
        self.status = status
        self.operation = operation
        self.classification = classification
        self.pec_message = pec_message

    def __str__(self):
        return self.message


class _Retryable(Exception):
    """Internal: a connection error or HTTP 5xx; carries the error to raise if retries run out.

    ``sent`` is False only when the request certainly never reached the PEC (connection refused,
    name not resolved): the only case in which a Login may be repeated.
    """

    def __init__(self, error, sent=True):
        super(_Retryable, self).__init__(error.message)
        self.error = error
        self.sent = sent


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def normalize_url(url):
    url = (url or DEFAULT_URL).strip()
    if "://" not in url:
        url = "http://" + url
    return url.rstrip("/")


def check_url(url):
    """Refuse, before any request, a URL the client must not or cannot open (pt-BR PecApiError)."""
    # urllib would also open file:// and ftp:// URLs: only the PEC's own schemes are accepted
    problem = None
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # raises ValueError on a port that is not a number  # pylint: disable=pointless-statement
        if parts.scheme.lower() not in ("http", "https"):
            problem = "não usa http:// nem https://"
        elif not parts.hostname:
            problem = "não tem o nome ou endereço do servidor"
    except ValueError as exc:
        problem = "não é uma URL válida (%s)" % exc
    if problem:
        raise PecApiError(
            "invalid_input",
            "a URL do PEC %s %s: informe o endereço do PEC, por exemplo http://127.0.0.1:8080" % (url, problem),
            url=url,
        )


class PecTransport(object):
    """HTTP requests to the PEC at ``url``: ``get`` and ``post`` return ``(status, body bytes)``."""

    def __init__(self, url, timeout=DEFAULT_TIMEOUT, retries=DEFAULT_RETRIES, backoff=DEFAULT_BACKOFF,
                 validate_certs=True, ca_path=None, max_response_bytes=MAX_RESPONSE_BYTES, sleep=time.sleep):
        self.url = url
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = float(backoff)
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.max_response_bytes = max_response_bytes
        self._sleep = sleep
        self._jar = http.cookiejar.CookieJar()
        handlers = [urllib.request.HTTPCookieProcessor(self._jar), _NoRedirect()]
        if self.url.lower().startswith("https://"):
            handlers.append(urllib.request.HTTPSHandler(context=self._ssl_context()))
        self._opener = urllib.request.build_opener(*handlers)

    # -- cookies ------------------------------------------------------------------------------
    def cookie(self, name):
        for cookie in self._jar:
            if cookie.name == name:
                return cookie.value
        return None

    def clear_cookies(self):
        self._jar.clear()

    # -- requests -----------------------------------------------------------------------------
    def get(self, path, key):
        """``GET url+path`` with the new attempts; any HTTP status is an answer."""
        return self._send(lambda: urllib.request.Request(self.url + path, headers={"User-Agent": USER_AGENT},
                                                         method="GET"), key, once=False)

    def post(self, path, body, headers, key, once):
        """``POST url+path``. ``once``: never repeat it once it may have reached the PEC."""
        return self._send(lambda: urllib.request.Request(self.url + path, data=body, headers=headers, method="POST"),
                          key, once)

    def _send(self, build, key, once):
        attempt = 0
        while True:
            try:
                return self._open(build(), key)
            except _Retryable as retry:
                # A Login or a mutation that may have reached the PEC is never repeated: a second Login
                # could count as a failed one, or meet the session the first one opened; a second
                # mutation could apply twice.
                if attempt >= self.retries or (once and retry.sent):
                    raise self._attempts_said(retry.error, attempt, key if once and retry.sent else None)
                self._wait(attempt)
                attempt += 1

    def _attempts_said(self, error, attempts, kept):
        """The message says how many new attempts were really made (a Login or a mutation is never repeated)."""
        if attempts != self.retries:
            error.message = error.message.replace(
                self._after_retries(),
                ", também após %d nova(s) tentativa(s)" % attempts if attempts else "")
        if kept == "Login":
            error.message += (" (o login não foi repetido: o pedido pode ter chegado ao PEC, e outra tentativa "
                              "poderia contar como senha errada ou encontrar a sessão aberta pela primeira)")
        elif kept:
            error.message += " (o pedido não foi repetido: o PEC pode tê-lo aplicado)"
        error.args = (error.message,)
        return error

    def _wait(self, attempt):
        delay = min(MAX_BACKOFF, self.backoff * (2 ** attempt))
        if delay > 0:
            self._sleep(delay)

    def _after_retries(self):
        return ", também após %d nova(s) tentativa(s)" % self.retries if self.retries else ""

    def _open(self, request, key):
        try:
            response = self._opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            return self._http_error(exc, key)
        except urllib.error.URLError as exc:
            raise self._connection_error(exc.reason, key)
        except (http.client.HTTPException, ConnectionError) as exc:
            # Connection dropped before a status line (RemoteDisconnected, BadStatusLine, reset).
            raise _Retryable(PecApiError(
                "unreachable",
                "o PEC em %s fechou a conexão sem responder à %s (%s)%s: o serviço e-SUS-PEC pode estar "
                "reiniciando ou sobrecarregado (systemctl status e-SUS-PEC); se a URL usa http, confira "
                "se o PEC não espera https" % (self.url, label(key), type(exc).__name__, self._after_retries()),
                url=self.url, operation=key,
            ))
        except (socket.timeout, TimeoutError):
            raise self._timeout(key)
        except ssl.SSLError as exc:
            raise self._tls_error(exc, key)
        try:
            return response.status, self._read(response, key)
        finally:
            response.close()

    def _http_error(self, exc, key):
        """An HTTP status >= 300: redirects are refused, 5xx may be tried again, the rest is an answer."""
        status = exc.code
        if 300 <= status < 400:
            location = exc.headers.get("Location") if exc.headers else None
            exc.close()
            raise PecApiError(
                "redirect",
                "o PEC em %s redirecionou a %s para %s: ajuste a URL do PEC para o endereço final "
                "(por exemplo https://... quando o PEC usa HTTPS)" % (self.url, label(key), location or "?"),
                url=self.url, status=status, operation=key,
            )
        try:
            raw = self._read(exc, key)
        except PecApiError:
            raw = b""
        finally:
            exc.close()
        if status >= 500:
            raise _Retryable(PecApiError(
                "server_error",
                "o PEC em %s respondeu HTTP %d na %s%s: veja o log do serviço (journalctl -u e-SUS-PEC) e "
                "tente de novo" % (self.url, status, label(key), self._after_retries()),
                url=self.url, status=status, operation=key,
            ))
        return status, raw

    def _read(self, response, key):
        length = response.headers.get("Content-Length") if response.headers else None
        try:
            if length is not None and int(length) > self.max_response_bytes:
                raise self._too_large(key)
        except ValueError:
            pass
        try:
            raw = response.read(self.max_response_bytes + 1)
        except (socket.timeout, TimeoutError):
            raise self._timeout(key)
        except (http.client.HTTPException, ConnectionError) as exc:
            raise _Retryable(PecApiError(
                "unreachable",
                "o PEC em %s interrompeu a resposta da %s (%s): tente de novo; se persistir, veja "
                "journalctl -u e-SUS-PEC" % (self.url, label(key), type(exc).__name__),
                url=self.url, operation=key,
            ))
        if len(raw) > self.max_response_bytes:
            raise self._too_large(key)
        return raw

    # -- failures -----------------------------------------------------------------------------
    def _too_large(self, key):
        return PecApiError(
            "too_large",
            "a resposta do PEC em %s à %s passou de %d KiB: confira se a URL aponta para o PEC e-SUS APS "
            "(e não para outro serviço)" % (self.url, label(key), self.max_response_bytes // 1024),
            url=self.url, operation=key,
        )

    def _timeout(self, key):
        return PecApiError(
            "timeout",
            "o PEC em %s não respondeu à %s em %s s: o serviço pode estar iniciando ou sobrecarregado "
            "(systemctl status e-SUS-PEC); aumente %s ou tente de novo"
            % (self.url, label(key), self.timeout, option("timeout")),
            url=self.url, operation=key,
        )

    def _ssl_context(self):
        try:
            if not self.validate_certs:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                return context
            return ssl.create_default_context(cafile=self.ca_path)
        except (OSError, ssl.SSLError) as exc:
            raise PecApiError(
                "ca_path",
                "não foi possível ler as autoridades certificadoras de %s=%s (%s): informe um arquivo PEM "
                "com a AC que emitiu o certificado HTTPS do PEC" % (option("ca_path"), self.ca_path, exc),
                url=self.url,
            )

    def _tls_error(self, exc, key):
        if isinstance(exc, _CERT_VERIFY_ERROR) or "CERTIFICATE_VERIFY_FAILED" in str(exc):
            detail = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
            return PecApiError(
                "tls_verify",
                "o certificado HTTPS do PEC em %s não foi validado (%s): informe %s com a AC que o emitiu "
                "ou, só se confiar na rede, %s=false" % (self.url, detail, option("ca_path"), option("validate_certs")),
                url=self.url, operation=key,
            )
        return PecApiError(
            "tls",
            "falha TLS ao falar com o PEC em %s (%s): confira se a URL usa o esquema certo "
            "(http na porta 8080, https quando o PEC tem certificado SSL configurado)"
            % (self.url, getattr(exc, "reason", None) or exc),
            url=self.url, operation=key,
        )

    def _connection_error(self, reason, key):
        if isinstance(reason, ssl.SSLError):
            return self._tls_error(reason, key)
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return _Retryable(PecApiError(
                "timeout",
                "o PEC em %s não aceitou a conexão em %s s%s: confira o firewall e se o serviço e-SUS-PEC "
                "está ativo (systemctl status e-SUS-PEC)" % (self.url, self.timeout, self._after_retries()),
                url=self.url, operation=key,
            ))
        if isinstance(reason, socket.gaierror):
            return _Retryable(PecApiError(
                "unreachable",
                "o nome do servidor em %s não foi resolvido (%s): confira a URL do PEC" % (self.url, reason),
                url=self.url, operation=key,
            ), sent=False)
        return _Retryable(PecApiError(
            "unreachable",
            "PEC não responde em %s: o serviço e-SUS-PEC está ativo? (systemctl status e-SUS-PEC); "
            "confira também a URL do PEC (porta 8080 por padrão; https se o PEC usa SSL) [%s]" % (self.url, reason),
            url=self.url, operation=key,
        ), sent=not isinstance(reason, ConnectionRefusedError))
