# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the work is done on the controller by plugins/action/pec_contract_from_har.py
# (with plugins/plugin_utils/_har.py, _har_secrets.py, _har_guess.py and _har_contract.py).

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pec_contract_from_har
short_description: Turn a browser HAR capture of the PEC Certificados tab into a PEC API contract file
version_added: 0.1.0
description:
  - The PEC e-SUS APS publishes no API for its Certificados tab (Gestão municipal), so the collection keeps the
    GraphQL operations of that tab in a replaceable contract file (see C(pec_contracts/modelo.yml) and
    C(docs/pec-api.md)). This module writes such a file from what a browser recorded on a real PEC.
  - "How to capture: open the PEC in a browser, Developer tools > Network (tick \"Preserve log\"), log in as the
    Administrador Municipal, choose that access, open Gestão municipal > Certificados, pick the certificate, type the
    password and the identificador do solicitante, click Habilitar, then \"Save all as HAR\". The HAR holds the
    passwords and session cookies: delete it once the contract is written."
  - "Runs on the controller only (an action plugin; nothing is sent to a managed host): use it in a play on
    C(localhost) (C(hosts: localhost), C(connection: local)), or with C(delegate_to: localhost). O(src), O(dest) and a
    O(base) path are controller paths; relative paths are relative to the directory where C(ansible-playbook) runs."
  - Reads every C(POST .../api/graphql) request of the HAR (C(request.postData.text), one object or an array of them;
    the answer in C(response.content.text), base64 when C(content.encoding) is C(base64)).
  - The session operations C(Login), C(Logout), C(Sessao) and C(SelecionarAcesso) are confirmed and kept in the
    collection's code, so they are ignored and their variables are never copied; only the answer of C(Sessao) is
    read, to find how an Administrador Municipal access names its municipality (RV(access)).
  - "Heuristics used to place each other operation (RV(operations) says which captured operation went where and why,
    RV(unmapped) lists the ones it could not place): a mutation whose variables have a password-like key
    (C(senha), C(password), C(pass)) and a C(.pfx)/C(.p12) file name is C(enable); a mutation whose name or root field
    contains C(desabilit), C(disable) or C(remov) is C(disable); a query whose answer holds a list of objects with a
    C(.pfx)/C(.p12) name is C(list_files); a query whose answer holds a contra-chave (8 groups of 4 C([0-9A-Za-z])
    joined by C(-)) is C(contra_chave); a query whose answer holds a C(.pfx)/C(.p12) name or a list of services
    (C(RNDS)/C(CADSUS)) is C(read_state) (an empty answer of a query named like C(certificad), C(rnds) or
    C(habilitac) is also taken as C(read_state), without fields); a query whose answer holds C(versao)/C(version)
    with a version number is C(version). Each root field of a query is examined separately, so one document may serve
    several operations."
  - "Variables: the value under a password-like key becomes C($password), the certificate file name (any
    C(.pfx)/C(.p12) text, or O(certificate)) C($certificate), the value under a key with C(identificador),
    C(solicitante) or C(requester) (or equal to O(requester_id)) C($requester_id), a list of C(RNDS)/C(CADSUS)
    C($services). CPF-looking values and token, cookie or session keys are removed (RV(dropped)); other literal
    values are kept and listed in RV(literals) to be checked."
  - "C(result) is the root field of the answer (or the path to the list of files, the contra-chave or the version);
    C(fields) are found by value: the C(.pfx)/C(.p12) name is C(certificate)/C(name), a list of C(RNDS)/C(CADSUS) is
    C(services), the identificador seen in Habilitar (or O(requester_id)) is C(requester_id); ISO dates and 64-hex
    values by key name (C(habilit) -> C(enabled_at); C(valid), C(venc), C(expir) -> C(not_after); C(modific),
    C(alterad) -> C(modified); C(fingerprint), C(impress) -> C(fingerprint_sha256); C(sha), C(hash) ->
    C(file_sha256)/C(sha256)); a number under C(tamanho)/C(size) is C(size). read_state, enable and disable answer
    the same state: when one of them was captured with nulls (for example the state read before Habilitar), a key
    recognised in another one is taken from there if the same path is in its answer. Fields it cannot find are
    left out."
  - "Parts the capture lacks come from the O(base) contract and RV(from_base) says which and why: an operation not
    captured (often C(disable), C(contra_chave), C(version)), an operation whose answer lacks the minimum fields
    (C(list_files) needs C(name); C(read_state) needs C(certificate) and C(services); C(enable)/C(disable) need one
    field), C(access) when no C(Sessao) answer shows an Administrador Municipal access with a 7-digit IBGE code,
    and each C(services) value not seen in the capture."
  - Error rules come from the captured C(errors[].extensions.classification) whose message says what went wrong
    (senha -> C(wrong_password), não encontrado -> C(certificate_missing), expirado -> C(expired), identificador ->
    C(requester_id), ...); the others are listed in RV(unclassified_errors). The base contract's rules follow.
  - "Refuses to keep secrets: every value under a password-like key anywhere in the HAR (request variables,
    documents, form data, query strings), every cookie, C(Authorization), XSRF and token value and every CPF-looking
    value is collected first; if any of them occurs in the contract about to be written, the task fails without
    writing and says where (never the value). Headers and cookies are never copied."
  - "The file starts with a comment saying where it came from (HAR file name, when it was captured, the PEC version
    seen in the C(apollographql-client-version) request header, generation date) and has C(confirmed: false) and
    C(contract_format: 1). It is checked with the collection's contract validation before it is written (atomically,
    mode C(0600); a missing parent folder is created with mode C(0750))."
  - "Idempotent: when O(dest) already has the same content (the C(# Gerado em:) line is ignored) nothing is written.
    A different existing file is only replaced with O(force=true)."
  - "Next step, shown by C(playbooks/pec_contract_from_har.yml) - check the file, then test it without changing
    anything with C(playbooks/audit.yml --check -e rnds_pec_api_contract=<dest>); set C(confirmed: true) only after."
