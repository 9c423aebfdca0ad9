#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: pec_rnds
short_description: Enable or disable the RNDS/CADSUS certificate of every municipality of a PEC e-SUS APS
version_added: 0.1.0
author:
  - esus.rnds maintainers (!UNKNOWN)
description:
  - Does what the Administrador Municipal does on the PEC's Gestão municipal > Certificados tab, for every municipality
    of the host in one run - pick a certificate file found in the C(chaves) folder, give its password, the identificador
    do solicitante and the services (RNDS, CADSUS), and click Habilitar; or disable services.
  - One certificate serves both services of a municipality (the PEC keeps one certificate per municipality); adding
    CADSUS later keeps the same certificate, and enabling another certificate moves every enabled service to it.
  - "Session, as the PEC allows it: one login per admin user (CPF) per run whatever the number of municipalities, one
    access selection per municipality, one logout at the end (on failure too). A person already logged in with that CPF
    is never thrown out unless O(force_login=true); a refused password is never tried again (the PEC locks accounts)."
  - Nothing is sent when a municipality already has the wanted state (same file name, same file content when the PEC
    reports it, same O(requester_id), the wanted services included).
  - The operations of the Certificados tab are not published by the PEC; they come from the replaceable contract
    O(api_contract). When the PEC does not know them, the municipality is reported as C(manual_pending) with the
    steps to do by hand (see O(manual_fallback)), never guessed.
  - Runs on the PEC server (default URL V(http://127.0.0.1:8080)) with the Python standard library only; the contract
    is loaded on the controller by the module's action plugin.
extends_documentation_fragment:
  - esus.rnds.attributes
  - esus.rnds.pec_connection
  - esus.rnds.option_labels
attributes:
  check_mode:
    support: full
    details:
      - Check mode logs in, reads the state and logs out, but never sends a mutation; C(changed) is the prediction.
  diff_mode:
    support: full
    details:
      - Shows each municipality's certificate, services and identificador before and after. No secrets.
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
      - CPF of the Administrador Municipal (the PEC user name), punctuation allowed; sent as 11 digits.
      - Default for every entry of O(municipios).
    type: str
  password:
    description:
      - Password of O(username). Never logged nor returned.
    type: str
  municipio:
    description:
      - IBGE code (7 digits) of the municipality, when O(municipios) is not used.
      - Optional when O(username) has exactly one Administrador Municipal access in this PEC.
    type: str
  state:
    description:
      - V(enabled) enables O(certificate) for O(services) (services already enabled with it stay enabled);
        V(disabled) disables O(services).
    type: str
    choices: [enabled, disabled]
    default: enabled
  services:
    description:
      - PEC services to act on. Default for every entry of O(municipios).
    type: list
    elements: str
    choices: [rnds, cadsus]
    default: [rnds]
  certificate:
    description:
      - File name (not path) of the C(.pfx)/C(.p12) in the PEC C(chaves) folder. Required when O(state=enabled).
      - Refused before any request when it is not a plain C(.pfx)/C(.p12) file name (C(/), C(\), C(..), NUL or
        control characters, more than 255 bytes).
    type: str
  certificate_password:
    description:
      - Password of O(certificate); the PEC opens the file with it. Never logged nor returned.
    type: str
  requester_id:
    description:
      - Identificador do solicitante (e-Gestor AB, Credenciais geradas). Required when O(state=enabled) and V(rnds) is
        in O(services).
    type: str
  certificate_fingerprint:
    description:
      - Optional SHA-256 fingerprint of the certificate inside O(certificate) (hex, colons allowed), for example
        C(fingerprint_sha256) from M(esus.rnds.pkcs12_info).
      - When given and the PEC reports fingerprints, a municipality enabled with another fingerprint is enabled again,
        and the module fails if the PEC reports another fingerprint after enabling.
    type: str
  municipios:
    description:
      - Every municipality of the host, in one run. Keys left out take the top-level option of the same name.
      - Two entries for the same municipality must name the same certificate (one certificate serves both services);
        their services are joined.
    type: list
    elements: dict
    suboptions:
      ibge:
        description: IBGE code (7 digits). May be left out for the only municipality of a user with one Administrador
          Municipal access.
        type: str
      username:
        description: CPF of this municipality's Administrador Municipal.
        type: str
      password:
        description: Password of that user. Never logged nor returned.
        type: str
      services:
        description: Services to act on.
        type: list
        elements: str
        choices: [rnds, cadsus]
      certificate:
        description: File name in C(chaves).
        type: str
      certificate_password:
        description: Password of the certificate. Never logged nor returned.
        type: str
      requester_id:
        description: Identificador do solicitante.
        type: str
      certificate_fingerprint:
        description: Expected SHA-256 fingerprint of the certificate.
        type: str
  manual_fallback:
    description:
      - When the PEC does not know an operation of O(api_contract) (a GraphQL C(ValidationError)), report the
        municipality as C(manual_pending) with the steps for the Administrador Municipal instead of failing.
      - V(false) makes it a failure.
    type: bool
    default: true
  from_inventory:
    description:
      - Take the municipalities from the host's inventory variables instead of O(municipios) (the role
        C(esus.rnds.enable) works this way) - C(rnds_municipios) (one item per municipality) or the host-level
        C(rnds_municipio_ibge), C(rnds_pec_admin_user), C(rnds_pec_admin_password), C(rnds_certificate_name) (default
        the base name of C(rnds_certificate_src)), C(rnds_certificate_password), C(rnds_requester_id) and
        C(rnds_services); O(url) defaults to C(rnds_pec_url) (on a Windows server, reached from the controller,
        C(http://<ansible_host>:8080)). The variables are checked against the argument spec of the role
        C(esus.rnds.enable).
      - Every missing variable of every municipality fails the task in one message, before any login.
      - Each of O(state), O(limit_ibge), O(certificate_fingerprints), O(api_contract), O(force_login),
        O(allow_insecure_http), O(retry_refused_login), O(manual_fallback), O(timeout), O(retries), O(validate_certs)
        and O(ca_path) that the task leaves out takes the value of the host variable O(option_labels) names for it
        (for example C(timeout) from C(rnds_pec_timeout)); an unset or empty variable leaves the option's default.
      - Handled by the action plugin on the controller.
    type: bool
    default: false
  limit_ibge:
    description:
      - Act only on these municipalities (IBGE codes, a list or a comma-separated string) of O(municipios) or of the
        inventory; the task is skipped when none of them is on this host. Empty acts on all.
      - Handled by the action plugin on the controller.
    type: raw
  certificate_fingerprints:
    description:
      - SHA-256 fingerprints by certificate file name (for example RV(esus.rnds.pec_certificate#module:fingerprints)),
        used as the C(certificate_fingerprint) of each municipality that has none.
      - Handled by the action plugin on the controller.
    type: dict
notes:
  - Failures are in Portuguese and say what to fix (a person already logged in, wrong admin password, account locked,
    certificate file missing from C(chaves), wrong certificate password, expired certificate, PEC not answering...).
    Passwords never appear in them. One municipality's failure does not stop the others; the task fails at the end.
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

- name: Enable RNDS and CADSUS for every municipality of a multimunicipal PEC, one login per admin
  esus.rnds.pec_rnds:
    services: [rnds, cadsus]
    municipios:
      - ibge: "4106902"
        username: "111.444.777-35"
        password: "{{ vault_admin_curitiba }}"
        certificate: fms-4106902.pfx
        certificate_password: "{{ vault_cert_curitiba }}"
        requester_id: "4507"
      - ibge: "4314902"
        username: "529.982.247-25"
        password: "{{ vault_admin_poa }}"
        certificate: fms-4314902.pfx
        certificate_password: "{{ vault_cert_poa }}"
        requester_id: "4511"

- name: Every municipality of the host from its inventory, with the fingerprints pec_certificate validated
  esus.rnds.pec_rnds:
    from_inventory: true
    certificate_fingerprints: "{{ rnds_certificate_result.fingerprints }}"

- name: Disable the CADSUS only (the RNDS keeps the certificate)
  esus.rnds.pec_rnds:
    username: "{{ rnds_pec_admin_user }}"
    password: "{{ rnds_pec_admin_password }}"
    state: disabled
    services: [cadsus]

- name: Use a contract fitted to this PEC from a browser capture (docs/pec-api.md)
  esus.rnds.pec_rnds:
    api_contract: "{{ playbook_dir }}/contracts/pec-5.5-estado.yml"
    username: "{{ rnds_pec_admin_user }}"
    password: "{{ rnds_pec_admin_password }}"
    certificate: fms-3550308.pfx
    certificate_password: "{{ rnds_certificate_password }}"
    requester_id: "{{ rnds_requester_id }}"
"""

RETURN = r"""
municipios:
  description: One entry per municipality acted on.
  returned: always
  type: list
  elements: dict
  contains:
    ibge:
      description: IBGE code.
      type: str
    nome:
      description: Name of the municipality, as the PEC's access names it (null when unknown).
      type: str
    status:
      description:
        - V(ok) nothing to do, V(changed) done (or would be, in check mode), V(manual_pending) the contract does not
          fit this PEC (see RV(municipios[].manual_steps)), V(failed) see RV(municipios[].error).
      type: str
    changed:
      description: Whether a mutation was sent (or would be, in check mode).
      type: bool
    acted:
      description: Services the mutation was about.
      type: list
      elements: str
    previous:
      description:
        - State before - C(enabled), C(certificate), C(services), C(requester_id), C(enabled_at), C(not_after),
          C(fingerprint_sha256), C(file_sha256) (null when the PEC does not report it).
      type: dict
    state:
      description: State after (as the PEC answered the mutation; in check mode the state before).
      type: dict
    message:
      description: What was done, in Portuguese.
      type: str
    error:
      description: Why it failed or is pending (pt-BR), or null.
      type: str
    error_code:
      description: Stable code of RV(municipios[].error) (for example V(already_logged_in), V(wrong_password),
        V(contract_mismatch)), or null.
      type: str
    manual_steps:
      description: Steps for the Administrador Municipal when RV(municipios[].status=manual_pending).
      type: list
      elements: str
  sample:
    - ibge: "3550308"
      nome: São Paulo
      status: changed
      changed: true
      acted: [rnds]
      previous: {enabled: false, certificate: null, services: []}
      state:
        enabled: true
        certificate: fms-3550308.pfx
        services: [rnds]
        requester_id: "4507"
        enabled_at: "2026-03-10T13:45:00Z"
        not_after: "2027-03-10T13:40:00Z"
        fingerprint_sha256: 27ed747980c223763e99bf31d86bd141aa26d2c82e9e3b24d2a865d8abb6a56d
        file_sha256: e99e3ba6aa3cb1539834ae3e4b8ae46e2eeab186ed8cd19a20706e7b82b6bf98
      message: "RNDS habilitado com fms-3550308.pfx"
      error: null
      error_code: null
logins_refused:
  description: CPFs whose password the PEC refused in this run (the action plugin remembers them, see O(retry_refused_login)).
  returned: always
  type: list
  elements: str
contract:
  description: Name of the API contract used.
  returned: always
  type: str
  sample: modelo
message:
  description: Summary of every municipality, in Portuguese.
  returned: always
  type: str
error_code:
  description: Stable code of the first failure.
  returned: failure
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.esus.rnds.plugins.module_utils._chaves import check_certificate_name
from ansible_collections.esus.rnds.plugins.module_utils._labels import OPTION_LABELS_SPEC, option
from ansible_collections.esus.rnds.plugins.module_utils._pec_api import (
    CERTIFICATE_CODES,
    UNCERTAIN_CODES,
    PecApiError,
    connection_argument_spec,
)
from ansible_collections.esus.rnds.plugins.module_utils._pec_work import (
    ModuleRun,
    fail,
    for_each_municipality,
    load_contract,
    manual_steps,
    service_names,
)

_ENTRY_KEYS = ("username", "password", "services", "certificate", "certificate_password", "requester_id",
               "certificate_fingerprint")
_DIFF_KEYS = ("certificate", "services", "requester_id", "fingerprint_sha256", "not_after")
_UNKNOWN = {"enabled": False, "certificate": None, "services": [], "requester_id": None, "enabled_at": None,
            "not_after": None, "fingerprint_sha256": None, "file_sha256": None}


def _norm_fingerprint(value):
    return value.replace(":", "").replace(" ", "").lower() if value else None


def _entries(module):
    """Every municipality, top-level options filling the gaps; checked before any request."""
    params = module.params
    raw = params["municipios"] or [{"ibge": params["municipio"]}]
    merged = {}
    order = []
    for item in raw:
        entry = dict((key, item.get(key) if item.get(key) not in (None, "", []) else params[key]) for key in _ENTRY_KEYS)
        entry["ibge"] = str(item.get("ibge")).strip() if item.get("ibge") else None
        entry["services"] = sorted(set(entry["services"] or ["rnds"]))
        entry["certificate_fingerprint"] = _norm_fingerprint(entry["certificate_fingerprint"])
        _check_entry(module, entry)
        key = entry["ibge"]
        if key in merged:
            first = merged[key]
            if first["certificate"] != entry["certificate"]:
                module.fail_json(
                    msg="município %s: o PEC guarda um só certificado por município para o RNDS e o CADSUS, mas foram "
                        "pedidos dois (%s e %s); use o mesmo arquivo para os dois serviços"
                        % (key or "?", first["certificate"], entry["certificate"]),
                    error_code="invalid_input")
            first["services"] = sorted(set(first["services"]) | set(entry["services"]))
            continue
        merged[key] = entry
        order.append(key)
    return [merged[key] for key in order]


def _check_entry(module, entry):
    where = "município %s" % (entry["ibge"] or "(único)")
    if not entry["username"] or not entry["password"]:
        fail(module, "%s: informe %s (CPF do Administrador Municipal) e %s" % (where, option("username"), option("password")),
             error_code="invalid_input")
    if module.params["state"] != "enabled":
        return
    if not entry["certificate"] or entry["certificate_password"] is None:
        fail(module, "%s: informe %s (nome do arquivo na pasta chaves) e %s para habilitar"
             % (where, option("certificate"), option("certificate_password")), error_code="invalid_input")
    if "rnds" in entry["services"] and not entry["requester_id"]:
        fail(module, "%s: informe %s (identificador do solicitante do e-Gestor AB) para habilitar o RNDS"
             % (where, option("requester_id")), error_code="invalid_input")
    # A name the PEC could never list is refused here: the PEC must never be asked to open such a path.
    problem = check_certificate_name(entry["certificate"], "certificate")
    if problem:
        fail(module, "%s: %s" % (where, problem), error_code="invalid_input")


def _find_file(files, name):
    for item in files or []:
        if item.get("name") == name:
            return item
    return None


def _same(current, entry, listed):
    """True when ``current`` already is the wanted enabled state (nothing to send)."""
    if not current.get("enabled") or current.get("certificate") != entry["certificate"]:
        return False
    if not set(entry["services"]) <= set(current.get("services") or []):
        return False
    if current.get("requester_id") is not None and current.get("requester_id") != entry["requester_id"]:
        return False
    if listed is not None and current.get("file_sha256") and listed.get("sha256"):
        if current["file_sha256"] != listed["sha256"]:
            return False  # same name, other content: a renewal
    wanted = entry["certificate_fingerprint"]
    if wanted and current.get("fingerprint_sha256") and current["fingerprint_sha256"] != wanted:
        return False
    return True


class _Run(ModuleRun):
    def __init__(self, module, contract, secrets):
        super(_Run, self).__init__(module, contract, secrets)
        self.results = {}

    def _record(self, entry, **values):
        out = {"ibge": entry["ibge"], "nome": None, "status": "ok", "changed": False, "acted": [],
               "previous": None, "state": None, "message": "", "error": None, "error_code": None}
        out.update(values)
        self.results[entry["ibge"]] = out
        return out

    def on_error(self, entry, exc):
        message = self.scrub(exc.message)
        if exc.code in CERTIFICATE_CODES and entry.get("certificate"):
            message = "certificado %s: %s" % (entry["certificate"], message)
        if exc.code == "contract_mismatch":
            self._record(entry, status="manual_pending", error=message, error_code=exc.code,
                         message="habilitação manual pendente: %s" % message,
                         manual_steps=manual_steps(entry, None, self.contract.get("name"), self.module.params["url"],
                                                   self.module.params["state"]))
            return
        self._record(entry, status="failed", error=message, error_code=exc.code, message=message)

    def work(self, session, entry, access):
        before = session.read_state()
        listed = None
        if self.module.params["state"] == "enabled":
            files = session.list_files() if session.has("list_files") else None
            listed = _find_file(files, entry["certificate"]) if files is not None else None
            if _same(before, entry, listed):
                self._record(entry, nome=access.get("nome"), previous=before, state=before,
                             message="%s já habilitado com %s" % (service_names(before["services"]), entry["certificate"]))
                return
            services = sorted(set(entry["services"]) | set(before.get("services") or []))
            note = "%s habilitado com %s" % (service_names(services), entry["certificate"])
            if files is not None and listed is None and self.module.check_mode:
                note = "%s seria habilitado com %s (o arquivo ainda não está na pasta chaves)" % (
                    service_names(services), entry["certificate"])
            predicted = dict(before, enabled=True, certificate=entry["certificate"], services=services,
                             requester_id=entry["requester_id"], enabled_at=None,
                             fingerprint_sha256=(listed or {}).get("fingerprint_sha256") or entry["certificate_fingerprint"],
                             file_sha256=(listed or {}).get("sha256"))
            after = predicted if self.module.check_mode else self._mutate(
                session, entry,
                lambda: session.enable(entry["certificate"], entry["certificate_password"], entry["requester_id"],
                                       services),
                lambda state: _same(state, dict(entry, services=services), None))
        else:
            services = sorted(set(entry["services"]) & set(before.get("services") or []))
            if not services:
                self._record(entry, nome=access.get("nome"), previous=before, state=before,
                             message="%s já desabilitado" % service_names(entry["services"]))
                return
            note = "%s desabilitado" % service_names(services)
            remaining = sorted(set(before["services"]) - set(services))
            predicted = dict(before, services=remaining, enabled=bool(remaining))
            if not remaining:
                predicted.update(_UNKNOWN)
            after = predicted if self.module.check_mode else self._mutate(
                session, entry, lambda: session.disable(services),
                lambda state: not set(services) & set(state.get("services") or []))
        record = self._record(entry, nome=access.get("nome"), status="changed", changed=True, acted=services,
                              previous=before, state=after, message=note)
        if not self.module.check_mode:
            self._verify(session, entry, record, services)

    def _mutate(self, session, entry, call, applied):
        """Send the mutation. When its fate is unknown (HTTP 5xx, connection lost, timeout after
        sending), read the state back instead of sending it blindly again: applied -> that state is
        the answer; not applied -> it is sent once more, and a second failure is the error."""
        try:
            return call()
        except PecApiError as exc:
            if exc.code not in UNCERTAIN_CODES:
                raise
            try:
                state = session.read_state()
            except PecApiError:
                raise exc
            where = "município %s: %s" % (entry["ibge"] or "?", self.scrub(exc.message))
            if applied(state):
                self.warn("%s; a leitura seguinte mostra o pedido aplicado" % where)
                return state
            self.warn("%s; a leitura seguinte mostra que o pedido não foi aplicado, então ele foi enviado uma vez mais"
                      % where)
            try:
                return call()
            except PecApiError as again:
                again.message = again.message.replace(" (o pedido não foi repetido: o PEC pode tê-lo aplicado)", "")
                again.message += (" (o pedido foi enviado duas vezes: a primeira resposta também foi um erro e a "
                                  "leitura do estado entre as duas mostrou que ele não tinha sido aplicado)")
                raise again

    def _verify(self, session, entry, record, services):
        got = record["state"]
        if self.module.params["state"] == "enabled":
            ok = got.get("certificate") == entry["certificate"] and set(services) <= set(got.get("services") or [])
            wanted = entry["certificate_fingerprint"]
            if ok and wanted and got.get("fingerprint_sha256") and got["fingerprint_sha256"] != wanted:
                raise PecApiError(
                    "fingerprint_mismatch",
                    "o PEC em %s habilitou %s, mas o certificado dentro do arquivo tem impressão digital %s e não %s: o "
                    "arquivo na pasta chaves não é o certificado esperado; implante-o de novo"
                    % (session.url, entry["certificate"], got["fingerprint_sha256"], wanted))
        else:
            ok = not set(services) & set(got.get("services") or [])
        if not ok:
            raise PecApiError(
                "verify_failed",
                "o PEC em %s aceitou o pedido, mas respondeu %s com %s: confira na tela Gestão municipal > "
                "Certificados e o log do serviço (journalctl -u e-SUS-PEC)"
                % (session.url, service_names(got.get("services") or []), got.get("certificate") or "nenhum certificado"))


def _diff_view(state):
    state = state or _UNKNOWN
    return dict((key, state.get(key)) for key in _DIFF_KEYS)


def run(module):
    params = module.params
    contract = load_contract(module)
    entries = _entries(module)
    secrets = [params["password"], params["certificate_password"]]
    for entry in entries:
        secrets += [entry["password"], entry["certificate_password"]]
    job = _Run(module, contract, secrets)

    def work(session, entry, access):
        try:
            job.work(session, entry, access)
        except PecApiError as exc:
            job.on_error(entry, exc)

    refused_now = []
    try:
        for_each_municipality(params, contract, entries, work, job.on_error, job.secrets, job.warn,
                              force=params["force_login"] and not module.check_mode, refused_now=refused_now)
    except ValueError as exc:  # credentials that must not reach the PEC
        module.fail_json(msg=job.scrub(str(exc)), error_code="invalid_input")
    except PecApiError as exc:  # URL scheme, ca_path: nothing was sent
        module.fail_json(msg=job.scrub(exc.message), error_code=exc.code)
    results = [job.results[entry["ibge"]] for entry in entries if entry["ibge"] in job.results]
    result = {
        "changed": any(r["changed"] for r in results),
        "contract": contract.get("name"),
        "logins_refused": refused_now,
        "municipios": results,
        "message": "; ".join("município %s: %s" % (r["ibge"] or "?", r["message"]) for r in results),
    }
    if module._diff:
        result["diff"] = {
            "before": dict((r["ibge"] or "?", _diff_view(r["previous"])) for r in results),
            "after": dict((r["ibge"] or "?", _diff_view(r["state"])) for r in results),
        }
    pending = [r for r in results if r["status"] == "manual_pending"]
    for item in pending:
        job.warn("município %s: habilitação manual pendente. Passos: %s"
                 % (item["ibge"] or "?", " ".join("%d) %s" % (n, s) for n, s in enumerate(item["manual_steps"], 1))))
    failed = [r for r in results if r["status"] == "failed"]
    if not params["manual_fallback"]:
        failed += pending
    if failed:
        module.fail_json(msg="; ".join("município %s: %s" % (r["ibge"] or "?", r["error"]) for r in failed),
                         error_code=failed[0]["error_code"], **result)
    return result


def main():
    entry_options = dict(
        ibge=dict(type="str"),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        services=dict(type="list", elements="str", choices=["rnds", "cadsus"]),
        certificate=dict(type="str"),
        certificate_password=dict(type="str", no_log=True),
        requester_id=dict(type="str"),
        certificate_fingerprint=dict(type="str"),
    )
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", default="http://127.0.0.1:8080"),
            username=dict(type="str"),
            password=dict(type="str", no_log=True),
            municipio=dict(type="str"),
            state=dict(type="str", default="enabled", choices=["enabled", "disabled"]),
            services=dict(type="list", elements="str", default=["rnds"], choices=["rnds", "cadsus"]),
            certificate=dict(type="str"),
            certificate_password=dict(type="str", no_log=True),
            requester_id=dict(type="str"),
            certificate_fingerprint=dict(type="str"),
            municipios=dict(type="list", elements="dict", options=entry_options),
            manual_fallback=dict(type="bool", default=True),
            option_labels=dict(OPTION_LABELS_SPEC),
            # handled by the action plugin on the controller (never sent here)
            from_inventory=dict(type="bool", default=False),
            limit_ibge=dict(type="raw"),
            certificate_fingerprints=dict(type="dict"),
            **connection_argument_spec()
        ),
        mutually_exclusive=[("municipio", "municipios")],
        supports_check_mode=True,
    )
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
