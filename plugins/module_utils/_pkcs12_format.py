# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is internal to esus.rnds: no compatibility promise for other collections.
"""The PKCS#12 file format without any crypto library: what every PKCS#12 loader of esus.rnds shares.

Standard library only, Python >= 3.6, so the host modules use it as well as the controller:

* ``password_candidates(passphrase)``: the byte forms of a password to try, in order. The only place
  that decides them; every loader (``_pkcs12`` with ``cryptography``, ``_pkcs12_tls`` with
  ``cryptography`` or the ``openssl`` command line) tries exactly these.
* ``check_framing(data)``: raises ``Pkcs12Error`` saying what the operator handed over when it is not a
  complete PKCS#12 (empty, truncated, a ``.cer``/PEM/CSR/key, base64 text...).
* ``mac_verifies(data, candidates)``: checks the PKCS#12 MAC (RFC 7292 appendix B) to tell "wrong
  password" from "right password, but this crypto library cannot decrypt the file" (RC2-40 without
  OpenSSL's legacy provider).
* ``decode_der_string(value)``: the text of an ICP-Brasil otherName value.

``Pkcs12Error.message`` (pt-BR) names module options with ``_labels.option`` placeholders; the module
renders them. It never contains the password.
"""

from __future__ import absolute_import, division, print_function

import base64
import binascii
import hashlib
import hmac
import re

from ansible_collections.esus.rnds.plugins.module_utils._labels import option

__metaclass__ = type

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
        "O arquivo do certificado está incompleto (truncado): tem %(size)s bytes, mas a estrutura "
        "declara %(declared)s. Copie de novo o arquivo .pfx/.p12 original: a cópia ou o download foi "
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
        "O arquivo está em formato PEM (texto, '%(label)s'), não é um PKCS#12. O PEC precisa do arquivo "
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
        "senha do certificado (" + option("passphrase") + "): maiúsculas, acentos e espaços contam. "
        "Se a senha estiver certa, o arquivo pode estar corrompido: copie de novo o .pfx/.p12 original."
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


# A real A1 .pfx/.p12 is a few KiB: anything bigger than this is refused before it is read in full.
MAX_PKCS12_BYTES = 1024 * 1024


class Pkcs12Error(Exception):
    """A file that cannot be used as a PKCS#12 certificate.

    ``code``: empty, truncated, not_pkcs12, certificate_only, wrong_password, no_certificate,
    missing_library, unsupported (password verified but the file cannot be decoded here).
    ``message``: pt-BR, what to fix (with option placeholders). Never contains the password.
    """

    def __init__(self, code, message):
        super(Pkcs12Error, self).__init__(message)
        self.code = code
        self.message = message


def fail(key, code=None, **fmt):
    """The ``Pkcs12Error`` of ``MESSAGES[key]`` (to raise), with ``code`` (default: ``key``).

    ``fmt`` fills the ``%(name)s`` fields (never ``str.format``: messages hold option placeholders in braces).
    """
    return Pkcs12Error(code or key, MESSAGES[key] % fmt if fmt else MESSAGES[key])


# ------------------------------------------------------------------------------------------
# Password variants: the one place that decides which bytes are tried.

def password_candidates(passphrase):
    """The forms of ``passphrase`` (str, bytes or None) to try, in order: a list of bytes (or None).

    No password (None or empty): ``None`` then ``b""`` (files are written both ways). Otherwise the
    UTF-8 bytes and, for a non-ASCII password, the form files written by OpenSSL < 1.1 (and tools
    built on it) need: they encoded the password byte by byte, which a modern OpenSSL reproduces
    from the UTF-8 encoding of the bytes read as latin-1.
    """
    if passphrase is None or passphrase in (b"", ""):
        return [None, b""]
    if isinstance(passphrase, str):
        passphrase = passphrase.encode("utf-8", "surrogateescape")
    candidates = [bytes(passphrase)]
    if any(c > 0x7F for c in bytearray(passphrase)):
        candidates.append(passphrase.decode("latin-1").encode("utf-8"))
    return candidates


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
RC2_OIDS = (bytes.fromhex("2a864886f70d010c0105"), bytes.fromhex("2a864886f70d010c0106"))


