# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile input: each one gets a clear pt-BR error and changes nothing.

Only what other suites do not already cover (see docs/security.md for the full list and where each
case is tested). Many inputs share one ansible-playbook run (one task each, ``ignore_errors``), so
the suite stays fast.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import textwrap
import time

import pytest
import testca
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness import cpf, format_cpf, run_playbook, sim_factory  # noqa: F401  pylint: disable=unused-import
import hardening_lab

PASSWORD = testca.HARD_PASSWORD
ADMIN_CPF = cpf(4242)  # the PEC user name is the Administrador Municipal's CPF
ADMIN = format_cpf(ADMIN_CPF)  # as an inventory writes it
ADMIN_PASSWORD = "Adm!n " + testca.HARD_PASSWORD
SP = "3550308"


def _tree(path):
    out = []
    for dirpath, dirnames, filenames in os.walk(str(path)):
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            out.append((os.path.relpath(full, str(path)), st.st_mode, st.st_size, st.st_mtime_ns))
    return sorted(out)


def _assert_no_secret(proc):
    text = proc.stdout + proc.stderr
    for secret in (PASSWORD, ADMIN_PASSWORD):
        for form in hardening_lab.secret_forms(secret):
            assert form.decode("utf-8", "replace") not in text


# ------------------------------------------------------------------------ certificate sources


def _deploy_task(src, name=None, **extra):
    args = {"src": src, "password": "{{ cert_password }}", "install_dir": "{{ install_dir }}"}
    if name is not None:
        args["name"] = name
    args.update(extra)
    return {"name": "hostil", "esus.rnds.pec_certificate": args, "ignore_errors": True}


def test_hostile_sources_and_names_are_refused_without_reading_or_blocking(tmp_path, make_pkcs12, run_ansible):
    pfx = make_pkcs12(password=PASSWORD, name="fms-3550308.pfx")
    install_dir = tmp_path / "srv" / "e-SUS"
    (install_dir / "webserver").mkdir(parents=True)
    sources = tmp_path / "fontes"
    sources.mkdir()
    fifo = sources / "fila.pfx"
    os.mkfifo(str(fifo))
    big = sources / "enorme.pfx"
    with open(str(big), "wb") as handle:
        handle.truncate(1 << 30)  # 1 GiB, sparse
    link_to_fifo = sources / "link-fila.pfx"
    os.symlink(str(fifo), str(link_to_fifo))
    empty = sources / "vazio.pfx"
    empty.write_bytes(b"")
    cases = [
        # (task, expected fragment of the message)
        (_deploy_task(str(fifo)), "não é um arquivo"),
        (_deploy_task(str(link_to_fifo)), "não é um arquivo"),
        (_deploy_task(str(big)), "1 MiB"),
        (_deploy_task("/dev/zero", name="zero.pfx"), "não é um arquivo"),
        (_deploy_task(str(sources), name="pasta.pfx"), "não é um arquivo"),
        (_deploy_task(str(empty)), "vazio"),
        (_deploy_task(str(pfx), name="fms\x00.pfx"), "NUL"),
        (_deploy_task(str(pfx), name="ç" * 130 + ".pfx"), "255 bytes"),
        (_deploy_task(str(pfx), name="..", option_labels={"name": "rnds_certificate_name"}), "ajuste rnds_certificate_name"),
        (_deploy_task(str(pfx), name="fms.pfx/.."), "barra"),
        (_deploy_task(str(pfx), name="\\\\servidor\\fms.pfx"), "barra"),
        (_deploy_task(str(pfx), chaves_dirname="chaves\x00"), "NUL"),
        (_deploy_task(str(pfx), chaves_dirname="../../../etc"), "use 'chaves' (chaves_dirname)"),
    ]
    before = _tree(install_dir)
    started = time.monotonic()
    script = textwrap.dedent("""
        import json, resource, subprocess, sys
        proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(json.dumps({"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr, "peak_kib": peak}))
    """)
    # run the playbook under a small wrapper that reports the peak memory of any process of the run
    directory = tmp_path / "run"
    proc, results = run_playbook(
        lambda program, *args, env_extra=None: _measured(run_ansible, script, program, args, env_extra),
        directory, [case for case, _fragment in cases],
        extra_vars={"cert_password": PASSWORD, "install_dir": str(install_dir)})
    elapsed = time.monotonic() - started
    assert len(results) == len(cases), proc.stdout
    for (task, fragment), result in zip(cases, results):
        assert result.get("failed") is True, (task, result)
        assert fragment in result["msg"], (task, result["msg"])
        assert not result.get("changed"), result
    assert _tree(install_dir) == before
    _assert_no_secret(proc)
    # the 1 GiB file was never read into memory, the FIFO never blocked
    assert proc.peak_kib < 400 * 1024, proc.peak_kib
    assert elapsed < 120


