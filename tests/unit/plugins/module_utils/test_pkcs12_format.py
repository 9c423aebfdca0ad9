# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_pkcs12_format: the standard-library side of PKCS#12 that every loader shares (host and controller).

Real files from the test CA; the crypto library is used here only to build inputs.
"""

from __future__ import annotations

import pytest
import testca
from cryptography.hazmat.primitives import serialization

from ansible_collections.esus.rnds.plugins.module_utils import _pkcs12_format
from ansible_collections.esus.rnds.plugins.module_utils._pkcs12_format import (
    Pkcs12Error,
    check_framing,
    decode_der_string,
    mac_verifies,
    password_candidates,
)

# What OpenSSL < 1.1 wrote for a non-ASCII password: each UTF-8 byte taken as one character.
OLD_OPENSSL_FORM = testca.HARD_PASSWORD.encode("utf-8").decode("latin-1")


# ---------------------------------------------------------------------------------------------
# Password forms

def test_password_candidates():
    assert password_candidates(None) == [None, b""]
    assert password_candidates("") == [None, b""]
    assert password_candidates(b"") == [None, b""]
    assert password_candidates("senha") == [b"senha"]
    assert password_candidates(b"senha") == [b"senha"]
    utf8 = testca.HARD_PASSWORD.encode("utf-8")
    assert password_candidates(testca.HARD_PASSWORD) == [utf8, OLD_OPENSSL_FORM.encode("utf-8")]
    assert password_candidates(utf8) == password_candidates(testca.HARD_PASSWORD)


@pytest.mark.parametrize("flavour", ["aes", "3des", "legacy-rc2"])
def test_mac_tells_right_from_wrong_password(make_pkcs12, flavour):
    data = make_pkcs12(password=testca.HARD_PASSWORD, flavour=flavour).read_bytes()
    assert mac_verifies(data, password_candidates(testca.HARD_PASSWORD)) is True
    assert mac_verifies(data, password_candidates("Senha errada")) is False
    assert mac_verifies(data, password_candidates(None)) is False


def test_mac_accepts_the_old_openssl_form_through_the_candidates(make_pkcs12):
    data = make_pkcs12(password=OLD_OPENSSL_FORM, flavour="3des").read_bytes()
    candidates = password_candidates(testca.HARD_PASSWORD)
    assert mac_verifies(data, candidates[:1]) is False  # the plain UTF-8 form does not open it...
    assert mac_verifies(data, candidates) is True       # ...the second form does


def test_mac_not_checkable():
    assert mac_verifies(b"\x30\x03\x02\x01\x03", [b"x"]) is None


# ---------------------------------------------------------------------------------------------
# Framing, without any crypto library

def _framing_error(data):
    with pytest.raises(Pkcs12Error) as info:
        check_framing(data)
    return info.value


def test_complete_pkcs12_passes(make_pkcs12):
    assert check_framing(make_pkcs12().read_bytes()) is None


def test_der_certificate_is_recognised_structurally(ecnpj_leaf, test_ca):
    for cert in (ecnpj_leaf.cert, test_ca.root):
        exc = _framing_error(cert.public_bytes(serialization.Encoding.DER))
        assert exc.code == "certificate_only" and "DER" in exc.message


def test_der_csr_is_not_taken_for_a_certificate(ecnpj_leaf):
    exc = _framing_error(testca.csr_bytes(ecnpj_leaf, "der"))
    assert exc.code == "not_pkcs12"


def test_rc2_is_seen(make_pkcs12):
    assert _pkcs12_format.uses_rc2(make_pkcs12(flavour="legacy-rc2").read_bytes())
    assert not _pkcs12_format.uses_rc2(make_pkcs12(flavour="aes", name="aes.pfx").read_bytes())


# ---------------------------------------------------------------------------------------------
# DER helpers

@pytest.mark.parametrize("raw,expected", [
    (testca._der_string("12345678000195", "octet"), "12345678000195"),
    (testca._der_string("12345678000195", "printable"), "12345678000195"),
    (testca._der_string("JOSÉ", "utf8"), "JOSÉ"),
    (b"\xa0\x06\x13\x04ABCD", "ABCD"),
    (b"\x1e\x04\x00A\x00B", "AB"),
    (b"\x13\x05AB", None),      # length beyond the data
    (b"\x02\x01\x01", None),    # INTEGER: not a string
    (b"", None),
    ("texto", None),
])
def test_decode_der_string(raw, expected):
    assert decode_der_string(raw) == expected


def test_long_form_lengths():
    value = "X" * 300
    assert decode_der_string(testca._der_string(value, "utf8")) == value
