# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja test esus.rnds.valid_cpf."""

from __future__ import annotations

DOCUMENTATION = r"""
name: valid_cpf
short_description: Check a CPF and its check digits
version_added: 0.1.0
author:
  - esus.rnds maintainers (!UNKNOWN)
description:
  - True when the input is an 11-digit CPF with correct modulo-11 check digits.
  - Punctuation (C(.), C(-)) and spaces are ignored; an integer is zero-padded to 11 digits.
  - CPFs made of one repeated digit (such as C(111.111.111-11)), which pass the check digit arithmetic, are rejected.
options:
  _input:
    description: The value to check.
    type: raw
    required: true
seealso:
  - plugin: esus.rnds.valid_cnpj
    plugin_type: test
  - plugin: esus.rnds.cpf_format
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Check the CPF of an e-CPF certificate
  ansible.builtin.assert:
    that: rnds_cert.cpf is esus.rnds.valid_cpf
    fail_msg: "O certificado não traz um CPF válido"
"""

RETURN = r"""
_value:
  description: Whether the input is a valid CPF.
  type: bool
"""

from ansible_collections.esus.rnds.plugins.module_utils._brdocs import valid_cpf


class TestModule:
    """CPF validation test."""

    def tests(self):
        return {"valid_cpf": valid_cpf}
