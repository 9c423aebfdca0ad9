# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja test esus.rnds.valid_cnpj."""

from __future__ import annotations

DOCUMENTATION = r"""
name: valid_cnpj
short_description: Check a CNPJ (numeric or alphanumeric) and its check digits
version_added: 0.1.0
author:
  - esus.rnds maintainers (!UNKNOWN)
description:
  - True when the input is a well-formed CNPJ with correct modulo-11 check digits.
  - Accepts the alphanumeric CNPJ of IN RFB 2.229/2024 (12 characters C([0-9A-Z]) plus 2 numeric check digits, each
    character valued by its ASCII code minus 48), lower case letters included.
  - Punctuation (C(.), C(/), C(-)) and spaces are ignored; an integer is zero-padded to 14 digits.
  - A CNPJ whose 12-character base is one repeated character (such as C(00.000.000/0000-00)) is rejected.
options:
  _input:
    description: The value to check.
    type: raw
    required: true
  alphanumeric:
    description: Accept alphanumeric CNPJs. Set to V(false) to accept only the classic all-digit form.
    type: bool
    default: true
seealso:
  - plugin: esus.rnds.valid_cpf
    plugin_type: test
  - plugin: esus.rnds.cnpj_format
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Check the CNPJ given in the inventory
  ansible.builtin.assert:
    that: rnds_expected_cnpj is esus.rnds.valid_cnpj
    fail_msg: "rnds_expected_cnpj não é um CNPJ válido"

- name: Alphanumeric CNPJ (example of the Receita Federal)
  ansible.builtin.assert:
    that:
      - "'12.ABC.345/01DE-35' is esus.rnds.valid_cnpj"
      - "'12.ABC.345/01DE-35' is not esus.rnds.valid_cnpj(alphanumeric=false)"
"""

RETURN = r"""
_value:
  description: Whether the input is a valid CNPJ.
  type: bool
"""

from ansible_collections.esus.rnds.plugins.module_utils._brdocs import valid_cnpj


def valid_cnpj_test(value, alphanumeric=True):
    return valid_cnpj(value, alphanumeric=alphanumeric)


class TestModule:
    """CNPJ validation test."""

    def tests(self):
        return {"valid_cnpj": valid_cnpj_test}
