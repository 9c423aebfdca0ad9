#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pec_rnds
short_description: Enable or disable the RNDS/CADSUS certificate of a municipality in the PEC e-SUS APS
version_added: 0.1.0
author:
  - esus.rnds maintainers (!UNKNOWN)
description:
  - Does what the Administrador Municipal does in the PEC (Gestão Municipal, Configuração RNDS / Certificados) through
    the PEC HTTP API - pick a certificate file found in the C(chaves) folder, give its password and the identificador do
    solicitante, and enable it for the RNDS (and the CADSUS if asked); or disable it.
  - "Round trips: one login, one read of the current state, one mutation per service that differs, one read back. Nothing
    is sent when the state already matches: same file name, same file content (SHA-256 the PEC reports for the file in
    C(chaves)) and so the same certificate fingerprint, and same O(requester_id)."
  - Returns the state read back from the PEC after the action, in the same run, so a playbook can verify it without another
    task.
  - The PEC HTTP API is not published; the contract used here is modelled on the PEC web client and is described in the
    collection's C(docs/pec-api.md).
  - Runs on the PEC server (default URL V(http://127.0.0.1:8080)) with the Python standard library only.
extends_documentation_fragment:
  - esus.rnds.attributes
  - esus.rnds.pec_connection
attributes:
  check_mode:
    support: full
    details:
      - Check mode logs in and reads the state, but never calls a mutation; C(changed) is the prediction.
  diff_mode:
    support: full
    details:
      - Shows the state of each requested service before and after (predicted in check mode). No secrets.
  idempotent:
    support: full
options:
  url:
    description:
      - Base URL of the PEC web server, without the C(/api/graphql) path.
    type: str
    default: http://127.0.0.1:8080
  username:
    description:
      - Login of the Administrador Municipal in the PEC.
    type: str
    required: true
  password:
    description:
      - Password of O(username). Never logged nor returned.
    type: str
    required: true
  municipio:
    description:
      - IBGE code (7 digits) of the municipality.
      - Optional when O(username) administers exactly one municipality in this PEC (multimunicipal installations need it).
    type: str
  state:
    description:
      - V(enabled) enables O(certificate) for each of O(services); V(disabled) disables each of O(services).
    type: str
    choices: [enabled, disabled]
    default: enabled
  services:
    description:
      - PEC services to act on.
    type: list
    elements: str
    choices: [rnds, cadsus]
    default: [rnds]
  certificate:
    description:
      - File name (not path) of the C(.pfx)/C(.p12) in the PEC C(chaves) folder.
      - Required when O(state=enabled).
      - Refused before any request when it is not a plain C(.pfx)/C(.p12) file name (C(/), C(\), C(..), NUL or
        control characters, more than 255 bytes), like in M(esus.rnds.pec_certificate).
    type: str
  certificate_password:
    description:
      - Password of O(certificate); the PEC opens the file with it. Never logged nor returned.
      - Required when O(state=enabled).
    type: str
  requester_id:
    description:
      - Identificador do solicitante (e-Gestor AB, Credenciais geradas).
      - Required when O(state=enabled) and V(rnds) is in O(services). When given, it is also sent for V(cadsus) and
        compared for idempotence.
    type: str
  certificate_fingerprint:
    description:
      - Optional SHA-256 fingerprint of the certificate inside O(certificate) (hex, colons allowed), for example
        C(fingerprint_sha256) from M(esus.rnds.pkcs12_info).
      - When given, a service enabled with another fingerprint is enabled again, and the module fails if the PEC reports
        another fingerprint after enabling.
    type: str
notes:
  - Failures are in Portuguese and say what to fix (wrong admin password, certificate file missing from C(chaves), wrong
    certificate password, expired certificate, PEC not answering...). Passwords never appear in them.
  - In check mode, a file not yet in C(chaves) (for example because the certificate deployment also ran in check mode)
    is predicted as a change, not a failure.
seealso:
  - module: esus.rnds.pec_rnds_info
  - module: esus.rnds.pec_certificate
  - module: esus.rnds.pkcs12_info
"""

EXAMPLES = r"""
- name: Enable the municipality certificate for the RNDS
  esus.rnds.pec_rnds:
    username: "{{ rnds_pec_admin_user }}"
    password: "{{ rnds_pec_admin_password }}"
    certificate: fms-3550308.pfx
    certificate_password: "{{ rnds_certificate_password }}"
    requester_id: "{{ rnds_requester_id }}"
  register: rnds_enable

- name: Show when it was enabled and until when the certificate is valid
  ansible.builtin.debug:
    msg: "RNDS habilitado em {{ rnds_enable.services.rnds.enabled_at }}, válido até {{ rnds_enable.services.rnds.not_after }}"

- name: Enable RNDS and CADSUS for one municipality of a multimunicipal PEC over HTTPS
  esus.rnds.pec_rnds:
    url: https://pec.example.org
    ca_path: /etc/ssl/certs/ca-certificates.crt
    username: "{{ item.rnds_pec_admin_user }}"
    password: "{{ item.rnds_pec_admin_password }}"
    municipio: "{{ item.rnds_municipio_ibge }}"
    services: [rnds, cadsus]
    certificate: "{{ item.rnds_certificate_name }}"
    certificate_password: "{{ item.rnds_certificate_password }}"
    requester_id: "{{ item.rnds_requester_id }}"
  loop: "{{ rnds_municipios }}"
  loop_control:
    label: "{{ item.rnds_municipio_ibge }}"

- name: Disable the certificate for the RNDS
  esus.rnds.pec_rnds:
    username: "{{ rnds_pec_admin_user }}"
    password: "{{ rnds_pec_admin_password }}"
    state: disabled
"""

RETURN = r"""
municipio:
  description: IBGE code of the municipality acted on.
  returned: success
  type: str
  sample: "3550308"
nome:
  description: Name of the municipality, as the PEC reports it.
  returned: success
  type: str
  sample: São Paulo
pec_version:
  description: PEC version reported at login.
  returned: success
  type: str
  sample: 5.3.28
services:
  description:
    - State of both services read back from the PEC after the action (in check mode, the current state, unchanged).
  returned: success
  type: dict
  contains:
    rnds:
      description: RNDS state.
      type: dict
      contains:
        enabled:
          description: Whether the certificate is enabled for this service.
          type: bool
        enabled_at:
          description: When it was enabled (ISO 8601 UTC), or null.
          type: str
        certificate:
          description: File name of the enabled certificate in C(chaves), or null.
          type: str
        fingerprint_sha256:
          description: SHA-256 fingerprint of the enabled certificate (lowercase hex), or null.
          type: str
        not_after:
          description: End of validity of the enabled certificate (ISO 8601 UTC), or null.
          type: str
        requester_id:
          description: Identificador do solicitante, or null.
          type: str
        file_sha256:
          description: SHA-256 of the certificate file content when it was enabled, or null.
          type: str
    cadsus:
      description: CADSUS state, same keys as RV(services.rnds).
      type: dict
  sample:
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
previous:
  description: State of both services before the action, same shape as RV(services).
  returned: success
  type: dict
acted:
  description: Services on which a mutation was sent (or would be, in check mode).
  returned: success
  type: list
  elements: str
  sample: [rnds]
message:
  description: What was done, in Portuguese.
  returned: always
  type: str
  sample: "RNDS habilitado no município 3550308 com fms-3550308.pfx"
error_code:
  description: Stable code of the failure (for example V(login_refused), V(wrong_password), V(unreachable)).
  returned: failure
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.esus.rnds.plugins.module_utils._chaves import check_certificate_name
from ansible_collections.esus.rnds.plugins.module_utils._pec_api import (
    connection_argument_spec,
    PecApiError,
    PecClient,
)

_DIFF_KEYS = ("enabled", "certificate", "fingerprint_sha256", "not_after", "requester_id")
_LABEL = {"rnds": "RNDS", "cadsus": "CADSUS"}


def _norm_fingerprint(value):
    if not value:
        return None
    return value.replace(":", "").replace(" ", "").lower()


def _find_file(certificates, name):
    for entry in certificates:
        if entry.get("name") == name:
            return entry
    return None


def _same(current, name, entry, requester_id, fingerprint):
    """True when ``current`` already is the wanted enabled state (nothing to send)."""
    if not current.get("enabled") or current.get("certificate") != name or entry is None:
        return False
    if current.get("file_sha256") and entry.get("sha256"):
        if current["file_sha256"] != entry["sha256"]:
            return False
    elif not (entry.get("fingerprint_sha256") and entry["fingerprint_sha256"] == current.get("fingerprint_sha256")):
        return False
    if fingerprint and _norm_fingerprint(current.get("fingerprint_sha256")) != fingerprint:
        return False
    if requester_id is not None and current.get("requester_id") != requester_id:
        return False
    return True


def _diff_view(state):
    return dict((key, state.get(key)) for key in _DIFF_KEYS)


def _choose_municipio(module, client, login):
    wanted = module.params["municipio"]
    managed = [m["ibge"] for m in login["municipios"]]
    if wanted:
        wanted = wanted.strip()
        if managed and wanted not in managed:
            module.fail_json(
                msg="o usuário %s não administra o município %s no PEC em %s (administra: %s): confira "
                    "rnds_municipio_ibge e rnds_pec_admin_user" % (login["username"], wanted, client.url, ", ".join(managed)),
                error_code="forbidden",
            )
        return wanted
    if len(managed) == 1:
        return managed[0]
    module.fail_json(
        msg="o usuário %s administra %d municípios no PEC em %s (%s): informe municipio (rnds_municipio_ibge)"
            % (login["username"], len(managed), client.url, ", ".join(managed) or "nenhum"),
        error_code="municipio_required",
    )
    return None


def run(module):
    params = module.params
    state = params["state"]
    services = []
    for service in params["services"]:
        if service not in services:
            services.append(service)
    name = params["certificate"]
    requester_id = params["requester_id"]
    fingerprint = _norm_fingerprint(params["certificate_fingerprint"])
    if state == "enabled" and "rnds" in services and not requester_id:
        module.fail_json(msg="informe requester_id (rnds_requester_id, identificador do solicitante do e-Gestor AB) "
                             "para habilitar o RNDS", error_code="invalid_input")
    # A name the PEC could never list (path, NUL, control characters, too long, not .pfx/.p12) is
    # refused here, before any request: the PEC must never be asked to open such a path.
    problem = check_certificate_name(name) if state == "enabled" and name is not None else None
    if problem:
        module.fail_json(msg=problem, error_code="invalid_input")

    try:
        client = PecClient(
            url=params["url"], timeout=params["timeout"], retries=params["retries"],
            validate_certs=params["validate_certs"], ca_path=params["ca_path"],
        )
    except PecApiError as exc:  # URL scheme, ca_path: nothing was sent
        module.fail_json(msg=exc.message, error_code=exc.code)
    result = {"changed": False, "acted": []}
    ibge = None
    try:
        login = client.login(params["username"], params["password"])
        ibge = _choose_municipio(module, client, login)
        result["municipio"] = ibge
        result["pec_version"] = login["version"]
        before = client.read_state(ibge)
        result["nome"] = before["nome"]
        previous = {"rnds": before["rnds"], "cadsus": before["cadsus"]}
        result["previous"] = previous
        predicted = {}
        notes = []
        for service in services:
            current = before[service]
            if state == "enabled":
                entry = _find_file(before["certificates"], name)
                if _same(current, name, entry, requester_id, fingerprint):
                    notes.append("%s já habilitado com %s" % (_LABEL[service], name))
                    continue
                if entry is None and module.check_mode:
                    notes.append("%s seria habilitado com %s (o arquivo ainda não está na pasta chaves)" % (_LABEL[service], name))
                else:
                    notes.append("%s habilitado com %s" % (_LABEL[service], name))
                future = dict(current, enabled=True, certificate=name, requester_id=requester_id,
                              fingerprint_sha256=(entry or {}).get("fingerprint_sha256") or fingerprint,
                              not_after=(entry or {}).get("not_after"), enabled_at=None)
            else:
                if not current.get("enabled"):
                    notes.append("%s já desabilitado" % _LABEL[service])
                    continue
                notes.append("%s desabilitado" % _LABEL[service])
                future = dict(current, enabled=False, enabled_at=None, certificate=None, fingerprint_sha256=None,
                              not_after=None, requester_id=None, file_sha256=None)
            predicted[service] = future
            result["acted"].append(service)
            result["changed"] = True
            if module.check_mode:
                continue
            if state == "enabled":
                client.enable(ibge, service, name, params["certificate_password"], requester_id)
            else:
                client.disable(ibge, service)

        if result["changed"] and not module.check_mode:
            after = client.read_state(ibge)
            services_after = {"rnds": after["rnds"], "cadsus": after["cadsus"]}
        else:
            services_after = previous
        result["services"] = services_after
        result["message"] = "município %s: %s" % (ibge, "; ".join(notes))
        if module._diff:
            diff_after = dict(services_after) if not module.check_mode else dict(previous, **predicted)
            result["diff"] = {
                "before": dict((s, _diff_view(previous[s])) for s in services),
                "after": dict((s, _diff_view(diff_after[s])) for s in services),
            }
        if not module.check_mode:
            _verify(module, client, result, services, state, name, fingerprint)
    except PecApiError as exc:
        result["message"] = client.scrub(exc.message)
        module.fail_json(msg=client.scrub(exc.message), error_code=exc.code, **result)
    return result


def _verify(module, client, result, services, state, name, fingerprint):
    for service in services:
        got = result["services"][service]
        if state == "enabled":
            ok = got.get("enabled") and got.get("certificate") == name
            if ok and fingerprint and _norm_fingerprint(got.get("fingerprint_sha256")) != fingerprint:
                module.fail_json(
                    msg="o PEC em %s habilitou %s para o %s, mas o certificado dentro do arquivo tem impressão digital "
                        "%s e não %s: o arquivo na pasta chaves não é o certificado esperado; implante-o de novo"
                        % (client.url, name, _LABEL[service], got.get("fingerprint_sha256"), fingerprint),
                    error_code="fingerprint_mismatch", **result
                )
        else:
            ok = not got.get("enabled")
        if not ok:
            module.fail_json(
                msg="o PEC em %s aceitou o pedido, mas a leitura seguinte mostra o %s %s: confira na tela "
                    "Gestão Municipal > Certificados e o log do serviço (journalctl -u e-SUS-PEC)"
                    % (client.url, _LABEL[service], "habilitado com %s" % got.get("certificate") if got.get("enabled") else "desabilitado"),
                error_code="verify_failed", **result
            )


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", default="http://127.0.0.1:8080"),
            username=dict(type="str", required=True),
            password=dict(type="str", required=True, no_log=True),
            municipio=dict(type="str"),
            state=dict(type="str", default="enabled", choices=["enabled", "disabled"]),
            services=dict(type="list", elements="str", default=["rnds"], choices=["rnds", "cadsus"]),
            certificate=dict(type="str"),
            certificate_password=dict(type="str", no_log=True),
            requester_id=dict(type="str"),
            certificate_fingerprint=dict(type="str"),
            **connection_argument_spec()
        ),
        required_if=[("state", "enabled", ("certificate", "certificate_password"))],
        supports_check_mode=True,
    )
    result = run(module)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
