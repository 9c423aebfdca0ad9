# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""inspect_pkcs12 against PKCS#12 files generated at run time by the test CA."""

from __future__ import annotations

import base64
import datetime
import os
import subprocess
import sys
import textwrap

import pytest
import testca
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

from ansible_collections.esus.rnds.plugins.module_utils import _pkcs12, _pkcs12_format
from ansible_collections.esus.rnds.plugins.module_utils._labels import render
from ansible_collections.esus.rnds.plugins.module_utils._pkcs12 import inspect_pkcs12
from ansible_collections.esus.rnds.plugins.module_utils._pkcs12_format import Pkcs12Error

PFX_HINT = (
    "o PEC precisa do arquivo .pfx/.p12 com a chave privada; um .cer contém só o certificado "
    "— exporte o .pfx com a chave"
)
UTC = datetime.timezone.utc


def _now():
    return datetime.datetime.now(UTC).replace(microsecond=0)  # certificates have whole seconds


def _inspect_file(path, password, now=None):
    with open(path, "rb") as handle:
        return inspect_pkcs12(handle.read(), password, now=now)


def _error(data, password="senha"):
    with pytest.raises(Pkcs12Error) as info:
        inspect_pkcs12(data, password)
    exc = info.value
    # Never cryptography's (or our parser's) exception text, never a chained exception.
    assert exc.__cause__ is None and exc.__context__ is None
    assert "Invalid password" not in exc.message and "deserialize" not in exc.message
    assert str(exc) == exc.message
    return exc


def _assert_ecnpj_facts(facts, leaf):
    assert facts["cnpj"] == "12345678000195"
    assert facts["cpf"] is None
    assert facts["fingerprint_sha256"] == leaf.cert.fingerprint(hashes.SHA256()).hex()
    assert facts["serial_number"] == format(leaf.cert.serial_number, "x")
    assert facts["subject"] == leaf.cert.subject.rfc4514_string()
    assert facts["issuer"] == leaf.cert.issuer.rfc4514_string()
    assert facts["not_after"] == leaf.cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert facts["not_before"] == leaf.cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert facts["has_private_key"] is True
    assert facts["key_matches"] is True
    assert facts["icp_brasil"] is True
    assert facts["certificate_type"] == "A1"
    assert facts["key_type"] == "RSA" and facts["key_size"] == 2048
    assert facts["chain_length"] == 2
    assert facts["client_auth"] is True
    assert facts["expired"] is False and facts["not_yet_valid"] is False
    assert 363 <= facts["days_remaining"] <= 365


# ---------------------------------------------------------------------------------------------
# Encryption flavours and passwords

@pytest.mark.parametrize("flavour", ["legacy-rc2", "3des", "aes"])
def test_flavours_with_hard_password(make_pkcs12, ecnpj_leaf, flavour):
    path = make_pkcs12(password=testca.HARD_PASSWORD, flavour=flavour)
    facts = _inspect_file(path, testca.HARD_PASSWORD)
    _assert_ecnpj_facts(facts, ecnpj_leaf)
    # bytes passphrase works the same
    assert _inspect_file(path, testca.HARD_PASSWORD.encode("utf-8")) == facts


def test_legacy_rc2_really_is_rc2(make_pkcs12):
    data = make_pkcs12(password="senha", flavour="legacy-rc2").read_bytes()
    assert _pkcs12_format.uses_rc2(data)
    assert inspect_pkcs12(data, "senha")["has_private_key"] is True


@pytest.mark.parametrize("password", [None, ""])
def test_no_password(make_pkcs12, ecnpj_leaf, password):
    path = make_pkcs12(password="", flavour="none")
    _assert_ecnpj_facts(_inspect_file(path, password), ecnpj_leaf)


def test_password_encoded_by_old_openssl(make_pkcs12, ecnpj_leaf):
    # OpenSSL < 1.1 turned each byte of a non-ASCII password into one BMP character.
    old_style = testca.HARD_PASSWORD.encode("utf-8").decode("latin-1")
    path = make_pkcs12(password=old_style, flavour="3des")
    _assert_ecnpj_facts(_inspect_file(path, testca.HARD_PASSWORD), ecnpj_leaf)


