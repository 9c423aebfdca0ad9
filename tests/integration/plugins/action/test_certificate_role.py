# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role esus.rnds.certificate, converged for real against local "PEC servers" in temp folders."""

from __future__ import annotations

import os
import re

import pytest
from certificate_lab import PASSWORD, assert_no_secret, module_runs, tree

DEPLOY_TASK = "Implantar o certificado na pasta chaves"
RECAP_RE = re.compile(r"^(?P<host>\S+)\s+: ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
                      r"\s+failed=(?P<failed>\d+)", re.M)


def recap(output):
    return dict((m.group("host"), dict((k, int(m.group(k))) for k in ("ok", "changed", "unreachable", "failed")))
                for m in RECAP_RE.finditer(output))


@pytest.fixture
def certs(make_pkcs12, test_ca):
    return {
        "sp": make_pkcs12(leaf=test_ca.issue_ecnpj(cnpj="12345678000195"), password=PASSWORD, name="fms-3550308.pfx"),
        "rj": make_pkcs12(leaf=test_ca.issue_ecnpj(cnpj="11222333000181"), password="rj-" + PASSWORD,
                          name="fms-3304557.p12", flavour="legacy-rc2"),
        "bh": make_pkcs12(leaf=test_ca.issue_ecnpj(cnpj="60701190000104"), password="bh-" + PASSWORD,
                          name="fms-3106200.pfx", flavour="3des"),
    }


def _fleet(lab, certs):
    lab.add_host("pec-sp", rnds_pec_install_dir=str(lab.install_dir("pec-sp")),
                 rnds_certificate_src=str(certs["sp"]), rnds_certificate_password=PASSWORD,
                 rnds_expected_cnpj="12.345.678/0001-95")
    municipios = [
        {"rnds_municipio_ibge": "3304557", "rnds_certificate_src": str(certs["rj"]),
         "rnds_certificate_password": "rj-" + PASSWORD, "rnds_expected_cnpj": "11222333000181"},
        {"rnds_municipio_ibge": "3106200", "rnds_certificate_src": str(certs["bh"]),
         "rnds_certificate_password": "bh-" + PASSWORD},
        # a third municipality served with the same file as the first one: deployed once
        {"rnds_municipio_ibge": "3300100", "rnds_certificate_src": str(certs["rj"]),
         "rnds_certificate_password": "rj-" + PASSWORD},
        # and one that uses the host-level certificate
        {"rnds_municipio_ibge": "3550308", "rnds_certificate_src": str(certs["sp"])},
    ]
    lab.add_host("pec-consorcio", rnds_pec_install_dir=str(lab.install_dir("pec-consorcio")),
                 rnds_certificate_prune=True, rnds_certificate_password=PASSWORD, rnds_municipios=municipios)


def test_fleet_converge_idempotence_and_secrets(lab, certs):
    _fleet(lab, certs)
    (lab.install_dir("pec-consorcio") / "webserver" / "chaves").mkdir()
    (lab.install_dir("pec-consorcio") / "webserver" / "chaves" / "antigo.pfx").write_bytes(b"velho")

    proc = lab.role("-vvvv", "--diff")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert_no_secret(out)
    assert recap(proc.stdout)["pec-sp"]["changed"] == 1 and recap(proc.stdout)["pec-consorcio"]["changed"] == 1
    # exactly one module execution per certificate per host
    assert module_runs(proc.stdout, task_prefix=DEPLOY_TASK) == {"pec-sp": 1, "pec-consorcio": 3}
    assert sorted(os.listdir(str(lab.chaves("pec-sp")))) == ["fms-3550308.pfx"]
    consorcio = lab.chaves("pec-consorcio")
    assert sorted(os.listdir(str(consorcio))) == ["fms-3106200.pfx", "fms-3304557.p12", "fms-3550308.pfx"]
    for name, key in (("fms-3106200.pfx", "bh"), ("fms-3304557.p12", "rj"), ("fms-3550308.pfx", "sp")):
        assert (consorcio / name).read_bytes() == certs[key].read_bytes()
    backups = os.listdir(str(consorcio.parent / "chaves-backup"))
    assert len(backups) == 1 and backups[0].startswith("antigo.pfx.")

    before = {host: tree(lab.install_dir(host)) for host in lab.hosts}
    proc = lab.role()
    assert proc.returncode == 0, proc.stdout
    assert all(r["changed"] == 0 and r["failed"] == 0 for r in recap(proc.stdout).values()), proc.stdout
    assert {host: tree(lab.install_dir(host)) for host in lab.hosts} == before


def test_check_mode_changes_nothing(lab, certs):
    _fleet(lab, certs)
    before = {host: tree(lab.install_dir(host)) for host in lab.hosts}
    proc = lab.role("--check", "--diff")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert all(r["changed"] == 1 for r in recap(proc.stdout).values())
    assert {host: tree(lab.install_dir(host)) for host in lab.hosts} == before
    assert_no_secret(proc.stdout + proc.stderr)


