# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is internal to esus.rnds: no compatibility promise for other collections.
"""Open and describe a PKCS#12 (.pfx/.p12) certificate file, ICP-Brasil aware.

Controller side (needs ``cryptography``; the import is guarded). One entry point:
``inspect_pkcs12(data, passphrase, now=None) -> dict``. Anything wrong with the *file* raises
``Pkcs12Error`` whose ``.message`` (pt-BR) tells the operator what to fix and never contains the
password; facts about a readable file (expired, no key, key mismatch, not ICP-Brasil) are returned
as values so callers decide their own policy.

The heuristics (documented in the ``pkcs12_info`` module):

* leaf: the certificate whose public key matches the private key; otherwise the certificate the
  file pairs with the key; otherwise the first certificate that is not a CA.
* ``icp_brasil``: the issuer path built from the certificates in the file reaches a certificate
  (or an issuer name) with ``O=ICP-Brasil`` and ``CN=Autoridade Certificadora Raiz Brasileira...``;
  when the path stops before any self-signed root (chain absent or incomplete), the last issuer
  having ``O=ICP-Brasil`` is enough. No signature is trusted: this is a description, not a validation.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import math
import re

from ansible_collections.esus.rnds.plugins.module_utils._brdocs import normalize_cnpj

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError as _exc:  # pragma: no cover - exercised through HAS_CRYPTOGRAPHY
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = "%s: %s" % (type(_exc).__name__, _exc)
else:
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None

OID_CPF_HOLDER = "2.16.76.1.3.1"
OID_CNPJ = "2.16.76.1.3.3"
ICP_POLICY_PREFIX = ["2", "16", "76", "1", "2"]
ICP_ROOT_CN_PREFIX = "autoridade certificadora raiz brasileira"
ICP_ORGANIZATION = "icp-brasil"

_PFX_MESSAGE = (
    "o PEC precisa do arquivo .pfx/.p12 com a chave privada; um .cer contém só o certificado "
    "— exporte o .pfx com a chave"
)

MESSAGES = {
    "empty": (
        "O arquivo do certificado está vazio (0 bytes). Copie de novo o arquivo .pfx/.p12 "
        "original: a transferência ou o download falhou."
    ),
    "truncated": (
        "O arquivo do certificado está incompleto (truncado): tem {size} bytes, mas a estrutura "
        "declara {declared}. Copie de novo o arquivo .pfx/.p12 original: a cópia ou o download foi "
        "interrompido."
    ),
    "not_pkcs12": (
        "O arquivo não é um certificado PKCS#12 (.pfx/.p12). O PEC precisa do arquivo .pfx/.p12 "
        "com a chave privada, exportado pela autoridade certificadora ou baixado do e-Gestor AB."
    ),
    "certificate_only_der": "O arquivo é um certificado .cer (DER), sem a chave privada: " + _PFX_MESSAGE + ".",
    "certificate_only_pem": "O arquivo é um certificado .cer/.crt (PEM, texto), sem a chave privada: " + _PFX_MESSAGE + ".",
    "certificate_only_p7b": "O arquivo é uma cadeia de certificados PKCS#7 (.p7b), sem a chave privada: " + _PFX_MESSAGE + ".",
    "pem_key": (
        "O arquivo está em formato PEM (texto) e contém uma chave privada, não um PKCS#12. O PEC precisa "
        "de um arquivo .pfx/.p12 com o certificado e a chave juntos: gere-o com "
        "'openssl pkcs12 -export -in certificado.pem -inkey chave.pem -out certificado.pfx'."
    ),
    "pem_csr": (
        "O arquivo é uma requisição de certificado (CSR, PEM), não o certificado emitido. O PEC precisa "
        "do arquivo .pfx/.p12 com a chave privada que a autoridade certificadora entrega depois da emissão."
    ),
    "pem_other": (
        "O arquivo está em formato PEM (texto, '{label}'), não é um PKCS#12. O PEC precisa do arquivo "
        ".pfx/.p12 com a chave privada."
    ),
    "der_key": (
        "O arquivo parece ser só uma chave privada (DER), sem o certificado. O PEC precisa de um arquivo "
        ".pfx/.p12 com o certificado e a chave: gere-o com 'openssl pkcs12 -export'."
    ),
    "base64": (
        "O arquivo parece ser um PKCS#12 codificado em base64 (texto). Decodifique-o antes "
        "(por exemplo 'base64 -d certificado.txt > certificado.pfx')."
    ),
    "wrong_password": (
        "Senha do certificado incorreta: o arquivo PKCS#12 não abriu com a senha informada. Confira a "
        "senha do certificado no inventário (rnds_certificate_password): maiúsculas, acentos e espaços "
        "contam. Se a senha estiver certa, o arquivo pode estar corrompido: copie de novo o .pfx/.p12 original."
    ),
    "unsupported_legacy": (
        "A senha está correta, mas o cryptography/OpenSSL deste computador não abre o arquivo: ele usa "
        "criptografia legada (RC2-40) e o provider 'legacy' do OpenSSL não está disponível. Reexporte o "
        "certificado com criptografia AES (com OpenSSL 3: abra com 'openssl pkcs12 -legacy' e grave de novo "
        "com 'openssl pkcs12 -export') ou use um cryptography que carregue o provider legacy."
    ),
    "unsupported": (
        "A senha está correta, mas o arquivo PKCS#12 não pôde ser aberto: algoritmo não suportado ou "
        "conteúdo corrompido. Exporte o certificado de novo (.pfx/.p12 com a chave privada)."
    ),
    "no_certificate": (
        "O arquivo PKCS#12 abriu, mas não contém nenhum certificado. Exporte de novo o .pfx/.p12 "
        "incluindo o certificado e a chave privada."
    ),
    "missing_library": (
        "A biblioteca Python 'cryptography' não está instalada onde o certificado é lido (controlador): "
        "instale-a (pip install cryptography) para abrir arquivos PKCS#12."
    ),
}


class Pkcs12Error(Exception):
    """A file that cannot be used as a PKCS#12 certificate.

    ``code``: empty, truncated, not_pkcs12, certificate_only, wrong_password, no_certificate,
    missing_library, unsupported (password verified but the file cannot be decoded here).
    ``message``: pt-BR, what to fix. Never contains the password.
    """

    def __init__(self, code, message):
        super(Pkcs12Error, self).__init__(message)
        self.code = code
        self.message = message


# ------------------------------------------------------------------------------------------
# Minimal DER reader (definite lengths, single-byte tags): enough for PKCS#12 framing and
# for the otherName values of ICP-Brasil certificates.

class _DerError(ValueError):
    pass


def _tlv(data, pos, end=None):
    """Read one TLV header at ``pos``. Return (tag, content_start, content_end).

    ``content_end`` may lie beyond ``end`` (the caller checks, that is how truncation is seen).
    """
    end = len(data) if end is None else end
    if pos + 2 > end:
        raise _DerError("short header")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise _DerError("high tag number")
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise _DerError("indefinite length")
    else:
        count = first & 0x7F
        if count > 4 or pos + count > end:
            raise _DerError("bad length")
        length = int.from_bytes(bytes(data[pos:pos + count]), "big")
        pos += count
    return tag, pos, pos + length


def _tlv_in(data, pos, end, tag=None):
    """Like ``_tlv`` but the element must fit inside ``end`` (and have ``tag`` when given)."""
    got, start, stop = _tlv(data, pos, end)
    if stop > end or (tag is not None and got != tag):
        raise _DerError("unexpected element")
    return got, start, stop


def _decode_oid(raw):
    if not raw:
        raise _DerError("empty OID")
    arcs = []
    value = 0
    for byte in bytearray(raw):
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first] + arcs[1:])


_STRING_TAGS = {
    0x04: "octet", 0x0C: "utf8", 0x13: "printable", 0x14: "teletex", 0x16: "ia5", 0x1E: "bmp",
}


def decode_der_string(value):
    """Decode an ICP-Brasil otherName value (OCTET STRING, PrintableString, UTF8String...) to text.

    Explicit ``[0]`` wrappers are unwrapped. Returns None when the value cannot be read.
    """
    if not isinstance(value, (bytes, bytearray)):
        return None
    data = bytes(value)
    try:
        for _depth in range(3):
            tag, start, stop = _tlv_in(data, 0, len(data))
            if tag == 0xA0:
                data = data[start:stop]
                continue
            if tag not in _STRING_TAGS:
                return None
            raw = data[start:stop]
            if tag == 0x1E:
                return raw.decode("utf-16-be", "replace")
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                return raw.decode("latin-1")
    except _DerError:
        return None
    return None


# ------------------------------------------------------------------------------------------
# Input classification: say precisely what the operator handed us when it is not a PKCS#12.

_OID_PKCS7_DATA = "1.2.840.113549.1.7.1"
_OID_PKCS7_SIGNED = "1.2.840.113549.1.7.2"
_PEM_RE = re.compile(br"-----BEGIN ([A-Z0-9 #]+)-----")
_B64_RE = re.compile(br"^[A-Za-z0-9+/=\s]+$")
# pbeWithSHAAnd128BitRC2-CBC / pbeWithSHAAnd40BitRC2-CBC, DER-encoded OID values.
_RC2_OIDS = (bytes.fromhex("2a864886f70d010c0105"), bytes.fromhex("2a864886f70d010c0106"))


def _fail(key, code=None, **fmt):
    return Pkcs12Error(code or key, MESSAGES[key].format(**fmt))


def _classify_pem(text):
    labels = [m.group(1).decode("ascii", "replace") for m in _PEM_RE.finditer(text)]
    if any("PRIVATE KEY" in label for label in labels):
        return _fail("pem_key", "not_pkcs12")
    if labels and all(label in ("CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE") for label in labels):
        return _fail("certificate_only_pem", "certificate_only")
    if labels and all(label in ("PKCS7", "CERTIFICATE", "X509 CERTIFICATE") for label in labels):
        return _fail("certificate_only_p7b", "certificate_only")
    if any("CERTIFICATE REQUEST" in label for label in labels):
        return _fail("pem_csr", "not_pkcs12")
    return _fail("pem_other", "not_pkcs12", label=labels[0] if labels else "?")


def _classify_complete_der(data, start, stop):
    """The outer SEQUENCE is complete and is not a PKCS#12: tell what it is."""
    try:
        tag, inner_start, inner_stop = _tlv_in(data, start, stop)
        if tag == 0x30:
            if HAS_CRYPTOGRAPHY:
                try:
                    x509.load_der_x509_certificate(bytes(data[:stop]))
                    return _fail("certificate_only_der", "certificate_only")
                except Exception:  # pylint: disable=broad-except
                    pass
            # tbsCertificate starts with [0] version or INTEGER serial, then an AlgorithmIdentifier.
            return _fail("not_pkcs12")
        if tag == 0x06 and _decode_oid(data[inner_start:inner_stop]) == _OID_PKCS7_SIGNED:
            return _fail("certificate_only_p7b", "certificate_only")
        if tag == 0x02 and data[inner_start:inner_stop] in (b"\x00", b"\x01"):
            return _fail("der_key", "not_pkcs12")
    except _DerError:
        pass
    return _fail("not_pkcs12")


