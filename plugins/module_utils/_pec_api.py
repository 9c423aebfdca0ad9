# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (not a public API): the PEC e-SUS APS HTTP client.

Two layers, kept apart on purpose:

* The SESSION protocol, confirmed by public clients of real PEC 5.3-5.5 servers (docs/pec-api.md,
  "O que é confirmado"): ``GET /`` for the XSRF cookie, ``Login`` with the CPF and the
  ``Api-Consumer-Id`` header, one session per user (a live session elsewhere is never ended
  unless ``force`` is asked), ``Sessao`` -> ``SelecionarAcesso`` of the Administrador Municipal
  access, ``Logout``. It lives in this file.
* The CERTIFICADOS tab operations, NOT published by the PEC: they come from the replaceable
  contract (``_pec_contract``), never from code. A PEC that does not know an operation of the
  contract answers a GraphQL ``ValidationError``; that becomes ``contract_mismatch`` and the
  modules turn it into "habilitação manual pendente", never a guess.

Python standard library only (runs on PEC servers), Python >= 3.6 syntax.
"""

import http.client
import http.cookiejar
import json
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request

from ansible_collections.esus.rnds.plugins.module_utils._brdocs import normalize_cpf, valid_cpf
from ansible_collections.esus.rnds.plugins.module_utils._sanitize import clean_server_text, is_loopback_url
from ansible_collections.esus.rnds.plugins.module_utils._pec_contract import (
    fill,
    get_path,
    map_fields,
    operation_name,
    classify,
)

# ssl.SSLCertVerificationError exists from Python 3.7; on 3.6 a failed verification is a CertificateError.
_CERT_VERIFY_ERROR = getattr(ssl, "SSLCertVerificationError", ssl.CertificateError)

DEFAULT_URL = "http://127.0.0.1:8080"
GRAPHQL_PATH = "/api/graphql"
XSRF_COOKIE = "XSRF-TOKEN"
XSRF_HEADER = "X-XSRF-TOKEN"
# Confirmed: the PEC web client identifies itself with these headers; without Api-Consumer-Id a
# request may be refused before the resolver.
API_CONSUMER_ID = "ESUS_WEB_CLIENT"
CLIENT_NAME = "PEC Web"
USER_AGENT = "esus.rnds (Ansible)"
MAX_RESPONSE_BYTES = 1024 * 1024
DEFAULT_TIMEOUT = 30
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 1.0
MAX_BACKOFF = 30.0

# Confirmed session documents.
LOGIN = "mutation Login($input: LoginInput!) { login(input: $input) { success } }"
SESSAO = "query Sessao { sessao { profissional { acessos { id tipo %s } } } }"
SELECIONAR_ACESSO = (
    "mutation SelecionarAcesso($input: SelecionarAcessoInput!) { selecionarAcesso(input: $input) { id } }"
)
LOGOUT = "mutation Logout { logout { id } }"

# Confirmed error classifications (extensions.classification).
VALIDATION_ERROR = "ValidationError"
AUTHENTICATION_ERROR = "PecAuthenticationException"
ALREADY_LOGGED_IN = "UsuarioJaLogadoException"

# What each operation does, for messages ("na %s", "à %s": feminine nouns only).
_LABELS = {
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

# Collection error code -> hint for the operator (module option names; the roles translate).
_HINTS = {
    "certificate_missing": "implante o arquivo na pasta chaves (módulo esus.rnds.pec_certificate) e confira o nome "
                           "do certificado",
    "wrong_password": "confira a senha do certificado",
    "expired": "obtenha um certificado A1 válido (AC ICP-Brasil ou credenciamento no e-Gestor AB) e implante-o",
    "not_yet_valid": "confira o relógio do servidor (timedatectl) ou aguarde o início da validade do certificado",
    "no_private_key": "exporte o certificado como .pfx/.p12 com a chave privada (um .cer não serve)",
    "key_mismatch": "a chave privada do arquivo é de outro certificado: exporte o .pfx/.p12 de novo",
    "invalid_certificate": "o arquivo não é um PKCS#12 legível: confira se não foi corrompido na cópia "
                           "(compare o sha256)",
    "requester_id": "confira o identificador do solicitante (e-Gestor AB > Credenciais geradas)",
}
CERTIFICATE_CODES = tuple(_HINTS)
# Contract operations that change the PEC: never sent twice once they may have reached it (an HTTP
# 5xx or a dropped connection after sending may come after the PEC applied the change); the
# caller reads the state back instead.
MUTATIONS = ("enable", "disable")
# Codes of a failure after which a mutation may or may not have been applied.
UNCERTAIN_CODES = ("server_error", "unreachable", "timeout")


class PecApiError(Exception):
    """A failure talking to the PEC. ``message`` is pt-BR, names the problem and the fix.

    ``code`` is stable for callers: unreachable, timeout, tls, tls_verify, ca_path, redirect,
    http_error, server_error, bad_response, too_large, invalid_input, login_refused,
    account_locked, already_logged_in, session_expired, forbidden, no_access,
    contract_mismatch, pec_error and the certificate codes of ``CERTIFICATE_CODES``.
    Never carries a password.
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


