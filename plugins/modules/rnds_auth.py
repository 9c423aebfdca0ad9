# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

DOCUMENTATION = r"""
module: rnds_auth
short_description: Prove that a deployed certificate authenticates on the RNDS (mutual TLS)
version_added: 0.1.0
description:
  - Requests a token from the RNDS authentication service (C(GET /api/token)) with mutual TLS,
    using the PKCS#12 certificate deployed on the server, exactly as the PEC does. A token
    answer is the end-to-end proof that the certificate is credenciado and that this server
    reaches the RNDS.
  - The token itself is never returned, stored or logged; only its C(expires_in) and C(scope).
  - Failures are classified by the stage where they happened (DNS, TCP, TLS handshake, HTTP) with
    a diagnosis in Portuguese that tells the operator what to fix.
  - Runs on the PEC server with the Python standard library. The PKCS#12 is opened with the
    C(cryptography) library when the server has it, otherwise with the C(openssl) command line
    (with C(-legacy) for RC2-40/3DES files on OpenSSL 3). The password goes through an
    environment variable, never the command line. The private key is written only inside a
    private temporary folder (mode 0700), encrypted with a random one-time password, and is
    removed before any network traffic.
  - Read-only. It changes nothing on the server or on the RNDS, so it also runs in check mode
    (the token request is made in check mode too) and always returns C(changed=false).
  - HTTP proxies are not used; the server must reach the RNDS directly on port 443.
author:
  - esus.rnds contributors (!UNKNOWN)
extends_documentation_fragment:
  - esus.rnds.attributes
  - esus.rnds.attributes.info_module
  - esus.rnds.option_labels
options:
  path:
    description:
      - Path on the managed host of the PKCS#12 file (C(.pfx)/C(.p12)) with the certificate and its
        private key, usually inside the PEC C(chaves) folder.
      - Required unless O(from_inventory=true).
    type: path
  passphrase:
    description:
      - Password of the PKCS#12 file. Accents and shell-special characters are fine. Never logged nor returned.
      - Omit only for files without a password.
      - The alias C(password) is the name this option had before; both work.
    type: str
    aliases: [password]
  environment:
    description:
      - RNDS environment. C(homologacao) uses C(https://ehr-auth-hmg.saude.gov.br/api/token),
        C(producao) uses C(https://ehr-auth.saude.gov.br/api/token).
      - Also returned as is, to tell in reports which environment was tried.
    type: str
    choices: [homologacao, producao]
    default: homologacao
  url:
    description:
      - Full URL of the token endpoint, overriding the one chosen by O(environment) (tests,
        mirrors). Must be C(https).
    type: str
  ca_path:
    description:
      - CA bundle file (PEM) or folder of hashed CA certificates used to validate the RNDS server
        certificate, instead of the system trust store.
      - When given, it must exist, be readable and hold CA certificates; otherwise the task fails (even with
        O(fail_on_error=false)) instead of falling back to the system trust store. Ignored with
        O(validate_certs=false).
    type: path
  validate_certs:
    description:
      - Validate the server certificate and host name. Turn off only for tests.
    type: bool
    default: true
  timeout:
    description:
      - Timeout in seconds for each network step (connection, handshake, answer).
    type: int
    default: 30
  fail_on_error:
    description:
      - When V(false), a failed authentication is reported with RV(authenticated=false) and the
        task does not fail (audits keep going).
      - When V(true), the task fails with the diagnosis as message.
    type: bool
    default: false
  from_inventory:
    description:
      - Check the certificate of every municipality of the host, read from its inventory variables (the roles of this
        collection work this way) - C(rnds_municipios) or the host-level C(rnds_municipio_ibge),
        C(rnds_certificate_name) (default the base name of C(rnds_certificate_src)) and C(rnds_certificate_password),
        in C(<rnds_pec_install_dir>/webserver/<rnds_chaves_dirname>) - instead of O(path) and O(passphrase).
      - Each distinct file is tried once; RV(results) has one entry per municipality, with C(ibge) and
        C(certificate_name). A municipality without a certificate password is left out. With O(fail_on_error=true)
        the task fails when any of them is refused.
      - On a Windows server (no Python module runs there) the task is skipped.
      - O(environment) and O(url), when the task leaves them out, take the value of the host variable O(option_labels)
        names for them (for example C(environment) from C(rnds_auth_environment)); an unset or empty variable leaves the default.
      - Handled by the module's action plugin on the controller.
    type: bool
    default: false
notes:
  - The token request is made from the managed host, so the result reflects its DNS, firewall
    and clock.
  - Failures to open the certificate (missing file, wrong password, no private key) are
    reported with RV(stage=certificate).
  - The PKCS#12 is read the same way as by M(esus.rnds.pkcs12_info) and M(esus.rnds.pec_certificate) (same
    password forms, same messages for a file that is not a PKCS#12).
seealso:
  - module: esus.rnds.pkcs12_info
  - module: esus.rnds.pec_rnds_info
"""

