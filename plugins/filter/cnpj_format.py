# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter esus.rnds.cnpj_format: punctuate a valid CNPJ."""

from __future__ import annotations

DOCUMENTATION = r"""
name: cnpj_format
short_description: Format a CNPJ as C(12.345.678/0001-95)
version_added: 0.1.0
author:
  - esus.rnds maintainers (!UNKNOWN)
description:
  - Returns the CNPJ with the usual punctuation, C(NN.NNN.NNN/NNNN-NN). Alphanumeric CNPJs (IN RFB 2.229/2024) keep their
    letters in upper case, for example C(12.ABC.345/01DE-35).
  - The input may already have punctuation or spaces, and may be an integer (a CNPJ written without quotes in YAML loses
    its leading zeros; they are restored).
  - Fails when the input is not a valid CNPJ (wrong check digits, wrong length, a single repeated character). Test with
    P(esus.rnds.valid_cnpj#test) first when the value may be invalid.
options:
  _input:
    description: The CNPJ, with or without punctuation.
    type: raw
    required: true
seealso:
  - plugin: esus.rnds.valid_cnpj
    plugin_type: test
  - plugin: esus.rnds.cnpj_normalize
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Show the certificate's CNPJ the way people write it
  ansible.builtin.debug:
    msg: "CNPJ do certificado: {{ rnds_cert.cnpj | esus.rnds.cnpj_format }}"
  when: rnds_cert.cnpj is esus.rnds.valid_cnpj

- name: Alphanumeric CNPJ
  ansible.builtin.debug:
    msg: "{{ '12abc34501de35' | esus.rnds.cnpj_format }}"  # 12.ABC.345/01DE-35
"""

RETURN = r"""
_value:
  description: The formatted CNPJ.
  type: str
  sample: 12.345.678/0001-95
"""

from ansible_collections.esus.rnds.plugins.module_utils._brdocs import format_cnpj
from ansible_collections.esus.rnds.plugins.plugin_utils._jinja import strict_filter

cnpj_format = strict_filter("cnpj_format", format_cnpj)


class FilterModule:
    """CNPJ formatting filter."""

    def filters(self):
        return {"cnpj_format": cnpj_format}
