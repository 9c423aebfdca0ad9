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
    M(esus.rnds.pec_rnds_info), a list of C(ibge), C(username) and C(password).
options:
  _input:
    description: Output of P(esus.rnds.municipality_list#filter).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Read the RNDS state of every municipality of the host
  esus.rnds.pec_rnds_info:
    municipios: "{{ rnds_municipios | esus.rnds.municipality_list(hostvars[inventory_hostname]) | esus.rnds.pec_logins }}"
"""

RETURN = r"""
_value:
  description: One dict per municipality with C(ibge), C(username) and C(password).
  type: list
  elements: dict
"""


def pec_logins(entries):
    return [
        {"ibge": entry["ibge"], "username": entry["admin_user"], "password": entry["admin_password"]}
        for entry in entries or []
    ]


class FilterModule(object):
    def filters(self):
        return {"pec_logins": pec_logins}
