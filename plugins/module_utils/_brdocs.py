# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is internal to esus.rnds: no compatibility promise for other collections.
"""Brazilian document numbers: CNPJ (numeric and alphanumeric) and CPF.

Standard library only, Python >= 3.6, so it runs on PEC servers as well as on the controller.

CNPJ (IN RFB 2.229/2024): 12 characters ``[0-9A-Z]`` followed by 2 numeric check digits. Each
character is valued ``ord(c) - 48`` (so ``'0'..'9'`` are 0..9 and ``'A'..'Z'`` are 17..42) and
the check digits use the classic modulo-11 weights. A purely numeric CNPJ is a special case.
"""

from __future__ import absolute_import, division, print_function

import re

_CNPJ_RE = re.compile(r"^[0-9A-Z]{12}[0-9]{2}$")
_CPF_RE = re.compile(r"^[0-9]{11}$")
# Separators people paste: ASCII ``. / -`` and white space (no-break space included), plus what
# PDFs and word processors put in their place: hyphen U+2010, non-breaking hyphen U+2011, figure
# dash U+2012, en dash U+2013, em dash U+2014, minus sign U+2212, full-width hyphen-minus U+FF0D,
# full-width full stop U+FF0E and full-width solidus U+FF0F.
_STRIP_RE = re.compile("[\\s./\\-\u2010\u2011\u2012\u2013\u2014\u2212\uff0d\uff0e\uff0f]")
# Only ASCII letters are upper-cased: str.upper() would turn a dotless "\u0131" into "I" and the
# ligature "\ufb01" into "FI", making valid-looking CNPJ characters out of foreign ones.
_ASCII_UPPER = dict((code, code - 32) for code in range(ord("a"), ord("z") + 1))

_CNPJ_WEIGHTS_1 = (5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)
_CNPJ_WEIGHTS_2 = (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)


def _mod11_digit(chars, weights):
    total = sum((ord(c) - 48) * w for c, w in zip(chars, weights))
    rest = total % 11
    return 0 if rest < 2 else 11 - rest


def _normalize(value, width):
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, int):
        # A document number written without quotes in YAML arrives as an int: leading zeros are lost.
        return "%0*d" % (width, value) if value >= 0 else str(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return ""
    return _STRIP_RE.sub("", value).translate(_ASCII_UPPER)


def normalize_cnpj(value):
    """Drop separators (``.``, ``/``, ``-``, their typographic look-alikes) and white space, and
    upper-case ASCII letters. No validation.

    An integer is zero-padded to 14 digits (a CNPJ written without quotes in YAML).
    """
    return _normalize(value, 14)


def cnpj_shape(value):
    """``value`` normalised when it has the shape of a CNPJ (12 ``[0-9A-Z]`` + 2 digits), else None.

    Check digits are not verified: for reporting a number as a document carries it.
    """
    cnpj = normalize_cnpj(value)
    return cnpj if _CNPJ_RE.match(cnpj) else None


def cnpj_check_digits(base):
    """Return the two check digits (a 2-character string) for a 12-character CNPJ base."""
    base = normalize_cnpj(base)
    if not re.match(r"^[0-9A-Z]{12}$", base):
        raise ValueError("a base do CNPJ precisa de 12 caracteres [0-9A-Z]")
    first = _mod11_digit(base, _CNPJ_WEIGHTS_1)
    second = _mod11_digit(base + str(first), _CNPJ_WEIGHTS_2)
    return "%d%d" % (first, second)


def valid_cnpj(value, alphanumeric=True):
    """True for a well-formed CNPJ (numeric or alphanumeric) with correct check digits.

    Punctuation is allowed; lower case letters are accepted. A CNPJ whose 12-character base is a
    single repeated character (``00000000000000``, ``11111111111180``...) is rejected.
    ``alphanumeric=False`` accepts only the classic all-digit CNPJ.
    """
    cnpj = normalize_cnpj(value)
    if not _CNPJ_RE.match(cnpj):
        return False
    if not alphanumeric and not cnpj.isdigit():
        return False
    if len(set(cnpj[:12])) == 1:
        return False
    return cnpj[12:] == cnpj_check_digits(cnpj[:12])


def cnpj_with_lost_zeros(value):
    """The valid CNPJ ``value`` was before a spreadsheet (or a YAML number) dropped its leading zeros:
    fewer than 14 digits that make a valid CNPJ once zero-padded. None otherwise."""
    cnpj = normalize_cnpj(value)
    if cnpj.isdigit() and len(cnpj) < 14 and valid_cnpj(cnpj.zfill(14)):
        return cnpj.zfill(14)
    return None


def _punctuate_cnpj(cnpj):
    return "%s.%s.%s/%s-%s" % (cnpj[0:2], cnpj[2:5], cnpj[5:8], cnpj[8:12], cnpj[12:14])


def format_cnpj(value):
    """Return ``'12.345.678/0001-95'`` (or ``'12.ABC.345/01DE-35'``); ValueError when invalid."""
    cnpj = normalize_cnpj(value)
    if not valid_cnpj(cnpj):
        raise ValueError("CNPJ inválido: %r" % (value,))
    return _punctuate_cnpj(cnpj)


def display_cnpj(value):
    """A CNPJ for a message: punctuated when it has the shape of one (check digits not verified),
    otherwise the value as given (stripped text; ``''`` for None). Never raises."""
    cnpj = cnpj_shape(value)
    if cnpj is not None:
        return _punctuate_cnpj(cnpj)
    return "" if value is None else str(value).strip()


def normalize_cpf(value):
    """Drop separators (``.``, ``-``, ``/``, their typographic look-alikes) and white space. No validation.

    An integer is zero-padded to 11 digits (a CPF written without quotes in YAML).
    """
    return _normalize(value, 11)


def cpf_shape(value):
    """``value`` normalised when it has the shape of a CPF (11 digits), else None. Check digits not verified."""
    cpf = normalize_cpf(value)
    return cpf if _CPF_RE.match(cpf) else None


def valid_cpf(value):
    """True for an 11-digit CPF with correct check digits; all-same-digit CPFs are rejected."""
    cpf = normalize_cpf(value)
    if not _CPF_RE.match(cpf):
        return False
    if len(set(cpf)) == 1:
        return False
    first = _mod11_digit(cpf[:9], range(10, 1, -1))
    second = _mod11_digit(cpf[:9] + str(first), range(11, 1, -1))
    return cpf[9:] == "%d%d" % (first, second)


def format_cpf(value):
    """Return ``'529.982.247-25'``; ValueError when invalid."""
    cpf = normalize_cpf(value)
    if not valid_cpf(cpf):
        raise ValueError("CPF inválido: %r" % (value,))
    return "%s.%s.%s-%s" % (cpf[0:3], cpf[3:6], cpf[6:9], cpf[9:11])
