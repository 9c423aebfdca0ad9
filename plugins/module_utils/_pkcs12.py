# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is internal to esus.rnds: no compatibility promise for other collections.
"""Open and describe a PKCS#12 (.pfx/.p12) certificate file, ICP-Brasil aware.

Needs ``cryptography`` (the import is guarded): the controller, or a host that has it
(``pkcs12_info`` may run on either, so this stays in module_utils). One entry point:
``inspect_pkcs12(data, passphrase, now=None) -> dict``. Anything wrong with the *file* raises
``Pkcs12Error`` (``_pkcs12_format``) whose ``.message`` (pt-BR) tells the operator what to fix and
never contains the password; facts about a readable file (expired, no key, key mismatch, not
ICP-Brasil) are returned as values so callers decide their own policy.

The heuristics (documented in the ``pkcs12_info`` module):

* leaf: the certificate whose public key matches the private key; otherwise the certificate the
  file pairs with the key; otherwise the first certificate that is not a CA.
* ``icp_brasil``: the issuer path built from the certificates in the file reaches a certificate
  (or an issuer name) with ``O=ICP-Brasil`` and ``CN=Autoridade Certificadora Raiz Brasileira...``;
  when the path stops before any self-signed root (chain absent or incomplete), the last issuer
  having ``O=ICP-Brasil`` is enough. No signature is trusted: this is a description, not a validation.
"""

from __future__ import annotations

from ansible_collections.esus.rnds.plugins.module_utils._brdocs import cnpj_shape, cpf_shape
from ansible_collections.esus.rnds.plugins.module_utils._dates import iso_utc, to_utc, validity
from ansible_collections.esus.rnds.plugins.module_utils._labels import option
from ansible_collections.esus.rnds.plugins.module_utils._pkcs12_format import (
    check_framing,
    decode_der_string,
    fail,
    mac_verifies,
    password_candidates,
    uses_rc2,
)

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


def load_pkcs12(data, passphrase):
    """``(key, certificate, additional certificates)`` of a PKCS#12 with ``cryptography``.

    Every form of the password (``password_candidates``) is tried. When none opens the file, the
    MAC tells a wrong password from a file this ``cryptography``/OpenSSL cannot decrypt: raises
    ``Pkcs12Error`` (wrong_password or unsupported), never cryptography's own text.
    """
    candidates = password_candidates(passphrase)
    for candidate in candidates:
        try:
            return pkcs12.load_key_and_certificates(data, candidate)
        except Exception:  # pylint: disable=broad-except
            # cryptography's text is never shown: it is generic at best.
            continue
    if mac_verifies(data, candidates):
        if uses_rc2(data):
            raise fail("unsupported_legacy", "unsupported")
        raise fail("unsupported")
    raise fail("wrong_password")


def _not_before(cert):
    return to_utc(getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before)


def _not_after(cert):
    return to_utc(getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after)


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


def _documents(leaf):
    """Return (cnpj, cpf) from the ICP-Brasil otherNames, else from the CN suffix ``:digits``.

    Shapes only (``_brdocs``): a document is reported as the certificate carries it, check digits
    are the policy's business. ICP-Brasil writes zeros in the CPF positions of an e-CNPJ holder field.
    """
    cnpj = cpf = None
    seen_cnpj = seen_cpf = False
    san = _extension(leaf, x509.SubjectAlternativeName)
    for other in (san.get_values_for_type(x509.OtherName) if san is not None else []):
        oid = other.type_id.dotted_string
        text = decode_der_string(other.value) if oid in (OID_CNPJ, OID_CPF_HOLDER) else None
        if text is None:
            continue
        if oid == OID_CNPJ:
            seen_cnpj = True
            cnpj = cnpj_shape(text) or cnpj
        else:
            seen_cpf = True
            value = cpf_shape(text[8:19])
            if value and value != "0" * 11:
                cpf = value
    for common_name in _name_values(leaf.subject, NameOID.COMMON_NAME):
        if ":" not in common_name:
            continue
        suffix = common_name.rsplit(":", 1)[1]
        if cnpj is None and not seen_cnpj and cnpj_shape(suffix):
            cnpj = cnpj_shape(suffix)
        elif cpf is None and not seen_cpf and cpf_shape(suffix):
            cpf = cpf_shape(suffix)
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
    ``now``: datetime used for validity (default: current UTC time).
    Raises ``Pkcs12Error`` for files that cannot be used at all.
    """
    if not HAS_CRYPTOGRAPHY:
        raise fail("missing_library")
    if isinstance(data, bytearray):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise TypeError("data must be bytes")
    check_framing(data)
    key, cert, additional = load_pkcs12(data, passphrase)
    certs = ([cert] if cert is not None else []) + list(additional or [])
    if not certs:
        raise fail("no_certificate")
    leaf, key_matches = _select_leaf(key, cert, certs)
    not_before = _not_before(leaf)
    not_after = _not_after(leaf)
    cnpj, cpf = _documents(leaf)
    key_type, key_size = _key_facts(leaf)
    facts = {
        "subject": leaf.subject.rfc4514_string(),
        "issuer": leaf.issuer.rfc4514_string(),
        "serial_number": _serial_hex(leaf.serial_number),
        "not_before": iso_utc(not_before),
        "not_after": iso_utc(not_after),
    }
    # days_remaining, expired, not_yet_valid
    facts.update(validity(not_before, not_after, now))
    facts.update({
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
    })
    return facts


# Shown when the certificate password occurs inside a public fact (CNPJ, subject...): Ansible hides every
# returned value that contains a no_log value, so those facts come out as "********". Never names the field
# nor prints the password.
WEAK_PASSWORD_WARNING = (
    "a senha do certificado é fraca: ela aparece dentro de dados públicos do próprio certificado (como CNPJ, "
    "titular, emissor ou número de série), e por isso a Ansible esconde esses dados com ******** nas tarefas que "
    "recebem a senha (no_log); troque a senha do .pfx por uma mais longa, que não repita dados do certificado, "
    "e atualize " + option("passphrase"))


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