def _measured(run_ansible, script, program, args, env_extra):
    """Run ``program`` through the wrapper ``script``; returns a CompletedProcess-like object."""
    bindir = os.path.dirname(sys.executable)
    wrapped = run_ansible("python", "-c", script, os.path.join(bindir, program), *args, env_extra=env_extra)
    assert wrapped.returncode == 0, wrapped.stderr
    data = json.loads(wrapped.stdout)
    result = subprocess.CompletedProcess(args, data["rc"], data["stdout"], data["stderr"])
    result.peak_kib = data["peak_kib"]
    return result


# ------------------------------------------------------------------------ PEC side


def _self_signed(directory, hostname="127.0.0.1"):
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress  # pylint: disable=import-outside-toplevel

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(hostname))]), critical=False)
            .sign(key, hashes.SHA256()))
    crt, pem_key = os.path.join(directory, "autoassinado.crt"), os.path.join(directory, "autoassinado.key")
    with open(crt, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(pem_key, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return crt, pem_key


def _enable_task(url, certificate="fms.pfx", **extra):
    args = {"url": url, "username": ADMIN, "password": "{{ admin_password }}", "certificate": certificate,
            "certificate_password": "{{ cert_password }}", "requester_id": "3550308-SOLIC-1", "retries": 0,
            "timeout": 10}
    args.update(extra)
    return {"name": "hostil", "esus.rnds.pec_rnds": args, "ignore_errors": True}


def test_hostile_pec_answers_names_and_tls_change_nothing(sim_factory, test_ca, tmp_path, run_ansible):  # noqa: F811
    # pylint: disable=redefined-outer-name
    leaf = test_ca.issue_ecnpj()

    def pec(**kwargs):
        sim = sim_factory(admins=["%s:%s" % (ADMIN_CPF, ADMIN_PASSWORD)], municipios=[SP], start=False, **kwargs)
        os.makedirs(sim.chaves)
        testca.write_pkcs12(os.path.join(sim.chaves, "fms.pfx"), leaf, PASSWORD)
        return sim.start()

    plain = pec()
    garbage = pec(faults=["garbage=always"])
    huge = pec(faults=["huge=always"])
    self_crt, self_key = _self_signed(str(tmp_path))
    self_signed = pec(https_cert=self_crt, https_key=self_key)
    wrong = test_ca.issue_server("pec.exemplo.invalid")
    wrong_crt, wrong_key = testca.write_pem_files(str(tmp_path), wrong, "outro-host")
    wrong_host = pec(https_cert=wrong_crt, https_key=wrong_key)
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(test_ca.ca_bundle_pem())
    refused = [
        (_enable_task(plain.url, certificate="fms\x00.pfx"), "NUL", plain),
        (_enable_task(plain.url, certificate="../chaves/fms.pfx"), "barra", plain),
        (_enable_task(plain.url, certificate="x" * 300 + ".pfx"), "255 bytes", plain),
        (_enable_task(plain.url, certificate=".."), "contém '..'; use um nome simples terminado em .pfx ou .p12; ajuste "
                                                    "certificate", plain),
        (_enable_task("file:///etc"), "não usa http:// nem https://", plain),
        (_enable_task("ftp://127.0.0.1:%d" % plain.port), "não usa http:// nem https://", plain),
        ({"name": "hostil", "esus.rnds.pec_rnds_info": {"url": "file:///etc", "fail_on_unreachable": True}},
         "não usa http:// nem https://", plain),
        (_enable_task(self_signed.url, ca_path=str(tmp_path / "nao-existe.pem")), "ca_path", self_signed),
        (_enable_task(garbage.url), "não é JSON", garbage),
        (_enable_task(huge.url), "passou de 1024 KiB", huge),
        (_enable_task(self_signed.url), "não foi validado", self_signed),
        (_enable_task(self_signed.url, ca_path=str(bundle)), "não foi validado", self_signed),
        (_enable_task(wrong_host.url, ca_path=str(bundle)), "não foi validado", wrong_host),
        ({"name": "hostil", "esus.rnds.pec_rnds_info": {
            "url": wrong_host.url, "ca_path": str(bundle), "fail_on_unreachable": True, "retries": 0}},
         "não foi validado", wrong_host),
    ]
    for task, _fragment, _sim in refused:
        task["ignore_errors"] = True
    accepted = [
        _enable_task(self_signed.url, validate_certs=False),
        _enable_task(wrong_host.url, validate_certs=False),
    ]
    proc, results = run_playbook(run_ansible, tmp_path / "run", [task for task, _f, _s in refused] + accepted,
                                 extra_vars={"admin_password": ADMIN_PASSWORD, "cert_password": PASSWORD})
    assert len(results) == len(refused) + len(accepted), proc.stdout
    for (task, fragment, _sim), result in zip(refused, results):
        assert result.get("failed") is True, (task, result)
        assert fragment in result["msg"], (task, result["msg"])
        assert not result.get("changed")
    for result in results[len(refused):]:
        assert result.get("failed") is not True and result["changed"] is True, result
    # nothing was enabled anywhere a task was refused (the two accepted tasks enabled one each)
    for sim in (plain, garbage, huge):
        assert not any(line["action"].startswith("Habilitar") for line in sim.audit_lines())
        certificate = sim.state()["municipios"][SP]["certificado"]
        assert certificate["certificado"] is None and certificate["servicos"] == [], certificate
    for sim in (self_signed, wrong_host):
        assert [(line["action"], line["result"]) for line in sim.audit_lines()] == [
            (hardening_lab.AUDIT_ENABLE % "RNDS", "sucesso")]
        assert sim.state()["municipios"][SP]["certificado"]["servicos"] == ["RNDS"]
    _assert_no_secret(proc)


# ------------------------------------------------------------------------ CSV inventory


@pytest.mark.parametrize("line,fragment", [
    ("Canoas;RS;4304606;60701190000104;pec-rs.example;linux;ID;a\x00b.pfx;", "caracteres de controle"),
    ("Canoas;RS;4304606;60701190000104;pec-rs.example;linux;ID\x1b[31m;c.pfx;", "caracteres de controle"),
    ("Can\x07oas;RS;4304606;60701190000104;pec-rs.example;linux;ID;c.pfx;", "caracteres de controle"),
    ("Canoas;RS;4304606;60701190000104;pec-rs.example;linux;ID;" + "x" * 200000 + ".pfx;", "CSV malformado"),
], ids=["nul", "escape", "bell", "campo-gigante"])
def test_hostile_csv_lines_are_refused(tmp_path, run_ansible, line, fragment):
    header = "municipio;uf;ibge;cnpj;host;so;identificador;certificado;multimunicipal"
    good = "Campinas;SP;3509502;12345678000195;pec-a.example;linux;ID-A;a.pfx;não"
    (tmp_path / "planilha.csv").write_bytes(("\n".join([header, good, line]) + "\n").encode("utf-8"))
    config = tmp_path / "teste.municipios.yml"
    config.write_text(yaml.safe_dump({"plugin": "esus.rnds.municipios", "csv": "planilha.csv"}), encoding="utf-8")
    proc = run_ansible("ansible-inventory", "-i", str(config), "--list",
                       env_extra={"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true"})
    assert proc.returncode != 0
    assert "planilha.csv, linha 3:" in proc.stderr and fragment in proc.stderr, proc.stderr
