# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (not a public API): the PEC e-SUS APS HTTP contract and its client.

This is THE one place where the contract with the PEC web server lives: the endpoint, the
session cookie and XSRF header, the GraphQL operation names and documents, the shape of the
answers and how PEC errors become operator messages (pt-BR). The PEC API is not published;
this is modelled on the PEC web client and the official manual (see docs/pec-api.md). When a
PEC release changes it, this file is the one to edit.

Python standard library only (runs on PEC servers), Python >= 3.8.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import socket
import ssl
import time
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8080"
GRAPHQL_PATH = "/api/graphql"
SESSION_COOKIE = "JSESSIONID"
XSRF_COOKIE = "XSRF-TOKEN"
XSRF_HEADER = "X-XSRF-TOKEN"
USER_AGENT = "esus.rnds (Ansible)"
MAX_RESPONSE_BYTES = 1024 * 1024
DEFAULT_TIMEOUT = 30
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 1.0
MAX_BACKOFF = 30.0

# Collection service name -> PEC service name.
SERVICES = {"rnds": "RNDS", "cadsus": "CADSUS"}

_FILE_FIELDS = "nome tamanho modificadoEm sha256 fingerprintSha256 validoAte"
_STATE_FIELDS = ("servico habilitado habilitadoEm certificado arquivoSha256 fingerprintSha256 "
                 "validoAte identificadorSolicitante")

# GraphQL documents, by operation name (the name is also sent as ``operationName``).
OPERATIONS = {
    "Info": "query Info { info { versao instalacao municipios { ibge nome } } }",
    "Login": (
        "mutation Login($input: LoginInput!) { login(input: $input) "
        "{ usuario versao perfil municipios { ibge nome } } }"
    ),
    "Logout": "mutation Logout { logout }",
    "CertificadosDisponiveis": (
        "query CertificadosDisponiveis { certificadosDisponiveis { %s } }" % _FILE_FIELDS
    ),
    "ConfiguracaoCertificados": (
        "query ConfiguracaoCertificados($municipio: String!, $comContraChave: Boolean!) { "
        "certificadosDisponiveis { %s } "
        "configuracaoCertificados(municipio: $municipio) { municipio { ibge nome } "
        "rnds { %s } cadsus { %s } contraChave @include(if: $comContraChave) } }"
        % (_FILE_FIELDS, _STATE_FIELDS, _STATE_FIELDS)
    ),
    "HabilitarCertificado": (
        "mutation HabilitarCertificado($input: HabilitarCertificadoInput!) { "
        "habilitarCertificado(input: $input) { %s } }" % _STATE_FIELDS
    ),
    "DesabilitarCertificado": (
        "mutation DesabilitarCertificado($input: DesabilitarCertificadoInput!) { "
        "desabilitarCertificado(input: $input) { %s } }" % _STATE_FIELDS
    ),
}

# What each operation does, for messages ("na %s", "à %s": feminine nouns only).
_OPERATION_LABELS = {
    "Info": "consulta de versão",
    "Login": "operação de login",
    "Logout": "operação de logout",
    "CertificadosDisponiveis": "lista de certificados",
    "ConfiguracaoCertificados": "leitura da configuração de certificados",
    "HabilitarCertificado": "habilitação do certificado",
    "DesabilitarCertificado": "desabilitação do certificado",
}

# PEC error code (extensions.code) -> (our code, hint for the operator).
_CERTIFICATE_ERRORS = {
    "CERTIFICADO_NAO_ENCONTRADO": (
        "certificate_missing",
        "implante o arquivo na pasta chaves (papel esus.rnds.certificate / módulo esus.rnds.pec_certificate) "
        "e confira rnds_certificate_name",
    ),
    "CERTIFICADO_SENHA_INCORRETA": ("wrong_password", "confira rnds_certificate_password"),
    "CERTIFICADO_EXPIRADO": (
        "expired",
        "obtenha um certificado A1 válido (AC ICP-Brasil ou credenciamento no e-Gestor AB) e implante-o",
    ),
    "CERTIFICADO_AINDA_NAO_VALIDO": (
        "not_yet_valid",
        "confira o relógio do servidor (timedatectl) ou aguarde o início da validade do certificado",
    ),
    "CERTIFICADO_SEM_CHAVE_PRIVADA": (
        "no_private_key",
        "exporte o certificado como .pfx/.p12 com a chave privada (um .cer não serve)",
    ),
    "CERTIFICADO_CHAVE_NAO_CONFERE": (
        "key_mismatch",
        "a chave privada do arquivo é de outro certificado: exporte o .pfx/.p12 de novo",
    ),
    "CERTIFICADO_INVALIDO": (
        "invalid_certificate",
        "o arquivo não é um PKCS#12 legível: confira se não foi corrompido na cópia (compare o sha256)",
    ),
    "IDENTIFICADOR_OBRIGATORIO": (
        "requester_id",
        "informe rnds_requester_id (identificador do solicitante, e-Gestor AB > Credenciais geradas)",
    ),
    "IDENTIFICADOR_INVALIDO": (
        "requester_id",
        "confira rnds_requester_id (identificador do solicitante, e-Gestor AB > Credenciais geradas)",
    ),
}