@pytest.mark.parametrize("flavour", ["aes", "3des", "legacy-rc2", "none"])
def test_wrong_password(make_pkcs12, flavour):
    path = make_pkcs12(password="" if flavour == "none" else "certa", flavour=flavour)
    exc = _error(path.read_bytes(), password=testca.HARD_PASSWORD)
    assert exc.code == "wrong_password"
    assert "Senha do certificado incorreta" in exc.message
    # names the module option; a role relabels it with the variable its user sets
    assert "senha do certificado (passphrase)" in render(exc.message)
    assert "(rnds_certificate_password)" in render(exc.message, {"passphrase": "rnds_certificate_password"})
    for fragment in (testca.HARD_PASSWORD, "Sênha", "$HOME", "`id`", "aspas"):
        assert fragment not in exc.message
        assert fragment not in repr(exc)


def test_wrong_password_message_never_contains_password(make_pkcs12):
    path = make_pkcs12(password=testca.HARD_PASSWORD, flavour="aes")
    exc = _error(path.read_bytes(), password="senha-errada-123")
    assert exc.code == "wrong_password"
    assert "senha-errada-123" not in exc.message and testca.HARD_PASSWORD not in exc.message


def test_missing_password_for_protected_file(make_pkcs12):
    path = make_pkcs12(password="certa")
    assert _error(path.read_bytes(), password=None).code == "wrong_password"


def test_corrupted_content_is_reported_as_password_or_corruption(make_pkcs12):
    data = bytearray(make_pkcs12(password="certa").read_bytes())
    data[len(data) // 2] ^= 0xFF
    exc = _error(bytes(data), password="certa")
    assert exc.code == "wrong_password"
    assert "corrompido" in exc.message


def test_legacy_without_openssl_legacy_provider(make_pkcs12, tmp_path):
    """Right password but RC2 unreadable (cryptography told not to load OpenSSL's legacy provider)."""
    rc2 = make_pkcs12(password=testca.HARD_PASSWORD, flavour="legacy-rc2", name="rc2.pfx")
    des = make_pkcs12(password=testca.HARD_PASSWORD, flavour="3des", name="3des.pfx")
    script = tmp_path / "probe.py"
    script.write_text(textwrap.dedent("""
        import json, sys
        sys.path[:0] = json.loads(sys.argv[1])
        from ansible_collections.esus.rnds.plugins.module_utils._pkcs12 import inspect_pkcs12
        from ansible_collections.esus.rnds.plugins.module_utils._pkcs12_format import Pkcs12Error
        password = sys.stdin.read()
        out = {}
        for path in sys.argv[2:]:
            for label, secret in (("right", password), ("wrong", "errada")):
                try:
                    out[path + ":" + label] = inspect_pkcs12(open(path, "rb").read(), secret)["cnpj"]
                except Pkcs12Error as exc:
                    out[path + ":" + label] = exc.code
        print(json.dumps(out))
    """))
    env = dict(os.environ, CRYPTOGRAPHY_OPENSSL_NO_LEGACY="1")
    import json
    proc = subprocess.run(
        [sys.executable, str(script), json.dumps(sys.path), str(rc2), str(des)],
        input=testca.HARD_PASSWORD, env=env, capture_output=True, text=True, check=True,
    )
    result = json.loads(proc.stdout)
    assert result[str(rc2) + ":right"] == "unsupported"
    assert result[str(rc2) + ":wrong"] == "wrong_password"
    assert result[str(des) + ":right"] == "12345678000195"
    assert result[str(des) + ":wrong"] == "wrong_password"


def test_unsupported_message_mentions_legacy(monkeypatch, make_pkcs12):
    data = make_pkcs12(password="certa", flavour="legacy-rc2").read_bytes()

    def refuse(*_args, **_kwargs):
        raise ValueError("Invalid password or PKCS12 data")

    monkeypatch.setattr(_pkcs12.pkcs12, "load_key_and_certificates", refuse)
    exc = _error(data, password="certa")
    assert exc.code == "unsupported"
    assert "legacy" in exc.message and "senha está correta" in exc.message
    assert _error(data, password="errada").code == "wrong_password"
    aes = make_pkcs12(password="certa", flavour="aes", name="aes.pfx").read_bytes()
    exc = _error(aes, password="certa")
    assert exc.code == "unsupported" and "RC2" not in exc.message


# ---------------------------------------------------------------------------------------------
# Files that are not a usable PKCS#12

def test_empty_file():
    for data in (b"", b"\n", b"  \r\n"):
        exc = _error(data)
        assert exc.code == "empty"
        assert "vazio" in exc.message


@pytest.mark.parametrize("cut", [3, 4, 10, 100, 0.5, -1])
def test_truncated_file(make_pkcs12, cut):
    data = make_pkcs12(password="senha").read_bytes()
    size = int(len(data) * cut) if isinstance(cut, float) else (len(data) + cut if cut < 0 else cut)
    exc = _error(data[:size])
    assert exc.code == "truncated"
    assert "truncado" in exc.message
    assert str(size) in exc.message


def test_truncated_legacy_file(make_pkcs12):
    data = make_pkcs12(password="senha", flavour="legacy-rc2").read_bytes()
    assert _error(data[: len(data) - 200]).code == "truncated"


@pytest.mark.parametrize("encoding", ["der", "pem"])
def test_cer_refused_with_pfx_message(make_cer, encoding):
    exc = _error(make_cer(encoding=encoding).read_bytes())
    assert exc.code == "certificate_only"
    assert PFX_HINT in exc.message
    assert ("DER" if encoding == "der" else "PEM") in exc.message


def test_pem_chain_refused_with_pfx_message(ecnpj_leaf):
    data = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in [ecnpj_leaf.cert] + ecnpj_leaf.chain)
    exc = _error(b"\xef\xbb\xbf" + data)
    assert exc.code == "certificate_only" and PFX_HINT in exc.message


