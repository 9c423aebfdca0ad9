#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

DOCUMENTATION = r"""
module: pkcs12_info
short_description: Inspect a PKCS#12 (.pfx/.p12) certificate, ICP-Brasil aware
version_added: 0.1.0
author:
  - esus.rnds maintainers (!UNKNOWN)
description:
  - Opens a PKCS#12 file with its password and returns what an operator needs before deploying it to a PEC e-SUS APS
    server and enabling it on the RNDS - validity, CNPJ/CPF, ICP-Brasil chain, certificate type (A1 to A4), private key
    presence and match, key type and size, client authentication usage.
  - Legacy encryption (RC2-40-CBC, 3DES, as exported by old Windows or OpenSSL 1.x) is accepted, and so are passwords with
    accents and shell-special characters. A non-ASCII password of a file written by OpenSSL before 1.1 (byte-by-byte
    encoding) is also tried.
  - Files that cannot be used fail with a message in Portuguese saying what to fix - empty file, truncated file (copy or
    download interrupted), a C(.cer)/C(.crt) certificate without private key (DER or PEM), a PEM key or CSR, a base64
    text, a wrong password, a file with no certificate, or legacy encryption that the local OpenSSL cannot read although the
    password is right. The password never appears in messages or return values.
  - An expired or not yet valid certificate, a file without private key, a key that does not match the certificate and a
    certificate outside ICP-Brasil are B(reported), not failures; decide the policy in the playbook
    (for example with M(ansible.builtin.assert)).
  - The leaf certificate is the one whose public key matches the private key; without a match, the certificate the file
    pairs with the key; otherwise the first certificate that is not a CA.
  - The CNPJ comes from the ICP-Brasil SubjectAltName otherName C(2.16.76.1.3.3); the CPF from characters 9 to 19 of
    otherName C(2.16.76.1.3.1) (e-CPF). OCTET STRING, PrintableString and UTF8String values are accepted. Without those
    otherNames, the digits after the last C(:) of the subject CN are used (14 characters is a CNPJ, 11 digits a CPF).
  - "RV(icp_brasil) is a heuristic, not a signature validation against a trust store: it is true when the issuer path built
    from the certificates in the file reaches a certificate (or an issuer name) with C(O=ICP-Brasil) and a CN starting with
    C(Autoridade Certificadora Raiz Brasileira); when the path stops before any self-signed root (chain absent or
    incomplete in the file), the last issuer having C(O=ICP-Brasil) is enough. A chain ending at another self-signed root is
    false."
  - The module runs where the task runs. Usually that is the controller (C(delegate_to) V(localhost)), where the
    C(cryptography) library is installed; the PEC servers do not need it.
extends_documentation_fragment:
  - esus.rnds.attributes
  - esus.rnds.attributes.info_module
  - esus.rnds.attributes.platform
  - esus.rnds.option_labels
attributes:
  platform:
    support: full
    platforms: posix
requirements:
  - cryptography (Python library) on the host that runs the module.
options:
  path:
    description:
      - Path of the PKCS#12 file (C(.pfx) or C(.p12)) on the host that runs the module.
      - Exactly one of O(path) and O(content) is required.
    type: path
  content:
    description:
      - The PKCS#12 file itself, base64-encoded, for example the RV(ansible.builtin.slurp#module:content) returned by
        M(ansible.builtin.slurp) or the output of C(base64 -w0 fms.pfx).
      - Exactly one of O(path) and O(content) is required.
      - Not logged, since it holds the (encrypted) private key.
    type: str
  passphrase:
    description:
      - Password of the PKCS#12 file. Omit it (or use an empty string) for a file without password.
      - Never logged nor returned.
      - The alias C(password) is the name M(esus.rnds.pec_certificate) and M(esus.rnds.rnds_auth) used before; all
        three modules accept both.
    type: str
    aliases: [password]
seealso:
  - plugin: esus.rnds.valid_cnpj
    plugin_type: test
  - plugin: esus.rnds.cnpj_format
    plugin_type: filter
notes:
  - Dates are returned in UTC, ISO 8601 (C(YYYY-MM-DDTHH:MM:SSZ)).
  - The same code reads certificates for the other esus.rnds plugins, so the checks agree everywhere.
  - Ansible hides every returned value that contains the value of a C(no_log) option. When O(passphrase)
    occurs inside a returned fact (for example C(1122) inside a CNPJ), that fact comes back partly as
    C(********) and the module warns that the password is too weak, without saying which fact or printing
    it. Decide on such facts elsewhere (M(esus.rnds.pec_certificate) checks O(esus.rnds.pec_certificate#module:expected_cnpj)
    on the controller, before any masking), or use a stronger password.
"""