def _looks_base64_pfx(data):
    sample = data.strip()
    if len(sample) < 16 or not _B64_RE.match(sample):
        return False
    try:
        decoded = base64.b64decode(b"".join(sample.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    return decoded[:1] == b"\x30" and b"\x02\x01\x03" in decoded[:8]


def _header_or_none(data):
    try:
        _tag, start, stop = _tlv(data, 0)
    except _DerError:
        return None
    return start, stop


def _check_framing(data):
    """Raise Pkcs12Error unless ``data`` starts with a complete PKCS#12 PFX SEQUENCE."""
    if not data or not data.strip(b" \t\r\n\x00"):
        raise _fail("empty")
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"-----BEGIN") or _PEM_RE.search(data[:4096]):
        raise _classify_pem(data)
    if data[0] != 0x30:
        if _looks_base64_pfx(data):
            raise _fail("base64", "not_pkcs12")
        raise _fail("not_pkcs12")
    header = _header_or_none(data)
    if header is None:
        # 0x30 followed by a long-form length that the file ends in the middle of.
        if 2 <= len(data) < 6 and data[1] > 0x80:
            raise _fail("truncated", size=len(data), declared="?")
        raise _fail("not_pkcs12")
    start, stop = header
    if stop > len(data):
        inner = data[start:start + 3]
        if inner == b"\x02\x01\x03"[:len(inner)] or inner[:1] == b"\x30":
            raise _fail("truncated", size=len(data), declared=stop)
        raise _fail("not_pkcs12")
    if data[start:start + 3] != b"\x02\x01\x03":
        raise _classify_complete_der(data, start, stop)


# ------------------------------------------------------------------------------------------
# PKCS#12 MAC check (RFC 7292 appendix B): tells "wrong password" from "right password, file
# unreadable here" (e.g. RC2 without OpenSSL's legacy provider).

_DIGESTS = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}
_MAX_MAC_ITERATIONS = 10000000


