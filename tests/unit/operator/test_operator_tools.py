# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tools and files a newcomer touches in the first week (docs/simular-frota.md, README)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

from cryptography.hazmat.primitives.serialization import pkcs12

REPO = pathlib.Path(__file__).resolve().parents[3]


def run(*args, **kwargs):
    return subprocess.run([sys.executable] + [str(a) for a in args], cwd=str(REPO), capture_output=True, text=True,
                          timeout=120, check=False, **kwargs)


def test_run_demo_help_prints_help_and_starts_nothing():
    proc = run("tests/demo/run_demo.py", "--help")
    assert proc.returncode == 0 and "usage: make demo" in proc.stdout and "18081" in proc.stdout
    assert "PECs simulados:" not in proc.stdout


def test_test_ca_issues_a_chosen_cnpj_and_validity(tmp_path):
    password = tmp_path / "senha.txt"
    password.write_text("Sênha de teste;`x`\n", encoding="utf-8")
    out = tmp_path / "fms.pfx"
    proc = run("tests/ca/testca.py", "--out", out, "--cnpj", "12.345.678/0001-95", "--days", "-3",
               "--password-file", password, "--name", "FMS DE TESTE")
    assert proc.returncode == 0, proc.stderr
    key, cert, dummy = pkcs12.load_key_and_certificates(out.read_bytes(), "Sênha de teste;`x`".encode())
    assert key is not None and "FMS DE TESTE" in cert.subject.rfc4514_string()
    import datetime  # pylint: disable=import-outside-toplevel
    assert cert.not_valid_after_utc < datetime.datetime.now(datetime.timezone.utc)
    assert "12345678000195" in proc.stdout and "Sênha" not in proc.stdout
    assert oct(os.stat(str(out)).st_mode & 0o777) == "0o600"


def test_certificates_are_never_committed():
    lines = (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "*.pfx" in lines and "*.p12" in lines


def test_docs_of_the_first_week_exist_and_are_linked():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for doc in ("docs/mensagens.md", "docs/simular-frota.md", "docs/rotacao.md"):
        assert (REPO / doc).is_file() and doc in readme
    for variable in ("rnds_state", "rnds_enable_verify_auth", "rnds_audit_auth", "rnds_audit_fail_on",
                     "rnds_pec_force_login", "rnds_pec_api_contract", "rnds_pec_manual_fallback", "rnds_limit_ibge",
                     "rnds_disable_all", "rnds_report_contra_chave", "rnds_require_icp_brasil"):
        assert "| `%s`" % variable in readme or "`%s` /" % variable in readme, variable
    assert "make collection-link" in readme and "ansible-galaxy collection install build/" in readme