def uses_rc2(data):
    """True when the file names an RC2 encryption (what OpenSSL 3 reads only with its legacy provider)."""
    return any(oid in data for oid in RC2_OIDS)


def _classify_pem(text):
    labels = [m.group(1).decode("ascii", "replace") for m in _PEM_RE.finditer(text)]
    if any("PRIVATE KEY" in label for label in labels):
        return fail("pem_key", "not_pkcs12")
    if labels and all(label in ("CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE") for label in labels):
        return fail("certificate_only_pem", "certificate_only")
    if labels and all(label in ("PKCS7", "CERTIFICATE", "X509 CERTIFICATE") for label in labels):
        return fail("certificate_only_p7b", "certificate_only")
    if any("CERTIFICATE REQUEST" in label for label in labels):
        return fail("pem_csr", "not_pkcs12")
    return fail("pem_other", "not_pkcs12", label=labels[0] if labels else "?")


def _is_der_certificate(data, start, stop):
    """Certificate ::= SEQUENCE { tbsCertificate, AlgorithmIdentifier, BIT STRING }, where
    tbsCertificate starts with ``[0]`` version (v3) or INTEGER serial then an AlgorithmIdentifier (v1).
    A CSR has the same outer shape, but its info starts with INTEGER version then a Name (SET items)."""
    _tag, tbs_start, tbs_stop = _tlv_in(data, start, stop, 0x30)
    _tag, alg_start, alg_stop = _tlv_in(data, tbs_stop, stop, 0x30)
    _tag, _bits, bits_stop = _tlv_in(data, alg_stop, stop, 0x03)
    if bits_stop != stop:
        return False
    first, _first_start, first_stop = _tlv_in(data, tbs_start, tbs_stop)
    if first == 0xA0:
        return True
    if first != 0x02:
        return False
    _tag, sig_start, sig_stop = _tlv_in(data, first_stop, tbs_stop, 0x30)
    return _tlv_in(data, sig_start, sig_stop)[0] == 0x06


def _classify_complete_der(data, start, stop):
    """The outer SEQUENCE is complete and is not a PKCS#12: tell what it is."""
    try:
        tag, inner_start, inner_stop = _tlv_in(data, start, stop)
        if tag == 0x30:
            if _is_der_certificate(data, start, stop):
                return fail("certificate_only_der", "certificate_only")
            return fail("not_pkcs12")
        if tag == 0x06 and _decode_oid(data[inner_start:inner_stop]) == _OID_PKCS7_SIGNED:
            return fail("certificate_only_p7b", "certificate_only")
        if tag == 0x02 and data[inner_start:inner_stop] in (b"\x00", b"\x01"):
            return fail("der_key", "not_pkcs12")
    except _DerError:
        pass
    return fail("not_pkcs12")


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


def check_framing(data):
    """Raise Pkcs12Error unless ``data`` (bytes) starts with a complete PKCS#12 PFX SEQUENCE."""
    if not data or not data.strip(b" \t\r\n\x00"):
        raise fail("empty")
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"-----BEGIN") or _PEM_RE.search(data[:4096]):
        raise _classify_pem(data)
    if data[0] != 0x30:
        if _looks_base64_pfx(data):
            raise fail("base64", "not_pkcs12")
        raise fail("not_pkcs12")
    header = _header_or_none(data)
    if header is None:
        # 0x30 followed by a long-form length that the file ends in the middle of.
        if 2 <= len(data) < 6 and data[1] > 0x80:
            raise fail("truncated", size=len(data), declared="?")
        raise fail("not_pkcs12")
    start, stop = header
    if stop > len(data):
        inner = data[start:start + 3]
        if inner == b"\x02\x01\x03"[:len(inner)] or inner[:1] == b"\x30":
            raise fail("truncated", size=len(data), declared=stop)
        raise fail("not_pkcs12")
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


def mac_verifies(data, candidates):
    """True/False when the MAC can be checked with one of ``candidates`` (see password_candidates),
    None when the file has no checkable MAC."""
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
