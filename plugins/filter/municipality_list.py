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
        C(rnds_services), C(rnds_expected_cnpj)).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Show which municipalities a host serves (no secrets printed)
  ansible.builtin.debug:
    msg: "{{ rnds_municipios | default([]) | esus.rnds.municipality_list(hostvars[inventory_hostname]) | map(attribute='ibge') }}"
"""

RETURN = r"""
_value:
  description:
    - One dict per municipality with the keys C(ibge), C(nome), C(requester_id),
      C(certificate_src), C(certificate_name), C(certificate_password), C(admin_user),
      C(admin_password), C(services), C(expected_cnpj).
  type: list
  elements: dict
"""

import posixpath

from ansible.errors import AnsibleFilterError

# public per-municipality variable -> key of the normalised entry
_KEYS = {
    "rnds_municipio_ibge": "ibge",
    "rnds_municipio_nome": "nome",
    "rnds_requester_id": "requester_id",
    "rnds_certificate_src": "certificate_src",
    "rnds_certificate_name": "certificate_name",
    "rnds_certificate_password": "certificate_password",
    "rnds_pec_admin_user": "admin_user",
    "rnds_pec_admin_password": "admin_password",
    "rnds_services": "services",
    "rnds_expected_cnpj": "expected_cnpj",
}


def _basename(path):
    return posixpath.basename(str(path).replace("\\", "/")) if path else ""


def municipality_list(municipios, host):
    if municipios is None:
        municipios = []
    if not isinstance(municipios, (list, tuple)):
        raise AnsibleFilterError("rnds_municipios deve ser uma lista de dicionários (um por município)")
    host = host or {}
    entries = []
    for index, item in enumerate(municipios or [{}]):
        if not isinstance(item, dict):
            raise AnsibleFilterError(
                "rnds_municipios[%d] deve ser um dicionário com as chaves rnds_municipio_ibge, "
                "rnds_requester_id, rnds_certificate_src ..." % index
            )
        unknown = sorted(k for k in item if k not in _KEYS)
        if unknown:
            raise AnsibleFilterError(
                "rnds_municipios[%d] tem chaves desconhecidas: %s (aceitas: %s)"
                % (index, ", ".join(unknown), ", ".join(sorted(_KEYS)))
            )
        entry = {}
        for public, key in _KEYS.items():
            value = item.get(public)
            if value is None or value == "":
                value = host.get(public)
            entry[key] = value
        entry["ibge"] = str(entry["ibge"] or "")
        entry["nome"] = entry["nome"] or ""
        entry["requester_id"] = str(entry["requester_id"] or "")
        entry["certificate_name"] = entry["certificate_name"] or _basename(entry["certificate_src"])
        entry["services"] = list(entry["services"] or ["rnds"])
        entries.append(entry)
    seen = set()
    for entry in entries:
        if len(entries) > 1 and not entry["ibge"]:
            raise AnsibleFilterError(
                "instalação multimunicipal: cada item de rnds_municipios precisa de rnds_municipio_ibge"
            )
        if entry["ibge"] and entry["ibge"] in seen:
            raise AnsibleFilterError("o município IBGE %s aparece duas vezes em rnds_municipios" % entry["ibge"])
        seen.add(entry["ibge"])
    return entries


class FilterModule(object):
    def filters(self):
        return {"municipality_list": municipality_list}
