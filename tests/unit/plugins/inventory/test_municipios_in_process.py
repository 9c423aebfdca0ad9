# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""esus.rnds.municipios inventory plugin in process: IBGE check digit and regions (plugin_utils/_municipios_csv).

The plugin run by ansible-inventory / ansible-playbook is tested in
tests/integration/plugins/inventory/test_municipios.py.
"""

from __future__ import annotations

import pytest

from ansible_collections.esus.rnds.plugins.plugin_utils import _municipios_csv


@pytest.mark.parametrize("code", ["3550308", "3304557", "3106200", "4106902", "4314902", "5300108", "2304400"])
def test_ibge_check_digit_holds_for_capitals(code):
    assert _municipios_csv.ibge_check_digit(code[:6]) == int(code[6])
    assert _municipios_csv.valid_ibge(code)


@pytest.mark.parametrize("code", sorted(_municipios_csv.IBGE_DV_EXCEPTIONS))
def test_ibge_known_exceptions_are_accepted(code):
    assert _municipios_csv.ibge_check_digit(code[:6]) != int(code[6])
    assert _municipios_csv.valid_ibge(code)


@pytest.mark.parametrize("code", ["3550309", "355030", "35503080", "9950308", "0000000", "35503O8", ""])
def test_ibge_invalid_codes(code):
    assert not _municipios_csv.valid_ibge(code)


def test_every_uf_has_a_region():
    assert len(_municipios_csv.UF_CODES) == 27
    assert set(_municipios_csv.REGIAO_BY_UF) == set(_municipios_csv.UF_CODES)
