# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (not a public API): the PEC e-SUS APS HTTP client.

Two layers, kept apart on purpose:

* The SESSION protocol, confirmed by public clients of real PEC 5.3-5.5 servers (docs/pec-api.md,
  "O que é confirmado"): ``GET /`` for the XSRF cookie, ``Login`` with the CPF and the
  ``Api-Consumer-Id`` header, one session per user (a live session elsewhere is never ended
  unless ``force`` is asked), ``Sessao`` -> ``SelecionarAcesso`` of the Administrador Municipal
  access, ``Logout``. It lives in this file (:class:`PecSession`), over the HTTP transport of
  ``_pec_http`` and the error meanings of ``_pec_errors``.
* The CERTIFICADOS tab operations, NOT published by the PEC: they come from the replaceable
  contract (``_pec_contract``), never from code (``_pec_operations``, mixed into the session). A
  PEC that does not know an operation of the contract answers a GraphQL ``ValidationError``;
  that becomes ``contract_mismatch`` and the modules turn it into "habilitação manual
  pendente", never a guess.

The names other files used from here before the split (``PecApiError``, ``CERTIFICATE_CODES``,
``UNCERTAIN_CODES``, ``normalize_url``...) are still importable from this file.

Python standard library only (runs on PEC servers), Python >= 3.6 syntax.
"""

import json
import time

from ansible_collections.esus.rnds.plugins.module_utils._brdocs import normalize_cpf, valid_cpf
from ansible_collections.esus.rnds.plugins.module_utils._labels import option
from ansible_collections.esus.rnds.plugins.module_utils._pec_contract import get_path, operation_name
from ansible_collections.esus.rnds.plugins.module_utils._pec_errors import (  # noqa: F401  pylint: disable=unused-import
    ALREADY_LOGGED_IN,
    AUTHENTICATION_ERROR,
    CERTIFICATE_CODES,
    VALIDATION_ERROR,
    pec_error,
)
from ansible_collections.esus.rnds.plugins.module_utils._pec_http import (  # noqa: F401  pylint: disable=unused-import
    DEFAULT_BACKOFF,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    DEFAULT_URL,
    MAX_BACKOFF,
    MAX_RESPONSE_BYTES,
    UNCERTAIN_CODES,
    USER_AGENT,
    PecApiError,
    PecTransport,
    check_url,
    label,
    normalize_url,
)
from ansible_collections.esus.rnds.plugins.module_utils._pec_operations import (  # noqa: F401  pylint: disable=unused-import
    MUTATIONS,
    CertificateOperations,
)
from ansible_collections.esus.rnds.plugins.module_utils._sanitize import clean_server_text, is_loopback_url

GRAPHQL_PATH = "/api/graphql"
XSRF_COOKIE = "XSRF-TOKEN"
XSRF_HEADER = "X-XSRF-TOKEN"
# Confirmed: the PEC web client identifies itself with these headers; without Api-Consumer-Id a
# request may be refused before the resolver.
API_CONSUMER_ID = "ESUS_WEB_CLIENT"
CLIENT_NAME = "PEC Web"

# Confirmed session documents.
LOGIN = "mutation Login($input: LoginInput!) { login(input: $input) { success } }"
SESSAO = "query Sessao { sessao { profissional { acessos { id tipo %s } } } }"
SELECIONAR_ACESSO = (
    "mutation SelecionarAcesso($input: SelecionarAcessoInput!) { selecionarAcesso(input: $input) { id } }"
)
LOGOUT = "mutation Logout { logout { id } }"


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


def _check_transport_security(url, allow_insecure_http):
    """True when ``url`` is plain HTTP to another machine; refused unless ``allow_insecure_http``."""
    # Plain HTTP carries the admin and certificate passwords in clear: only to this very machine,
    # unless the operator says the network is trusted (warned by the modules and the report).
    insecure = url.lower().startswith("http://") and not is_loopback_url(url)
    if insecure and not allow_insecure_http:
        raise PecApiError(
            "insecure_http",
            "a URL do PEC %s usa http:// para um endereço que não é esta máquina: a senha do Administrador "
            "Municipal e a do certificado passariam pela rede sem criptografia. Configure HTTPS no PEC e use "
            "https:// (docs/https-pec.md; com uma AC própria, informe %s), ou rode o módulo no próprio "
            "servidor com http://127.0.0.1:8080; só numa rede confiável, %s: true"
            % (url, option("ca_path"), option("allow_insecure_http")),
            url=url,
        )
    return insecure


class PecSession(CertificateOperations):
    """One logged-in user on one PEC installation (one cookie jar, one live session at most).

    ``login`` -> ``select(ibge)`` -> certificate operations (``CertificateOperations``) -> ``logout``.
    ``logout`` is safe to call at any time (it only talks to the PEC when a login succeeded).
    """

    def __init__(self, url, contract, timeout=DEFAULT_TIMEOUT, retries=DEFAULT_RETRIES, backoff=DEFAULT_BACKOFF,
                 validate_certs=True, ca_path=None, max_response_bytes=MAX_RESPONSE_BYTES, sleep=time.sleep,
                 scrub=None, secrets=(), allow_insecure_http=False):
        self.url = normalize_url(url)
        check_url(self.url)
        self.insecure_http = _check_transport_security(self.url, allow_insecure_http)
        self._secrets = [value for value in secrets if isinstance(value, str) and value]
        self.contract = contract
        self.endpoint = self.url + GRAPHQL_PATH
        self.username = None
        self.accesses = []
        self.selected = None
        self.logged_in = False
        self.version = None
        self._scrub = scrub or (lambda text: text)
        self._password = None
        self._force = False
        self._relogged = False
        self._http = PecTransport(self.url, timeout=timeout, retries=retries, backoff=backoff,
                                  validate_certs=validate_certs, ca_path=ca_path,
                                  max_response_bytes=max_response_bytes, sleep=sleep)

    # -- session (confirmed protocol) ---------------------------------------------------
    def probe(self):
        """``GET /``: the PEC answers (any HTTP status) and sets the XSRF cookie. Raises when unreachable."""
        return self._http.get("/", "Login")[0]

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
        self._http.clear_cookies()
        self._password = None  # nothing may log in again after the end of the run

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
        self._http.clear_cookies()
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
                    % (self.url, self.username, label(key)),
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
        status, raw = self._http.post(GRAPHQL_PATH, body, headers, key, once)
        return self._decode(key, status, raw)

    def _xsrf(self):
        return self._http.cookie(XSRF_COOKIE)

    def _bad_response(self, key, detail):
        return PecApiError(
            "bad_response",
            "o PEC em %s devolveu uma resposta inválida na %s (%s): confira se a URL aponta para o PEC e-SUS "
            "APS e não para outro serviço ou proxy" % (self.url, label(key), detail),
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
                                                                                         label(key)),
                    url=self.url, status=status, operation=key,
                )
            raise self._bad_response(key, "não é JSON" if document is None else "JSON fora do formato GraphQL")
        errors = document.get("errors")
        if errors:
            raise self._pec_error(key, status, errors)
        if status >= 400:
            raise PecApiError(
                "http_error",
                "o PEC em %s respondeu HTTP %d na %s sem explicar o motivo" % (self.url, status, label(key)),
                url=self.url, status=status, operation=key,
            )
        data = document.get("data")
        if not isinstance(data, dict):
            raise self._bad_response(key, "campo 'data' vazio")
        return data

    def _pec_error(self, key, status, errors):
        # A hostile or careless PEC may echo the request (passwords in any encoding) or send terminal
        # control sequences: the text is scrubbed and neutralised, or dropped when it echoes.
        def clean(message):
            return self._scrub(clean_server_text(message, self._secrets)[0])
        return pec_error(errors, key, status, self.url, self.contract, self.username, clean)
