# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter esus.rnds.cpf_format: punctuate a valid CPF."""

from __future__ import annotations

DOCUMENTATION = r"""
name: cpf_format
short_description: Format a CPF as C(529.982.247-25)
version_added: 0.1.0
author:
  - esus.rnds maintainers (!UNKNOWN)
description:
  - Returns the CPF with the usual punctuation, C(NNN.NNN.NNN-NN).
  - The input may already have punctuation or spaces, and may be an integer (leading zeros are restored).
  - Fails when the input is not a valid CPF (wrong check digits, wrong length, a single repeated digit). Test with
    P(esus.rnds.valid_cpf#test) first when the value may be invalid.
options:
  _input:
    description: The CPF, with or without punctuation.
    type: raw
    required: true
seealso:
  - plugin: esus.rnds.valid_cpf
    plugin_type: test
  - plugin: esus.rnds.cpf_normalize
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Show the holder of an e-CPF certificate
  ansible.builtin.debug:
    msg: "CPF do titular: {{ rnds_cert.cpf | esus.rnds.cpf_format }}"
  when: rnds_cert.cpf is esus.rnds.valid_cpf
"""

RETURN = r"""
_value:
  description: The formatted CPF.
  type: str
  sample: 529.982.247-25
"""

from ansible_collections.esus.rnds.plugins.module_utils._brdocs import format_cpf
from ansible_collections.esus.rnds.plugins.plugin_utils._jinja import strict_filter

cpf_format = strict_filter("cpf_format", format_cpf)


class FilterModule:
    """CPF formatting filter."""

    def filters(self):
        return {"cpf_format": cpf_format}