def test_refused_certificate_stops_before_the_host(lab, certs):
    lab.add_host("pec-sp", rnds_pec_install_dir=str(lab.install_dir("pec-sp")),
                 rnds_certificate_src=str(certs["sp"]), rnds_certificate_password="senha-errada",
                 rnds_certificate_name="fms.pfx")
    lab.add_host("pec-ok", rnds_pec_install_dir=str(lab.install_dir("pec-ok")),
                 rnds_certificate_src=str(certs["sp"]), rnds_certificate_password=PASSWORD,
                 rnds_expected_cnpj="99.999.999/0001-91")
    proc = lab.role("-vvv")
    result = recap(proc.stdout)
    assert result["pec-sp"]["failed"] == 1 and result["pec-ok"]["failed"] == 1
    assert "Senha do certificado incorreta" in proc.stdout and "rnds_expected_cnpj" in proc.stdout
    assert module_runs(proc.stdout, task_prefix=DEPLOY_TASK) == {}
    assert not lab.chaves("pec-sp").exists() and not lab.chaves("pec-ok").exists()


def test_same_name_with_different_sources_is_an_error(lab, certs):
    municipios = [
        {"rnds_municipio_ibge": "1", "rnds_certificate_src": str(certs["sp"]), "rnds_certificate_name": "fms.pfx"},
        {"rnds_municipio_ibge": "2", "rnds_certificate_src": str(certs["bh"]), "rnds_certificate_name": "fms.pfx"},
    ]
    lab.add_host("pec", rnds_pec_install_dir=str(lab.install_dir("pec")), rnds_certificate_password=PASSWORD,
                 rnds_municipios=municipios)
    proc = lab.role()
    assert recap(proc.stdout)["pec"]["failed"] == 1
    assert ("pec, IBGE 2: o arquivo fms.pfx da pasta chaves também é o de IBGE 1, mas com outro arquivo de origem ou "
            "outra senha; use nomes diferentes (rnds_certificate_name) para certificados diferentes.") in proc.stdout
    assert not lab.chaves("pec").exists()
    assert_no_secret(proc.stdout + proc.stderr)


def test_host_without_certificate_is_an_error(lab):
    lab.add_host("pec", rnds_pec_install_dir=str(lab.install_dir("pec")))
    proc = lab.role()
    assert recap(proc.stdout)["pec"]["failed"] == 1
    assert ("pec: faltam rnds_certificate_src (arquivo .pfx/.p12 no controlador), no inventário (host_vars/pec.yml ou o "
            "item do município em rnds_municipios); rnds_certificate_password (senha do arquivo .pfx/.p12), no arquivo do "
            "vault do inventário (por exemplo group_vars/all/vault.yml, cifrado com ansible-vault).") in proc.stdout
    assert "Nomes: ." not in proc.stdout and "  " not in proc.stdout.split('"msg": ')[1].split("\n")[0]


def test_empty_certificate_password_is_a_password(lab, make_pkcs12, test_ca):
    # An empty password is a valid PKCS#12 password: only an undefined one is "missing".
    src = make_pkcs12(leaf=test_ca.issue_ecnpj(), password="", flavour="none", name="sem-senha.pfx")
    lab.add_host("pec", rnds_pec_install_dir=str(lab.install_dir("pec")), rnds_certificate_src=str(src),
                 rnds_certificate_password="")
    proc = lab.role()
    assert recap(proc.stdout)["pec"]["failed"] == 0, proc.stdout
    assert (lab.chaves("pec") / "sem-senha.pfx").exists()


def test_argument_spec_rejects_world_readable_types_and_unknown_keys(lab, certs):
    lab.add_host("pec", rnds_pec_install_dir=str(lab.install_dir("pec")), rnds_certificate_password=PASSWORD,
                 rnds_municipios=[{"rnds_municipio_ibge": "1", "rnds_certificate_src": str(certs["sp"]),
                                   "certificado": "x"}])
    proc = lab.role()
    assert recap(proc.stdout)["pec"]["failed"] == 1
    # the role's argument spec names the unknown key of the municipality
    assert '"msg": "Validation of arguments failed:\\nrnds_municipios.certificado. Supported parameters include:' in proc.stdout
    assert_no_secret(proc.stdout + proc.stderr)
    lab.hosts["pec"] = dict(lab.hosts["pec"], rnds_municipios=[], rnds_certificate_src=str(certs["sp"]),
                            rnds_chaves_mode="0644")
    proc = lab.role()
    assert recap(proc.stdout)["pec"]["failed"] == 1
    assert ("o modo do arquivo (rnds_chaves_mode) 0644 dá acesso a qualquer usuário do servidor (bits de 'outros')"
            in proc.stdout), proc.stdout
    assert not lab.chaves("pec").exists()


def test_windows_host_is_validated_on_the_controller(lab, certs):
    """A file refused on the controller stops a Windows host before any ansible.windows module runs
    (tests/integration/windows_contract checks the Windows calls themselves)."""
    lab.add_host("win", ansible_shell_type="powershell", rnds_pec_install_dir="/opt/e-SUS",
                 rnds_certificate_src=str(certs["sp"]), rnds_certificate_password="senha-errada")
    proc = lab.role("-vvv")
    assert recap(proc.stdout)["win"]["failed"] == 1
    assert "Senha do certificado incorreta" in proc.stdout
    assert "ansible.windows" not in proc.stdout
    assert module_runs(proc.stdout, task_prefix=DEPLOY_TASK) == {}
