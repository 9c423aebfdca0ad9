# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters cnpj_format, cpf_format, cnpj_normalize, cpf_normalize in Python.

In a real play: tests/integration/plugins/filter/test_brdocs_filters.py.
"""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.esus.rnds.plugins.filter import cnpj_format, cnpj_normalize, cpf_format, cpf_normalize


def _filters():
    found = {}
    for module in (cnpj_format, cpf_format, cnpj_normalize, cpf_normalize):
        found.update(module.FilterModule().filters())
    return found


def test_filter_names():
    assert sorted(_filters()) == ["cnpj_format", "cnpj_normalize", "cpf_format", "cpf_normalize"]


@pytest.mark.parametrize("value,expected", [
    ("11222333000181", "11.222.333/0001-81"),
    ("11.222.333/0001-81", "11.222.333/0001-81"),
    ("12abc34501de35", "12.ABC.345/01DE-35"),
    (191, "00.000.000/0001-91"),
])
def test_cnpj_format(value, expected):
    assert _filters()["cnpj_format"](value) == expected


@pytest.mark.parametrize("value", ["11222333000182", "00000000000000", "", None, "12.ABC.345/01DE-3A"])
def test_cnpj_format_invalid(value):
    with pytest.raises(AnsibleFilterError, match="CNPJ inválido"):
        _filters()["cnpj_format"](value)


def test_cpf_format():
    assert _filters()["cpf_format"]("52998224725") == "529.982.247-25"
    with pytest.raises(AnsibleFilterError, match="CPF inválido"):
        _filters()["cpf_format"]("11111111111")


def test_normalize():
    assert _filters()["cnpj_normalize"]("12.abc.345/01de-35") == "12ABC34501DE35"
    assert _filters()["cnpj_normalize"](None) == ""
    assert _filters()["cpf_normalize"]("529.982.247-25") == "52998224725"