EXAMPLES = r"""
- name: Inspect the municipality certificate on the controller
  esus.rnds.pkcs12_info:
    path: files/certificados/fms-3550308.pfx
    passphrase: "{{ rnds_certificate_password }}"
  delegate_to: localhost
  register: rnds_cert

- name: Refuse certificates that expire within 30 days or lack the private key
  ansible.builtin.assert:
    that:
      - not rnds_cert.expired
      - rnds_cert.days_remaining >= 30
      - rnds_cert.has_private_key and rnds_cert.key_matches
      - rnds_cert.cnpj == (rnds_expected_cnpj | esus.rnds.cnpj_normalize)
    fail_msg: "Certificado impróprio para o PEC: vence em {{ rnds_cert.days_remaining }} dias"
    quiet: true

- name: Inspect a certificate read from a host (base64 content)
  ansible.builtin.slurp:
    src: /opt/e-SUS/webserver/chaves/fms.pfx
  register: rnds_pfx

- name: Inspect the slurped file on the controller
  esus.rnds.pkcs12_info:
    content: "{{ rnds_pfx.content }}"
    passphrase: "{{ rnds_certificate_password }}"
  delegate_to: localhost
  register: rnds_cert_remote
"""

RETURN = r"""
subject:
  description: Subject of the leaf certificate, RFC 4514 string (most specific attribute first).
  returned: success
  type: str
  sample: CN=FUNDO MUNICIPAL DE SAUDE DE TESTE:12345678000195,OU=Certificado PJ A1,OU=AC Teste,O=ICP-Brasil,C=BR
issuer:
  description: Issuer of the leaf certificate, RFC 4514 string.
  returned: success
  type: str
  sample: CN=AC Teste e-SUS RNDS v5,OU=Autoridade Certificadora Raiz Brasileira v10,O=ICP-Brasil,C=BR
serial_number:
  description: Serial number of the leaf certificate, lowercase hexadecimal without colons or leading zero padding.
  returned: success
  type: str
  sample: 4c2b1f0e9a7d33aa01
not_before:
  description: Start of validity, UTC, ISO 8601.
  returned: success
  type: str
  sample: "2026-01-10T12:00:00Z"
not_after:
  description: End of validity, UTC, ISO 8601.
  returned: success
  type: str
  sample: "2027-01-10T12:00:00Z"
days_remaining:
  description: Whole days until RV(not_after), rounded down; negative when expired (V(-1) up to one day after expiry).
  returned: success
  type: int
  sample: 364
expired:
  description: Whether the certificate is past its RV(not_after) date now.
  returned: success
  type: bool
  sample: false
not_yet_valid:
  description: Whether the certificate's RV(not_before) date is still in the future.
  returned: success
  type: bool
  sample: false
fingerprint_sha256:
  description: SHA-256 fingerprint of the leaf certificate (DER), lowercase hexadecimal without colons.
  returned: success
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
cnpj:
  description:
    - CNPJ of the holder (e-CNPJ), 14 characters without punctuation (alphanumeric CNPJs keep their letters).
    - V(null) when the certificate carries none.
  returned: success
  type: str
  sample: "12345678000195"
cpf:
  description: CPF of the holder (e-CPF), 11 digits, or V(null). The CPF of an e-CNPJ's responsible person is not returned.
  returned: success
  type: str
  sample: null
icp_brasil:
  description: Whether the certificate belongs to the ICP-Brasil hierarchy (heuristic described above).
  returned: success
  type: bool
  sample: true
certificate_type:
  description: ICP-Brasil certificate type from the certificate policy OID C(2.16.76.1.2.N.*), or V(null).
  returned: success
  type: str
  choices: [A1, A2, A3, A4]
  sample: A1
has_private_key:
  description: Whether the file contains a private key (the PEC needs it).
  returned: success
  type: bool
  sample: true
key_matches:
  description: Whether the private key belongs to the leaf certificate. V(false) when there is no key.
  returned: success
  type: bool
  sample: true
key_type:
  description: Algorithm of the certificate's public key, V(null) for other algorithms.
  returned: success
  type: str
  choices: [RSA, ECC]
  sample: RSA
key_size:
  description: Size in bits of the certificate's key (RSA modulus or elliptic curve size), or V(null).
  returned: success
  type: int
  sample: 2048
chain_length:
  description: Number of certificates in the file besides the leaf (intermediate and root CAs).
  returned: success
  type: int
  sample: 2
client_auth:
  description: Whether the certificate may be used for TLS client authentication (needed for the RNDS); true when the
    certificate has no extended key usage extension.
  returned: success
  type: bool
  sample: true
error_code:
  description:
    - On failure, why the file cannot be used - V(empty), V(truncated), V(not_pkcs12), V(certificate_only), V(wrong_password),
      V(no_certificate), V(unsupported) (password right, file unreadable here, for example RC2 without the OpenSSL legacy provider).
  returned: failure
  type: str
  sample: wrong_password
"""