author:
  - esus.rnds maintainers (!UNKNOWN)
extends_documentation_fragment:
  - esus.rnds.attributes
  - esus.rnds.attributes.files
  - esus.rnds.attributes.flow
  - esus.rnds.attributes.platform
attributes:
  action:
    support: full
    details:
      - Everything runs in the action plugin, on the controller.
  async:
    support: none
  check_mode:
    support: full
    details:
      - Builds and checks the contract and reports it (RV(contract)) without writing.
  diff_mode:
    support: full
    details:
      - The diff shows the contract file before and after (it holds no secret).
  idempotent:
    support: full
  platform:
    support: full
    platforms: posix
    details:
      - The controller.
  safe_file_operations:
    support: full
options:
  src:
    description:
      - Path of the HAR file saved by the browser, on the controller.
    type: path
    required: true
  dest:
    description:
      - Path of the contract file (YAML) to write, on the controller.
    type: path
    required: true
  name:
    description:
      - Name of the contract (its C(name) key), for example C(meu-pec-5.5). Defaults to the base name of O(dest)
        without extension.
    type: str
  base:
    description:
      - Contract used for the parts the capture lacks. A contract shipped with the collection (by name, as in
        C(pec_contracts/)) or the path of a contract file on the controller.
    type: str
    default: modelo
  certificate:
    description:
      - File name of the certificate chosen in the form (for example C(fms-3550308.pfx)). Optional; helps find it
        in the variables and in the answers.
    type: str
  requester_id:
    description:
      - Identificador do solicitante typed in the form. Optional; helps find it in the variables and in the answers.
    type: str
  force:
    description:
      - Replace O(dest) when it exists with a different content (for example a contract the team already edited).
    type: bool
    default: false
notes:
  - "The contract is a guess until the team checks it against its PEC; it keeps C(confirmed: false)."
  - "Known limits: services given as booleans (one per service) instead of a list are not recognised; a state
    given per service (a list of items with C(RNDS)/C(CADSUS)) is not representable in contract format 1; a
    GraphQL document whose fragments come before the operation fails the contract check; only one captured
    operation per contract operation is kept (the one with the most recognised fields)."
seealso:
  - module: esus.rnds.pec_rnds
  - module: esus.rnds.pec_rnds_info
"""

EXAMPLES = r"""
- name: Turn the capture into a contract (on the controller)
  esus.rnds.pec_contract_from_har:
    src: captura-certificados.har
    dest: contracts/meu-pec.yml
    name: meu-pec-5.5
    certificate: fms-3550308.pfx
    requester_id: "4507"
  delegate_to: localhost
  run_once: true
  register: contract

