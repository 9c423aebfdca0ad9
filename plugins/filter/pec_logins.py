# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter esus.rnds.pec_logins: the PEC logins of a host's municipalities."""

from __future__ import annotations

DOCUMENTATION = r"""
name: pec_logins
short_description: PEC logins of the municipalities served by one host
version_added: 0.1.0
description:
  - Turns the entries of P(esus.rnds.municipality_list#filter) into the C(municipios) option of
    M(esus.rnds.pec_rnds_info) (C(ibge), C(username), C(password)) or, with O(certificates=true),
    of M(esus.rnds.pec_rnds) (plus C(services), C(certificate), C(certificate_password),
    C(requester_id), C(certificate_fingerprint)).
  - An entry whose C(missing) list (see the O(esus.rnds.municipality_list#filter:require) option) names
    C(rnds_pec_admin_user) or C(rnds_pec_admin_password) is left out, so that no login is ever tried without
    them.
options:
  _input:
    description: Output of P(esus.rnds.municipality_list#filter).
    type: list
    elements: dict
    required: true
  certificates:
    description: Also give each municipality's certificate, services and identificador (for M(esus.rnds.pec_rnds)).
    type: bool
    default: false
  fingerprints:
    description: Certificate fingerprints by file name (validated on the controller), passed as C(certificate_fingerprint).
    type: dict
"""

EXAMPLES = r"""
- name: Read the RNDS state of every municipality of the host
  esus.rnds.pec_rnds_info:
    municipios: "{{ rnds_municipios | esus.rnds.municipality_list(hostvars[inventory_hostname]) | esus.rnds.pec_logins }}"

- name: Enable every municipality of the host in one run
  esus.rnds.pec_rnds:
    municipios: "{{ rnds_municipios | esus.rnds.municipality_list(hostvars[inventory_hostname]) | esus.rnds.pec_logins(certificates=true) }}"
"""

RETURN = r"""
_value:
  description: One dict per municipality with C(ibge), C(username) and C(password).
  type: list
  elements: dict
"""


from ansible_collections.esus.rnds.plugins.plugin_utils._municipalities import pec_logins


class FilterModule(object):
    def filters(self):
        return {"pec_logins": pec_logins}