import base64
import binascii
import errno

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.esus.rnds.plugins.module_utils._fsat import read_small_file
from ansible_collections.esus.rnds.plugins.module_utils._labels import OPTION_LABELS_SPEC, option, render
from ansible_collections.esus.rnds.plugins.module_utils._pkcs12 import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
    WEAK_PASSWORD_WARNING,
    inspect_pkcs12,
    password_masks_facts,
)
from ansible_collections.esus.rnds.plugins.module_utils._pkcs12_format import MAX_PKCS12_BYTES, Pkcs12Error


def _read_error(path, exc):
    if isinstance(exc, FileNotFoundError):
        return "Arquivo do certificado não encontrado: %s (confira %s)" % (path, option("path"))
    if isinstance(exc, PermissionError):
        return "Sem permissão para ler o arquivo do certificado: %s" % path
    if exc.errno == errno.EISDIR:
        return "O caminho do certificado é uma pasta, não um arquivo .pfx/.p12: %s (confira %s)" % (path, option("path"))
    if exc.errno in (errno.EINVAL, errno.EFBIG):
        return ("O caminho do certificado não é um arquivo .pfx/.p12 (%s): %s (confira %s)"
                % (exc.strerror, path, option("path")))
    return "Não foi possível ler o arquivo do certificado %s: %s" % (path, exc.strerror)


def _read(module, fail):
    path = module.params["path"]
    if path is not None:
        try:
            # A path the operator chose (a link is followed); what is read is what the open descriptor was checked to
            # be: a regular file of at most MAX_PKCS12_BYTES (a FIFO or a device never blocks the module).
            return read_small_file(path, MAX_PKCS12_BYTES, follow_links=True)
        except OSError as exc:
            fail(_read_error(path, exc))
    try:
        return base64.b64decode("".join(module.params["content"].split()), validate=True)
    except (binascii.Error, ValueError):
        fail("A opção %s precisa conter o arquivo .pfx/.p12 codificado em base64 (conteúdo inválido)." % option("content"))
    return None  # not reached


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path"),
            content=dict(type="str", no_log=True),
            passphrase=dict(type="str", no_log=True, aliases=["password"]),
            option_labels=OPTION_LABELS_SPEC,
        ),
        mutually_exclusive=[("path", "content")],
        required_one_of=[("path", "content")],
        supports_check_mode=True,
    )
    labels = module.params["option_labels"]

    def fail(msg, **extra):
        module.fail_json(msg=render(msg, labels), **extra)

    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_IMPORT_ERROR)
    data = _read(module, fail)
    try:
        facts = inspect_pkcs12(data, module.params["passphrase"])
    except Pkcs12Error as exc:
        fail(exc.message, error_code=exc.code)
    if password_masks_facts(facts, module.params["passphrase"]):
        module.warn(render(WEAK_PASSWORD_WARNING, labels))
    module.exit_json(changed=False, **facts)


if __name__ == "__main__":
    main()
