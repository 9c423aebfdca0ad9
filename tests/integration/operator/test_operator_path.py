# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The operator's path with one deliberate mistake at each step (docs/mensagens.md lists every message).

A spreadsheet of four municipalities on three simulated PECs, secrets in ansible-vault, the real
playbooks. Each test reads what the operator reads: the console, the exit code and the report.
"""

from __future__ import annotations

import datetime
import os
import re

import testca

NO_PLUGIN_NOISE = {"ANSIBLE_INVENTORY_ENABLED": "esus.rnds.municipios"}


def failed_hosts(proc):
    return sorted(h for h, r in proc.recap.items() if r["failed"] or r["unreachable"])


def messages(proc):
    """The msg of every failed task (one line each)."""
    return re.findall(r'"msg": "((?:[^"\\]|\\.)*)"', proc.stdout)


def assert_clean(text):
    assert "  " not in text, text
    assert "Nomes: ." not in text and "opção" not in text and "NoneType" not in text, text


# -- item 1: a missing value is reported as missing ------------------------------------------


def test_missing_secrets_named_before_anything_changes(lab):
    lab.municipios["3509502"].secrets.pop("rnds_pec_admin_password")      # admin password missing
    lab.municipios["3136702"].secrets.pop("rnds_certificate_password")    # certificate password missing
    lab.municipios["4313409"].secrets = None                              # the whole secrets file missing
    proc = lab.run("site.yml")
    assert proc.returncode != 0
    assert failed_hosts(proc) == ["pec-campinas", "pec-consorcio", "pec-juizdefora"], proc.stdout
    out = proc.output
    assert "Senha do certificado incorreta" not in out and "login recusado" not in out and "NoneType" not in out
    msgs = messages(proc)
    assert ("pec-campinas, Campinas (IBGE 3509502): falta rnds_pec_admin_password (senha do Administrador Municipal), "
            "em secrets/3509502.yml, cifrado com ansible-vault.") in msgs, msgs
    assert ("pec-juizdefora, Juiz de Fora (IBGE 3136702): falta rnds_certificate_password (senha do arquivo .pfx/.p12), "
            "em secrets/3136702.yml, cifrado com ansible-vault.") in msgs, msgs
    # the certificate role needs only the certificate password: the file's absence is said once, with the command
    assert ("pec-consorcio, Novo Hamburgo (IBGE 4313409): falta rnds_certificate_password (senha do arquivo .pfx/.p12), "
            "em secrets/4313409.yml, arquivo que não existe (crie-o com ansible-vault create secrets/4313409.yml).") in msgs
    for msg in msgs:
        assert_clean(msg)
    # Nothing was sent to a PEC without a password, and nothing was deployed where a certificate password is missing.
    assert not [r for r in lab.sims["pec-campinas"].requests() if r.get("operation") == "Login"]
    assert not os.path.exists(lab.chaves("pec-juizdefora"))
    assert not os.path.exists(lab.chaves("pec-consorcio"))


def test_missing_admin_login_in_the_audit_is_not_verified_and_counts(lab):
    assert lab.run("site.yml").returncode == 0
    lab.municipios["4313409"].secrets.pop("rnds_pec_admin_password")
    lab.municipios["4313409"].secrets.pop("rnds_pec_admin_user")
    before = lab.sims["pec-consorcio"].requests()
    proc = lab.run("audit.yml", "--check")
    assert proc.returncode != 0  # rnds_audit_fail_on: error
    assert "login recusado" not in proc.output
    municipio = lab.report_municipio("4313409")
    assert municipio["rnds_status"] == "unverified" and municipio["rnds_enabled"] is None
    assert municipio["status"] == "error"
    assert any("faltam rnds_pec_admin_user (CPF do Administrador Municipal) e rnds_pec_admin_password" in p
               for p in municipio["problems"]), municipio
    # the other municipality of the same host was read normally, with one login (never one without a password)
    assert lab.report_municipio("4304606")["rnds_status"] == "enabled"
    logins = [r for r in lab.sims["pec-consorcio"].requests()[len(before):] if r.get("operation") == "Login"]
    assert len(logins) == 1, logins


# -- item 2: disable.yml cannot switch off a whole state by accident --------------------------


def test_disable_refuses_the_whole_inventory_and_disables_one_municipality(lab):
    assert lab.run("site.yml").returncode == 0
    for args in ((), ("--limit", "all"), ("--limit", "pec-*")):
        proc = lab.run("disable.yml", *args)
        assert proc.returncode != 0, args
        assert "Recusado: disable.yml desabilitaria a RNDS em todos os 3 servidores do inventário (4 municípios)" in proc.stdout
        assert "-e rnds_disable_all=true" in proc.stdout
    assert all(lab.pec_state(ibge)["certificado"]["servicos"] == ["RNDS"] for ibge in lab.municipios)

    proc = lab.run("disable.yml", "--limit", "pec-consorcio", "-e", "rnds_limit_ibge=4313408")
    assert proc.returncode != 0 and "rnds_limit_ibge tem código(s) IBGE que não são de nenhum município" in proc.stdout

    proc = lab.run("disable.yml", "--limit", "pec-consorcio", "-e", "rnds_limit_ibge=4313409")
    assert proc.returncode == 0, proc.output
    assert lab.pec_state("4313409")["certificado"]["servicos"] == []
    assert lab.pec_state("4304606")["certificado"]["servicos"] == ["RNDS"]

    proc = lab.run("disable.yml", "-e", "rnds_disable_all=true")
    assert proc.returncode == 0, proc.output
    assert all(lab.pec_state(ibge)["certificado"]["servicos"] == [] for ibge in lab.municipios)


# -- item 3: the audit tells the truth about the controller side -------------------------------


def test_audit_reports_inventory_files_that_would_not_deploy(lab):
    assert lab.run("site.yml").returncode == 0
    lab.municipios["3509502"].secrets["rnds_certificate_password"] = "senha errada"   # wrong password
    os.unlink(os.path.join(lab.certificados, "fms-3136702.pfx"))                     # source missing
    now = datetime.datetime.now(datetime.timezone.utc)
    expired = lab.ca.issue_ecnpj(cnpj="60701190000104", not_before=now - datetime.timedelta(days=400),
                                 not_after=now - datetime.timedelta(days=2))
    testca.write_pkcs12(os.path.join(lab.certificados, "fms-4304606.pfx"), expired, lab.municipios["4304606"].cert_password)
    lab.municipios["4313409"].secrets["rnds_pec_admin_password"] = "senha errada"    # the PEC refuses the login

    proc = lab.run("audit.yml", "--check")
    assert proc.returncode != 0, proc.output  # rnds_audit_fail_on: error counts the controller side
    report = lab.report()
    assert {h: v["status"] for h, v in report.items()} == {
        "pec-campinas": "error", "pec-juizdefora": "error", "pec-consorcio": "error"}
    campinas = lab.report_municipio("3509502")
    assert any("não serve para implantar" in p and "Senha do certificado incorreta" in p for p in campinas["problems"])
    assert any("não foi encontrado no controlador" in p for p in lab.report_municipio("3136702")["problems"])
    assert any("expirou em" in p for p in lab.report_municipio("4304606")["problems"])
    refused = lab.report_municipio("4313409")
    assert refused["rnds_status"] == "unverified" and refused["rnds_enabled"] is None, refused
    assert lab.report_municipio("4304606")["rnds_status"] == "enabled"
    with open(os.path.join(lab.reports, "rnds-report.csv"), encoding="utf-8-sig") as handle:
        rows = [line.split(";") for line in handle.read().splitlines()]
    header = rows[0]
    row = next(r for r in rows[1:] if r[header.index("IBGE")] == "4313409")
    assert row[header.index("situação RNDS")] == "não verificado" and row[header.index("RNDS habilitado")] == ""
    with open(os.path.join(lab.reports, "rnds-report.html"), encoding="utf-8") as handle:
        assert "não verificado" in handle.read()


# -- item 4: messages that point at the right fix ----------------------------------------------


def test_cer_in_the_spreadsheet_is_one_message_about_the_missing_key(lab):
    lab.municipios["3509502"].csv["certificado"] = "fms-3509502.cer"
    proc = lab.run("site.yml", env_extra=NO_PLUGIN_NOISE)
    assert proc.returncode != 0
    assert ("municipios.csv, linha 2: certificado 'fms-3509502.cer' é um certificado sem a chave privada (.cer)"
            in proc.output)
    assert "renome" not in proc.output and "ajuste rnds_certificate_name" not in proc.output
    assert "yaml' plugin" not in proc.output and "ini' plugin" not in proc.output
    assert "não corresponde a nenhuma linha" not in proc.output and "não há arquivo de segredos" not in proc.output


def test_wrong_ibge_check_digit_suggests_no_other_code(lab):
    lines = lab.csv_lines()
    lines[1] = lines[1].replace("3509502", "3509503")
    lab.write_inventory(lines)
    proc = lab.run("site.yml", write=False, env_extra=NO_PLUGIN_NOISE)
    assert proc.returncode != 0
    assert "linha 2: código IBGE 3509503 inválido: o dígito verificador (7º dígito) não confere" in proc.output
    assert "deveria ser" not in proc.output and "3509502" not in proc.output
    # its secrets file exists and is not an orphan: no false warning
    assert "não corresponde a nenhuma linha" not in proc.output


def test_cnpj_mismatch_names_the_spreadsheet_line_and_dates_are_brazilian(lab):
    lab.municipios["3136702"].csv["cnpj"] = "60701190000104"
    lab.municipios["4304606"].write_certificate(lab, days=10)
    proc = lab.run("site.yml")
    assert failed_hosts(proc) == ["pec-juizdefora"], proc.output
    # the failure names the spreadsheet line of the file
    assert "fms-3136702.pfx (municipios.csv, linha 3): o certificado fms-3136702.pfx é do CNPJ" in proc.output
    assert ("mas o CNPJ esperado é 60.701.190/0001-04 (rnds_expected_cnpj; no inventário da planilha, a coluna cnpj "
            "do município)") in proc.output
    warning = re.search(r"fms-4304606.pfx expira em \d+ dia\(s\), em (\d\d/\d\d/\d{4})", proc.output)
    assert warning, proc.output
    lab.run("audit.yml", "--check")
    assert lab.report_municipio("4304606")["problems"] and warning.group(1) in " ".join(
        lab.report_municipio("4304606")["problems"])
    for msg in messages(proc):
        assert_clean(msg)


def test_task_names_are_portuguese(lab):
    proc = lab.run("site.yml", "--check")
    names = re.findall(r"^TASK \[(?:esus\.rnds\.\w+ : )?([^\]]+)\]", proc.stdout, re.M)
    # "Validating arguments against arg spec" is ansible-core's own task (with the role's English short_description).
    names = [n for n in names if not n.startswith("Validating arguments against arg spec")]
    english = [n for n in names if re.match(r"(Deploy|Check|Set|Read|Prove|Write|Collect|Refuse|Create|Grant|Remove|Copy|Show)", n)]
    assert names and not english, names
