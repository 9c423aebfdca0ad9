# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""rnds_auth: module_utils/_rnds_auth.py in process.

Every network test talks to the mock RNDS auth server (tests/rnds_mock/server.py) on 127.0.0.1.
The DNS failure is produced without any DNS traffic: getaddrinfo is patched. The module through
`ansible` subprocesses: tests/integration/plugins/modules/test_rnds_auth.py.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import stat
import sys
import tempfile
import threading

import pytest

import testca
from ansible_collections.esus.rnds.plugins.module_utils import _pkcs12_tls as pkcs12_tls
from ansible_collections.esus.rnds.plugins.module_utils import _rnds_auth as rnds_auth
from ansible_collections.esus.rnds.plugins.module_utils._labels import render

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "rnds_mock"))
from rnds_auth_fixtures import PASSWORD, closed_port, leaves, mock, mock_ca, pfx  # noqa: E402,F401  pylint: disable=wrong-import-position,import-error,unused-import
from rnds_mock_harness import MockRnds  # noqa: E402  pylint: disable=wrong-import-position,import-error


def assert_no_secret(result, *secrets):
    text = json.dumps(result, ensure_ascii=False)
    for secret in secrets:
        assert secret not in text


# ---------------------------------------------------------------------------------------------
# In process: module_utils


@pytest.mark.parametrize("backend", ["cryptography", "openssl", "auto"])
@pytest.mark.parametrize("flavour", ["aes", "legacy-rc2", "3des"])
def test_authenticated_with_ecnpj_a1(mock, pfx, flavour, backend):  # pylint: disable=redefined-outer-name
    result = rnds_auth.authenticate(pfx(flavour=flavour), PASSWORD, url=mock.token_url,
                                    ca_path=mock.ca_file, backend=backend)
    assert result["authenticated"] is True, result["diagnosis"]
    assert result["stage"] == "ok"
    assert result["status_code"] == 200
    assert result["expires_in"] == 1800
    assert result["scope"] == "read-write"
    assert result["url"] == mock.token_url
    assert result["tls_version"].startswith("TLS")
    assert result["elapsed_ms"] >= 0
    assert result["certificate_backend"] == ("cryptography" if backend == "auto" else backend)
    assert "Token obtido" in result["diagnosis"]
    assert "access_token" not in result and "token" not in result
    assert mock.tokens(), "the mock issued no token"
    assert_no_secret(result, PASSWORD, *mock.tokens())


def test_certificate_from_other_ca_refused_in_tls(mock, pfx):  # pylint: disable=redefined-outer-name
    result = rnds_auth.authenticate(pfx("other"), PASSWORD, url=mock.token_url, ca_path=mock.ca_file)
    assert result["authenticated"] is False
    assert result["stage"] == "tls"
    assert result["status_code"] is None
    assert "certificado" in result["diagnosis"] and "recus" in result["diagnosis"]


def test_not_credenciado_is_http_403(mock, pfx):  # pylint: disable=redefined-outer-name
    result = rnds_auth.authenticate(pfx("denied"), PASSWORD, url=mock.token_url, ca_path=mock.ca_file,
                                    environment="producao")
    assert result["authenticated"] is False
    assert result["stage"] == "http"
    assert result["status_code"] == 403
    assert "credenciado" in result["diagnosis"] and "produção" in result["diagnosis"]
    assert result["tls_version"]


def test_denied_by_serial(tmp_path, mock_ca, leaves, pfx):  # pylint: disable=redefined-outer-name
    serial = "%X" % leaves["ok"].cert.serial_number
    with MockRnds(tmp_path / "m", mock_ca, deny_serials=[serial]) as server:
        result = rnds_auth.authenticate(pfx(), PASSWORD, url=server.token_url, ca_path=server.ca_file)
        assert server.tokens() == []
    assert (result["stage"], result["status_code"]) == ("http", 403)


def test_server_error_is_http(tmp_path, mock_ca, pfx):  # pylint: disable=redefined-outer-name
    with MockRnds(tmp_path / "m", mock_ca, force_status=503) as server:
        result = rnds_auth.authenticate(pfx(), PASSWORD, url=server.token_url, ca_path=server.ca_file)
    assert (result["stage"], result["status_code"]) == ("http", 503)
    assert "respondeu HTTP 503: erro do lado da RNDS; tente de novo mais tarde" in result["diagnosis"]