- name: Show what went where
  ansible.builtin.debug:
    msg: "{{ contract.operations | map(attribute='mapped_to') | list }}"
  run_once: true

- name: Replace a contract written before, based on another contract of the team
  esus.rnds.pec_contract_from_har:
    src: /tmp/pec-5.5.28.har
    dest: contracts/meu-pec.yml
    base: contracts/meu-pec-antigo.yml
    force: true
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
dest:
  description: Absolute path of the contract file.
  returned: success
  type: str
  sample: /srv/ansible/contracts/meu-pec.yml
src:
  description: Absolute path of the HAR file read.
  returned: success
  type: str
  sample: /srv/ansible/captura-certificados.har
name:
  description: Name given to the contract.
  returned: success
  type: str
  sample: meu-pec-5.5
base:
  description: The base contract used for what the capture lacks.
  returned: success
  type: str
  sample: modelo
written:
  description: Whether the file was written by this run (false in check mode and when nothing changed).
  returned: success
  type: bool
contract:
  description: The contract written (or that would be written, in check mode). Holds no secret from the capture.
  returned: success
  type: dict
  sample:
    contract_format: 1
    name: meu-pec-5.5
    confirmed: false
    services: {rnds: RNDS, cadsus: CADSUS}
operations:
  description: One entry per contract operation, captured or taken from the base, with the reason.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Name of the GraphQL operation (captured, or of the base contract).
      type: str
    type:
      description: C(query) or C(mutation) (captured operations).
      type: str
    entry:
      description: Position of the request in the HAR (1 = first entry).
      type: int
    mapped_to:
      description: Contract operation (C(list_files), C(read_state), C(enable), C(disable), C(contra_chave), C(version)).
      type: str
    source:
      description: C(captura) (written from the capture) or C(base) (copied from the base contract).
      type: str
    why:
      description: The heuristic that placed it, in Portuguese.
      type: str
    result:
      description: C(result) path found in the answer.
      type: str
    fields:
      description: C(fields) found (collection key -> path).
      type: dict
  sample:
    - name: HabilitarCertificado
      type: mutation
      entry: 7
      mapped_to: enable
      source: captura
      why: mutação com chave de senha (input.senha) e arquivo .pfx/.p12 (input.certificado) nas variáveis
      result: habilitarCertificado
      fields: {certificate: certificado, services: servicos}
unmapped:
  description: Captured operations (other than the session ones) that were not placed, with the reason.
  returned: success
  type: list
  elements: dict
  sample:
    - {name: NotificacoesQuery, type: query, entry: 12, why: a resposta não tem arquivo .pfx/.p12, serviços, contra-chave nem versão}
from_base:
  description: Parts taken from the base contract and why (C(operation) is a contract operation or C(access)).
  returned: success
  type: list
  elements: dict
  sample:
    - {operation: disable, why: não aparece na captura}
unclassified_errors:
  description: Captured GraphQL errors that did not become an error rule (secrets masked).
  returned: success
  type: list
  elements: dict
  sample:
    - {operation: HabilitarCertificado, classification: BusinessException, message: Falha ao processar, why: mensagem sem palavra conhecida}
dropped:
  description: Variables removed from the contract (CPF, tokens) with the operation and path.
  returned: success
  type: list
  elements: dict
literals:
  description: Fixed values kept in the variables, per operation (path -> value), to be checked by the team.
  returned: success
  type: dict
  sample: {enable: {input.origem: WEB}}
access:
  description: Where C(access) came from (C(source) C(captura) or C(base)) and why.
  returned: success
  type: dict
services:
  description: Service values seen in the capture (C(seen)) and the services taken from the base (C(from_base)).
  returned: success
  type: dict
pec_version:
  description: PEC version seen in the C(apollographql-client-version) request header, or null.
  returned: success
  type: str
  sample: 5.5.22
graphql_calls:
  description: Number of GraphQL requests found in the HAR.
  returned: success
  type: int
heuristics:
  description: The heuristics applied, in Portuguese (the same as described above).
  returned: success
  type: list
  elements: str
"""