def _mac_parameters(data):
    """Return (digest, expected_mac, salt, iterations, signed_content) or None if not checkable."""
    try:
        _tag, start, end = _tlv_in(data, 0, len(data), 0x30)
        _tag, _vs, pos = _tlv_in(data, start, end, 0x02)
        _tag, cstart, cend = _tlv_in(data, pos, end, 0x30)
        _tag, ostart, ostop = _tlv_in(data, cstart, cend, 0x06)
        if _decode_oid(data[ostart:ostop]) != _OID_PKCS7_DATA:
            return None
        _tag, xstart, xstop = _tlv_in(data, ostop, cend, 0xA0)
        _tag, dstart, dstop = _tlv_in(data, xstart, xstop, 0x04)
        content = data[dstart:dstop]
        if cend >= end:
            return None
        _tag, mstart, mend = _tlv_in(data, cend, end, 0x30)
        _tag, distart, diend = _tlv_in(data, mstart, mend, 0x30)
        _tag, astart, aend = _tlv_in(data, distart, diend, 0x30)
        _tag, aostart, aostop = _tlv_in(data, astart, aend, 0x06)
        digest = _DIGESTS.get(_decode_oid(data[aostart:aostop]))
        _tag, gstart, gstop = _tlv_in(data, aend, diend, 0x04)
        _tag, sstart, sstop = _tlv_in(data, diend, mend, 0x04)
        iterations = 1
        if sstop < mend:
            _tag, istart, istop = _tlv_in(data, sstop, mend, 0x02)
            iterations = int.from_bytes(bytes(data[istart:istop]), "big")
    except _DerError:
        return None
    if digest is None or not 0 < iterations <= _MAX_MAC_ITERATIONS:
        return None
    return digest, bytes(data[gstart:gstop]), bytes(data[sstart:sstop]), iterations, bytes(content)


