# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test certificate authority shaped like ICP-Brasil, for tests and the demo only.

Everything is generated at run time; no key material is ever committed.

Library use::

    from testca import TestCA, write_pkcs12
    ca = TestCA()
    leaf = ca.issue_ecnpj(cnpj="12345678000195", days=365)
    write_pkcs12("/tmp/x.pfx", leaf, "senha", flavour="legacy-rc2")

Command line (writes a catalogue of files plus ``manifest.json``)::

    python3 tests/ca/testca.py --out DIR [--catalogue unit|demo]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT_CN = "Autoridade Certificadora Raiz Brasileira v10"
ICP_O = "ICP-Brasil"
ITI_OU = "Instituto Nacional de Tecnologia da Informacao - ITI"

OID_CPF_HOLDER = "2.16.76.1.3.1"
OID_RESPONSIBLE_NAME = "2.16.76.1.3.2"
OID_CNPJ = "2.16.76.1.3.3"
OID_RESPONSIBLE_DATA = "2.16.76.1.3.4"
OID_INSS_CEI = "2.16.76.1.3.7"
POLICY_BY_TYPE = {
    "A1": "2.16.76.1.2.1.51",
    "A2": "2.16.76.1.2.2.3",
    "A3": "2.16.76.1.2.3.48",
    "A4": "2.16.76.1.2.4.5",
}

