# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter esus.rnds.cnpj_normalize: a CNPJ without punctuation, for comparisons."""

from __future__ import annotations

DOCUMENTATION = r"""
name: cnpj_normalize
short_description: Remove the punctuation of a CNPJ
version_added: 0.1.0
author:
  - esus.rnds maintainers (!UNKNOWN)
description:
  - Removes C(.), C(/), C(-) and white space and upper-cases letters, giving the 14-character form the
    M(esus.rnds.pkcs12_info) module returns in RV(esus.rnds.pkcs12_info#module:cnpj). Does not validate.
  - An integer (a CNPJ written without quotes in YAML) is zero-padded to 14 digits; V(null) gives an empty string.
options:
  _input:
    description: The CNPJ, with or without punctuation.
    type: raw
    required: true
seealso:
  - plugin: esus.rnds.valid_cnpj
    plugin_type: test
  - plugin: esus.rnds.cnpj_format
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Compare the expected CNPJ with the certificate's
  ansible.builtin.assert:
    that: rnds_cert.cnpj == (rnds_expected_cnpj | esus.rnds.cnpj_normalize)
    fail_msg: "O certificado é de outro CNPJ"
"""

RETURN = r"""
_value:
  description: The CNPJ without punctuation.
  type: str
  sample: "12345678000195"
"""

from ansible_collections.esus.rnds.plugins.module_utils._brdocs import normalize_cnpj


class FilterModule:
    """CNPJ normalisation filter."""

    def filters(self):
        return {"cnpj_normalize": normalize_cnpj}
