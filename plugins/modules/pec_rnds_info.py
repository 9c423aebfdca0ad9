#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pec_rnds_info
short_description: Read the RNDS/CADSUS certificate state of a PEC e-SUS APS, per municipality
version_added: 0.1.0
author:
  - esus.rnds maintainers (!UNKNOWN)
description:
  - Read-only. Asks the PEC HTTP API for its version and, for each municipality the given Administrador Municipal
    credentials can see, the RNDS and CADSUS state (enabled or not, when, certificate file, fingerprint, validity,
    identificador do solicitante), the certificate files the PEC finds in its C(chaves) folder and, only when asked, the
    contra chave.
  - A PEC that does not answer does not fail the task by default - RV(reachable=false) and RV(error) say why, so an audit
    can report it (see O(fail_on_unreachable)). Errors of one municipality (wrong admin password, for example) go in its
    own RV(municipios[].error) and do not stop the others.
  - Without credentials, only the version and the list of municipalities are read (no login).
  - The PEC HTTP API is not published; the contract used here is modelled on the PEC web client and is described in the
    collection's C(docs/pec-api.md).
  - Runs on the PEC server (default URL V(http://127.0.0.1:8080)) with the Python standard library only.
extends_documentation_fragment:
  - esus.rnds.attributes
  - esus.rnds.pec_connection
  - esus.rnds.attributes.info_module
options:
  url:
    description:
      - Base URL of the PEC web server, without the C(/api/graphql) path.
    type: str
    default: http://127.0.0.1:8080
  username:
    description:
      - Login of an Administrador Municipal. Every municipality this user administers is read.
      - Mutually exclusive with O(municipios).
    type: str
  password:
    description:
      - Password of O(username). Never logged nor returned.
    type: str
  municipios:
    description:
      - For multimunicipal installations where each municipality has its own admin - one entry per municipality.
      - Entries with the same credentials share one login.
      - Mutually exclusive with O(username).
    type: list
    elements: dict
    suboptions:
      ibge:
        description: IBGE code (7 digits) of the municipality.
        type: str
        required: true
      username:
        description: Login of the Administrador Municipal of this municipality.
        type: str
        required: true
      password:
        description: Password of this O(municipios[].username). Never logged nor returned.
        type: str
        required: true
  return_contra_chave:
    description:
      - Also return the contra chave of each municipality (needed for the e-Gestor AB credenciamento).
      - Use C(no_log) on the task when enabling this; by default the contra chave is not even requested from the PEC.
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

- name: Report hosts where the RNDS is not enabled
  ansible.builtin.debug:
    msg: "{{ rnds_state.municipios | selectattr('rnds.enabled', 'false') | map(attribute='ibge') | list }}"

- name: Multimunicipal PEC, one admin per municipality
  esus.rnds.pec_rnds_info:
    municipios:
      - ibge: "3550308"
        username: admin.sp
        password: "{{ vault_admin_sp }}"
      - ibge: "3304557"
        username: admin.rj
        password: "{{ vault_admin_rj }}"
  register: rnds_state

- name: Copy the contra chave for the e-Gestor AB credenciamento
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
  description: Whether the PEC answered the version query.
  returned: always
  type: bool
pec_version:
  description: PEC version, or null when unreachable.
  returned: always
  type: str
  sample: 5.3.28
error:
  description: Why the PEC could not be read (pt-BR), or null.
  returned: always
  type: str
error_code:
  description: Stable code of RV(error) (for example V(unreachable), V(timeout), V(tls_verify)), or null.
  returned: always
  type: str
certificates_available:
  description: File names of the C(.pfx)/C(.p12) certificates the PEC finds in its C(chaves) folder (needs credentials).
  returned: always
  type: list
  elements: str
  sample: [fms-3550308.pfx]
certificates:
  description: The same files with details.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: File name.
      type: str
    size:
      description: Size in bytes.
      type: int
    modified:
      description: Last modification (ISO 8601 UTC).
      type: str
    sha256:
      description: SHA-256 of the file content.
      type: str
    fingerprint_sha256:
      description: Fingerprint of the certificate inside, when the PEC has already opened this exact file, else null.
      type: str
    not_after:
      description: End of validity of that certificate when known, else null.
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
      description: Name of the municipality.
      type: str
    error:
      description: Why this municipality could not be read (pt-BR), or null.
      type: str
    rnds:
      description:
        - RNDS state - C(enabled), C(enabled_at), C(certificate), C(fingerprint_sha256), C(not_after), C(requester_id),
          C(file_sha256). Every value is null when the state could not be read (or no credentials were given).
      type: dict
    cadsus:
      description: CADSUS state, same keys as C(rnds).
      type: dict
    contra_chave:
      description: The contra chave. Only when O(return_contra_chave=true).
      type: str
  sample:
    - ibge: "3550308"
      nome: São Paulo
      error: null
      rnds:
        enabled: true
        enabled_at: "2025-03-10T13:45:00Z"
        certificate: fms-3550308.pfx
        fingerprint_sha256: 27ed747980c223763e99bf31d86bd141aa26d2c82e9e3b24d2a865d8abb6a56d
        not_after: "2026-03-10T13:40:00Z"
        requester_id: "123456"
        file_sha256: e99e3ba6aa3cb1539834ae3e4b8ae46e2eeab186ed8cd19a20706e7b82b6bf98
      cadsus:
        enabled: false
        enabled_at: null
        certificate: null
        fingerprint_sha256: null
        not_after: null
        requester_id: null
        file_sha256: null
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.esus.rnds.plugins.module_utils._pec_api import (
    connection_argument_spec,
    PecApiError,
    PecClient,
)

_UNKNOWN_STATE = dict.fromkeys(
    ("enabled", "enabled_at", "certificate", "fingerprint_sha256", "not_after", "requester_id", "file_sha256")
)


def _entry(ibge, nome, error=None, state=None, contra_chave=False):
    entry = {
        "ibge": ibge,
        "nome": nome,
        "error": error,
        "rnds": dict(state["rnds"]) if state else dict(_UNKNOWN_STATE),
        "cadsus": dict(state["cadsus"]) if state else dict(_UNKNOWN_STATE),
    }
    if contra_chave:
        entry["contra_chave"] = state.get("contra_chave") if state else None
    return entry


def _client(params):
    return PecClient(
        url=params["url"], timeout=params["timeout"], retries=params["retries"],
        validate_certs=params["validate_certs"], ca_path=params["ca_path"],
    )


def run(module):
    params = module.params
    want_cc = params["return_contra_chave"]
    try:
        client = _client(params)
    except PecApiError as exc:  # URL scheme, ca_path: nothing was sent
        module.fail_json(msg=exc.message, error_code=exc.code)
    result = {
        "changed": False,
        "url": client.url,
        "reachable": False,
        "pec_version": None,
        "error": None,
        "error_code": None,
        "certificates_available": [],
        "certificates": [],
        "municipios": [],
    }
    try:
        info = client.info()
    except PecApiError as exc:
        result["error"] = client.scrub(exc.message)
        result["error_code"] = exc.code
        if params["fail_on_unreachable"]:
            module.fail_json(msg=result["error"], **result)
        return result
    result["reachable"] = True
    result["pec_version"] = info["version"]
    names = dict((m["ibge"], m["nome"]) for m in info["municipios"])

    # Group the wanted municipalities by credentials: one login per admin.
    groups = []
    if params["municipios"]:
        index = {}
        for item in params["municipios"]:
            key = (item["username"], item["password"])
            if key not in index:
                index[key] = len(groups)
                groups.append({"username": item["username"], "password": item["password"], "ibges": []})
            ibge = str(item["ibge"]).strip()
            if ibge not in groups[index[key]]["ibges"]:
                groups[index[key]]["ibges"].append(ibge)
    elif params["username"]:
        groups.append({"username": params["username"], "password": params["password"], "ibges": None})
    else:
        result["municipios"] = [_entry(ibge, nome, contra_chave=want_cc) for ibge, nome in names.items()]
        return result

    listing = None
    for number, group in enumerate(groups):
        session = client if number == 0 else _client(params)
        try:
            login = session.login(group["username"], group["password"])
        except PecApiError as exc:
            message = session.scrub(exc.message)
            module.warn(message)
            for ibge in group["ibges"] if group["ibges"] is not None else list(names):
                result["municipios"].append(_entry(ibge, names.get(ibge), error=message, contra_chave=want_cc))
            continue
        ibges = group["ibges"] if group["ibges"] is not None else [m["ibge"] for m in login["municipios"]]
        for ibge in ibges:
            try:
                state = session.read_state(ibge, contra_chave=want_cc)
            except PecApiError as exc:
                message = session.scrub(exc.message)
                module.warn(message)
                result["municipios"].append(_entry(ibge, names.get(ibge), error=message, contra_chave=want_cc))
                continue
            if listing is None:
                listing = state["certificates"]
            result["municipios"].append(
                _entry(state["ibge"], state["nome"] or names.get(ibge), state=state, contra_chave=want_cc)
            )
    if listing is not None:
        result["certificates"] = listing
        result["certificates_available"] = [item["name"] for item in listing]
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
                    ibge=dict(type="str", required=True),
                    username=dict(type="str", required=True),
                    password=dict(type="str", required=True, no_log=True),
                ),
            ),
            return_contra_chave=dict(type="bool", default=False),
            fail_on_unreachable=dict(type="bool", default=False),
            **connection_argument_spec()
        ),
        mutually_exclusive=[("username", "municipios")],
        required_together=[("username", "password")],
        supports_check_mode=True,
    )
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
