# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pkcs12_info module for real: ``ansible`` ad-hoc and ``ansible-playbook``, with the collection from this tree.

In process: tests/unit/plugins/modules/test_pkcs12_info.py.
"""

from __future__ import annotations

import datetime
import json
import re

import testca

# Pieces of testca.HARD_PASSWORD that must never show up anywhere.
SECRET_PIECES = (testca.HARD_PASSWORD, "Sênha", "S\\u00eanha", "`id`", "'aspas'", "\\\\ fim")


def _assert_no_secret(text):
    for piece in SECRET_PIECES:
        assert piece not in text


def _json_from_adhoc(stdout):
    body = stdout[stdout.index("=> {") + 3:]
    return json.loads(body[: body.rindex("}") + 1])


def test_adhoc_run(make_pkcs12, run_ansible):
    path = make_pkcs12(password=testca.HARD_PASSWORD, flavour="legacy-rc2")
    args = json.dumps({"path": str(path), "passphrase": testca.HARD_PASSWORD})
    proc = run_ansible("ansible", "localhost", "-m", "esus.rnds.pkcs12_info", "-a", args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = _json_from_adhoc(proc.stdout)
    assert result["cnpj"] == "12345678000195" and result["changed"] is False
    assert result["days_remaining"] >= 363


def test_adhoc_vvvv_never_shows_password(make_pkcs12, run_ansible, tmp_path):
    path = make_pkcs12(password=testca.HARD_PASSWORD, flavour="aes")
    # Success, password given literally as a module argument.
    args = json.dumps({"path": str(path), "passphrase": testca.HARD_PASSWORD})
    proc = run_ansible("ansible", "localhost", "-vvvv", "-m", "esus.rnds.pkcs12_info", "-a", args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in proc.stdout  # the invocation was printed, masked
    _assert_no_secret(proc.stdout + proc.stderr)
    # Failure (wrong password), the secret coming from an extra-vars file as playbooks do. (For a
    # failed ad-hoc task ansible-core itself prints the raw -a arguments, so never inline a secret.)
    extra = tmp_path / "segredo.json"
    extra.write_text(json.dumps({"senha": testca.HARD_PASSWORD + "-errada"}), encoding="utf-8")
    proc = run_ansible(
        "ansible", "localhost", "-vvvv", "-e", "@" + str(extra), "-m", "esus.rnds.pkcs12_info",
        "-a", "path=%s passphrase={{ senha }}" % path,
    )
    assert proc.returncode != 0
    assert "Senha do certificado incorreta" in proc.stdout + proc.stderr
    _assert_no_secret(proc.stdout + proc.stderr)


def test_adhoc_cer_message(make_cer, run_ansible):
    proc = run_ansible(
        "ansible", "localhost", "-m", "esus.rnds.pkcs12_info", "-a", "path=%s" % make_cer(encoding="der")
    )
    assert proc.returncode != 0
    assert "um .cer contém só o certificado" in proc.stdout + proc.stderr


def test_playbook_check_mode(make_pkcs12, run_ansible, tmp_path, test_ca):
    good = make_pkcs12(password=testca.HARD_PASSWORD, flavour="legacy-rc2", name="bom.pfx")
    now = datetime.datetime.now(datetime.timezone.utc)
    old_leaf = test_ca.issue_ecnpj(
        cnpj="11222333000181", not_before=now - datetime.timedelta(days=400), not_after=now - datetime.timedelta(days=3)
    )
    expired = make_pkcs12(leaf=old_leaf, password="x", name="vencido.pfx")
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps({
        "good": str(good), "expired": str(expired), "senha": testca.HARD_PASSWORD,
    }), encoding="utf-8")
    playbook = tmp_path / "play.yml"
    playbook.write_text("""
- name: Inspect certificates
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Good certificate
      esus.rnds.pkcs12_info:
        path: "{{ good }}"
        passphrase: "{{ senha }}"
      register: cert
    - name: Expired certificate is reported, not a failure
      esus.rnds.pkcs12_info:
        path: "{{ expired }}"
        passphrase: x
      register: old
    - name: Check the facts
      ansible.builtin.assert:
        that:
          - cert is not changed
          - cert.cnpj is esus.rnds.valid_cnpj
          - (cert.cnpj | esus.rnds.cnpj_format) == '12.345.678/0001-95'
          - cert.icp_brasil and cert.certificate_type == 'A1'
          - old.expired and old.days_remaining < 0
          - old.cnpj == ('11.222.333/0001-81' | esus.rnds.cnpj_normalize)
""", encoding="utf-8")
    proc = run_ansible("ansible-playbook", "--check", "-e", "@" + str(extra), str(playbook))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"localhost\s*:\s*ok=3\s+changed=0\s+unreachable=0\s+failed=0", proc.stdout), proc.stdout
    _assert_no_secret(proc.stdout + proc.stderr)


def test_adhoc_weak_password_warning(make_pkcs12, test_ca, run_ansible):
    path = make_pkcs12(leaf=test_ca.issue_ecnpj(cnpj="11222333000181"), password="1122", name="fraca.pfx")
    proc = run_ansible("ansible", "localhost", "-m", "esus.rnds.pkcs12_info", "-a",
                       json.dumps({"path": str(path), "passphrase": "1122"}))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _json_from_adhoc(proc.stdout)["cnpj"] == "********2333000181"
    assert "senha do certificado é fraca" in proc.stdout + proc.stderr


def test_adhoc_password_alias_is_no_log_too(make_pkcs12, run_ansible):
    path = make_pkcs12(password=testca.HARD_PASSWORD, flavour="aes")
    args = json.dumps({"path": str(path), "password": testca.HARD_PASSWORD,
                       "option_labels": {"passphrase": "rnds_certificate_password"}})
    proc = run_ansible("ansible", "localhost", "-vvvv", "-m", "esus.rnds.pkcs12_info", "-a", args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _json_from_adhoc(proc.stdout)["cnpj"] == "12345678000195"
    _assert_no_secret(proc.stdout + proc.stderr)
