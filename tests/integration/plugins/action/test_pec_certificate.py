# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pec_certificate action plugin: controller-side validation, cache, vault, secrets, round trips.

Real runs: ansible-playbook against ``ansible_connection: local`` hosts whose PEC installations
are temporary folders (see tests/integration/certificate/certificate_lab.py). What needs no
playbook (cache key, validity refresh, vault in memory) is in
tests/unit/plugins/action/test_pec_certificate_in_process.py; the certificate policy in
tests/unit/plugins/plugin_utils/test_certificate_policy.py.
"""

from __future__ import annotations

import datetime
import hashlib

import pytest
import testca
from certificate_lab import PASSWORD, assert_no_secret, module_runs, pkcs12_counter_env, pkcs12_opened

NOW = datetime.datetime.now(datetime.timezone.utc)


@pytest.fixture
def pfx(make_pkcs12):
    return make_pkcs12(password=PASSWORD, name="fms-3550308.pfx")


# ----------------------------------------------------------------------------- success path

def test_deploy_returns_certificate_facts_and_runs_the_module_once(lab, pfx, ecnpj_leaf):
    lab.add_host("h1")
    proc, results = lab.deploy({"src": str(pfx), "passphrase": PASSWORD, "expected_cnpj": "12.345.678/0001-95"}, "-vvv")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = results["h1"]
    assert result["changed"] is True and not result.get("failed")
    cert = result["certificate"]
    assert cert["name"] == "fms-3550308.pfx"
    assert cert["cnpj"] == "12345678000195"
    assert cert["fingerprint_sha256"] == ecnpj_leaf.cert.fingerprint(testca.hashes.SHA256()).hex()
    assert cert["not_after"] == ecnpj_leaf.cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert 360 <= cert["days_remaining"] <= 365
    assert "CN=FUNDO MUNICIPAL DE SAUDE DE TESTE" in cert["subject"]
    assert cert["sha256"] == hashlib.sha256(pfx.read_bytes()).hexdigest() == result["checksum"]
    deployed = lab.chaves("h1") / "fms-3550308.pfx"
    assert deployed.read_bytes() == pfx.read_bytes()
    # one module execution for one certificate on one host, nothing else sent
    assert module_runs(proc.stdout) == {"h1": 1}
    assert_no_secret(proc.stdout + proc.stderr, pfx.read_bytes())


def test_one_module_execution_per_host_without_pipelining(lab, pfx):
    for host in ("h1", "h2", "h3"):
        lab.add_host(host)
    proc, results = lab.deploy({"src": str(pfx), "password": PASSWORD}, "-vvv",
                               env_extra={"ANSIBLE_PIPELINING": "False"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert all(r["changed"] for r in results.values()) and len(results) == 3
    assert module_runs(proc.stdout, pipelining=False) == {"h1": 1, "h2": 1, "h3": 1}
    assert_no_secret(proc.stdout + proc.stderr, pfx.read_bytes())


def test_warning_when_few_days_remain(lab, test_ca, make_pkcs12):
    leaf = test_ca.issue_ecnpj(days=10)
    src = make_pkcs12(leaf=leaf, password=PASSWORD, name="curto.pfx")
    lab.add_host("h1")
    proc, results = lab.deploy({"src": str(src), "password": PASSWORD})
    assert proc.returncode == 0
    assert results["h1"]["changed"] is True
    assert "curto.pfx expira em" in proc.stdout + proc.stderr
    assert (lab.chaves("h1") / "curto.pfx").exists()


def test_validate_only_never_touches_the_host(lab, pfx):
    lab.add_host("h1")
    proc, results = lab.deploy({"src": str(pfx), "password": PASSWORD, "validate_only": True}, "-vvv")
    assert proc.returncode == 0
    result = results["h1"]
    assert result["changed"] is False and result["validated"] is True
    assert result["certificate"]["cnpj"] == "12345678000195"
    assert not lab.chaves("h1").exists()
    assert module_runs(proc.stdout) == {}


def test_windows_host_goes_to_the_windows_modules(lab, pfx):
    """A PowerShell host never gets the Linux module: the action drives ansible.windows (here there is no Windows
    host, so the first of those modules fails; tests/integration/windows_contract checks the whole sequence)."""
    lab.add_host("w1", ansible_shell_type="powershell")
    proc, results = lab.deploy({"src": str(pfx), "password": PASSWORD})
    assert results["w1"]["failed"] is True
    assert "C:\\Program Files\\e-SUS\\webserver\\chaves (ansible.windows.win_file)" in results["w1"]["msg"]
    assert module_runs(proc.stdout) == {}
    proc, results = lab.deploy({"src": str(pfx), "password": PASSWORD, "validate_only": True})
    assert results["w1"].get("failed") is not True and results["w1"]["certificate"]["name"] == "fms-3550308.pfx"


# ----------------------------------------------------------------------------- refusals

def _refused(lab, pc, expect):
    lab.add_host("h1")
    proc, results = lab.deploy(pc, "-vvv")
    result = results["h1"]
    assert result["failed"] is True, result
    assert expect in result["msg"], result["msg"]
    # stopped on the controller: no module execution, nothing created on the host
    assert module_runs(proc.stdout) == {}
    assert not lab.chaves("h1").exists()
    assert_no_secret(proc.stdout + proc.stderr)
    return result


def test_cer_file_refused_by_name(lab, make_cer):
    cer = make_cer(name="fms.cer")
    _refused(lab, {"src": str(cer), "password": PASSWORD}, "não termina em .pfx ou .p12")


def test_cer_content_refused_even_with_pfx_name(lab, make_cer):
    cer = make_cer(name="fms.cer")
    result = _refused(lab, {"src": str(cer), "password": PASSWORD, "name": "fms.pfx"}, "sem a chave privada")
    assert result["msg"].startswith("fms.cer: ")


def test_wrong_password_refused(lab, pfx):
    result = _refused(lab, {"src": str(pfx), "password": "errada"}, "Senha do certificado incorreta")
    assert "certificate" not in result


def test_wrong_password_that_looks_like_the_hard_one_is_not_echoed(lab, make_pkcs12):
    src = make_pkcs12(password="outra", name="x.pfx")
    _refused(lab, {"src": str(src), "password": PASSWORD}, "Senha do certificado incorreta")


def test_expired_refused(lab, test_ca, make_pkcs12):
    leaf = test_ca.issue_ecnpj(not_before=NOW - datetime.timedelta(days=400), not_after=NOW - datetime.timedelta(days=2))
    src = make_pkcs12(leaf=leaf, password=PASSWORD, name="fms.pfx")
    result = _refused(lab, {"src": str(src), "password": PASSWORD}, "o certificado fms.pfx expirou em")
    assert result["msg"].endswith("obtenha um novo .pfx e atualize src")
    # with the labels a role passes, its user reads the variable to change
    lab.add_host("h2")
    proc, results = lab.deploy({"src": str(src), "password": PASSWORD, "option_labels": {"src": "rnds_certificate_src"}})
    assert results["h2"]["msg"].endswith("obtenha um novo .pfx e atualize rnds_certificate_src")
    assert result["certificate"]["expired"] is True and result["certificate"]["days_remaining"] < 0


def test_not_yet_valid_refused(lab, test_ca, make_pkcs12):
    leaf = test_ca.issue_ecnpj(not_before=NOW + datetime.timedelta(days=3), not_after=NOW + datetime.timedelta(days=300))
    src = make_pkcs12(leaf=leaf, password=PASSWORD, name="fms.pfx")
    _refused(lab, {"src": str(src), "password": PASSWORD}, "só é válido a partir de")


def test_cnpj_mismatch_refused(lab, pfx):
    result = _refused(lab, {"src": str(pfx), "password": PASSWORD, "expected_cnpj": "11.222.333/0001-81"},
                      "é do CNPJ 12.345.678/0001-95, mas o CNPJ esperado é 11.222.333/0001-81")
    assert result["certificate"]["cnpj"] == "12345678000195"


def test_ecpf_refused_when_a_cnpj_is_expected(lab, test_ca, make_pkcs12):
    src = make_pkcs12(leaf=test_ca.issue_ecpf(), password=PASSWORD, name="pessoa.pfx")
    _refused(lab, {"src": str(src), "password": PASSWORD, "expected_cnpj": "12345678000195"}, "não traz CNPJ")


def test_missing_private_key_refused(lab, ecnpj_leaf, make_pkcs12):
    src = make_pkcs12(password=PASSWORD, name="semchave.pfx", include_key=False)
    _refused(lab, {"src": str(src), "password": PASSWORD}, "não contém a chave privada")


def test_key_mismatch_refused(lab, make_pkcs12):
    other = testca.rsa.generate_private_key(public_exponent=65537, key_size=2048)
    src = make_pkcs12(password=PASSWORD, name="trocada.pfx", key_override=other)
    _refused(lab, {"src": str(src), "password": PASSWORD}, "não corresponde ao certificado")


def test_non_icp_refused_only_when_required(lab, test_ca, make_pkcs12):
    src = make_pkcs12(leaf=test_ca.issue_ecnpj(icp=False), password=PASSWORD, name="egestor.pfx")
    _refused(lab, {"src": str(src), "password": PASSWORD, "require_icp_brasil": True}, "não é ICP-Brasil")
    proc, results = lab.deploy({"src": str(src), "password": PASSWORD})
    assert results["h1"]["changed"] is True and results["h1"]["certificate"]["icp_brasil"] is False


def test_missing_source_refused(lab, tmp_path):
    _refused(lab, {"src": str(tmp_path / "nao-existe.pfx"), "password": PASSWORD}, "não foi encontrado no controlador")


@pytest.mark.parametrize("name", ["../fms.pfx", "sub/fms.pfx", "a\\b.pfx", "fms..pfx", "fms.pfx\n", ".pfx",
                                  "x" * 252 + ".pfx", "fms.txt", "fms.pfx.bak"])
def test_unsafe_names_refused(lab, pfx, name):
    result = _refused(lab, {"src": str(pfx), "password": PASSWORD, "name": name,
                            "option_labels": {"name": "rnds_certificate_name"}}, "ajuste rnds_certificate_name")
    assert "{option:" not in result["msg"]


@pytest.mark.parametrize("name", ["FMS.PFX", "fms.P12", "município-ção.pfx"])
def test_names_accepted(lab, pfx, name):
    lab.add_host("h1")
    proc, results = lab.deploy({"src": str(pfx), "password": PASSWORD, "name": name})
    assert results["h1"]["changed"] is True, results["h1"]
    assert (lab.chaves("h1") / name).read_bytes() == pfx.read_bytes()


@pytest.mark.parametrize("field,value,expect", [
    ("mode", "0644", "outros"),
    ("mode", "0604", "outros"),
    ("mode", "0750", "executável"),
    ("mode", "4640", "especiais"),
    ("mode", "rw-r-----", "inválido"),
    ("dir_mode", "0755", "outros"),
    ("dir_mode", "0751", "outros"),
])
def test_world_bits_and_bad_modes_refused(lab, pfx, field, value, expect):
    _refused(lab, {"src": str(pfx), "password": PASSWORD, field: value}, expect)


@pytest.mark.parametrize("dirname", ["../chaves", "a/b", ".."])
def test_unsafe_dirname_refused(lab, pfx, dirname):
    _refused(lab, {"src": str(pfx), "password": PASSWORD, "chaves_dirname": dirname}, "use 'chaves' (chaves_dirname)")


def test_content_option_is_reserved(lab, pfx):
    lab.add_host("h1")
    proc = lab.run_ansible("ansible", "all", "-i", lab.inventory(), "-m", "esus.rnds.pec_certificate",
                           "-a", "content=QUJD name=x.pfx install_dir=%s" % lab.install_dir("h1"))
    assert proc.returncode != 0
    assert "a opção content é preenchida pela própria ação; use src" in proc.stdout
    assert not lab.chaves("h1").exists()


# ----------------------------------------------------------------------------- vault

def test_vault_encrypted_source(lab, pfx, tmp_path, run_ansible):
    plain = pfx.read_bytes()
    vault_pass = tmp_path / "vault-pass"
    vault_pass.write_text("senha-do-vault\n")
    encrypted = tmp_path / "fms-3550308.pfx.vault"
    encrypted.write_bytes(plain)
    proc = run_ansible("ansible-vault", "encrypt", "--vault-password-file", vault_pass, encrypted)
    assert proc.returncode == 0, proc.stderr
    assert encrypted.read_bytes().startswith(b"$ANSIBLE_VAULT;")
    lab.add_host("h1")
    pc = {"src": str(encrypted), "password": PASSWORD, "name": "fms-3550308.pfx"}
    proc, results = lab.deploy(pc, "--vault-password-file", str(vault_pass), "-vvvv")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert results["h1"]["changed"] is True
    assert (lab.chaves("h1") / "fms-3550308.pfx").read_bytes() == plain
    assert_no_secret(proc.stdout + proc.stderr, plain)
    # without the vault password: refused on the controller with a pt-BR hint
    proc, results = lab.deploy(dict(pc, name="outro.pfx"), "-vvv")
    assert results["h1"]["failed"] is True
    assert "ansible-vault" in results["h1"]["msg"]
    assert module_runs(proc.stdout) == {}


# ----------------------------------------------------------------------------- cache

def test_file_shared_by_many_hosts_is_parsed_once(lab, pfx, make_pkcs12, tmp_path):
    """Counted from outside the collection: every PKCS#12 that cryptography opens, in any process of the run."""
    other = make_pkcs12(password=PASSWORD, name="outro.p12", flavour="legacy-rc2")
    hosts = ["h%d" % i for i in range(1, 9)]
    for host in hosts:
        lab.add_host(host)
    log = tmp_path / "pkcs12-abertos.log"
    proc, results = lab.deploy({"src": str(pfx), "password": PASSWORD}, env_extra=pkcs12_counter_env(log))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert pkcs12_opened(log, pfx, other) == {pfx.name: 1}
    # what the hosts are told (documented return value): the other seven workers read the run's disk cache
    origins = sorted(results[h]["validation_cache"] for h in hosts)
    assert origins == ["disk"] * 7 + ["parsed"], origins
    # another file, next run: opened once too (the cache key is the file and its password, never a stale entry)
    log.unlink()
    proc, results = lab.deploy({"src": str(other), "password": PASSWORD}, env_extra=pkcs12_counter_env(log))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert pkcs12_opened(log, pfx, other) == {other.name: 1}
    assert sorted(results[h]["validation_cache"] for h in hosts) == ["disk"] * 7 + ["parsed"]


