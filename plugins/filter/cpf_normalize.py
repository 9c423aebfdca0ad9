# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter esus.rnds.cpf_normalize: a CPF without punctuation, for comparisons."""

from __future__ import annotations

DOCUMENTATION = r"""
name: cpf_normalize
short_description: Remove the punctuation of a CPF
version_added: 0.1.0
author:
  - esus.rnds maintainers (!UNKNOWN)
description:
  - Removes C(.), C(-), C(/) and white space, giving the 11-digit form the M(esus.rnds.pkcs12_info) module returns in
    RV(esus.rnds.pkcs12_info#module:cpf). Does not validate.
  - An integer (a CPF written without quotes in YAML) is zero-padded to 11 digits; V(null) gives an empty string.
options:
  _input:
    description: The CPF, with or without punctuation.
    type: raw
    required: true
seealso:
  - plugin: esus.rnds.valid_cpf
    plugin_type: test
  - plugin: esus.rnds.cpf_format
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Compare two ways of writing a CPF
  ansible.builtin.assert:
    that: ('529.982.247-25' | esus.rnds.cpf_normalize) == '52998224725'
"""

RETURN = r"""
_value:
  description: The CPF without punctuation.
  type: str
  sample: "52998224725"
"""

from ansible_collections.esus.rnds.plugins.module_utils._brdocs import normalize_cpf


class FilterModule:
    """CPF normalisation filter."""

    def filters(self):
        return {"cpf_normalize": normalize_cpf}