class PecApiError(Exception):
    """A failure talking to the PEC. ``message`` is pt-BR, names the problem and the fix.

    ``code`` is stable for callers: unreachable, timeout, tls, tls_verify, ca_path, redirect,
    http_error, server_error, bad_response, too_large, login_refused, session_expired,
    xsrf, forbidden, unknown_municipio, unsupported_operation, certificate_missing,
    wrong_password, expired, not_yet_valid, no_private_key, key_mismatch,
    invalid_certificate, requester_id, invalid_input, pec_error.
    Never carries a password.
    """

    def __init__(self, code, message, url=None, status=None, operation=None, pec_code=None, pec_message=None):
        super(PecApiError, self).__init__(message)
        self.code = code
        self.message = message
        self.url = url
        self.status = status
        self.operation = operation
        self.pec_code = pec_code
        self.pec_message = pec_message

    def __str__(self):
        return self.message


class _Retryable(Exception):
    """Internal: a connection error or HTTP 5xx; carries the error to raise if retries run out."""

    def __init__(self, error):
        super(_Retryable, self).__init__(error.message)
        self.error = error


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def service_state(raw):
    """PEC service state -> collection keys (see CONTRACTS: rnds/cadsus state)."""
    raw = raw if isinstance(raw, dict) else {}
    return {
        "enabled": bool(raw.get("habilitado")),
        "enabled_at": raw.get("habilitadoEm"),
        "certificate": raw.get("certificado"),
        "fingerprint_sha256": raw.get("fingerprintSha256"),
        "not_after": raw.get("validoAte"),
        "requester_id": raw.get("identificadorSolicitante"),
        "file_sha256": raw.get("arquivoSha256"),
    }


def certificate_file(raw):
    """PEC file entry (pasta chaves) -> collection keys."""
    raw = raw if isinstance(raw, dict) else {}
    return {
        "name": raw.get("nome"),
        "size": raw.get("tamanho"),
        "modified": raw.get("modificadoEm"),
        "sha256": raw.get("sha256"),
        "fingerprint_sha256": raw.get("fingerprintSha256"),
        "not_after": raw.get("validoAte"),
    }


def _municipios(raw):
    out = []
    for item in raw or []:
        if isinstance(item, dict) and item.get("ibge"):
            out.append({"ibge": str(item.get("ibge")), "nome": item.get("nome")})
    return out


def normalize_url(url):
    url = (url or DEFAULT_URL).strip()
    if "://" not in url:
        url = "http://" + url
    return url.rstrip("/")


def connection_argument_spec():
    """Argument spec of the PecClient options (documented once in the esus.rnds.pec_connection fragment)."""
    return dict(
        timeout=dict(type="int", default=30),
        retries=dict(type="int", default=3),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
    )


