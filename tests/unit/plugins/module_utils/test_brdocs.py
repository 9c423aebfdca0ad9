# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CNPJ (numeric and alphanumeric, IN RFB 2.229/2024) and CPF checks."""

from __future__ import annotations

import pytest

from ansible_collections.esus.rnds.plugins.module_utils import _brdocs

VALID_CNPJS = [
    "11.222.333/0001-81",
    "11222333000181",
    "00.000.000/0001-91",   # leading zeros
    "33.000.167/0001-01",
    "60701190000104",
    "12.345.678/0001-95",
    " 12 345 678 0001 95 ",
    "12.ABC.345/01DE-35",   # example published by the Receita Federal for the alphanumeric CNPJ
    "12abc34501de35",       # lower case is accepted
]

INVALID_CNPJS = [
    "11.222.333/0001-82",   # wrong second digit
    "11.222.333/0001-91",   # wrong first digit
    "12.ABC.345/01DE-36",
    "12.ABC.345/01DE-53",   # swapped check digits
    "12.ABC.345/01DE-3A",   # check digits must be numeric
    "00000000000000",       # repeated character (passes mod 11)
    "11111111111111",
    "AAAAAAAAAAAA00",
    "1122233300018",        # 13 chars
    "112223330001811",      # 15 chars
    "12.ABC.345/01DÉ-35",   # not [0-9A-Z]
    "12_ABC_345_01DE_35",   # unknown punctuation
    "",
    None,
    True,
    [],
]


def _reference_dv(base):
    """Independent re-implementation of the IN RFB 2.229/2024 algorithm, for cross-checking."""
    def digit(chars, weights):
        total = 0
        for char, weight in zip(chars, weights):
            total += (ord(char) - ord("0")) * weight
        return 0 if total % 11 < 2 else 11 - total % 11
    first = digit(base, [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2])
    second = digit(base + str(first), [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2])
    return "%d%d" % (first, second)


@pytest.mark.parametrize("value,expected", [(v, True) for v in VALID_CNPJS] + [(v, False) for v in INVALID_CNPJS])
def test_valid_cnpj(value, expected):
    assert _brdocs.valid_cnpj(value) is expected


def test_receita_alphanumeric_example_by_computation():
    # 'A' is worth 17 (ord('A') - 48): check the letters really enter the sum.
    assert _brdocs.cnpj_check_digits("12ABC34501DE") == "35" == _reference_dv("12ABC34501DE")
    assert _brdocs.cnpj_check_digits("12.abc.345/01de") == "35"


@pytest.mark.parametrize("base", ["112223330001", "000000000001", "123456780001", "AB1234567890", "Z9Y8X7W6V5U4"])
def test_check_digits_match_reference(base):
    dv = _brdocs.cnpj_check_digits(base)
    assert dv == _reference_dv(base)
    assert _brdocs.valid_cnpj(base + dv)


def test_repeated_base_rejected_even_with_right_digits():
    for char in "0159AZ":
        base = char * 12
        assert not _brdocs.valid_cnpj(base + _reference_dv(base))


def test_check_digits_bad_base():
    with pytest.raises(ValueError):
        _brdocs.cnpj_check_digits("123")


def test_numeric_only_option():
    assert _brdocs.valid_cnpj("11.222.333/0001-81", alphanumeric=False)
    assert not _brdocs.valid_cnpj("12.ABC.345/01DE-35", alphanumeric=False)


def test_integer_cnpj_gets_leading_zeros():
    assert _brdocs.normalize_cnpj(191) == "00000000000191"
    assert _brdocs.valid_cnpj(191)
    assert _brdocs.format_cnpj(191) == "00.000.000/0001-91"


def test_normalize_cnpj():
    assert _brdocs.normalize_cnpj(" 12.abc.345/01de-35\n") == "12ABC34501DE35"
    assert _brdocs.normalize_cnpj(None) == ""
    assert _brdocs.normalize_cnpj(b"11.222.333/0001-81") == "11222333000181"


def test_format_cnpj():
    assert _brdocs.format_cnpj("11222333000181") == "11.222.333/0001-81"
    assert _brdocs.format_cnpj("12abc34501de35") == "12.ABC.345/01DE-35"
    assert _brdocs.format_cnpj("12.345.678/0001-95") == "12.345.678/0001-95"
    with pytest.raises(ValueError, match="CNPJ inválido"):
        _brdocs.format_cnpj("11222333000182")


VALID_CPFS = ["529.982.247-25", "52998224725", "111.444.777-35", "000.000.001-91"]
INVALID_CPFS = [
    "529.982.247-26", "529.982.247-52", "11111111111", "00000000000", "99999999999",
    "5299822472", "529982247250", "52998224A25", "", None, False,
]


@pytest.mark.parametrize("value,expected", [(v, True) for v in VALID_CPFS] + [(v, False) for v in INVALID_CPFS])
def test_valid_cpf(value, expected):
    assert _brdocs.valid_cpf(value) is expected


def test_cpf_repeated_digits_pass_mod11_but_are_rejected():
    # Every all-same-digit CPF has consistent check digits: only the explicit rule rejects them.
    for digit in "0123456789":
        assert not _brdocs.valid_cpf(digit * 11)


def test_cpf_int_and_format():
    assert _brdocs.normalize_cpf(191) == "00000000191"
    assert _brdocs.valid_cpf(191)
    assert _brdocs.format_cpf("52998224725") == "529.982.247-25"
    assert _brdocs.format_cpf(" 529 982 247 25 ") == "529.982.247-25"
    with pytest.raises(ValueError, match="CPF inválido"):
        _brdocs.format_cpf("52998224726")


