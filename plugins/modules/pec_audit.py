# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the work is done by plugins/action/pec_audit.py, which runs the modules
# pec_info, pec_rnds_info and rnds_auth and validates the inventory's certificates on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pec_audit
short_description: Collect the audit data of one PEC e-SUS APS server in one task
version_added: 0.1.0
description:
  - Read-only. Everything the fleet report (M(esus.rnds.rnds_report)) needs from one server, in one task per host,
    from the host's inventory variables (as the role C(esus.rnds.audit) documents them, checked against its argument
    spec) - the installation (M(esus.rnds.pec_info)), the RNDS state of every municipality
    (M(esus.rnds.pec_rnds_info)), optionally the mutual-TLS proof with every municipality's certificate
    (M(esus.rnds.rnds_auth)), and, on the controller, the inventory's certificate files validated as
    M(esus.rnds.pec_certificate) would before deploying them (O(esus.rnds.pec_certificate#module:validate_only=true)).
  - A municipality without admin login or certificate password in the inventory is reported, never sent to the PEC.
  - A failure of any part (server unreachable, PEC down, wrong password, a file that would not deploy) is recorded in
    the result for the report; the task itself does not fail because of the server.
  - Each option the task leaves out takes the value of the host variable O(option_labels) names for it (for example
    C(timeout) from C(rnds_pec_timeout)), read and checked with the other variables of the host; an unset or empty variable
    leaves the option's default. The role C(esus.rnds.audit) passes only O(option_labels).
  - O(option_labels) goes to every module the task runs (pec_info, pec_rnds_info, rnds_auth - where the labels of
    O(auth_environment) and O(auth_url) name its C(environment) and C(url) -, pec_certificate), so their messages name
    the variables of the caller.
  - "Windows servers: the PEC is read from the controller (delegate the task to C(localhost), as the role does); the
    installation facts and the mutual-TLS proof are not collected there."
author:
  - esus.rnds maintainers (!UNKNOWN)
extends_documentation_fragment:
  - esus.rnds.attributes
  - esus.rnds.attributes.info_module
  - esus.rnds.attributes.flow
  - esus.rnds.pec_connection
  - esus.rnds.option_labels
attributes:
  action:
    support: full
    details:
      - Runs the modules above on the host and validates the certificate files on the controller.
  async:
    support: none
options:
  return_contra_chave:
    description: Also read each installation's contra-chave (a secret; set C(no_log) on the task).
    type: bool
    default: false
  auth:
    description: Request a token from the RNDS auth endpoint with the certificate of every municipality (M(esus.rnds.rnds_auth)).
    type: bool
    default: false
  auth_environment:
    description: RNDS environment of O(auth).
    type: str
    choices: [homologacao, producao]
    default: homologacao
  auth_url:
    description: Token endpoint overriding O(auth_environment) (tests, mirrors).
    type: str
  min_days_remaining:
    description: Below this many days of validity the inventory's certificate is a warning (expired is an error).
    type: int
    default: 30
seealso:
  - module: esus.rnds.rnds_report
  - module: esus.rnds.pec_info
  - module: esus.rnds.pec_rnds_info
  - module: esus.rnds.rnds_auth
"""

EXAMPLES = r"""
- name: Audit every server, then write the report once
  esus.rnds.pec_audit:
    auth: true
  register: audit_result

- name: Write the fleet report
  esus.rnds.rnds_report:
    results: "{{ ansible_play_hosts | map('extract', hostvars, 'audit_result') | list }}"
    dest: reports
  run_once: true
"""

RETURN = r"""
host:
  description: Inventory name of the host.
  returned: always
  type: str
  sample: pec-saopaulo
pec_info:
  description: Result of M(esus.rnds.pec_info) (C(skipped) on Windows, C(unreachable) when the server did not answer).
  returned: always
  type: dict
rnds_info:
  description: Result of M(esus.rnds.pec_rnds_info), or C(failed) with C(msg) when it could not run.
  returned: always
  type: dict
auth:
  description:
    - One M(esus.rnds.rnds_auth) result per municipality, with C(ibge) and C(certificate_name); null without O(auth)
      or on Windows.
  returned: always
  type: list
  elements: dict
expected:
  description:
    - What the inventory expects - C(certificate_name), C(requester_id), C(expected_cnpj) (first municipality),
      C(services), C(min_days_remaining), C(report_contra_chave), C(certificates) (facts of each inventory file
      validated on the controller, by file name), C(source_errors) (why a file would not deploy, by file name) and
      C(municipios) (each municipality's public values, without passwords; C(missing) and C(problem) say what the
      inventory lacks).
  returned: always
  type: dict
"""