class PecClient:
    """A session with one PEC installation (one cookie jar, one logged-in admin at a time)."""

    def __init__(self, url=DEFAULT_URL, timeout=DEFAULT_TIMEOUT, retries=DEFAULT_RETRIES,
                 backoff=DEFAULT_BACKOFF, validate_certs=True, ca_path=None,
                 max_response_bytes=MAX_RESPONSE_BYTES, sleep=time.sleep):
        self.url = normalize_url(url)
        if self.url.split("://", 1)[0].lower() not in ("http", "https"):
            # urllib would also open file:// and ftp:// URLs: only the PEC's own schemes are accepted
            raise PecApiError(
                "invalid_input",
                "rnds_pec_url %s não usa http:// nem https://: informe o endereço do PEC, por exemplo "
                "http://127.0.0.1:8080" % self.url,
                url=self.url,
            )
        self.endpoint = self.url + GRAPHQL_PATH
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = float(backoff)
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.max_response_bytes = max_response_bytes
        self.version = None
        self.username = None
        self.municipios = []
        self.requests = 0  # HTTP requests sent, retries included (for tests and diagnostics)
        self._sleep = sleep
        self._password = None
        self._secrets = []
        self._jar = http.cookiejar.CookieJar()
        handlers = [urllib.request.HTTPCookieProcessor(self._jar), _NoRedirect()]
        if self.url.lower().startswith("https://"):
            handlers.append(urllib.request.HTTPSHandler(context=self._ssl_context()))
        self._opener = urllib.request.build_opener(*handlers)

    # -- public operations ----------------------------------------------------------
    def info(self):
        """Read-only, no login: ``{version, installation, municipios: [{ibge, nome}]}``."""
        data = self._call("Info", {}, session=False)
        info = self._field(data, "info", "Info")
        self.version = info.get("versao") or self.version
        return {
            "version": info.get("versao"),
            "installation": info.get("instalacao"),
            "municipios": _municipios(info.get("municipios")),
        }

    def login(self, username, password):
        """Log in as a municipal admin. Returns ``{username, version, municipios}``."""
        self.username = username
        self._password = password
        self._add_secret(password)
        data = self._call("Login", {"input": {"usuario": username, "senha": password}}, session=False)
        login = self._field(data, "login", "Login")
        self.version = login.get("versao") or self.version
        self.municipios = _municipios(login.get("municipios"))
        return {"username": login.get("usuario") or username, "version": self.version,
                "municipios": list(self.municipios)}

    def logout(self):
        try:
            self._call("Logout", {}, session=True, relogin=False)
        except PecApiError:
            pass
        self._jar.clear()

    def list_certificates(self):
        """Files the PEC sees in its ``chaves`` folder (name, size, sha256, known fingerprint)."""
        data = self._call("CertificadosDisponiveis", {}, session=True)
        return [certificate_file(item) for item in (data.get("certificadosDisponiveis") or [])]

    def read_state(self, ibge, contra_chave=False):
        """One round trip: municipality state for both services plus the ``chaves`` listing.

        Returns ``{ibge, nome, rnds: {...}, cadsus: {...}, certificates: [...]}`` and
        ``contra_chave`` when asked for.
        """
        variables = {"municipio": str(ibge), "comContraChave": bool(contra_chave)}
        data = self._call("ConfiguracaoCertificados", variables, session=True, ibge=ibge)
        config = self._field(data, "configuracaoCertificados", "ConfiguracaoCertificados")
        municipio = config.get("municipio") if isinstance(config.get("municipio"), dict) else {}
        state = {
            "ibge": str(municipio.get("ibge") or ibge),
            "nome": municipio.get("nome"),
            "rnds": service_state(config.get("rnds")),
            "cadsus": service_state(config.get("cadsus")),
            "certificates": [certificate_file(item) for item in (data.get("certificadosDisponiveis") or [])],
        }
        if contra_chave:
            state["contra_chave"] = config.get("contraChave")
        return state

    def enable(self, ibge, service, certificate, password, requester_id=None):
        """Enable ``certificate`` (file name in chaves) for ``service`` ('rnds'|'cadsus')."""
        self._add_secret(password)
        variables = {"input": {
            "municipio": str(ibge),
            "servico": self._service(service),
            "certificado": certificate,
            "senha": password,
            "identificadorSolicitante": requester_id,
        }}
        data = self._call("HabilitarCertificado", variables, session=True, ibge=ibge, certificate=certificate)
        return service_state(self._field(data, "habilitarCertificado", "HabilitarCertificado"))

    def disable(self, ibge, service):
        variables = {"input": {"municipio": str(ibge), "servico": self._service(service)}}
        data = self._call("DesabilitarCertificado", variables, session=True, ibge=ibge)
        return service_state(self._field(data, "desabilitarCertificado", "DesabilitarCertificado"))

    # -- plumbing ----------------------------------------------------------------------
    def _service(self, service):
        try:
            return SERVICES[str(service).lower()]
        except KeyError:
            raise PecApiError("invalid_input", "serviço desconhecido %r: use rnds ou cadsus" % (service,), url=self.url)

    def _add_secret(self, value):
        if value and value not in self._secrets:
            self._secrets.append(value)

    def scrub(self, text):
        """Remove every known secret from ``text``."""
        if not isinstance(text, str):
            return text
        for secret in sorted(self._secrets, key=len, reverse=True):
            if len(secret) >= 3:
                text = text.replace(secret, "********")
        return text

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
                "não foi possível ler as autoridades certificadoras de ca_path=%s (%s): informe um arquivo PEM "
                "com a AC que emitiu o certificado HTTPS do PEC" % (self.ca_path, exc),
                url=self.url,
            )

    def _xsrf(self):
        for cookie in self._jar:
            if cookie.name == XSRF_COOKIE:
                return cookie.value
        return None

    def _field(self, data, name, operation):
        value = data.get(name) if isinstance(data, dict) else None
        if not isinstance(value, dict):
            raise self._bad_response(operation, "campo '%s' ausente na resposta" % name)
        return value

    def _label(self, operation):
        return _OPERATION_LABELS.get(operation, operation)

    def _bad_response(self, operation, detail):
        return PecApiError(
            "bad_response",
            "o PEC em %s devolveu uma resposta inválida na %s (%s): confira se rnds_pec_url aponta para o "
            "PEC e-SUS APS e não para outro serviço ou proxy; se aponta, esta versão do PEC (%s) pode ter "
            "mudado a API (veja docs/pec-api.md)" % (self.url, self._label(operation), detail, self.version or "?"),
            url=self.url, operation=operation,
        )

    def _call(self, operation, variables, session, relogin=True, **context):
        try:
            return self._post(operation, variables, session, **context)
        except PecApiError as exc:
            if (not relogin or not session or exc.code not in ("session_expired", "xsrf")
                    or self._password is None):
                raise
        # The session expired (idle timeout, PEC restart): log in again once and repeat.
        self.login(self.username, self._password)
        try:
            return self._post(operation, variables, session, **context)
        except PecApiError as exc:
            if exc.code in ("session_expired", "xsrf"):
                raise PecApiError(
                    exc.code,
                    "o PEC em %s encerrou a sessão do usuário %s logo após um novo login (%s): confira se o "
                    "relógio do servidor está certo e se não há outro processo derrubando sessões; tente de novo"
                    % (self.url, self.username, self._label(operation)),
                    url=self.url, status=exc.status, operation=operation,
                )
            raise

    def _post(self, operation, variables, session, **context):
        body = json.dumps(
            {"operationName": operation, "query": OPERATIONS[operation], "variables": variables},
            ensure_ascii=False,
        ).encode("utf-8")
        attempt = 0
        while True:
            try:
                status, raw = self._send(operation, body, session)
                break
            except _Retryable as retry:
                if attempt >= self.retries:
                    raise retry.error
                delay = min(MAX_BACKOFF, self.backoff * (2 ** attempt))
                attempt += 1
                if delay > 0:
                    self._sleep(delay)
        return self._decode(operation, status, raw, **context)

    def _send(self, operation, body, session):
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if session:
            token = self._xsrf()
            if token:
                headers[XSRF_HEADER] = token
        request = urllib.request.Request(self.endpoint, data=body, headers=headers, method="POST")
        self.requests += 1
        label = self._label(operation)
        try:
            response = self._opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            status = exc.code
            if 300 <= status < 400:
                location = exc.headers.get("Location") if exc.headers else None
                raise PecApiError(
                    "redirect",
                    "o PEC em %s redirecionou a %s para %s: ajuste rnds_pec_url para o endereço final "
                    "(por exemplo https://... quando o PEC usa HTTPS)" % (self.url, label, location or "?"),
                    url=self.url, status=status, operation=operation,
                )
            try:
                raw = self._read(exc, operation)
            except PecApiError:
                raw = b""
            finally:
                exc.close()
            if status >= 500:
                raise _Retryable(PecApiError(
                    "server_error",
                    "o PEC em %s respondeu HTTP %d na %s%s: veja o log do serviço (journalctl -u e-SUS-PEC) e "
                    "tente de novo" % (self.url, status, label, self._after_retries()),
                    url=self.url, status=status, operation=operation,
                ))
            return status, raw
        except urllib.error.URLError as exc:
            raise self._connection_error(exc.reason, operation)
        except (http.client.HTTPException, ConnectionError) as exc:
            # Connection dropped before a status line (RemoteDisconnected, BadStatusLine, reset).
            raise _Retryable(PecApiError(
                "unreachable",
                "o PEC em %s fechou a conexão sem responder à %s (%s)%s: o serviço e-SUS-PEC pode estar "
                "reiniciando ou sobrecarregado (systemctl status e-SUS-PEC); se rnds_pec_url usa http, confira "
                "se o PEC não espera https" % (self.url, label, type(exc).__name__, self._after_retries()),
                url=self.url, operation=operation,
            ))
        except (socket.timeout, TimeoutError):
            raise self._timeout(operation)
        except ssl.SSLError as exc:
            raise self._tls_error(exc, operation)
        try:
            raw = self._read(response, operation)
            return response.status, raw
        finally:
            response.close()

    def _after_retries(self):
        return ", também após %d nova(s) tentativa(s)" % self.retries if self.retries else ""

    def _read(self, response, operation):
        length = response.headers.get("Content-Length") if response.headers else None
        try:
            if length is not None and int(length) > self.max_response_bytes:
                raise self._too_large(operation)
        except ValueError:
            pass
        try:
            raw = response.read(self.max_response_bytes + 1)
        except (socket.timeout, TimeoutError):
            raise self._timeout(operation)
        except (http.client.HTTPException, ConnectionError) as exc:
            raise _Retryable(PecApiError(
                "unreachable",
                "o PEC em %s interrompeu a resposta da %s (%s): tente de novo; se persistir, veja "
                "journalctl -u e-SUS-PEC" % (self.url, self._label(operation), type(exc).__name__),
                url=self.url, operation=operation,
            ))
        if len(raw) > self.max_response_bytes:
            raise self._too_large(operation)
        return raw

    def _too_large(self, operation):
        return PecApiError(
            "too_large",
            "a resposta do PEC em %s à %s passou de %d KiB: confira se rnds_pec_url aponta para o PEC "
            "e-SUS APS (e não para outro serviço)" % (self.url, self._label(operation), self.max_response_bytes // 1024),
            url=self.url, operation=operation,
        )

    def _timeout(self, operation):
        return PecApiError(
            "timeout",
            "o PEC em %s não respondeu à %s em %s s: o serviço pode estar iniciando ou sobrecarregado "
            "(systemctl status e-SUS-PEC); aumente timeout ou tente de novo" % (self.url, self._label(operation), self.timeout),
            url=self.url, operation=operation,
        )

    def _tls_error(self, exc, operation):
        if isinstance(exc, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(exc):
            detail = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
            return PecApiError(
                "tls_verify",
                "o certificado HTTPS do PEC em %s não foi validado (%s): informe ca_path com a AC que o emitiu "
                "ou, só se confiar na rede, validate_certs=false" % (self.url, detail),
                url=self.url, operation=operation,
            )
        return PecApiError(
            "tls",
            "falha TLS ao falar com o PEC em %s (%s): confira se rnds_pec_url usa o esquema certo "
            "(http na porta 8080, https quando o PEC tem certificado SSL configurado)" % (self.url, getattr(exc, "reason", None) or exc),
            url=self.url, operation=operation,
        )

    def _connection_error(self, reason, operation):
        if isinstance(reason, ssl.SSLError):
            return self._tls_error(reason, operation)
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return _Retryable(PecApiError(
                "timeout",
                "o PEC em %s não aceitou a conexão em %s s%s: confira o firewall e se o serviço e-SUS-PEC "
                "está ativo (systemctl status e-SUS-PEC)" % (self.url, self.timeout, self._after_retries()),
                url=self.url, operation=operation,
            ))
        if isinstance(reason, socket.gaierror):
            return _Retryable(PecApiError(
                "unreachable",
                "o nome do servidor em %s não foi resolvido (%s): confira rnds_pec_url" % (self.url, reason),
                url=self.url, operation=operation,
            ))
        return _Retryable(PecApiError(
            "unreachable",
            "PEC não responde em %s: o serviço e-SUS-PEC está ativo? (systemctl status e-SUS-PEC); "
            "confira também rnds_pec_url (porta 8080 por padrão; https se o PEC usa SSL) [%s]" % (self.url, reason),
            url=self.url, operation=operation,
        ))

    def _decode(self, operation, status, raw, ibge=None, certificate=None):
        try:
            document = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            document = None
        if not isinstance(document, dict) or ("data" not in document and "errors" not in document):
            if status >= 400:
                raise PecApiError(
                    "http_error",
                    "o PEC em %s respondeu HTTP %d na %s: confira se rnds_pec_url aponta para o PEC e-SUS APS"
                    % (self.url, status, self._label(operation)),
                    url=self.url, status=status, operation=operation,
                )
            raise self._bad_response(operation, "não é JSON" if document is None else "JSON fora do formato GraphQL")
        errors = document.get("errors")
        if errors:
            first = errors[0] if isinstance(errors, list) and isinstance(errors[0], dict) else {}
            extensions = first.get("extensions") if isinstance(first.get("extensions"), dict) else {}
            pec_code = extensions.get("code") or extensions.get("classification")
            pec_message = self.scrub(str(first.get("message") or ""))
            raise self._pec_error(operation, status, pec_code, pec_message, ibge, certificate)
        if status >= 400:
            raise PecApiError(
                "http_error",
                "o PEC em %s respondeu HTTP %d na %s sem explicar o motivo" % (self.url, status, self._label(operation)),
                url=self.url, status=status, operation=operation,
            )
        data = document.get("data")
        if not isinstance(data, dict):
            raise self._bad_response(operation, "campo 'data' vazio")
        return data

    def _pec_error(self, operation, status, pec_code, pec_message, ibge, certificate):
        url = self.url
        said = " (o PEC disse: \"%s\")" % pec_message if pec_message else ""
        common = dict(url=url, status=status, operation=operation, pec_code=pec_code, pec_message=pec_message)
        if pec_code == "LOGIN_RECUSADO" or (operation == "Login" and status in (401, 403)):
            return PecApiError(
                "login_refused",
                "login recusado para o usuário %s no PEC em %s%s: confira rnds_pec_admin_user/rnds_pec_admin_password "
                "(o usuário precisa ser Administrador Municipal)" % (self.username, url, said),
                **common
            )
        if pec_code == "NAO_AUTENTICADO" or status == 401:
            return PecApiError("session_expired", "a sessão no PEC em %s expirou%s" % (url, said), **common)
        if pec_code == "XSRF_INVALIDO" or (status == 403 and not pec_code):
            return PecApiError("xsrf", "o PEC em %s recusou o token XSRF da sessão%s" % (url, said), **common)
        if pec_code == "SEM_PERMISSAO":
            return PecApiError(
                "forbidden",
                "o usuário %s não é Administrador Municipal do município %s no PEC em %s%s: confira "
                "rnds_municipio_ibge e rnds_pec_admin_user" % (self.username, ibge, url, said),
                **common
            )
        if pec_code == "MUNICIPIO_DESCONHECIDO":
            return PecApiError(
                "unknown_municipio",
                "o município %s não está configurado no PEC em %s%s: confira rnds_municipio_ibge (código IBGE "
                "de 7 dígitos)" % (ibge, url, said),
                **common
            )
        if pec_code == "OPERACAO_DESCONHECIDA":
            return PecApiError(
                "unsupported_operation",
                "o PEC em %s (versão %s) não reconhece a operação %s%s: esta versão da coleção esus.rnds não "
                "conhece a API desta versão do PEC; atualize a coleção (veja docs/pec-api.md)"
                % (url, self.version or "?", operation, said),
                **common
            )
        if pec_code in _CERTIFICATE_ERRORS:
            code, hint = _CERTIFICATE_ERRORS[pec_code]
            return PecApiError(
                code,
                "o PEC em %s recusou o certificado '%s' para o município %s%s: %s"
                % (url, certificate, ibge, said, hint),
                **common
            )
        return PecApiError(
            "pec_error",
            "o PEC em %s recusou a %s%s [%s]" % (url, self._label(operation), said, pec_code or "sem código"),
            **common
        )
