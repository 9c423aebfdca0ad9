# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pkcs12_info module in process.

For real through ``ansible`` and ``ansible-playbook``: tests/integration/plugins/modules/test_pkcs12_info.py.
"""

from __future__ import annotations

import base64
import json
import os

import pytest
import testca
from ansible.module_utils.testing import patch_module_args

from ansible_collections.esus.rnds.plugins.modules import pkcs12_info

# Pieces of testca.HARD_PASSWORD that must never show up anywhere.
SECRET_PIECES = (testca.HARD_PASSWORD, "Sênha", "S\\u00eanha", "`id`", "'aspas'", "\\\\ fim")


def _run(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as info:
            pkcs12_info.main()
    out = capsys.readouterr().out
    return info.value.code, json.loads(out), out


def _assert_no_secret(text):
    for piece in SECRET_PIECES:
        assert piece not in text


def test_path(make_pkcs12, capsys):
    path = make_pkcs12(password=testca.HARD_PASSWORD, flavour="legacy-rc2")
    code, result, raw = _run({"path": str(path), "passphrase": testca.HARD_PASSWORD}, capsys)
    assert code == 0
    assert result["changed"] is False
    assert result["cnpj"] == "12345678000195"
    assert result["certificate_type"] == "A1"
    assert result["icp_brasil"] is True
    _assert_no_secret(raw)


def test_check_mode(make_pkcs12, capsys):
    path = make_pkcs12()
    before = path.read_bytes()
    code, result, _raw = _run({"path": str(path), "passphrase": "senha", "_ansible_check_mode": True}, capsys)
    assert code == 0 and result["changed"] is False and result["has_private_key"] is True
    assert path.read_bytes() == before


def test_content(make_pkcs12, capsys):
    data = make_pkcs12(password=testca.HARD_PASSWORD, flavour="3des").read_bytes()
    encoded = base64.encodebytes(data).decode("ascii")  # with line breaks: accepted
    code, result, raw = _run({"content": encoded, "passphrase": testca.HARD_PASSWORD}, capsys)
    assert code == 0 and result["chain_length"] == 2
    assert encoded.replace("\n", "")[:40] not in raw


def test_no_password_file(make_pkcs12, capsys):
    path = make_pkcs12(password="", flavour="none")
    code, result, _raw = _run({"path": str(path)}, capsys)
    assert code == 0 and result["key_matches"] is True


@pytest.mark.parametrize("labels,shown", [
    (None, "(passphrase)"),  # a direct module user reads the module option
    ({"passphrase": "rnds_certificate_password"}, "(rnds_certificate_password)"),  # a role relabels it
])
def test_wrong_password(make_pkcs12, capsys, labels, shown):
    path = make_pkcs12(password="outra")
    args = {"path": str(path), "passphrase": testca.HARD_PASSWORD}
    if labels:
        args["option_labels"] = labels
    code, result, raw = _run(args, capsys)
    assert code == 1 and result["failed"] is True
    assert result["error_code"] == "wrong_password"
    assert "Confira a senha do certificado %s" % shown in result["msg"]
    assert "{option:" not in raw
    _assert_no_secret(raw)


def test_password_alias(make_pkcs12, capsys):
    # the name pec_certificate and rnds_auth used before: all three modules accept both
    path = make_pkcs12(password=testca.HARD_PASSWORD)
    code, result, raw = _run({"path": str(path), "password": testca.HARD_PASSWORD}, capsys)
    assert code == 0 and result["cnpj"] == "12345678000195"
    _assert_no_secret(raw)


@pytest.mark.parametrize("encoding", ["der", "pem"])
def test_cer_refused(make_cer, capsys, encoding):
    code, result, _raw = _run({"path": str(make_cer(encoding=encoding)), "passphrase": "x"}, capsys)
    assert code == 1 and result["error_code"] == "certificate_only"
    assert "um .cer contém só o certificado" in result["msg"]


def test_empty_and_truncated(tmp_path, make_pkcs12, capsys):
    empty = tmp_path / "vazio.pfx"
    empty.write_bytes(b"")
    code, result, _raw = _run({"path": str(empty), "passphrase": "x"}, capsys)
    assert code == 1 and result["error_code"] == "empty"
    data = make_pkcs12().read_bytes()
    cut = tmp_path / "cortado.pfx"
    cut.write_bytes(data[:1000])
    code, result, _raw = _run({"path": str(cut), "passphrase": "senha"}, capsys)
    assert code == 1 and result["error_code"] == "truncated"


def test_missing_file_and_directory(tmp_path, capsys):
    code, result, _raw = _run({"path": str(tmp_path / "nada.pfx")}, capsys)
    assert code == 1 and "não encontrado" in result["msg"]
    code, result, _raw = _run({"path": str(tmp_path)}, capsys)
    assert code == 1 and "pasta" in result["msg"]


def test_bad_base64(capsys):
    code, result, _raw = _run({"content": "não é base64!"}, capsys)
    assert code == 1 and "base64" in result["msg"]


@pytest.mark.parametrize("args", [{}, {"path": "/x", "content": "AAAA"}])
def test_path_or_content(args, capsys):
    code, result, _raw = _run(args, capsys)
    assert code == 1 and ("one of" in result["msg"] or "mutually exclusive" in result["msg"])


def test_missing_cryptography(monkeypatch, make_pkcs12, capsys):
    monkeypatch.setattr(pkcs12_info, "HAS_CRYPTOGRAPHY", False)
    code, result, _raw = _run({"path": str(make_pkcs12())}, capsys)
    assert code == 1 and "cryptography" in result["msg"]


# ---------------------------------------------------------------------------------------------
# A password that occurs inside a returned fact: Ansible masks the fact; the module says why.

@pytest.fixture
def warned(monkeypatch):
    """Warnings given by the module in process (where they end up depends on what else the test run imported)."""
    from ansible.module_utils.basic import AnsibleModule  # pylint: disable=import-outside-toplevel
    messages = []
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, msg: messages.append(msg))
    return messages


@pytest.mark.parametrize("password,cnpj,masked_field", [
    ("1122", "11222333000181", "cnpj"),  # inside the CNPJ
    ("BR", "12345678000195", "subject"),  # inside the subject (C=BR)
])
def test_weak_password_inside_a_fact_is_warned_without_naming_it(make_pkcs12, test_ca, capsys, password, cnpj,
                                                                 masked_field, warned):  # pylint: disable=redefined-outer-name
    path = make_pkcs12(leaf=test_ca.issue_ecnpj(cnpj=cnpj), password=password, name="fraca.pfx")
    code, result, dummy = _run({"path": str(path), "passphrase": password}, capsys)
    assert code == 0
    assert "********" in result[masked_field]  # what Ansible does to the fact
    assert len(warned) == 1 and "senha do certificado é fraca" in warned[0], warned
    assert password not in warned[0] and masked_field not in warned[0]
    assert warned[0].endswith("e atualize passphrase")


def test_strong_password_gives_no_weak_warning(make_pkcs12, capsys, warned):  # pylint: disable=redefined-outer-name
    path = make_pkcs12(password=testca.HARD_PASSWORD)
    code, dummy, _raw = _run({"path": str(path), "passphrase": testca.HARD_PASSWORD}, capsys)
    assert code == 0 and warned == []


def test_password_masks_facts_rule():
    from ansible_collections.esus.rnds.plugins.module_utils._pkcs12 import password_masks_facts  # pylint: disable=import-outside-toplevel
    facts = {"cnpj": "11222333000181", "key_size": 2048, "icp_brasil": True, "chain": ["C=BR"]}
    assert password_masks_facts(facts, "1122") and password_masks_facts(facts, "2048")
    assert password_masks_facts(facts, "C=B") and password_masks_facts(facts, "2")
    assert not password_masks_facts(facts, "True") and not password_masks_facts(facts, "senha forte")
    assert not password_masks_facts(facts, "") and not password_masks_facts(facts, None)


def test_fifo_and_oversized_file_are_refused_without_blocking(tmp_path, make_pkcs12, capsys):
    fifo = tmp_path / "fifo.pfx"
    os.mkfifo(str(fifo))
    code, result, _raw = _run({"path": str(fifo)}, capsys)  # a plain open() would block forever
    assert code == 1 and "não é um arquivo" in result["msg"]
    big = tmp_path / "grande.pfx"
    big.write_bytes(b"0" * (1024 * 1024 + 1))
    code, result, _raw = _run({"path": str(big)}, capsys)
    assert code == 1 and "mais de" in result["msg"]
    # a link the operator chose is followed (the file is checked on the open descriptor)
    link = tmp_path / "link.pfx"
    os.symlink(str(make_pkcs12(password="senha")), str(link))
    code, result, _raw = _run({"path": str(link), "passphrase": "senha"}, capsys)
    assert code == 0 and result["cnpj"] == "12345678000195"