def test_between_runs_store_reuses_a_validation_only_for_the_same_bytes_and_a_password_that_opens_them(
        lab, pfx, make_pkcs12, tmp_path):
    """plugin_utils/_validation_store: the second run opens no PKCS#12 (counted from outside the collection)."""
    store = tmp_path / "store"
    log = tmp_path / "pkcs12-abertos.log"
    env = dict(pkcs12_counter_env(log), ESUS_RNDS_CERTIFICATE_CACHE=str(store))
    lab.add_host("h1")
    proc, results = lab.deploy({"src": str(pfx), "passphrase": PASSWORD}, "-vvvv", env_extra=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    first = results["h1"]
    assert first["validation_cache"] == "parsed"
    assert pkcs12_opened(log, pfx) == {pfx.name: 1}
    entries = list(store.iterdir())
    assert len(entries) == 1 and oct(entries[0].stat().st_mode & 0o777) == "0o600"
    assert_no_secret(entries[0].read_text(encoding="utf-8") + proc.stdout + proc.stderr, pfx.read_bytes())
    # same bytes, same password: the facts come from the store, nothing is opened
    log.unlink()
    proc, results = lab.deploy({"src": str(pfx), "passphrase": PASSWORD}, env_extra=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert results["h1"]["validation_cache"] == "store"
    # days_remaining is recomputed at each run (the store keeps not_after): it may tick between two runs
    assert dict(results["h1"]["certificate"], days_remaining=0) == dict(first["certificate"], days_remaining=0)
    assert pkcs12_opened(log, pfx) == {}
    # a wrong password is never answered from the store: refused as without it
    proc, results = lab.deploy({"src": str(pfx), "passphrase": "senha errada", "name": "outro.pfx"}, env_extra=env)
    assert results["h1"]["failed"] is True and "senha" in results["h1"]["msg"]
    assert "validation_cache" not in results["h1"]
    assert not (lab.chaves("h1") / "outro.pfx").exists()
    # new bytes (a renewed certificate under the same name): opened again
    log.unlink(missing_ok=True)
    pfx.write_bytes(make_pkcs12(password=PASSWORD, name="renovado.pfx").read_bytes())
    proc, results = lab.deploy({"src": str(pfx), "passphrase": PASSWORD}, env_extra=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert results["h1"]["validation_cache"] == "parsed" and results["h1"]["changed"] is True
    assert pkcs12_opened(log, pfx) == {pfx.name: 1}


# ----------------------------------------------------------------------------- weak password inside a fact

def test_password_inside_the_cnpj_is_warned_and_the_cnpj_check_uses_the_real_value(lab, test_ca, make_pkcs12):
    """'1122' inside CNPJ 11222333000181: other tasks with the password (no_log) would show the CNPJ masked;
    this action warns (without the password) and still checks expected_cnpj on the CNPJ as read."""
    src = make_pkcs12(leaf=test_ca.issue_ecnpj(cnpj="11222333000181"), password="1122", name="fraca.pfx")
    lab.add_host("h1")
    proc, results = lab.deploy({"src": str(src), "password": "1122", "expected_cnpj": "11.222.333/0001-81"})
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    result = results["h1"]
    assert result["changed"] is True and result["certificate"]["cnpj"] == "11222333000181"
    assert "senha do certificado é fraca" in output
    warning = output[output.index("senha do certificado é fraca"):].split("\n\n")[0]
    assert "1122" not in warning.replace("\n", " ")
    # the decision is still made on the real CNPJ: a wrong expected CNPJ is refused with both CNPJs
    proc, results = lab.deploy({"src": str(src), "password": "1122", "expected_cnpj": "12.345.678/0001-95",
                                "name": "outra.pfx"})
    result = results["h1"]
    assert result["failed"] is True and "11.222.333/0001-81" in result["msg"] and "12.345.678/0001-95" in result["msg"]
    assert "senha do certificado é fraca" in proc.stdout + proc.stderr


def test_strong_password_gives_no_weak_warning(lab, pfx):
    lab.add_host("h1")
    proc, results = lab.deploy({"src": str(pfx), "password": PASSWORD, "validate_only": True})
    assert proc.returncode == 0 and "senha do certificado é fraca" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("key", ["passphrase", "password"])
def test_password_never_reaches_the_host(lab, pfx, tmp_path, key):
    """Under either name (option or alias) the password stays on the controller: the files Ansible leaves on
    the host (kept with ANSIBLE_KEEP_REMOTE_FILES, without pipelining) carry the module arguments, never it."""
    lab.add_host("h1")
    remote = tmp_path / "remote-tmp"
    proc, results = lab.deploy({"src": str(pfx), key: PASSWORD}, env_extra={
        "ANSIBLE_PIPELINING": "False", "ANSIBLE_KEEP_REMOTE_FILES": "1", "ANSIBLE_REMOTE_TEMP": str(remote)})
    assert results["h1"]["changed"] is True, proc.stdout + proc.stderr
    # the AnsiballZ wrapper holds the module arguments as JSON text
    text = "\n".join(path.read_bytes().decode("utf-8", "replace") for path in remote.rglob("*") if path.is_file())
    assert str(lab.install_dir("h1")) in text  # the arguments are in there...
    assert "$HOME `id`" not in text             # ...and the password is not (this piece survives JSON and repr)
    assert_no_secret(text)