# Passwords met in the field: accents and characters that break naive shell quoting.
HARD_PASSWORD = "Sênha çã $HOME `id`; 'aspas' \"duplas\" \\ fim"


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def _der_string(value, string_type):
    """DER-encode ``value`` as OCTET STRING, PrintableString or UTF8String."""
    tag = {"octet": 0x04, "printable": 0x13, "utf8": 0x0C}[string_type]
    raw = value.encode("utf-8")
    length = len(raw)
    if length < 0x80:
        header = bytes([tag, length])
    else:
        size = length.to_bytes((length.bit_length() + 7) // 8, "big")
        header = bytes([tag, 0x80 | len(size)]) + size
    return header + raw


def _new_key(kind):
    if kind == "ec256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "ec384":
        return ec.generate_private_key(ec.SECP384R1())
    bits = int(kind[3:]) if kind.startswith("rsa") and kind[3:] else 2048
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


class Leaf:
    """A issued end-entity certificate with its key and chain (leaf first)."""

    def __init__(self, cert, key, chain):
        self.cert = cert
        self.key = key
        self.chain = chain  # intermediate(s) then root


class TestCA:
    """A root and an intermediate shaped like ICP-Brasil, plus a non-ICP CA."""

    __test__ = False  # not a pytest test class

    def __init__(self, key_kind="rsa2048"):
        now = _utcnow()
        self._key_kind = key_kind
        self.root_key = _new_key(key_kind)
        root_name = x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ICP_O),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ITI_OU),
            x509.NameAttribute(NameOID.COMMON_NAME, ROOT_CN),
        ])
        self.root = self._ca_cert(root_name, root_name, self.root_key, self.root_key, now, 3650)
        self.inter_key = _new_key(key_kind)
        inter_name = x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ICP_O),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ROOT_CN),
            x509.NameAttribute(NameOID.COMMON_NAME, "AC Teste e-SUS RNDS v5"),
        ])
        self.inter = self._ca_cert(inter_name, root_name, self.inter_key, self.root_key, now, 3000)
        self.other_key = _new_key(key_kind)
        other_name = x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ministerio da Saude"),
            x509.NameAttribute(NameOID.COMMON_NAME, "AC Teste e-Gestor AB"),
        ])
        self.other = self._ca_cert(other_name, other_name, self.other_key, self.other_key, now, 3650)

    @staticmethod
    def _ca_cert(subject, issuer, key, signer, now, days):
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=True,
                    crl_sign=True, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        )
        return builder.sign(signer, hashes.SHA256())

    def _leaf(self, subject_cn, other_names, *, icp, cert_type, key_kind, days, not_before,
              not_after, client_auth, email):
        now = _utcnow()
        key = _new_key(key_kind or self._key_kind)
        if not_before is None:
            not_before = now - datetime.timedelta(days=1)
        if not_after is None:
            not_after = now + datetime.timedelta(days=days)
        if icp:
            issuer_cert, issuer_key = self.inter, self.inter_key
            chain = [self.inter, self.root]
            subject = x509.Name([
                x509.NameAttribute(NameOID.COUNTRY_NAME, "BR"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, ICP_O),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "AC Teste e-SUS RNDS v5"),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Certificado PJ A1"),
                x509.NameAttribute(NameOID.COMMON_NAME, subject_cn),
            ])
        else:
            issuer_cert, issuer_key = self.other, self.other_key
            chain = [self.other]
            subject = x509.Name([
                x509.NameAttribute(NameOID.COUNTRY_NAME, "BR"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "e-Gestor AB"),
                x509.NameAttribute(NameOID.COMMON_NAME, subject_cn),
            ])
        sans = [x509.OtherName(x509.ObjectIdentifier(oid), value) for oid, value in other_names]
        if email:
            sans.append(x509.RFC822Name(email))
        ekus = [ExtendedKeyUsageOID.EMAIL_PROTECTION]
        if client_auth:
            ekus.insert(0, ExtendedKeyUsageOID.CLIENT_AUTH)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=True,
                    key_encipherment=isinstance(key, rsa.RSAPrivateKey),
                    data_encipherment=False, key_agreement=isinstance(key, ec.EllipticCurvePrivateKey),
                    key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                critical=False,
            )
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        if icp and cert_type:
            builder = builder.add_extension(
                x509.CertificatePolicies([
                    x509.PolicyInformation(x509.ObjectIdentifier(POLICY_BY_TYPE[cert_type]), None)
                ]),
                critical=False,
            )
        return Leaf(builder.sign(issuer_key, hashes.SHA256()), key, chain)

    def issue_ecnpj(self, cnpj="12345678000195", name="FUNDO MUNICIPAL DE SAUDE DE TESTE",
                    responsible_cpf="52998224725", responsible_name="MARIA DA SILVA",
                    string_type="octet", cert_type="A1", key_kind=None, days=365,
                    not_before=None, not_after=None, icp=True, client_auth=True,
                    cn_only=False):
        """An e-CNPJ leaf. ``cn_only`` leaves the CNPJ only in the CN (no otherName)."""
        other_names = []
        if not cn_only:
            responsible = "01011980" + responsible_cpf + "0" * 11 + "123456789012345" + "SSPSP "
            other_names = [
                (OID_RESPONSIBLE_DATA, _der_string(responsible, string_type)),
                (OID_RESPONSIBLE_NAME, _der_string(responsible_name, string_type)),
                (OID_CNPJ, _der_string(cnpj, string_type)),
                (OID_INSS_CEI, _der_string("0" * 12, string_type)),
            ]
        return self._leaf(
            "%s:%s" % (name, cnpj), other_names, icp=icp, cert_type=cert_type,
            key_kind=key_kind, days=days, not_before=not_before, not_after=not_after,
            client_auth=client_auth, email="fms@example.org",
        )

    def issue_ecpf(self, cpf="52998224725", name="JOAO DE SOUZA", string_type="octet",
                   cert_type="A1", key_kind=None, days=365, not_before=None, not_after=None,
                   icp=True, client_auth=True, cn_only=False):
        """An e-CPF leaf: holder data in 2.16.76.1.3.1 (CPF at characters 9-19)."""
        other_names = []
        if not cn_only:
            holder = "15031975" + cpf + "0" * 11 + "987654321000000" + "SSPRJ "
            other_names = [(OID_CPF_HOLDER, _der_string(holder, string_type))]
        return self._leaf(
            "%s:%s" % (name, cpf), other_names, icp=icp, cert_type=cert_type,
            key_kind=key_kind, days=days, not_before=not_before, not_after=not_after,
            client_auth=client_auth, email="pessoa@example.org",
        )

    def issue_server(self, hostname="127.0.0.1", days=365):
        """A TLS server certificate (for HTTPS PEC and mock RNDS tests), issued by the root."""
        now = _utcnow()
        key = _new_key("rsa2048")
        try:
            import ipaddress

            san = x509.IPAddress(ipaddress.ip_address(hostname))
        except ValueError:
            san = x509.DNSName(hostname)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
            .issuer_name(self.inter.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([san, x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.inter_key, hashes.SHA256())
        )
        return Leaf(cert, key, [self.inter, self.root])

    def ca_bundle_pem(self, include_other=False):
        certs = [self.root, self.inter] + ([self.other] if include_other else [])
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _pem(obj):
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_pem_files(directory, leaf, stem):
    """Write ``stem.crt`` (leaf+chain) and ``stem.key`` (unencrypted, 0600); return both paths."""
    crt = os.path.join(directory, stem + ".crt")
    key = os.path.join(directory, stem + ".key")
    with open(crt, "wb") as f:
        f.write(_pem(leaf.cert) + b"".join(_pem(c) for c in leaf.chain))
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(_pem(leaf.key))
    return crt, key


def pkcs12_bytes(leaf, password, flavour="aes", include_key=True, include_chain=True,
                 key_override=None, friendly_name=b"certificado"):
    """Serialise ``leaf`` as PKCS#12.

    flavour: ``aes`` (PBES2/AES-256, modern), ``3des`` (PBES1 SHA1-3DES, old Windows export),
    ``legacy-rc2`` (RC2-40 certificates + 3DES key, OpenSSL 1.x default; made with the openssl
    command line), ``none`` (no encryption at all, empty password).
    ``key_override`` puts another key in the file (a key that does not match the certificate).
    """
    chain = list(leaf.chain) if include_chain else None
    key = key_override if key_override is not None else (leaf.key if include_key else None)
    cert = leaf.cert
    if key_override is not None:
        # OpenSSL refuses to pair a non-matching key with the main certificate; put the
        # certificate in the bag list instead, which is what broken exports look like.
        chain = [leaf.cert] + (chain or [])
        cert = None
    if flavour == "legacy-rc2":
        return _openssl_legacy(leaf, password, include_key, include_chain)
    if flavour == "none":
        encryption = serialization.NoEncryption()
    elif flavour == "3des":
        encryption = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(2048)
            .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
            .hmac_hash(hashes.SHA1())
            .build(password.encode("utf-8"))
        )
    elif flavour == "aes":
        encryption = serialization.BestAvailableEncryption(password.encode("utf-8"))
    else:
        raise ValueError("unknown flavour %r" % flavour)
    return pkcs12.serialize_key_and_certificates(friendly_name, key, cert, chain, encryption)