EXAMPLES = r"""
- name: Check that the deployed certificate authenticates on RNDS homologação
  esus.rnds.rnds_auth:
    path: /opt/e-SUS/webserver/chaves/fms-3550308.pfx
    passphrase: "{{ rnds_certificate_password }}"
  register: rnds_auth_result

- name: Show the diagnosis
  ansible.builtin.debug:
    msg: "{{ rnds_auth_result.stage }}: {{ rnds_auth_result.diagnosis }}"

- name: Every municipality of the host, from its inventory
  esus.rnds.rnds_auth:
    from_inventory: true
  register: rnds_auth_all

- name: Production, failing the task when the certificate is refused
  esus.rnds.rnds_auth:
    path: /opt/e-SUS/webserver/chaves/fms-3550308.pfx
    passphrase: "{{ rnds_certificate_password }}"
    environment: producao
    timeout: 15
    fail_on_error: true
"""

RETURN = r"""
results:
  description:
    - With O(from_inventory=true), one entry per municipality, each with the keys below plus C(ibge) and
      C(certificate_name).
  returned: when O(from_inventory=true)
  type: list
  elements: dict
authenticated:
  description: Whether a token was obtained (with O(from_inventory=true), for every municipality).
  returned: always
  type: bool
  sample: true
url:
  description: Token endpoint that was called.
  returned: always
  type: str
  sample: https://ehr-auth-hmg.saude.gov.br/api/token
environment:
  description: The O(environment) option.
  returned: always
  type: str
  sample: homologacao
status_code:
  description: HTTP status of the answer; V(null) when no HTTP answer was received.
  returned: always
  type: int
  sample: 200
expires_in:
  description: Lifetime in seconds of the token the service issued (the token itself is discarded).
  returned: always
  type: int
  sample: 1800
scope:
  description: Scope reported by the service with the token.
  returned: always
  type: str
  sample: read-write
elapsed_ms:
  description: Time spent on the network request (DNS to answer), in milliseconds.
  returned: always
  type: int
  sample: 231
stage:
  description:
    - Where the attempt stopped. V(ok) on success; V(ca_path) (O(ca_path) missing, unreadable or without
      certificates, the task fails), V(certificate) (the PKCS#12 could not be
      opened), V(dns), V(tcp), V(tls) (handshake, including a refused client certificate) or
      V(http) (unexpected HTTP answer, for example 403 for a certificate not credenciado).
  returned: always
  type: str
  sample: ok
diagnosis:
  description:
    - What happened and what to check, in Portuguese. Options are named as O(option_labels) says.
  returned: always
  type: str
  sample: "Token obtido: o certificado foi aceito pelo serviço de autenticação (homologação)."
tls_version:
  description: TLS version negotiated, when the handshake completed.
  returned: always
  type: str
  sample: TLSv1.3
certificate_backend:
  description: What opened the PKCS#12 on the host, V(cryptography) or V(openssl).
  returned: always
  type: str
  sample: openssl
"""

from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.esus.rnds.plugins.module_utils._labels import OPTION_LABELS_SPEC, option, render
from ansible_collections.esus.rnds.plugins.module_utils._rnds_auth import ENDPOINTS, authenticate


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path"),
            passphrase=dict(type="str", no_log=True, aliases=["password"]),
            environment=dict(type="str", choices=sorted(ENDPOINTS), default="homologacao"),
            url=dict(type="str"),
            ca_path=dict(type="path"),
            validate_certs=dict(type="bool", default=True),
            timeout=dict(type="int", default=30),
            fail_on_error=dict(type="bool", default=False),
            option_labels=OPTION_LABELS_SPEC,
            from_inventory=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    labels = params["option_labels"]
    if not params["path"]:
        # from_inventory is handled by the action plugin, which always sends a path
        module.fail_json(msg=render("Informe a opção %s: o caminho do arquivo .pfx/.p12 no servidor." % option("path"),
                                    labels))
    if params["url"]:
        parts = urlsplit(params["url"])
        if parts.scheme != "https" or not parts.hostname:
            module.fail_json(msg=render("A opção %s precisa ser uma URL https completa, por exemplo "
                                        "https://ehr-auth-hmg.saude.gov.br/api/token." % option("url"), labels))
    if params["timeout"] <= 0:
        module.fail_json(msg=render("A opção %s precisa ser maior que zero." % option("timeout"), labels))

    result = authenticate(
        params["path"], params["passphrase"],
        environment=params["environment"], url=params["url"], ca_path=params["ca_path"],
        validate_certs=params["validate_certs"], timeout=params["timeout"],
    )
    result["changed"] = False
    result["diagnosis"] = render(result["diagnosis"], labels)
    if result["stage"] == "ca_path":
        # a configuration error, not an answer of the RNDS: always a failure (never the system store instead)
        module.fail_json(msg=result["diagnosis"], **result)
    if not result["authenticated"] and params["fail_on_error"]:
        module.fail_json(msg=result["diagnosis"], **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
