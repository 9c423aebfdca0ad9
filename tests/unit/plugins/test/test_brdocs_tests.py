# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja tests valid_cnpj and valid_cpf in Python.

Through a real ansible run: tests/integration/plugins/test/test_brdocs_tests.py.
"""

from __future__ import annotations

import pytest

from ansible_collections.esus.rnds.plugins.test import valid_cnpj, valid_cpf


def _tests():
    found = dict(valid_cnpj.TestModule().tests())
    found.update(valid_cpf.TestModule().tests())
    return found


@pytest.mark.parametrize("value,expected", [
    ("11.222.333/0001-81", True),
    ("12.ABC.345/01DE-35", True),
    ("12abc34501de35", True),
    ("11.222.333/0001-82", False),
    ("00.000.000/0000-00", False),
    ("", False),
    (None, False),
])
def test_valid_cnpj(value, expected):
    assert _tests()["valid_cnpj"](value) is expected


def test_valid_cnpj_numeric_only():
    assert _tests()["valid_cnpj"]("12.ABC.345/01DE-35", alphanumeric=False) is False
    assert _tests()["valid_cnpj"]("11.222.333/0001-81", alphanumeric=False) is True


@pytest.mark.parametrize("value,expected", [
    ("529.982.247-25", True),
    ("52998224725", True),
    ("111.111.111-11", False),
    ("529.982.247-26", False),
    ("5299822472", False),
])
def test_valid_cpf(value, expected):
    assert _tests()["valid_cpf"](value) is expected