def test_wrong_path_is_http_404(mock, pfx):  # pylint: disable=redefined-outer-name
    result = rnds_auth.authenticate(pfx(), PASSWORD, url=mock.url + "/api/outra", ca_path=mock.ca_file)
    assert (result["stage"], result["status_code"]) == ("http", 404)
    assert "HTTP 404: a URL do serviço de autenticação está errada" in result["diagnosis"]


def test_tcp_refused_on_closed_port(pfx):  # pylint: disable=redefined-outer-name
    url = "https://127.0.0.1:%d/api/token" % closed_port()
    result = rnds_auth.authenticate(pfx(), PASSWORD, url=url)
    assert result["authenticated"] is False
    assert result["stage"] == "tcp"
    assert "recusada" in result["diagnosis"]


def test_tls_handshake_timeout(pfx):  # pylint: disable=redefined-outer-name
    """A server that accepts TCP and never answers the TLS ClientHello."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    try:
        url = "https://127.0.0.1:%d/api/token" % listener.getsockname()[1]
        result = rnds_auth.authenticate(pfx(), PASSWORD, url=url, timeout=1)
    finally:
        thread.join(5)
        for conn in accepted:
            conn.close()
        listener.close()
    assert result["stage"] == "tls"
    assert "Tempo esgotado" in result["diagnosis"]


def test_dns_failure(monkeypatch, pfx):  # pylint: disable=redefined-outer-name
    asked = []

    def no_such_name(host, *args, **kwargs):
        asked.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    result = rnds_auth.authenticate(pfx(), PASSWORD, url="https://ehr-auth.rnds.invalid/api/token")
    assert asked == ["ehr-auth.rnds.invalid"]
    assert result["stage"] == "dns"
    assert "DNS" in result["diagnosis"] and "ehr-auth.rnds.invalid" in result["diagnosis"]


def test_untrusted_server_certificate(mock, pfx):  # pylint: disable=redefined-outer-name
    result = rnds_auth.authenticate(pfx(), PASSWORD, url=mock.token_url)  # system CAs only
    assert result["stage"] == "tls"
    assert "servidor" in result["diagnosis"] and "ca_path" in result["diagnosis"]


def test_validate_certs_false(mock, pfx):  # pylint: disable=redefined-outer-name
    result = rnds_auth.authenticate(pfx(), PASSWORD, url=mock.token_url, validate_certs=False)
    assert result["authenticated"] is True


def test_default_endpoints():
    assert rnds_auth.resolve_url("homologacao", None) == "https://ehr-auth-hmg.saude.gov.br/api/token"
    assert rnds_auth.resolve_url("producao", None) == "https://ehr-auth.saude.gov.br/api/token"
    assert rnds_auth.resolve_url("producao", "https://x.test/api/token") == "https://x.test/api/token"


@pytest.mark.parametrize("backend", ["cryptography", "openssl"])
def test_wrong_password(pfx, backend):  # pylint: disable=redefined-outer-name
    result = rnds_auth.authenticate(pfx(), "senha errada", url="https://127.0.0.1:1/api/token", backend=backend)
    assert result["stage"] == "certificate"
    assert result["authenticated"] is False
    assert "Senha do certificado incorreta" in result["diagnosis"]
    assert render(result["diagnosis"]).endswith("confira passphrase.")
    assert "senha errada" not in result["diagnosis"]


@pytest.mark.parametrize("backend", ["cryptography", "openssl"])
def test_password_encoded_by_old_openssl(mock, pfx, backend):  # pylint: disable=redefined-outer-name
    # OpenSSL < 1.1 turned each byte of a non-ASCII password into one BMP character: the host loaders
    # try the same password forms as the controller (_pkcs12_format.password_candidates).
    old_style = PASSWORD.encode("utf-8").decode("latin-1")
    path = pfx(flavour="3des", password=old_style)
    result = rnds_auth.authenticate(path, PASSWORD, url=mock.token_url, ca_path=mock.ca_file, backend=backend)
    assert result["authenticated"] is True, result["diagnosis"]
    assert result["certificate_backend"] == backend


@pytest.mark.parametrize("backend", ["cryptography", "openssl", "auto"])
def test_pkcs12_without_private_key(pfx, backend):  # pylint: disable=redefined-outer-name
    path = pfx(include_key=False)
    result = rnds_auth.authenticate(path, PASSWORD, url="https://127.0.0.1:1/api/token", backend=backend)
    assert result["stage"] == "certificate"
    assert "chave privada" in result["diagnosis"]


def test_certificate_input_errors(tmp_path, leaves):  # pylint: disable=redefined-outer-name
    url = "https://127.0.0.1:1/api/token"
    missing = rnds_auth.authenticate(str(tmp_path / "nao-existe.pfx"), PASSWORD, url=url)
    assert missing["stage"] == "certificate" and "não encontrado" in missing["diagnosis"]
    empty = tmp_path / "vazio.pfx"
    empty.write_bytes(b"")
    assert "vazio" in rnds_auth.authenticate(str(empty), PASSWORD, url=url)["diagnosis"]
    pem = testca.write_cer(str(tmp_path / "cert.pem"), leaves["ok"], encoding="pem")
    # the same classification (and words) as the controller's pkcs12_info / pec_certificate
    assert "certificado .cer/.crt (PEM, texto), sem a chave privada" in rnds_auth.authenticate(pem, PASSWORD, url=url)["diagnosis"]
    der = testca.write_cer(str(tmp_path / "cert.cer"), leaves["ok"])
    result = rnds_auth.authenticate(der, PASSWORD, url=url)
    assert result["stage"] == "certificate" and "certificado .cer (DER), sem a chave privada" in result["diagnosis"]
    garbage = tmp_path / "lixo.pfx"
    garbage.write_bytes(b"isto nao e um certificado\n")
    assert "não é um certificado PKCS#12" in rnds_auth.authenticate(str(garbage), PASSWORD, url=url)["diagnosis"]
    assert rnds_auth.authenticate(str(tmp_path), PASSWORD, url=url)["stage"] == "certificate"


def test_file_without_password(mock, pfx):  # pylint: disable=redefined-outer-name
    path = pfx(flavour="none", password="")
    result = rnds_auth.authenticate(path, None, url=mock.token_url, ca_path=mock.ca_file)
    assert result["authenticated"] is True, result["diagnosis"]


@pytest.mark.parametrize("backend", ["cryptography", "openssl"])
def test_key_material_is_private_encrypted_and_removed(monkeypatch, tmp_path, mock, pfx, backend):  # pylint: disable=redefined-outer-name
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    seen = []
    original = ssl.SSLContext.load_cert_chain

    def spy(self, certfile, keyfile=None, password=None):
        folder = os.path.dirname(keyfile)
        with open(keyfile, "rb") as handle:
            key_pem = handle.read()
        seen.append(dict(
            folder=folder,
            folder_mode=stat.S_IMODE(os.stat(folder).st_mode),
            key_mode=stat.S_IMODE(os.stat(keyfile).st_mode),
            cert_mode=stat.S_IMODE(os.stat(certfile).st_mode),
            encrypted=b"ENCRYPTED PRIVATE KEY" in key_pem,
            one_time=password,
        ))
        return original(self, certfile, keyfile, password)

    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", spy)
    result = rnds_auth.authenticate(pfx(flavour="legacy-rc2"), PASSWORD, url=mock.token_url,
                                    ca_path=mock.ca_file, backend=backend)
    assert result["authenticated"] is True, result["diagnosis"]
    assert len(seen) == 1
    assert seen[0]["folder"].startswith(str(private_tmp))
    assert seen[0]["folder_mode"] == 0o700
    assert seen[0]["key_mode"] == 0o600 and seen[0]["cert_mode"] == 0o600
    assert seen[0]["encrypted"] is True
    assert seen[0]["one_time"] and seen[0]["one_time"] != PASSWORD
    assert not os.listdir(str(private_tmp)), "temporary key material left behind"


def test_openssl_password_never_in_argv(monkeypatch, pfx, mock):  # pylint: disable=redefined-outer-name
    calls = []
    original = pkcs12_tls.subprocess.run
    path = pfx(flavour="legacy-rc2")  # before the spy: the test CA runs openssl too

    def spy(cmd, *args, **kwargs):
        calls.append((list(cmd), dict(kwargs.get("env") or {})))
        return original(cmd, *args, check=kwargs.pop("check", False), **kwargs)

    monkeypatch.setattr(pkcs12_tls.subprocess, "run", spy)
    result = rnds_auth.authenticate(path, PASSWORD, url=mock.token_url, ca_path=mock.ca_file, backend="openssl")
    assert result["authenticated"] is True
    assert calls
    for cmd, env in calls:
        assert not any(PASSWORD in arg for arg in cmd)
        # the exact bytes, whatever the locale of the server
        assert env.get("ESUS_RNDS_P12_PASSWORD") == PASSWORD.encode("utf-8")
    assert any("-legacy" in cmd for cmd, dummy in calls)


# ---------------------------------------------------------------------------------------------
# ca_path given but unusable: a clear error, never the system trust store instead


def _as_nobody(function):
    """Run ``function()`` in a child process running as nobody; returns its result (JSON-able)."""
    import pwd  # pylint: disable=import-outside-toplevel
    user = pwd.getpwnam("nobody")
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
            os.write(write_fd, json.dumps(function()).encode())
        finally:
            os._exit(0)  # pylint: disable=protected-access
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as handle:
        data = handle.read()
    os.waitpid(pid, 0)
    return json.loads(data.decode())


@pytest.mark.parametrize("case", ["missing", "not-pem", "empty", "parent-is-file"])
def test_unusable_ca_path_is_a_clear_error(mock, pfx, tmp_path, monkeypatch, case):  # pylint: disable=redefined-outer-name
    paths = {"missing": tmp_path / "nao-existe.pem", "not-pem": tmp_path / "lixo.pem",
             "empty": tmp_path / "vazio.pem", "parent-is-file": tmp_path / "lixo.pem" / "ca.pem"}
    (tmp_path / "lixo.pem").write_text("isto não é um certificado\n")
    (tmp_path / "vazio.pem").write_text("")
    # a system store that would trust the mock: the old code fell back to it and authenticated
    monkeypatch.setenv("SSL_CERT_FILE", mock.ca_file)
    result = rnds_auth.authenticate(pfx(), PASSWORD, url=mock.token_url, ca_path=str(paths[case]))
    assert result["authenticated"] is False and result["stage"] == "ca_path", result
    diagnosis = render(result["diagnosis"])
    assert "ca_path=%s" % paths[case] in diagnosis and "ACs do sistema" in diagnosis
    assert_no_secret(result, PASSWORD)
    # the same certificate with the system store (no ca_path) works: the error is about ca_path only
    assert rnds_auth.authenticate(pfx(), PASSWORD, url=mock.token_url)["authenticated"] is True


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become nobody")
def test_unreadable_ca_path_is_a_clear_error(mock, tmp_path):  # pylint: disable=redefined-outer-name
    private = tempfile.mkdtemp(prefix="esus-rnds-ca-")
    try:
        os.chmod(private, 0o755)
        bundle = os.path.join(private, "ca.pem")
        with open(mock.ca_file, "rb") as src, open(bundle, "wb") as dst:
            dst.write(src.read())
        os.chmod(bundle, 0o600)  # root only
        folder = os.path.join(private, "hashes")
        os.mkdir(folder, 0o700)

        def attempt():
            out = []
            for path in (bundle, folder):
                try:
                    pkcs12_tls.server_trust_context(path)
                    out.append(None)
                except pkcs12_tls.CaPathError as exc:
                    out.append(render(exc.message))
            return out

        messages = _as_nobody(attempt)
        assert messages[0] and "não foi possível ler ca_path=%s" % bundle in messages[0], messages
        assert messages[1] and "não foi possível ler a pasta ca_path=%s" % folder in messages[1], messages
        assert pkcs12_tls.server_trust_context(bundle) is not None  # readable by root: fine
    finally:
        import shutil  # pylint: disable=import-outside-toplevel
        shutil.rmtree(private, ignore_errors=True)


def test_certificate_path_is_opened_once_never_through_a_link_nor_a_fifo(tmp_path, pfx):  # pylint: disable=redefined-outer-name
    """The file usually lives in chaves, where the PEC's service account may write: a link or a FIFO put in its place
    is refused without blocking, and a file too big for a certificate is not read in full."""
    url = "https://127.0.0.1:1/api/token"
    real = pfx()
    link = tmp_path / "link.pfx"
    os.symlink(real, str(link))
    result = rnds_auth.authenticate(str(link), PASSWORD, url=url)
    assert result["stage"] == "certificate" and "link simbólico" in result["diagnosis"]
    fifo = tmp_path / "fifo.pfx"
    os.mkfifo(str(fifo))
    result = rnds_auth.authenticate(str(fifo), PASSWORD, url=url)  # would block forever with a plain open()
    assert result["stage"] == "certificate" and "não é um arquivo" in result["diagnosis"]
    big = tmp_path / "grande.pfx"
    big.write_bytes(b"0" * (pkcs12_tls.MAX_PKCS12_BYTES + 1))
    result = rnds_auth.authenticate(str(big), PASSWORD, url=url)
    assert result["stage"] == "certificate" and "mais de" in result["diagnosis"]
