# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter esus.rnds.municipality_list: one normalised entry per municipality of a host."""

from __future__ import annotations

DOCUMENTATION = r"""
name: municipality_list
short_description: Normalise the municipalities served by one PEC host
version_added: 0.1.0
description:
  - Takes the host's C(rnds_municipios) list (multimunicipal installations) and the host-level
    C(rnds_*) variables, and returns one entry per municipality in which every missing
    per-municipality key falls back to the host-level value.
  - A host without C(rnds_municipios) yields a single entry built from the host-level variables.
  - Used by the roles of this collection so they all read the inventory the same way.
options:
  _input:
    description: The C(rnds_municipios) list (may be empty or null).
    type: list
    elements: dict
    required: true
  host:
    description:
      - Host-level values, keyed by the public variable names, usually C(hostvars[inventory_hostname]) (C(rnds_municipio_ibge),
        C(rnds_requester_id), C(rnds_certificate_src), C(rnds_certificate_name),
        C(rnds_certificate_password), C(rnds_pec_admin_user), C(rnds_pec_admin_password),
        C(rnds_services), C(rnds_expected_cnpj), C(rnds_inventory_origin)).
    type: dict
    required: true
  require:
    description:
      - Public variable names every municipality must have (for example C(rnds_pec_admin_user),
        C(rnds_pec_admin_password), C(rnds_certificate_src), C(rnds_certificate_password),
        C(rnds_requester_id)). A value that is undefined, null or empty is missing; for
        C(rnds_certificate_password) only undefined or null (an empty password is a valid PKCS#12 password), and only
        when there is a certificate file to open.
      - Each entry then gets C(missing), the list of missing names, and C(problem), one pt-BR message
        that names every missing variable of that municipality and where it usually lives (the CSV
        column and line, C(secrets/<ibge>.yml), the vault file), or an empty string.
      - The check also refuses a certificate file name that is not C(.pfx)/C(.p12) (a C(.cer) is a
        certificate without its private key).
      - Nothing is read from the hosts; the check costs no connection.
    type: list
    elements: str
  host_name:
    description: Inventory name of the host, used in the messages of O(require).
    type: str
"""

EXAMPLES = r"""
- name: Check the inventory of this host before anything else (one task, no connection)
  ansible.builtin.assert:
    that: __problems | length == 0
    fail_msg: "{{ __problems | join(' ') }}"
    quiet: true
  vars:
    __problems: "{{ rnds_municipios | default([]) | esus.rnds.municipality_list(hostvars[inventory_hostname],
      require=['rnds_pec_admin_user', 'rnds_pec_admin_password'], host_name=inventory_hostname)
      | map(attribute='problem') | select | list }}"

- name: Show which municipalities a host serves (no secrets printed)
  ansible.builtin.debug:
    msg: "{{ rnds_municipios | default([]) | esus.rnds.municipality_list(hostvars[inventory_hostname]) | map(attribute='ibge') }}"
"""

RETURN = r"""
_value:
  description:
    - One dict per municipality with the keys C(ibge), C(nome), C(requester_id),
      C(certificate_src), C(certificate_name), C(certificate_password), C(admin_user),
      C(admin_password), C(services), C(expected_cnpj), C(origin) (where the municipality comes from,
      set by the P(esus.rnds.municipios#inventory) inventory plugin, else null) and, with O(require),
      C(missing) and C(problem).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.esus.rnds.plugins.plugin_utils._municipalities import MunicipalityError
from ansible_collections.esus.rnds.plugins.plugin_utils._municipalities import municipality_list as _municipality_list


def municipality_list(municipios, host, require=None, host_name=None):
    try:
        return _municipality_list(municipios, host, require=require, host_name=host_name)
    except MunicipalityError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule(object):
    def filters(self):
        return {"municipality_list": municipality_list}