def _openssl_legacy(leaf, password, include_key, include_chain):
    with tempfile.TemporaryDirectory() as tmp:
        crt, key = write_pem_files(tmp, Leaf(leaf.cert, leaf.key, []), "leaf")
        out = os.path.join(tmp, "out.p12")
        cmd = [
            "openssl", "pkcs12", "-export", "-legacy", "-certpbe", "PBE-SHA1-RC2-40",
            "-keypbe", "PBE-SHA1-3DES", "-macalg", "sha1", "-in", crt, "-out", out,
            "-passout", "env:ESUS_TESTCA_PASS", "-name", "certificado",
        ]
        if include_key:
            cmd += ["-inkey", key]
        else:
            cmd += ["-nokeys"]
        if include_chain and leaf.chain:
            chain = os.path.join(tmp, "chain.pem")
            with open(chain, "wb") as f:
                f.write(b"".join(_pem(c) for c in leaf.chain))
            cmd += ["-certfile", chain]
        env = dict(os.environ, ESUS_TESTCA_PASS=password)
        subprocess.run(cmd, check=True, env=env, capture_output=True)
        with open(out, "rb") as f:
            return f.read()


def write_pkcs12(path, leaf, password, flavour="aes", mode=0o600, **kwargs):
    data = pkcs12_bytes(leaf, password, flavour=flavour, **kwargs)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


def write_cer(path, leaf, encoding="der"):
    enc = serialization.Encoding.DER if encoding == "der" else serialization.Encoding.PEM
    with open(path, "wb") as f:
        f.write(leaf.cert.public_bytes(enc))
    return path


def csr_bytes(leaf, encoding="pem"):
    """A certificate signing request signed with ``leaf``'s key (``encoding`` ``der`` or ``pem``): a
    certificate-shaped file that is not a PKCS#12."""
    enc = serialization.Encoding.DER if encoding == "der" else serialization.Encoding.PEM
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "FMS:12345678000195")]))
        .sign(leaf.key, hashes.SHA256())
    )
    return csr.public_bytes(enc)


# ----------------------------------------------------------------------------------------
# Catalogues: named sets of files with a manifest, for the demo, Molecule and the simulator.

def _entry(name, password, leaf, **facts):
    return dict(
        file=name,
        password=password,
        cnpj=facts.pop("cnpj", None),
        not_after=leaf.cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        fingerprint_sha256=leaf.cert.fingerprint(hashes.SHA256()).hex(),
        **facts
    )