@pytest.mark.parametrize("encoding", [serialization.Encoding.DER, serialization.Encoding.PEM])
def test_p7b_refused_with_pfx_message(ecnpj_leaf, encoding):
    data = pkcs7.serialize_certificates([ecnpj_leaf.cert] + ecnpj_leaf.chain, encoding)
    exc = _error(data)
    assert exc.code == "certificate_only" and PFX_HINT in exc.message and "p7b" in exc.message


def test_pem_private_key_refused(ecnpj_leaf):
    key = ecnpj_leaf.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cert = ecnpj_leaf.cert.public_bytes(serialization.Encoding.PEM)
    for data in (key, cert + key, b"Bag Attributes\n    localKeyID: 01\n" + key + cert):
        exc = _error(data)
        assert exc.code == "not_pkcs12"
        assert "openssl pkcs12 -export" in exc.message and "chave privada" in exc.message


def test_der_private_key_refused(ecnpj_leaf):
    for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
        data = ecnpj_leaf.key.private_bytes(serialization.Encoding.DER, fmt, serialization.NoEncryption())
        exc = _error(data)
        assert exc.code == "not_pkcs12" and "chave privada" in exc.message


def test_csr_and_other_pem_refused(ecnpj_leaf):
    exc = _error(testca.csr_bytes(ecnpj_leaf))
    assert exc.code == "not_pkcs12" and "CSR" in exc.message
    exc = _error(b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n")
    assert exc.code == "not_pkcs12" and "X509 CRL" in exc.message


def test_base64_text_refused(make_pkcs12):
    data = base64.encodebytes(make_pkcs12(password="senha").read_bytes())
    exc = _error(data)
    assert exc.code == "not_pkcs12" and "base64" in exc.message


@pytest.mark.parametrize("data", [
    b"isto nao e um certificado\n",
    b"PK\x03\x04zipfile",
    b"\x30\x03\x02\x01\x05",           # complete DER, not a PFX
    b"\x30\x05\x04\x03abc",
    os.urandom(64).replace(b"\x30", b"\x31"),
])
def test_not_pkcs12(data):
    exc = _error(data)
    assert exc.code == "not_pkcs12"
    assert ".pfx/.p12" in exc.message


def test_no_certificate(ecnpj_leaf):
    data = pkcs12.serialize_key_and_certificates(
        b"chave", ecnpj_leaf.key, None, None, serialization.BestAvailableEncryption(b"senha")
    )
    exc = _error(data, password="senha")
    assert exc.code == "no_certificate"


def test_missing_library(monkeypatch):
    monkeypatch.setattr(_pkcs12, "HAS_CRYPTOGRAPHY", False)
    exc = _error(b"\x30\x00")
    assert exc.code == "missing_library" and "cryptography" in exc.message


# ---------------------------------------------------------------------------------------------
# Key presence and match

@pytest.mark.parametrize("flavour", ["aes", "legacy-rc2"])
def test_no_private_key_is_reported(make_pkcs12, ecnpj_leaf, flavour):
    facts = _inspect_file(make_pkcs12(password="senha", flavour=flavour, include_key=False), "senha")
    assert facts["has_private_key"] is False
    assert facts["key_matches"] is False
    # the leaf is still the e-CNPJ, not a CA of the chain
    assert facts["fingerprint_sha256"] == ecnpj_leaf.cert.fingerprint(hashes.SHA256()).hex()
    assert facts["cnpj"] == "12345678000195"
    assert facts["chain_length"] == 2


def test_non_matching_key_is_reported(make_pkcs12, test_ca, ecnpj_leaf):
    other = test_ca.issue_ecpf()
    facts = _inspect_file(make_pkcs12(password="senha", key_override=other.key), "senha")
    assert facts["has_private_key"] is True
    assert facts["key_matches"] is False
    assert facts["fingerprint_sha256"] == ecnpj_leaf.cert.fingerprint(hashes.SHA256()).hex()
    assert facts["cnpj"] == "12345678000195"


def test_leaf_is_the_cert_paired_with_the_key_even_when_last(test_ca):
    leaf = test_ca.issue_ecpf()
    data = pkcs12.serialize_key_and_certificates(
        b"x", leaf.key, None, [test_ca.root, test_ca.inter, leaf.cert], serialization.BestAvailableEncryption(b"s")
    )
    facts = inspect_pkcs12(data, "s")
    assert facts["key_matches"] is True
    assert facts["cpf"] == "52998224725"
    assert facts["chain_length"] == 2


def test_chain_only_file(test_ca):
    data = pkcs12.serialize_key_and_certificates(
        b"x", None, None, [test_ca.root, test_ca.inter], serialization.BestAvailableEncryption(b"s")
    )
    facts = inspect_pkcs12(data, "s")
    assert facts["has_private_key"] is False
    assert facts["subject"] == test_ca.inter.subject.rfc4514_string()
    assert facts["chain_length"] == 1


# ---------------------------------------------------------------------------------------------
# Validity

def test_expired_is_reported(make_pkcs12, test_ca):
    now = _now()
    leaf = test_ca.issue_ecnpj(not_before=now - datetime.timedelta(days=400), not_after=now - datetime.timedelta(days=10))
    facts = _inspect_file(make_pkcs12(leaf=leaf), "senha", now=now)
    assert facts["expired"] is True
    assert facts["not_yet_valid"] is False
    assert facts["days_remaining"] == -10


def test_not_yet_valid_is_reported(make_pkcs12, test_ca):
    now = _now()
    leaf = test_ca.issue_ecnpj(not_before=now + datetime.timedelta(days=5), not_after=now + datetime.timedelta(days=100))
    facts = _inspect_file(make_pkcs12(leaf=leaf), "senha", now=now)
    assert facts["not_yet_valid"] is True
    assert facts["expired"] is False
    assert facts["days_remaining"] == 100


def test_days_remaining_is_floored(make_pkcs12, ecnpj_leaf):
    data = make_pkcs12().read_bytes()
    not_after = ecnpj_leaf.cert.not_valid_after_utc
    assert inspect_pkcs12(data, "senha", now=not_after - datetime.timedelta(days=1, hours=12))["days_remaining"] == 1
    assert inspect_pkcs12(data, "senha", now=not_after - datetime.timedelta(hours=1))["days_remaining"] == 0
    late = inspect_pkcs12(data, "senha", now=not_after + datetime.timedelta(hours=1))
    assert late["days_remaining"] == -1 and late["expired"] is True
    naive = (not_after - datetime.timedelta(days=30)).replace(tzinfo=None)
    assert inspect_pkcs12(data, "senha", now=naive)["days_remaining"] == 30


# ---------------------------------------------------------------------------------------------
# ICP-Brasil facts

@pytest.mark.parametrize("string_type", ["octet", "printable", "utf8"])
def test_ecnpj_other_name_wrappings(make_pkcs12, test_ca, string_type):
    leaf = test_ca.issue_ecnpj(cnpj="11222333000181", string_type=string_type)
    facts = _inspect_file(make_pkcs12(leaf=leaf), "senha")
    assert facts["cnpj"] == "11222333000181"
    assert facts["cpf"] is None  # the responsible person's CPF (2.16.76.1.3.4) is not the holder's


@pytest.mark.parametrize("string_type", ["octet", "printable", "utf8"])
def test_ecpf_other_name_wrappings(make_pkcs12, test_ca, string_type):
    leaf = test_ca.issue_ecpf(cpf="11144477735", string_type=string_type)
    facts = _inspect_file(make_pkcs12(leaf=leaf), "senha")
    assert facts["cpf"] == "11144477735"
    assert facts["cnpj"] is None


def test_other_name_wins_over_cn(make_pkcs12, test_ca):
    # CN says one CNPJ, the ICP-Brasil otherName another: the otherName is the authority.
    other_names = [(testca.OID_CNPJ, testca._der_string("11222333000181", "octet"))]
    leaf = test_ca._leaf(  # pylint: disable=protected-access
        "FMS:60701190000104", other_names, icp=True, cert_type="A1", key_kind=None, days=30,
        not_before=None, not_after=None, client_auth=True, email=None,
    )
    assert _inspect_file(make_pkcs12(leaf=leaf), "senha")["cnpj"] == "11222333000181"


def test_alphanumeric_cnpj(make_pkcs12, test_ca):
    leaf = test_ca.issue_ecnpj(cnpj="12ABC34501DE35", string_type="printable")
    assert _inspect_file(make_pkcs12(leaf=leaf), "senha")["cnpj"] == "12ABC34501DE35"
    leaf = test_ca.issue_ecnpj(cnpj="12ABC34501DE35", cn_only=True)
    assert _inspect_file(make_pkcs12(leaf=leaf, name="cn.pfx"), "senha")["cnpj"] == "12ABC34501DE35"


def test_cn_only_fallback(make_pkcs12, test_ca):
    ecnpj = test_ca.issue_ecnpj(cnpj="60701190000104", cn_only=True)
    facts = _inspect_file(make_pkcs12(leaf=ecnpj, name="a.pfx"), "senha")
    assert (facts["cnpj"], facts["cpf"]) == ("60701190000104", None)
    ecpf = test_ca.issue_ecpf(cpf="52998224725", cn_only=True)
    facts = _inspect_file(make_pkcs12(leaf=ecpf, name="b.pfx"), "senha")
    assert (facts["cnpj"], facts["cpf"]) == (None, "52998224725")


def test_no_document_at_all(test_ca):
    server = test_ca.issue_server()
    data = testca.pkcs12_bytes(server, "s")
    facts = inspect_pkcs12(data, "s")
    assert facts["cnpj"] is None and facts["cpf"] is None
    assert facts["certificate_type"] is None
    assert facts["client_auth"] is False  # serverAuth only


@pytest.mark.parametrize("cert_type", ["A1", "A2", "A3", "A4"])
def test_certificate_type(make_pkcs12, test_ca, cert_type):
    leaf = test_ca.issue_ecnpj(cert_type=cert_type)
    assert _inspect_file(make_pkcs12(leaf=leaf), "senha")["certificate_type"] == cert_type


def test_policy_outside_icp_types():
    assert _pkcs12._certificate_type(_FakeCert(["2.16.76.1.2.101.1", "1.2.3.4"])) is None
    assert _pkcs12._certificate_type(_FakeCert(["1.2.3", "2.16.76.1.2.3.48"])) == "A3"


class _FakeCert:
    def __init__(self, policies):
        self._policies = policies

    @property
    def extensions(self):
        return x509.Extensions([x509.Extension(
            x509.oid.ExtensionOID.CERTIFICATE_POLICIES, False,
            x509.CertificatePolicies([x509.PolicyInformation(x509.ObjectIdentifier(p), None) for p in self._policies]),
        )])


def test_icp_vs_non_icp(make_pkcs12, test_ca):
    icp = _inspect_file(make_pkcs12(leaf=test_ca.issue_ecnpj(), name="icp.pfx"), "senha")
    other = _inspect_file(make_pkcs12(leaf=test_ca.issue_ecnpj(icp=False), name="egestor.pfx"), "senha")
    assert icp["icp_brasil"] is True and icp["chain_length"] == 2
    assert other["icp_brasil"] is False and other["chain_length"] == 1
    assert other["certificate_type"] is None
    assert other["cnpj"] == "12345678000195"


def test_icp_without_chain_uses_issuer(make_pkcs12, test_ca):
    icp = _inspect_file(make_pkcs12(leaf=test_ca.issue_ecnpj(), include_chain=False, name="a.pfx"), "senha")
    assert icp["icp_brasil"] is True and icp["chain_length"] == 0
    other = _inspect_file(make_pkcs12(leaf=test_ca.issue_ecnpj(icp=False), include_chain=False, name="b.pfx"), "senha")
    assert other["icp_brasil"] is False and other["chain_length"] == 0


def test_icp_chain_without_root_uses_issuer_name(test_ca):
    leaf = test_ca.issue_ecnpj()
    data = pkcs12.serialize_key_and_certificates(
        b"x", leaf.key, leaf.cert, [test_ca.inter], serialization.BestAvailableEncryption(b"s")
    )
    facts = inspect_pkcs12(data, "s")
    assert facts["icp_brasil"] is True and facts["chain_length"] == 1


def test_unrelated_cert_with_issuer_name_is_not_linked(test_ca):
    """A self-signed cert named like the leaf's issuer, but that did not sign it, is not its issuer."""
    from cryptography.hazmat.primitives.asymmetric import ec

    leaf = test_ca.issue_ecnpj()
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    forged = (
        x509.CertificateBuilder().subject_name(test_ca.inter.subject).issuer_name(test_ca.inter.subject)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    data = pkcs12.serialize_key_and_certificates(
        b"x", leaf.key, leaf.cert, [forged], serialization.BestAvailableEncryption(b"s")
    )
    facts = inspect_pkcs12(data, "s")
    # Linked by name only, the path would end at a self-signed non-ICP root (False); the signature
    # check keeps it out, so the verdict comes from the leaf's issuer name (O=ICP-Brasil).
    assert facts["icp_brasil"] is True and facts["chain_length"] == 1
    non_icp = test_ca.issue_ecnpj(icp=False)
    data = pkcs12.serialize_key_and_certificates(
        b"x", non_icp.key, non_icp.cert, [test_ca.root, test_ca.inter], serialization.BestAvailableEncryption(b"s")
    )
    # ICP certificates in the file that did not issue the leaf do not make it ICP-Brasil.
    assert inspect_pkcs12(data, "s")["icp_brasil"] is False


@pytest.mark.parametrize("key_kind,key_type,key_size", [
    ("rsa2048", "RSA", 2048), ("rsa3072", "RSA", 3072), ("ec256", "ECC", 256), ("ec384", "ECC", 384),
])
def test_key_types(make_pkcs12, test_ca, key_kind, key_type, key_size):
    leaf = test_ca.issue_ecnpj(key_kind=key_kind)
    facts = _inspect_file(make_pkcs12(leaf=leaf, password=testca.HARD_PASSWORD, flavour="3des"), testca.HARD_PASSWORD)
    assert (facts["key_type"], facts["key_size"]) == (key_type, key_size)
    assert facts["key_matches"] is True


def test_ec_ca_and_legacy(make_pkcs12):
    ca = testca.TestCA(key_kind="ec256")
    leaf = ca.issue_ecpf()
    facts = _inspect_file(make_pkcs12(leaf=leaf, flavour="legacy-rc2"), "senha")
    assert facts["key_type"] == "ECC" and facts["icp_brasil"] is True and facts["cpf"] == "52998224725"


def test_client_auth(make_pkcs12, test_ca):
    leaf = test_ca.issue_ecnpj(client_auth=False)
    assert _inspect_file(make_pkcs12(leaf=leaf), "senha")["client_auth"] is False


def test_return_keys_are_the_contract(make_pkcs12):
    facts = _inspect_file(make_pkcs12(), "senha")
    assert set(facts) == {
        "subject", "issuer", "serial_number", "not_before", "not_after", "days_remaining", "expired",
        "not_yet_valid", "fingerprint_sha256", "cnpj", "cpf", "icp_brasil", "certificate_type",
        "has_private_key", "key_matches", "key_type", "key_size", "chain_length", "client_auth",
    }
    assert "senha" not in repr(facts)
