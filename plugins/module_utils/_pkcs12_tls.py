# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is internal to esus.rnds: no compatibility promise for other collections.
"""A PKCS#12 on a PEC server turned into a TLS client context (``rnds_auth``).

Runs on PEC servers: Python standard library only (Python >= 3.6). The PKCS#12 is opened with
``cryptography`` when the host happens to have it, otherwise with the ``openssl`` command line
(password passed through the environment, never on the command line). Both try the same password
forms (``_pkcs12_format.password_candidates``), and a wrong password is told by the PKCS#12 MAC
before either runs. The private key only touches the disk inside a private temporary folder (0700),
encrypted with a random one-time password, and is removed as soon as the TLS context has loaded it.

Messages are pt-BR and name module options with ``_labels.option`` placeholders.
"""

from __future__ import absolute_import, division, print_function

import errno
import os
import secrets
import shutil
import ssl
import subprocess
import tempfile

from ansible_collections.esus.rnds.plugins.module_utils._fsat import read_small_file
from ansible_collections.esus.rnds.plugins.module_utils._labels import option
from ansible_collections.esus.rnds.plugins.module_utils._pkcs12_format import (
    MAX_PKCS12_BYTES,
    Pkcs12Error,
    check_framing,
    mac_verifies,
    password_candidates,
)

__metaclass__ = type

_OPENSSL_ENV_P12 = "ESUS_RNDS_P12_PASSWORD"
_OPENSSL_ENV_KEY = "ESUS_RNDS_KEY_PASSWORD"

_NO_KEY = (
    "O arquivo PKCS#12 não contém a chave privada. Um arquivo só com o certificado "
    "(como um .cer) não serve: exporte o certificado A1 com a chave privada."
)
_NO_CERTIFICATE = (
    "O arquivo PKCS#12 não contém o certificado do titular. Exporte o certificado A1 "
    "completo (com a chave privada) em .pfx/.p12."
)


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
    name = option("ca_path")
    hint = ("informe em %s o arquivo PEM (ou a pasta de certificados com hash) das ACs que validam o "
            "serviço de autenticação da RNDS, ou omita %s para usar as ACs do sistema" % (name, name))
    if not os.path.exists(ca_path):
        raise CaPathError("%s=%s não existe neste servidor: %s" % (name, ca_path, hint))
    if os.path.isdir(ca_path):
        try:
            os.listdir(ca_path)
        except OSError as exc:
            raise CaPathError("não foi possível ler a pasta %s=%s (%s): confira as permissões; %s"
                              % (name, ca_path, exc.strerror, hint)) from None
        return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, capath=ca_path)
    if not os.path.isfile(ca_path):
        raise CaPathError("%s=%s não é um arquivo nem uma pasta: %s" % (name, ca_path, hint))
    try:
        with open(ca_path, "rb"):
            pass
    except (IOError, OSError) as exc:
        raise CaPathError("não foi possível ler %s=%s (%s): confira as permissões; %s"
                          % (name, ca_path, exc.strerror, hint)) from None
    try:
        return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_path)
    except (ssl.SSLError, ValueError, OSError) as exc:
        raise CaPathError("%s=%s não contém certificados de AC em formato PEM que possam ser lidos (%s): %s"
                          % (name, ca_path, getattr(exc, "reason", None) or exc, hint)) from None


# ---------------------------------------------------------------------------------------------
# PKCS#12 -> files ssl.SSLContext.load_cert_chain accepts


def _write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _read_private(path):
    with open(path, "rb") as handle:
        return handle.read()


def _convert_with_cryptography(data, candidates, workdir, one_time):
    """Return (certfile, keyfile) using the cryptography library; raise ValueError on failure."""
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.serialization import pkcs12  # pylint: disable=import-outside-toplevel

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
        raise CertificateLoadError(_NO_CERTIFICATE)
    if key is None:
        raise CertificateLoadError(_NO_KEY)
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


def _openssl_export(openssl, steps, candidates, env):
    """Run ``steps`` with each password form, without then with ``-legacy`` (OpenSSL 3 needs it for
    RC2-40/3DES files; OpenSSL 1.1 does not know the option). Return [] once all steps passed, else
    the error output of every attempt."""
    errors = []
    for candidate in candidates:
        # bytes: the exact password bytes, whatever the locale of the server
        env[_OPENSSL_ENV_P12] = candidate or b""
        for extra in ([], ["-legacy"]):
            for step in steps:
                code, stderr = _run_openssl(openssl, step + extra, env)
                if code != 0:
                    errors.append(stderr)
                    break
            else:
                return []
    return errors