def _pkcs12_kdf(digest, password, salt, iterations, purpose, size):
    """RFC 7292 B.2 key derivation (``password`` already BMPString-encoded)."""
    u = hashlib.new(digest).digest_size
    v = hashlib.new(digest).block_size

    def fill(chunk):
        if not chunk:
            return b""
        total = v * ((len(chunk) + v - 1) // v)
        return (chunk * (total // len(chunk) + 1))[:total]

    diversifier = bytes([purpose]) * v
    block_i = bytearray(fill(salt) + fill(password))
    out = b""
    while True:
        a = hashlib.new(digest, diversifier + bytes(block_i)).digest()
        for _round in range(iterations - 1):
            a = hashlib.new(digest, a).digest()
        out += a
        if len(out) >= size:
            return out[:size]
        b = int.from_bytes((a * (v // u + 1))[:v], "big")
        for j in range(0, len(block_i), v):
            part = (int.from_bytes(bytes(block_i[j:j + v]), "big") + b + 1) % (1 << (8 * v))
            block_i[j:j + v] = part.to_bytes(v, "big")


def _bmp_passwords(password):
    """BMPString forms OpenSSL may have used for ``password`` (bytes or None)."""
    if not password:
        return [b"", b"\x00\x00"]
    try:
        text = password.decode("utf-8")
    except UnicodeDecodeError:
        return [b"".join(b"\x00" + bytes([c]) for c in bytearray(password)) + b"\x00\x00"]
    return [text.encode("utf-16-be") + b"\x00\x00"]


def _mac_verifies(data, candidates):
    """True/False when the MAC can be checked, None when the file has no checkable MAC."""
    params = _mac_parameters(data)
    if params is None:
        return None
    digest, expected, salt, iterations, content = params
    size = hashlib.new(digest).digest_size
    for candidate in candidates:
        for bmp in _bmp_passwords(candidate):
            key = _pkcs12_kdf(digest, bmp, salt, iterations, 3, size)
            if hmac.compare_digest(hmac.new(key, content, digest).digest(), expected):
                return True
    return False


# ------------------------------------------------------------------------------------------
# Certificate facts.

def _password_candidates(passphrase):
    if passphrase is None or passphrase in (b"", ""):
        return [None, b""]
    if isinstance(passphrase, str):
        passphrase = passphrase.encode("utf-8", "surrogateescape")
    candidates = [passphrase]
    if any(c > 0x7F for c in bytearray(passphrase)):
        # Files written by OpenSSL < 1.1 (and tools built on it) encoded a non-ASCII password byte
        # by byte; this UTF-8 form makes a modern OpenSSL derive the same BMPString.
        candidates.append(passphrase.decode("latin-1").encode("utf-8"))
    return candidates


def _load(data, passphrase):
    candidates = _password_candidates(passphrase)
    for candidate in candidates:
        try:
            return pkcs12.load_key_and_certificates(data, candidate)
        except Exception:  # pylint: disable=broad-except
            # cryptography's text is never shown: it is generic at best.
            continue
    verified = _mac_verifies(data, candidates)
    if verified:
        if any(oid in data for oid in _RC2_OIDS):
            raise _fail("unsupported_legacy", "unsupported")
        raise _fail("unsupported")
    raise _fail("wrong_password")


def _utc(value):
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def _not_before(cert):
    return _utc(getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before)


def _not_after(cert):
    return _utc(getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after)


def _iso(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _extension(cert, ext_class):
    try:
        return cert.extensions.get_extension_for_class(ext_class).value
    except x509.ExtensionNotFound:
        return None
    except Exception:  # pylint: disable=broad-except
        # A malformed extension is treated as absent: this is a description, not a validation.
        return None


def _spki(obj):
    try:
        return obj.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    except Exception:  # pylint: disable=broad-except
        return None


def _is_self_signed(cert):
    return cert.subject == cert.issuer


def _is_ca(cert):
    constraints = _extension(cert, x509.BasicConstraints)
    if constraints is not None:
        return bool(constraints.ca)
    return _is_self_signed(cert)


def _select_leaf(key, cert, certs):
    """Return (leaf, key_matches)."""
    if key is not None:
        key_spki = _spki(key)
        paired = [c for c in certs if key_spki is not None and _spki(c) == key_spki]
        if paired:
            return (cert if cert in paired else paired[0]), True
    if cert is not None:
        return cert, False
    non_ca = [c for c in certs if not _is_ca(c)]
    if non_ca:
        return non_ca[0], False
    issuers = set(c.issuer for c in certs if not _is_self_signed(c))
    bottom = [c for c in certs if c.subject not in issuers]
    return (bottom[0] if bottom else certs[0]), False


def _signed_by(cert, issuer):
    verify = getattr(cert, "verify_directly_issued_by", None)
    if verify is None:
        return True
    try:
        verify(issuer)
    except UnsupportedAlgorithm:
        # Cannot check this signature here: the names matched, keep the link.
        return True
    except (InvalidSignature, ValueError, TypeError):
        # Wrong signature, or a key of another type than the signature algorithm.
        return False
    return True


def _name_values(name, oid):
    return [str(attr.value) for attr in name.get_attributes_for_oid(oid)]


def _has_icp_organization(name):
    return any(v.strip().lower() == ICP_ORGANIZATION for v in _name_values(name, NameOID.ORGANIZATION_NAME))


def _is_icp_root_name(name):
    return _has_icp_organization(name) and any(
        v.strip().lower().startswith(ICP_ROOT_CN_PREFIX) for v in _name_values(name, NameOID.COMMON_NAME)
    )


def _icp_brasil(leaf, certs):
    path = [leaf]
    current = leaf
    reached_root = False
    while True:
        if _is_self_signed(current):
            reached_root = True
            break
        issuer = None
        for candidate in certs:
            if candidate.subject == current.issuer and candidate not in path and _signed_by(current, candidate):
                issuer = candidate
                break
        if issuer is None:
            break
        path.append(issuer)
        current = issuer
    if any(_is_icp_root_name(c.subject) for c in path):
        return True
    if reached_root:
        return False
    return _is_icp_root_name(current.issuer) or _has_icp_organization(current.issuer)


def _certificate_type(leaf):
    policies = _extension(leaf, x509.CertificatePolicies)
    for policy in policies or []:
        arcs = policy.policy_identifier.dotted_string.split(".")
        if arcs[:5] == ICP_POLICY_PREFIX and len(arcs) >= 6 and arcs[5] in ("1", "2", "3", "4"):
            return "A" + arcs[5]
    return None


def _client_auth(leaf):
    usages = _extension(leaf, x509.ExtendedKeyUsage)
    if usages is None:
        return True
    oids = [u.dotted_string for u in usages]
    return ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string in oids or "2.5.29.37.0" in oids


_CNPJ_SHAPE = re.compile(r"^[0-9A-Z]{12}[0-9]{2}$")


def _documents(leaf):
    """Return (cnpj, cpf) from the ICP-Brasil otherNames, else from the CN suffix ``:digits``."""
    cnpj = cpf = None
    seen_cnpj = seen_cpf = False
    san = _extension(leaf, x509.SubjectAlternativeName)
    for other in (san.get_values_for_type(x509.OtherName) if san is not None else []):
        oid = other.type_id.dotted_string
        if oid not in (OID_CNPJ, OID_CPF_HOLDER):
            continue
        text = decode_der_string(other.value)
        if text is None:
            continue
        if oid == OID_CNPJ:
            seen_cnpj = True
            value = normalize_cnpj(text)
            if _CNPJ_SHAPE.match(value):
                cnpj = value
        else:
            seen_cpf = True
            value = text[8:19]
            if re.match(r"^[0-9]{11}$", value) and value != "0" * 11:
                cpf = value
    for common_name in _name_values(leaf.subject, NameOID.COMMON_NAME):
        if ":" not in common_name:
            continue
        suffix = common_name.rsplit(":", 1)[1].strip().upper()
        if cnpj is None and not seen_cnpj and _CNPJ_SHAPE.match(suffix):
            cnpj = suffix
        elif cpf is None and not seen_cpf and re.match(r"^[0-9]{11}$", suffix):
            cpf = suffix
    return cnpj, cpf


def _key_facts(leaf):
    try:
        public = leaf.public_key()
    except Exception:  # pylint: disable=broad-except
        return None, None
    if isinstance(public, rsa.RSAPublicKey):
        return "RSA", public.key_size
    if isinstance(public, ec.EllipticCurvePublicKey):
        return "ECC", public.curve.key_size
    return None, None


def _serial_hex(serial):
    return ("-" if serial < 0 else "") + format(abs(serial), "x")


def inspect_pkcs12(data, passphrase, now=None):
    """Open a PKCS#12 file's bytes and describe its certificate (see the module docs for keys).

    ``passphrase``: str, bytes or None (None and '' both mean "no password").
    ``now``: aware datetime used for validity (default: current UTC time).
    Raises ``Pkcs12Error`` for files that cannot be used at all.
    """
    if not HAS_CRYPTOGRAPHY:
        raise _fail("missing_library")
    if isinstance(data, bytearray):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise TypeError("data must be bytes")
    _check_framing(data)
    key, cert, additional = _load(data, passphrase)
    certs = ([cert] if cert is not None else []) + list(additional or [])
    if not certs:
        raise _fail("no_certificate")
    leaf, key_matches = _select_leaf(key, cert, certs)
    now = _utc(now) if now is not None else datetime.datetime.now(datetime.timezone.utc)
    not_before = _not_before(leaf)
    not_after = _not_after(leaf)
    cnpj, cpf = _documents(leaf)
    key_type, key_size = _key_facts(leaf)
    return {
        "subject": leaf.subject.rfc4514_string(),
        "issuer": leaf.issuer.rfc4514_string(),
        "serial_number": _serial_hex(leaf.serial_number),
        "not_before": _iso(not_before),
        "not_after": _iso(not_after),
        "days_remaining": int(math.floor((not_after - now).total_seconds() / 86400.0)),
        "expired": now > not_after,
        "not_yet_valid": now < not_before,
        "fingerprint_sha256": leaf.fingerprint(hashes.SHA256()).hex(),
        "cnpj": cnpj,
        "cpf": cpf,
        "icp_brasil": _icp_brasil(leaf, certs),
        "certificate_type": _certificate_type(leaf),
        "has_private_key": key is not None,
        "key_matches": key_matches,
        "key_type": key_type,
        "key_size": key_size,
        "chain_length": len(certs) - 1,
        "client_auth": _client_auth(leaf),
    }


# Shown when the certificate password occurs inside a public fact (CNPJ, subject...): Ansible hides every
# returned value that contains a no_log value, so those facts come out as "********". Never names the field
# nor prints the password.
WEAK_PASSWORD_WARNING = (
    "a senha do certificado é fraca: ela aparece dentro de dados públicos do próprio certificado (como CNPJ, "
    "titular, emissor ou número de série), e por isso a Ansible esconde esses dados com ******** nas tarefas que "
    "recebem a senha (no_log); troque a senha do .pfx por uma mais longa, que não repita dados do certificado, "
    "e atualize rnds_certificate_password")


def password_masks_facts(facts, password):
    """True when Ansible's no_log masking of ``password`` would change a value of ``facts``.

    Ansible replaces every occurrence of a no_log value inside a returned string (and a number whose text is
    the value), whatever its length, so any non-empty password found in a fact counts.
    """
    if not password or not isinstance(password, str):
        return False

    def hit(value):
        if isinstance(value, bool) or value is None:
            return False
        if isinstance(value, str):
            return password in value
        if isinstance(value, (int, float)):
            return str(value) == password
        if isinstance(value, dict):
            return any(hit(key) or hit(item) for key, item in value.items())
        if isinstance(value, (list, tuple)):
            return any(hit(item) for item in value)
        return False

    return hit(facts)
