#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: pec_rnds_info
short_description: Read the RNDS/CADSUS certificate state of a PEC e-SUS APS, per municipality
version_added: 0.1.0
author:
  - esus.rnds maintainers (!UNKNOWN)
description:
  - Read-only. Checks that the PEC answers and, for each municipality, logs in as its Administrador Municipal, selects
    that access and reads the certificate in use, the services enabled with it (RNDS, CADSUS), when, its validity and
    the identificador do solicitante; also the certificate files the PEC finds in its C(chaves) folder and, only when
    asked, the installation's contra-chave.
  - One login per admin user (CPF) per run, one logout at the end; a person already logged in with that CPF is never
    thrown out unless O(force_login=true) (the municipality is then reported with RV(municipios[].error_code=already_logged_in)).
  - A PEC that does not answer does not fail the task by default - RV(reachable=false) and RV(error) say why, so an audit
    can report it (see O(fail_on_unreachable)). Errors of one municipality go in its own RV(municipios[].error) and do
    not stop the others.
  - The operations of the Certificados tab come from the replaceable contract O(api_contract); when the PEC does not
    know them the municipality gets RV(municipios[].status=manual_pending) (the state must be checked by hand).
  - Runs on the PEC server (default URL V(http://127.0.0.1:8080)) with the Python standard library only.
extends_documentation_fragment:
  - esus.rnds.attributes
  - esus.rnds.pec_connection
  - esus.rnds.attributes.info_module
  - esus.rnds.option_labels
options:
  url:
    description:
      - Base URL of the PEC web server, without the C(/api/graphql) path.
    type: str
    default: http://127.0.0.1:8080
  username:
    description:
      - CPF of an Administrador Municipal (punctuation allowed). Without O(municipios), the municipality of its only
        Administrador Municipal access is read.
      - Mutually exclusive with O(municipios).
    type: str
  password:
    description:
      - Password of O(username). Never logged nor returned.
    type: str
  municipios:
    description:
      - One entry per municipality. Entries with the same CPF share one login.
      - Mutually exclusive with O(username).
    type: list
    elements: dict
    suboptions:
      ibge:
        description: IBGE code (7 digits) of the municipality. May be left out for the only municipality of a user with
          one Administrador Municipal access.
        type: str
      username:
        description: CPF of the Administrador Municipal of this municipality.
        type: str
        required: true
      password:
        description: Password of this O(municipios[].username). Never logged nor returned.
        type: str
        required: true
  return_contra_chave:
    description:
      - Also return the installation's contra-chave (needed for the e-Gestor AB credenciamento).
      - Use C(no_log) on the task when enabling this; by default the contra-chave is not even requested from the PEC.
    type: bool
    default: false
  fail_on_unreachable:
    description:
      - Fail the task when the PEC does not answer, instead of returning RV(reachable=false).
    type: bool
    default: false
seealso:
  - module: esus.rnds.pec_rnds
  - module: esus.rnds.pec_info
"""

EXAMPLES = r"""
- name: Read the RNDS state of the PEC on this host
  esus.rnds.pec_rnds_info:
    username: "{{ rnds_pec_admin_user }}"
    password: "{{ rnds_pec_admin_password }}"
  register: rnds_state

- name: Report municipalities where the RNDS is not enabled
  ansible.builtin.debug:
    msg: "{{ rnds_state.municipios | rejectattr('state.services', 'contains', 'rnds') | map(attribute='ibge') | list }}"

- name: Multimunicipal PEC, one admin per municipality
  esus.rnds.pec_rnds_info:
    municipios:
      - ibge: "3550308"
        username: "111.444.777-35"
        password: "{{ vault_admin_sp }}"
      - ibge: "3304557"
        username: "529.982.247-25"
        password: "{{ vault_admin_rj }}"
  register: rnds_state

- name: Copy the contra-chave for the e-Gestor AB credenciamento
  esus.rnds.pec_rnds_info:
    username: "{{ rnds_pec_admin_user }}"
    password: "{{ rnds_pec_admin_password }}"
    return_contra_chave: true
  register: rnds_contra_chave
  no_log: true
"""

RETURN = r"""
url:
  description: PEC base URL that was used.
  returned: always
  type: str
  sample: http://127.0.0.1:8080
reachable:
  description: Whether the PEC answered (C(GET /)).
  returned: always
  type: bool
pec_version:
  description: PEC version when the contract has a version query the PEC answers, else null.
  returned: always
  type: str
  sample: 5.5.22
contract:
  description: Name of the API contract used.
  returned: always
  type: str
  sample: modelo
error:
  description: Why the PEC could not be read (pt-BR), or null.
  returned: always
  type: str
error_code:
  description: Stable code of RV(error) (for example V(unreachable), V(timeout), V(tls_verify)), or null.
  returned: always
  type: str
certificates_available:
  description: File names of the C(.pfx)/C(.p12) certificates the PEC lists from its C(chaves) folder.
  returned: always
  type: list
  elements: str
  sample: [fms-3550308.pfx]
certificates:
  description: The same files with the details the PEC reports (C(name), C(size), C(modified), C(sha256),
    C(fingerprint_sha256), C(not_after); null when not reported).
  returned: always
  type: list
  elements: dict
insecure_http:
  description: Whether the PEC URL is plain HTTP to another machine (allowed by O(allow_insecure_http)).
  returned: always
  type: bool
logins_refused:
  description: CPFs whose password the PEC refused in this run (the action plugin remembers them, see O(retry_refused_login)).
  returned: always
  type: list
  elements: str
force_login_used:
  description: Whether the logins were forced (O(force_login=true) outside check mode), which ends the session of a person
    using the PEC with that CPF.
  returned: always
  type: bool
contra_chave:
  description: The installation's contra-chave (8 groups of 4 characters). Only when O(return_contra_chave=true).
  returned: when requested
  type: str
municipios:
  description: One entry per municipality read.
  returned: always
  type: list
  elements: dict
  contains:
    ibge:
      description: IBGE code.
      type: str
    nome:
      description: Name of the municipality, as the PEC's access names it.
      type: str
    status:
      description: V(ok) read, V(error) see RV(municipios[].error), V(manual_pending) the contract does not fit this PEC.
      type: str
    error:
      description: Why this municipality could not be read (pt-BR), or null.
      type: str
    error_code:
      description: Stable code of RV(municipios[].error) (for example V(login_refused), V(already_logged_in)), or null.
      type: str
    state:
      description:
        - C(enabled), C(certificate), C(services), C(requester_id), C(enabled_at), C(not_after), C(fingerprint_sha256),
          C(file_sha256). Null when the state could not be read.
      type: dict
  sample:
    - ibge: "3550308"
      nome: São Paulo
      status: ok
      error: null
      error_code: null
      state:
        enabled: true
        certificate: fms-3550308.pfx
        services: [rnds, cadsus]
        requester_id: "4507"
        enabled_at: "2026-03-10T13:45:00Z"
        not_after: "2027-03-10T13:40:00Z"
        fingerprint_sha256: 27ed747980c223763e99bf31d86bd141aa26d2c82e9e3b24d2a865d8abb6a56d
        file_sha256: e99e3ba6aa3cb1539834ae3e4b8ae46e2eeab186ed8cd19a20706e7b82b6bf98
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.esus.rnds.plugins.module_utils._labels import OPTION_LABELS_SPEC
from ansible_collections.esus.rnds.plugins.module_utils._pec_api import PecApiError, connection_argument_spec
from ansible_collections.esus.rnds.plugins.module_utils._pec_work import (
    ModuleRun,
    fail,
    for_each_municipality,
    insecure_http_warning,
    load_contract,
    new_session,
)


def _entries(params):
    """One entry per municipality to read (none when no user was given: the PEC is only probed)."""
    if params["municipios"]:
        return [{"ibge": str(m["ibge"]).strip() if m["ibge"] else None, "username": m["username"],
                 "password": m["password"]} for m in params["municipios"]]
    if params["username"]:
        return [{"ibge": None, "username": params["username"], "password": params["password"]}]
    return []


class _Reader(ModuleRun):
    """One read of every municipality: the result dict of the module, filled as the sessions go."""

    def __init__(self, module, contract, secrets, result):
        super(_Reader, self).__init__(module, contract, secrets)
        self.result = result
        self.found = {}

    def record(self, entry, **values):
        out = {"ibge": entry["ibge"], "nome": None, "status": "ok", "error": None, "error_code": None, "state": None}
        out.update(values)
        self.found[id(entry)] = out

    def on_error(self, entry, exc):
        message = self.scrub(exc.message)
        status = "manual_pending" if exc.code == "contract_mismatch" else "error"
        self.module.warn("município %s: %s" % (entry["ibge"] or "?", message))
        self.record(entry, status=status, error=message, error_code=exc.code)

    def work(self, session, entry, access):
        result = self.result
        state = session.read_state()
        if not result["certificates"] and session.has("list_files"):
            result["certificates"] = session.list_files()
            result["certificates_available"] = [f["name"] for f in result["certificates"] if f.get("name")]
        if self.module.params["return_contra_chave"] and "contra_chave" not in result:
            result["contra_chave"] = session.contra_chave()
        self.record(entry, ibge=entry["ibge"] or access.get("ibge"), nome=access.get("nome"), state=state)

    def read(self, entries):
        """Every municipality, one login per user; fills result["municipios"] in the order asked."""
        params = self.module.params
        force = params["force_login"] and not self.module.check_mode
        self.result["force_login_used"] = bool(force)
        try:
            for_each_municipality(params, self.contract, entries, self.work, self.on_error, self.secrets, self.warn,
                                  force=force, refused_now=self.result["logins_refused"])
        except ValueError as exc:  # credentials that must not reach the PEC
            self.result["error_code"] = "invalid_input"
            self.module.fail_json(msg=self.scrub(str(exc)), **self.result)
        self.result["municipios"] = [self.found[id(entry)] for entry in entries if id(entry) in self.found]


def run(module):
    params = module.params
    contract = load_contract(module)
    secrets = [s for s in [params["password"]] + [m["password"] for m in params["municipios"] or []]
               if isinstance(s, str) and s]
    try:
        probe = new_session(params, contract, secrets)
    except PecApiError as exc:  # URL scheme, ca_path: nothing was sent
        fail(module, exc.message, error_code=exc.code)
    result = {
        "changed": False, "url": probe.url, "reachable": False, "pec_version": None, "contract": contract.get("name"),
        "error": None, "error_code": None, "certificates_available": [], "certificates": [], "municipios": [],
        "force_login_used": False, "logins_refused": [], "insecure_http": probe.insecure_http,
    }
    reader = _Reader(module, contract, secrets, result)
    if probe.insecure_http:
        reader.warn(insecure_http_warning(probe.url))
    try:
        probe.probe()
    except PecApiError as exc:
        result["error"] = reader.scrub(exc.message)
        result["error_code"] = exc.code
        if params["fail_on_unreachable"]:
            module.fail_json(msg=result["error"], **result)
        return result
    result["reachable"] = True
    try:
        result["pec_version"] = probe.read_version()
    except PecApiError:
        pass  # the version is a nicety: a PEC without a version query is still read
    entries = _entries(params)
    if entries:
        reader.read(entries)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", default="http://127.0.0.1:8080"),
            username=dict(type="str"),
            password=dict(type="str", no_log=True),
            municipios=dict(
                type="list", elements="dict",
                options=dict(
                    ibge=dict(type="str"),
                    username=dict(type="str", required=True),
                    password=dict(type="str", required=True, no_log=True),
                ),
            ),
            return_contra_chave=dict(type="bool", default=False),
            fail_on_unreachable=dict(type="bool", default=False),
            option_labels=dict(OPTION_LABELS_SPEC),
            **connection_argument_spec()
        ),
        mutually_exclusive=[("username", "municipios")],
        required_together=[("username", "password")],
        supports_check_mode=True,
    )
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