def _convert_with_openssl(data, candidates, workdir, one_time):
    """Return (certfile, keyfile) using the openssl command line."""
    openssl = shutil.which("openssl")
    if not openssl:
        raise CertificateLoadError(
            "Para abrir o certificado este servidor precisa do comando 'openssl' ou do módulo "
            "Python 'cryptography'; nenhum dos dois foi encontrado."
        )
    source = os.path.join(workdir, "source.p12")  # the bytes that were checked, never the path again
    _write_private(source, data)
    keyfile, leaf, chain = (os.path.join(workdir, name) for name in ("client.key", "leaf.pem", "chain.pem"))
    passin = ["-in", source, "-passin", "env:" + _OPENSSL_ENV_P12]
    steps = [
        passin + ["-nocerts", "-out", keyfile, "-passout", "env:" + _OPENSSL_ENV_KEY],
        passin + ["-nokeys", "-clcerts", "-out", leaf],
        passin + ["-nokeys", "-cacerts", "-out", chain],
    ]
    env = dict(os.environ)
    env[_OPENSSL_ENV_KEY] = one_time
    errors = _openssl_export(openssl, steps, candidates, env)
    if errors:
        text = "\n".join(errors).lower()
        if "invalid password" in text or "mac verify" in text:
            raise CertificateLoadError(_wrong_password("o openssl não conseguiu verificar o arquivo com a senha informada"))
        raise CertificateLoadError(
            "O openssl não conseguiu abrir o arquivo como PKCS#12: o arquivo não é um .pfx/.p12 "
            "válido, está corrompido ou usa uma cifra não suportada."
        )
    for name in (keyfile, leaf, chain):
        if os.path.exists(name):
            os.chmod(name, 0o600)
    if b"PRIVATE KEY" not in _read_private(keyfile):
        raise CertificateLoadError(_NO_KEY)
    leaf_pem = _read_private(leaf)
    if b"BEGIN CERTIFICATE" not in leaf_pem:
        raise CertificateLoadError(_NO_CERTIFICATE)
    chain_pem = _read_private(chain) if os.path.exists(chain) else b""
    certfile = os.path.join(workdir, "client.crt")
    _write_private(certfile, leaf_pem + b"\n" + chain_pem)
    return certfile, keyfile


def _wrong_password(detail):
    return "Senha do certificado incorreta (%s): confira %s." % (detail, option("passphrase"))


def _has_cryptography():
    try:
        from cryptography.hazmat.primitives.serialization import pkcs12  # noqa: F401 pylint: disable=import-outside-toplevel,unused-import
    except ImportError:
        return False
    return True


def _read_pkcs12(path, passphrase):
    """The bytes of the PKCS#12 at ``path`` and the password forms to try; CertificateLoadError when the file
    is missing, is not a complete PKCS#12 or (its MAC says so) the password is wrong."""
    where = option("path")
    try:
        # The file usually lives in chaves, where the PEC's service account may write: a link put there is refused,
        # and what is read is what was checked (one descriptor).
        data = read_small_file(path, MAX_PKCS12_BYTES, follow_links=False)
    except FileNotFoundError:
        raise CertificateLoadError("Arquivo do certificado não encontrado: %s (confira %s)" % (path, where)) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise CertificateLoadError("O caminho do certificado é um link simbólico: %s (por segurança, informe o "
                                       "arquivo real em %s)" % (path, where)) from None
        if exc.errno in (errno.EINVAL, errno.EISDIR, errno.EFBIG):
            raise CertificateLoadError("O caminho do certificado não é um arquivo .pfx/.p12 (%s): %s (confira %s)"
                                       % (exc.strerror, path, where)) from None
        raise CertificateLoadError("Não foi possível ler o certificado %s: %s" % (path, exc.strerror)) from None
    try:
        check_framing(data)
    except Pkcs12Error as exc:
        raise CertificateLoadError("%s: %s" % (path, exc.message)) from None
    candidates = password_candidates(passphrase)
    if mac_verifies(data, candidates) is False:
        raise CertificateLoadError(_wrong_password("o arquivo PKCS#12 não abre com a senha informada"))
    return data, candidates


def _load_client_certificate(context, backends, data, candidates, workdir):
    """Load the certificate and key into ``context`` with the first backend that opens them; return its name."""
    one_time = secrets.token_urlsafe(32)
    last_error = None
    for name in backends:
        try:
            convert = _convert_with_cryptography if name == "cryptography" else _convert_with_openssl
            certfile, keyfile = convert(data, candidates, workdir, one_time)
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
        return name
    raise last_error


def build_ssl_context(path, passphrase, ca_path=None, validate_certs=True, backend="auto"):
    """Return (ssl.SSLContext with the client certificate loaded, backend used).

    ``backend``: ``auto`` (cryptography when importable, then openssl), ``cryptography`` or
    ``openssl``. Raises CertificateLoadError with a pt-BR message, or CaPathError when ``ca_path`` is
    given (and ``validate_certs`` is on) but cannot be used.
    """
    trust = server_trust_context(ca_path) if (validate_certs and ca_path) else None
    data, candidates = _read_pkcs12(path, passphrase)
    context = trust if trust is not None else ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if not validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if backend == "auto":
        backends = (["cryptography"] if _has_cryptography() else []) + ["openssl"]
    else:
        backends = [backend]
    workdir = tempfile.mkdtemp(prefix="esus-rnds-auth-")  # mode 0700
    try:
        os.chmod(workdir, 0o700)
        return context, _load_client_certificate(context, backends, data, candidates, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