# --- numbers as people paste them (PDF, Word): typographic separators, foreign letters ---------

PASTED_SEPARATORS = {
    "en dash U+2013": "\u2013",
    "em dash U+2014": "\u2014",
    "minus sign U+2212": "\u2212",
    "hyphen U+2010": "\u2010",
    "non-breaking hyphen U+2011": "\u2011",
    "full-width hyphen-minus U+FF0D": "\uff0d",
}


@pytest.mark.parametrize("dash", list(PASTED_SEPARATORS.values()), ids=list(PASTED_SEPARATORS))
def test_cnpj_and_cpf_with_typographic_dashes(dash):
    assert _brdocs.valid_cnpj("11.222.333/0001%s81" % dash)
    assert _brdocs.normalize_cnpj("11.222.333/0001%s81" % dash) == "11222333000181"
    assert _brdocs.valid_cnpj("12.ABC.345/01DE%s35" % dash)
    assert _brdocs.valid_cpf("529.982.247%s25" % dash)
    assert _brdocs.normalize_cpf("529.982.247%s25" % dash) == "52998224725"
    assert _brdocs.format_cpf("529.982.247%s25" % dash) == "529.982.247-25"


def test_cnpj_with_full_width_solidus_and_full_stop():
    pasted = "11\uff0e222\uff0e333\uff0f0001-81"
    assert _brdocs.normalize_cnpj(pasted) == "11222333000181"
    assert _brdocs.valid_cnpj(pasted)
    assert _brdocs.format_cnpj(pasted) == "11.222.333/0001-81"
    assert _brdocs.valid_cnpj("12.ABC.345\uff0f01DE\u201335")


def test_no_break_space_is_a_separator():
    assert _brdocs.valid_cnpj("11\u00a0222\u00a0333\u00a00001\u00a081")


def _alnum_cnpj(base):
    return base + _brdocs.cnpj_check_digits(base)


def test_only_ascii_letters_are_upper_cased():
    # str.upper() maps the ligature "\ufb01" to "FI" and the dotless "\u0131" to "I": a pasted
    # foreign character must not turn into a valid CNPJ letter.
    real = _alnum_cnpj("AFI345678I01")
    assert _brdocs.valid_cnpj(real)
    assert _brdocs.valid_cnpj(real.lower())
    ligature = real.replace("FI", "\ufb01")
    dotless = real.replace("I", "\u0131")
    for pasted in (ligature, dotless, dotless.lower()):
        assert not _brdocs.valid_cnpj(pasted), pasted
        with pytest.raises(ValueError):
            _brdocs.format_cnpj(pasted)
    assert _brdocs.normalize_cnpj(ligature) == "A\ufb01345678I01" + real[12:]
    assert _brdocs.normalize_cnpj("\u0131\u00df") == "\u0131\u00df"   # not "ISS"
    assert _brdocs.normalize_cnpj("ab.c/d-e") == "ABCDE"


def test_full_width_digits_are_not_digits():
    assert not _brdocs.valid_cnpj("\uff11\uff11222333000181")
    assert not _brdocs.valid_cpf("\uff15\uff12\uff19.982.247-25")


def test_shapes_report_a_document_as_it_is_carried():
    # shape only: check digits are the policy's business (a certificate's CNPJ is reported as read)
    assert _brdocs.cnpj_shape("11.222.333/0001-82") == "11222333000182"
    assert _brdocs.cnpj_shape(" 12.abc.345/01de-35 ") == "12ABC34501DE35"
    for not_cnpj in ("1122233300018", "12.ABC.345/01DE-3A", "12.ABC.345/01DÉ-35", "", None, True):
        assert _brdocs.cnpj_shape(not_cnpj) is None, not_cnpj
    assert _brdocs.cpf_shape("529.982.247-26") == "52998224726"
    for not_cpf in ("5299822472", "52998224725A", "\uff15\uff12\uff19.982.247-25", None):
        assert _brdocs.cpf_shape(not_cpf) is None, not_cpf


def test_display_cnpj_never_raises():
    assert _brdocs.display_cnpj("12345678000195") == "12.345.678/0001-95"
    assert _brdocs.display_cnpj("12abc34501de35") == "12.ABC.345/01DE-35"
    assert _brdocs.display_cnpj("11222333000182") == "11.222.333/0001-82"  # wrong check digit, still readable
    assert _brdocs.display_cnpj(" 123 ") == "123"
    assert _brdocs.display_cnpj(None) == ""


def test_cnpj_with_lost_zeros():
    base = "012345678000"
    full = base + _brdocs.cnpj_check_digits(base)
    assert _brdocs.cnpj_with_lost_zeros(full.lstrip("0")) == full          # a spreadsheet read it as a number
    assert _brdocs.cnpj_with_lost_zeros("191") == "00000000000191"
    assert _brdocs.cnpj_with_lost_zeros(full) is None                      # nothing lost
    assert _brdocs.cnpj_with_lost_zeros("12345678000") is None             # padded, still not a valid CNPJ
    assert _brdocs.cnpj_with_lost_zeros("12ABC34501DE3") is None           # not digits
    assert _brdocs.cnpj_with_lost_zeros("") is None and _brdocs.cnpj_with_lost_zeros(None) is None