def normalize_username(username):
    """The PEC user name is the professional's CPF, sent as 11 digits (punctuation removed)."""
    digits = normalize_cpf(username)
    if not valid_cpf(digits):
        return None
    return digits


def connection_argument_spec():
    """Argument spec of the PecSession options (documented once in the esus.rnds.pec_connection fragment)."""
    return dict(
        timeout=dict(type="int", default=30),
        retries=dict(type="int", default=3),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        allow_insecure_http=dict(type="bool", default=False),
        api_contract=dict(type="raw", default="modelo"),
        force_login=dict(type="bool", default=False),
        retry_refused_login=dict(type="bool", default=False),
        refused_logins=dict(type="list", elements="dict", default=[]),
    )


class PecSession:
    """One logged-in user on one PEC installation (one cookie jar, one live session at most).

    ``login`` -> ``select(ibge)`` -> certificate operations -> ``logout``. ``logout`` is safe to
    call at any time (it only talks to the PEC when a login succeeded).
    """

    def __init__(self, url, contract, timeout=DEFAULT_TIMEOUT, retries=DEFAULT_RETRIES, backoff=DEFAULT_BACKOFF,
                 validate_certs=True, ca_path=None, max_response_bytes=MAX_RESPONSE_BYTES, sleep=time.sleep,
                 scrub=None, secrets=(), allow_insecure_http=False):
        self.url = normalize_url(url)
        check_url(self.url)
        # Plain HTTP carries the admin and certificate passwords in clear: only to this very machine,
        # unless the operator says the network is trusted (warned by the modules and the report).
        self.insecure_http = self.url.lower().startswith("http://") and not is_loopback_url(self.url)
        if self.insecure_http and not allow_insecure_http:
            raise PecApiError(
                "insecure_http",
                "a URL do PEC %s usa http:// para um endereço que não é esta máquina: a senha do Administrador "
                "Municipal e a do certificado passariam pela rede sem criptografia. Configure HTTPS no PEC e use "
                "https:// (docs/https-pec.md; com uma AC própria, informe ca_path), ou rode o módulo no próprio "
                "servidor com http://127.0.0.1:8080; só numa rede confiável, allow_insecure_http (no papel: "
                "rnds_pec_allow_insecure_http: true)" % self.url,
                url=self.url,
            )
        self._secrets = [value for value in secrets if isinstance(value, str) and value]
        self.contract = contract
        self.endpoint = self.url + GRAPHQL_PATH
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = float(backoff)
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.max_response_bytes = max_response_bytes
        self.username = None
        self.accesses = []
        self.selected = None
        self.logged_in = False
        self.version = None
        self._sleep = sleep
        self._scrub = scrub or (lambda text: text)
        self._password = None
        self._force = False
        self._relogged = False
        self._jar = http.cookiejar.CookieJar()
        handlers = [urllib.request.HTTPCookieProcessor(self._jar), _NoRedirect()]
        if self.url.lower().startswith("https://"):
            handlers.append(urllib.request.HTTPSHandler(context=self._ssl_context()))
        self._opener = urllib.request.build_opener(*handlers)

    # -- session (confirmed protocol) ---------------------------------------------------
    def probe(self):
        """``GET /``: the PEC answers (any HTTP status) and sets the XSRF cookie. Raises when unreachable."""
        request = urllib.request.Request(self.url + "/", headers={"User-Agent": USER_AGENT}, method="GET")
        attempt = 0
        while True:
            try:
                return self._open(request, "Login")[0]
            except _Retryable as retry:
                if attempt >= self.retries:
                    raise retry.error
                self._wait(attempt)
                attempt += 1

    def login(self, username, password, force=False):
        """Log in once. A refused password is never tried again (the PEC locks accounts)."""
        cpf = normalize_username(username)
        if cpf is None:
            raise PecApiError(
                "invalid_input",
                "o usuário do PEC é o CPF do Administrador Municipal (11 dígitos, pontuação opcional), e %r não é "
                "um CPF válido: corrija o usuário antes de tentar (nenhum login foi feito)" % (username,),
                url=self.url, operation="Login",
            )
        self.username = cpf
        self._password = password
        self._force = bool(force)
        if not self._xsrf():
            self.probe()
        variables = {"input": {"username": cpf, "password": password}}
        if force:
            variables["input"]["force"] = True
        data = self._graphql("Login", LOGIN, variables, login=True)
        if get_path(data, "login.success") is not True:
            raise PecApiError(
                "login_refused",
                "login recusado para o CPF %s no PEC em %s (success=false): confira o usuário e a senha do "
                "Administrador Municipal; o login não será repetido para não bloquear a conta" % (cpf, self.url),
                url=self.url, operation="Login",
            )
        self.logged_in = True
        self.accesses = self._read_accesses()
        return self.accesses

    def _read_accesses(self):
        access = self.contract["access"]
        data = self._graphql("Sessao", SESSAO % (access.get("fields") or ""), {})
        items = get_path(data, "sessao.profissional.acessos")
        if not isinstance(items, list):
            raise self._bad_response("Sessao", "campo sessao.profissional.acessos ausente")
        out = []
        for item in items:
            if not isinstance(item, dict) or item.get("id") is None:
                continue
            ibge = get_path(item, access["ibge"])
            nome = get_path(item, access["nome"]) if access.get("nome") else None
            out.append({
                "id": item.get("id"),
                "tipo": item.get("tipo"),
                "ibge": str(ibge) if ibge is not None else None,
                "nome": nome if isinstance(nome, str) else None,
            })
        return out

    def admin_accesses(self):
        return [a for a in self.accesses if a["tipo"] == self.contract["access"]["tipo"]]

    def select(self, ibge, alone=False):
        """Select the Administrador Municipal access of ``ibge`` (``alone``: the only municipality asked
        of this user, so a single admin access whose municipality cannot be read is accepted)."""
        admin = self.admin_accesses()
        chosen = [a for a in admin if ibge and a["ibge"] == str(ibge)]
        if not chosen and (alone or not ibge) and len(admin) == 1 and (admin[0]["ibge"] is None or not ibge):
            chosen = admin
        if not chosen:
            known = ", ".join(sorted(a["ibge"] or "?" for a in admin)) or "nenhum"
            raise PecApiError(
                "no_access",
                "o CPF %s não tem o acesso de Administrador Municipal do município %s no PEC em %s (acessos de "
                "Administrador Municipal: %s): confira o código IBGE e o usuário, ou peça ao Administrador da "
                "Instalação esse acesso" % (self.username, ibge or "?", self.url, known),
                url=self.url, operation="SelecionarAcesso",
            )
        access = chosen[0]
        self._graphql("SelecionarAcesso", SELECIONAR_ACESSO, {"input": {"id": access["id"]}})
        self.selected = access
        return access

    def logout(self):
        """End the session this client opened (never raises)."""
        if not self.logged_in:
            return
        self.logged_in = False
        try:
            self._graphql("Logout", LOGOUT, {}, relogin=False)
        except PecApiError:
            pass
        self._jar.clear()
        self._password = None  # nothing may log in again after the end of the run

    # -- certificate operations (replaceable contract) ------------------------------------
    def has(self, key):
        return key in (self.contract.get("operations") or {})

    def list_files(self):
        result = self._contract_call("list_files", {})
        op = self.contract["operations"]["list_files"]
        if not isinstance(result, list):
            return []
        return [map_fields(item, op["fields"]) for item in result if isinstance(item, dict)]

    def read_state(self):
        return self._state("read_state", self._contract_call("read_state", {}))

    def enable(self, certificate, password, requester_id, services):
        values = {"certificate": certificate, "password": password, "requester_id": requester_id or None,
                  "services": self._pec_services(services)}
        return self._state("enable", self._contract_call("enable", values))

    def disable(self, services):
        return self._state("disable", self._contract_call("disable", {"services": self._pec_services(services)}))

    def contra_chave(self):
        value = self._contract_call("contra_chave", {})
        return value if isinstance(value, str) else None

    def read_version(self):
        """Optional, without login. None when the contract or the PEC has no such query."""
        if not self.has("version"):
            return None
        try:
            value = self._contract_call("version", {}, relogin=False)
        except PecApiError as exc:
            if exc.code in ("contract_mismatch", "session_expired", "forbidden", "pec_error"):
                return None
            raise
        self.version = value if isinstance(value, str) else None
        return self.version

    def _pec_services(self, services):
        mapping = self.contract["services"]
        unknown = [s for s in services if s not in mapping]
        if unknown:
            raise PecApiError(
                "invalid_input",
                "serviço %s desconhecido no contrato %s (conhecidos: %s)"
                % (", ".join(map(str, unknown)), self.contract.get("name"), ", ".join(sorted(mapping))),
                url=self.url,
            )
        return [mapping[s] for s in services]

    def _state(self, key, raw):
        op = self.contract["operations"][key]
        state = map_fields(raw, op["fields"])
        reverse = dict((v, k) for k, v in self.contract["services"].items())
        services = state.get("services")
        if isinstance(services, list):
            state["services"] = sorted(set(reverse.get(s, str(s).lower()) for s in services))
        elif "services" in op["fields"]:
            state["services"] = []
        if not state.get("certificate"):
            state["services"] = []
        state["enabled"] = bool(state.get("certificate")) and bool(state.get("services"))
        for known in ("certificate", "requester_id", "enabled_at", "not_after", "fingerprint_sha256", "file_sha256"):
            state.setdefault(known, None)
        if state.get("fingerprint_sha256"):
            state["fingerprint_sha256"] = str(state["fingerprint_sha256"]).replace(":", "").lower()
        return state

    def _contract_call(self, key, values, relogin=True):
        op = self.contract["operations"].get(key)
        if op is None:
            raise PecApiError(
                "contract_mismatch",
                "o contrato %s não descreve a %s" % (self.contract.get("name"), _LABELS.get(key, key)),
                url=self.url, operation=key,
            )
        variables = fill(op.get("variables") or {}, values)
        data = self._graphql(key, op["document"], variables, relogin=relogin, once=key in MUTATIONS)
        value = data
        for step in op["result"].split("."):
            if not isinstance(value, dict) or step not in value:
                # GraphQL answers every field it was asked (null or a value): an absent one means the
                # contract's result path does not match its own document, or the PEC answered something
                # else. Never read that as "nothing enabled".
                raise PecApiError(
                    "contract_mismatch",
                    "a resposta do PEC em %s à %s não tem o campo %s indicado em result no contrato %s: ajuste o "
                    "contrato (docs/pec-api.md)" % (self.url, _LABELS.get(key, key), op["result"],
                                                    self.contract.get("name")),
                    url=self.url, operation=key,
                )
            value = value[step]
        return value

    # -- GraphQL ----------------------------------------------------------------------------
    def _graphql(self, key, document, variables, login=False, relogin=True, once=False):
        once = once or login
        try:
            return self._post(key, document, variables, once)
        except PecApiError as exc:
            if login or not relogin or exc.code != "session_expired" or self._relogged or self._password is None \
                    or not self.username:
                raise
        # The session ended (idle timeout, PEC restart): one new login, and only because the first
        # one succeeded; the selected access is chosen again.
        self._relogged = True
        selected = self.selected
        self.logged_in = False
        self._jar.clear()
        try:
            self.login(self.username, self._password, force=False)
            if selected is not None:
                self.select(selected["ibge"], alone=selected["ibge"] is None)
            return self._post(key, document, variables, once)
        except PecApiError as exc:
            if exc.code == "session_expired":
                raise PecApiError(
                    exc.code,
                    "o PEC em %s encerrou a sessão do CPF %s logo após um novo login (%s): confira o relógio do "
                    "servidor e se não há outro processo derrubando sessões; tente de novo"
                    % (self.url, self.username, _LABELS.get(key, key)),
                    url=self.url, status=exc.status, operation=key,
                )
            raise

    def _post(self, key, document, variables, once):
        name = operation_name(document)
        body = json.dumps({"operationName": name, "query": document, "variables": variables},
                          ensure_ascii=False).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            "Api-Consumer-Id": API_CONSUMER_ID,
            "apollographql-client-name": CLIENT_NAME,
            "apollographql-client-version": str(self.contract.get("client_version") or "esus.rnds"),
        }
        token = self._xsrf()
        if token:
            headers[XSRF_HEADER] = token
        attempt = 0
        while True:
            request = urllib.request.Request(self.endpoint, data=body, headers=headers, method="POST")
            try:
                status, raw = self._open(request, key)
                break
            except _Retryable as retry:
                # A Login or a mutation that may have reached the PEC is never repeated: a second Login
                # could count as a failed one, or meet the session the first one opened; a second
                # mutation could apply twice.
                if attempt >= self.retries or (once and retry.sent):
                    raise self._attempts_said(retry.error, attempt, key if once and retry.sent else None)
                self._wait(attempt)
                attempt += 1
        return self._decode(key, status, raw)

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

    def _xsrf(self):
        for cookie in self._jar:
            if cookie.name == XSRF_COOKIE:
                return cookie.value
        return None

    def _label(self, key):
        return _LABELS.get(key, key)

    def _open(self, request, key):
        label = self._label(key)
        try:
            response = self._opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            status = exc.code
            if 300 <= status < 400:
                location = exc.headers.get("Location") if exc.headers else None
                raise PecApiError(
                    "redirect",
                    "o PEC em %s redirecionou a %s para %s: ajuste a URL do PEC para o endereço final "
                    "(por exemplo https://... quando o PEC usa HTTPS)" % (self.url, label, location or "?"),
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
                    "tente de novo" % (self.url, status, label, self._after_retries()),
                    url=self.url, status=status, operation=key,
                ))
            return status, raw
        except urllib.error.URLError as exc:
            raise self._connection_error(exc.reason, key)
        except (http.client.HTTPException, ConnectionError) as exc:
            # Connection dropped before a status line (RemoteDisconnected, BadStatusLine, reset).
            raise _Retryable(PecApiError(
                "unreachable",
                "o PEC em %s fechou a conexão sem responder à %s (%s)%s: o serviço e-SUS-PEC pode estar "
                "reiniciando ou sobrecarregado (systemctl status e-SUS-PEC); se a URL usa http, confira "
                "se o PEC não espera https" % (self.url, label, type(exc).__name__, self._after_retries()),
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

    def _after_retries(self):
        return ", também após %d nova(s) tentativa(s)" % self.retries if self.retries else ""

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
                "journalctl -u e-SUS-PEC" % (self.url, self._label(key), type(exc).__name__),
                url=self.url, operation=key,
            ))
        if len(raw) > self.max_response_bytes:
            raise self._too_large(key)
        return raw

    def _too_large(self, key):
        return PecApiError(
            "too_large",
            "a resposta do PEC em %s à %s passou de %d KiB: confira se a URL aponta para o PEC e-SUS APS "
            "(e não para outro serviço)" % (self.url, self._label(key), self.max_response_bytes // 1024),
            url=self.url, operation=key,
        )

    def _timeout(self, key):
        return PecApiError(
            "timeout",
            "o PEC em %s não respondeu à %s em %s s: o serviço pode estar iniciando ou sobrecarregado "
            "(systemctl status e-SUS-PEC); aumente timeout ou tente de novo" % (self.url, self._label(key), self.timeout),
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
                "não foi possível ler as autoridades certificadoras de ca_path=%s (%s): informe um arquivo PEM "
                "com a AC que emitiu o certificado HTTPS do PEC" % (self.ca_path, exc),
                url=self.url,
            )

    def _tls_error(self, exc, key):
        if isinstance(exc, _CERT_VERIFY_ERROR) or "CERTIFICATE_VERIFY_FAILED" in str(exc):
            detail = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
            return PecApiError(
                "tls_verify",
                "o certificado HTTPS do PEC em %s não foi validado (%s): informe ca_path com a AC que o emitiu "
                "ou, só se confiar na rede, validate_certs=false" % (self.url, detail),
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

    def _bad_response(self, key, detail):
        return PecApiError(
            "bad_response",
            "o PEC em %s devolveu uma resposta inválida na %s (%s): confira se a URL aponta para o PEC e-SUS "
            "APS e não para outro serviço ou proxy" % (self.url, self._label(key), detail),
            url=self.url, operation=key,
        )

    def _decode(self, key, status, raw):
        try:
            document = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            document = None
        if isinstance(document, list) and len(document) == 1:
            document = document[0]  # the web client's one-item batch shape
        if not isinstance(document, dict) or ("data" not in document and "errors" not in document):
            if status == 401:
                raise PecApiError("session_expired", "a sessão no PEC em %s expirou" % self.url,
                                  url=self.url, status=status, operation=key)
            if status >= 400:
                raise PecApiError(
                    "http_error",
                    "o PEC em %s respondeu HTTP %d na %s: confira se a URL aponta para o PEC e-SUS APS (um PEC "
                    "recusa pedidos sem o cabeçalho Api-Consumer-Id antes de lê-los)" % (self.url, status,
                                                                                         self._label(key)),
                    url=self.url, status=status, operation=key,
                )
            raise self._bad_response(key, "não é JSON" if document is None else "JSON fora do formato GraphQL")
        errors = document.get("errors")
        if errors:
            raise self._pec_error(key, status, errors)
        if status >= 400:
            raise PecApiError(
                "http_error",
                "o PEC em %s respondeu HTTP %d na %s sem explicar o motivo" % (self.url, status, self._label(key)),
                url=self.url, status=status, operation=key,
            )
        data = document.get("data")
        if not isinstance(data, dict):
            raise self._bad_response(key, "campo 'data' vazio")
        return data

    def _pec_error(self, key, status, errors):
        first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
        extensions = first.get("extensions") if isinstance(first.get("extensions"), dict) else {}
        classification = extensions.get("classification")
        if not isinstance(classification, str):
            classification = extensions.get("code") if isinstance(extensions.get("code"), str) else None
        message = first.get("message") if isinstance(first.get("message"), str) else ""
        # A hostile or careless PEC may echo the request (passwords in any encoding) or send terminal
        # control sequences: the text is scrubbed and neutralised, or dropped when it echoes.
        message = self._scrub(clean_server_text(message, self._secrets)[0])
        said = " (o PEC disse: \"%s\")" % message if message else ""
        common = dict(url=self.url, status=status, operation=key, classification=classification,
                      pec_message=message)
        code = self._classify(key, status, classification, message)
        cpf = self.username
        if code == "contract_mismatch":
            return PecApiError(
                code,
                "o PEC em %s não reconhece a %s do contrato %s%s: o contrato da API não corresponde a esta versão "
                "do PEC; ajuste o contrato (docs/pec-api.md, \"Ajustar o contrato ao seu PEC\")"
                % (self.url, self._label(key), self.contract.get("name"), said),
                **common
            )
        if code == "already_logged_in":
            return PecApiError(
                code,
                "o CPF %s já tem uma sessão aberta no PEC em %s (uma pessoa usando o PEC agora, ou uma execução "
                "anterior interrompida, cuja sessão expira sozinha pelo tempo de inatividade do PEC)%s: nada foi "
                "feito para não derrubar essa pessoa; rode fora do horário de atendimento ou peça para ela sair do "
                "PEC; só se for aceitável encerrar a sessão dela, use force_login (no papel: rnds_pec_force_login: "
                "true)"
                % (cpf, self.url, said),
                **common
            )
        if code == "account_locked":
            return PecApiError(
                code,
                "o CPF %s está bloqueado no PEC em %s%s: o Administrador da Instalação precisa desbloquear o "
                "usuário; nenhum novo login foi tentado" % (cpf, self.url, said),
                **common
            )
        if code == "login_refused":
            return PecApiError(
                code,
                "login recusado para o CPF %s no PEC em %s%s: confira o usuário (CPF) e a senha do Administrador "
                "Municipal; o login não será repetido, para não bloquear a conta" % (cpf, self.url, said),
                **common
            )
        if code == "session_expired":
            return PecApiError(code, "a sessão no PEC em %s expirou%s" % (self.url, said), **common)
        if code == "forbidden":
            return PecApiError(
                code,
                "o PEC em %s recusou a %s para o CPF %s%s: confira se o usuário tem o acesso de Administrador "
                "Municipal do município" % (self.url, self._label(key), cpf, said),
                **common
            )
        if code in _HINTS:
            return PecApiError(
                code,
                "o PEC em %s recusou o certificado%s: %s" % (self.url, said, _HINTS[code]),
                **common
            )
        return PecApiError(
            "pec_error",
            "o PEC em %s recusou a %s%s [%s]" % (self.url, self._label(key), said, classification or "sem classificação"),
            **common
        )

    def _classify(self, key, status, classification, message):
        if classification == VALIDATION_ERROR:
            # An operation or field this PEC does not have (graphql-java "FieldUndefined" and
            # relatives): the contract does not fit. The confirmed session documents are not
            # expected to fail this way; if they do, it is still a mismatch to report, not retry.
            return "contract_mismatch"
        lowered = (message or "").lower()
        if key == "Login":
            if classification == ALREADY_LOGGED_IN or ("logad" in lowered and "sess" in lowered):
                return "already_logged_in"
            if "bloquead" in lowered:
                return "account_locked"
            if classification == AUTHENTICATION_ERROR or status in (401, 403):
                return "login_refused"
        code = classify(self.contract, classification, message)
        if code:
            return code
        if status == 401:
            return "session_expired"
        if status == 403:
            return "forbidden"
        return "pec_error"