def build_catalogue(out, catalogue="demo"):
    """Write a catalogue of certificates to ``out`` and return the manifest (also written)."""
    os.makedirs(out, exist_ok=True)
    ca = TestCA()
    entries = []

    def add(name, leaf, password, flavour="aes", **facts):
        write_pkcs12(os.path.join(out, name), leaf, password, flavour=flavour)
        entries.append(_entry(name, password, leaf, flavour=flavour, **facts))

    if catalogue == "demo":
        specs = [
            ("fms-3550308.pfx", "12345678000195", 365, "aes"),
            ("fms-3304557.p12", "11222333000181", 200, "legacy-rc2"),
            ("fms-3106200.pfx", "60701190000104", 10, "3des"),
            ("fms-4106902.pfx", "76535764000143", 365, "aes"),
            ("fms-4314902.pfx", "92963560000160", 300, "aes"),
            ("fms-5300108.pfx", "00394544000185", 365, "aes"),
            ("fms-2304400.pfx", "07954605000160", 365, "aes"),
        ]
        for index, (name, cnpj, days, flavour) in enumerate(specs):
            leaf = ca.issue_ecnpj(cnpj=cnpj, days=days, name="FUNDO MUNICIPAL DE SAUDE %d" % index)
            add(name, leaf, "demo-%d-Sênha$;`" % index, flavour=flavour, cnpj=cnpj, days=days)
    else:
        raise ValueError("unknown catalogue %r" % catalogue)
    bundle = os.path.join(out, "ca-bundle.pem")
    with open(bundle, "wb") as f:
        f.write(ca.ca_bundle_pem())
    manifest = {"ca_bundle": "ca-bundle.pem", "certificates": entries}
    fd = os.open(os.path.join(out, "manifest.json"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
    return manifest


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="AC de teste no formato da ICP-Brasil (só para testes e simulações; nada disso vale fora deles). "
                    "Sem --cnpj, grava o catálogo do demo em OUT; com --cnpj, grava um único e-CNPJ A1 em OUT "
                    "(.pfx/.p12), com a senha lida de --password-file (ou da variável TESTCA_PASSWORD).",
        epilog="Exemplo: python3 tests/ca/testca.py --out certificados/fms-3509502.pfx --cnpj 12.345.678/0001-95 "
               "--days 365 --password-file senha.txt --name 'FUNDO MUNICIPAL DE SAUDE DE CAMPINAS'")
    parser.add_argument("--out", required=True, help="pasta do catálogo, ou o arquivo .pfx/.p12 com --cnpj")
    parser.add_argument("--catalogue", default="demo", choices=["demo"], help="catálogo (sem --cnpj)")
    parser.add_argument("--cnpj", help="CNPJ do certificado (pontuação opcional; alfanumérico aceito)")
    parser.add_argument("--days", type=int, default=365,
                        help="dias de validade a partir de agora (negativo: já vencido há tantos dias)")
    parser.add_argument("--name", default="FUNDO MUNICIPAL DE SAUDE DE TESTE", help="nome (CN) do titular")
    parser.add_argument("--password-file", help="arquivo com a senha do .pfx (primeira linha)")
    parser.add_argument("--flavour", default="aes", choices=["aes", "3des", "legacy-rc2"],
                        help="criptografia do PKCS#12 (legacy-rc2 = arquivos antigos do Windows/OpenSSL 1.x)")
    parser.add_argument("--ca-bundle", help="grava também a cadeia da AC de teste (PEM) neste arquivo")
    args = parser.parse_args(argv)
    if not args.cnpj:
        manifest = build_catalogue(args.out, args.catalogue)
        print("%d certificados de teste em %s" % (len(manifest["certificates"]), args.out))
        return 0
    if args.password_file:
        with open(args.password_file, "r", encoding="utf-8") as handle:
            password = handle.readline().rstrip("\r\n")
    else:
        password = os.environ.get("TESTCA_PASSWORD")
    if password is None:
        parser.error("informe a senha do .pfx com --password-file (ou TESTCA_PASSWORD)")
    cnpj = "".join(c for c in args.cnpj.upper() if c.isalnum())
    ca = TestCA()
    now = datetime.datetime.now(datetime.timezone.utc)
    if args.days >= 0:
        leaf = ca.issue_ecnpj(cnpj=cnpj, name=args.name, days=args.days)
    else:  # already expired: valid for a year that ended -days days ago
        leaf = ca.issue_ecnpj(cnpj=cnpj, name=args.name, not_before=now + datetime.timedelta(days=args.days - 365),
                              not_after=now + datetime.timedelta(days=args.days))
    write_pkcs12(args.out, leaf, password, flavour=args.flavour)
    if args.ca_bundle:
        with open(args.ca_bundle, "wb") as f:
            f.write(ca.ca_bundle_pem())
    brasilia = datetime.timezone(datetime.timedelta(hours=-3))
    print("e-CNPJ de teste %s (CNPJ %s, vence em %s) gravado em %s" % (
        args.name, cnpj, leaf.cert.not_valid_after_utc.astimezone(brasilia).strftime("%d/%m/%Y"), args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
