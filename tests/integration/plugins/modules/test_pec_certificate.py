# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pec_certificate module (host side) and its file logic (module_utils/_chaves.py), run for real.

Real runs through ansible-playbook (action plugin + module) into temporary "PEC installations".
What a playbook cannot reach (corrupted transfer, the permission window of the atomic rename, hard
links) calls the module's main() in process: tests/unit/plugins/modules/test_pec_certificate_in_process.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pathlib
import stat

import pytest
from certificate_lab import PASSWORD, tree

from ansible_collections.esus.rnds.plugins.module_utils import _chaves


@pytest.fixture
def pfx(make_pkcs12):
    return make_pkcs12(password=PASSWORD, name="fms.pfx")


@pytest.fixture
def pfx2(make_pkcs12, test_ca):
    return make_pkcs12(leaf=test_ca.issue_ecnpj(cnpj="11222333000181"), password=PASSWORD, name="novo.pfx")


def mode_of(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


# ----------------------------------------------------------------------------- real runs

def test_first_deploy_then_idempotent(lab, pfx):
    lab.add_host("h1")
    proc, results = lab.deploy({"src": str(pfx), "password": PASSWORD})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    first = results["h1"]
    assert first["changed"] is True and first["dir_changed"] is True and first["content_changed"] is True
    chaves = lab.chaves("h1")
    target = chaves / "fms.pfx"
    assert target.read_bytes() == pfx.read_bytes()
    assert mode_of(chaves) == 0o750 and mode_of(target) == 0o640
    assert os.stat(str(target)).st_uid == 0 and os.stat(str(target)).st_gid == 0
    assert first["checksum"] == hashlib.sha256(pfx.read_bytes()).hexdigest()
    assert first["path"] == str(target) and first["chaves_dir"] == str(chaves)
    assert first["backup_file"] is None and first["chaves_variants"] == []
    assert sorted(os.listdir(str(chaves))) == ["fms.pfx"]  # no temporary file left
    before = tree(lab.install_dir("h1"))
    proc, results = lab.deploy({"src": str(pfx), "password": PASSWORD})
    second = results["h1"]
    assert second["changed"] is False, second
    assert second["dir_changed"] is False and second["content_changed"] is False and second["attributes_changed"] is False
    assert tree(lab.install_dir("h1")) == before


def test_check_mode_writes_nothing(lab, pfx, pfx2):
    lab.add_host("h1")
    proc, results = lab.deploy({"src": str(pfx), "password": PASSWORD}, "--check")
    assert results["h1"]["changed"] is True and results["h1"]["content_changed"] is True
    assert not lab.chaves("h1").exists()
    lab.deploy({"src": str(pfx), "password": PASSWORD})
    os.chmod(str(lab.chaves("h1") / "fms.pfx"), 0o600)
    before = tree(lab.install_dir("h1"))
    proc, results = lab.deploy({"src": str(pfx2), "password": PASSWORD, "name": "fms.pfx", "prune": True}, "--check", "--diff")
    result = results["h1"]
    assert result["changed"] is True and result["content_changed"] is True
    assert result["backup_file"] is None
    assert tree(lab.install_dir("h1")) == before
    assert (lab.chaves("h1") / "fms.pfx").read_bytes() == pfx.read_bytes()


def test_diff_shows_attributes_never_content(lab, pfx, pfx2):
    lab.add_host("h1")
    lab.deploy({"src": str(pfx), "password": PASSWORD})
    proc, results = lab.deploy({"src": str(pfx2), "password": PASSWORD, "name": "fms.pfx", "mode": "0600"}, "--diff", "-vvvv")
    result = results["h1"]
    diff = result["diff"]
    assert diff["before"]["certificate"]["checksum"] == hashlib.sha256(pfx.read_bytes()).hexdigest()
    assert diff["after"]["certificate"]["checksum"] == hashlib.sha256(pfx2.read_bytes()).hexdigest()
    assert diff["before"]["certificate"]["mode"] == "0640" and diff["after"]["certificate"]["mode"] == "0600"
    assert diff["after"]["certificate"]["owner"] == "root"
    text = json.dumps(result) + proc.stdout + proc.stderr
    for data in (pfx.read_bytes(), pfx2.read_bytes()):
        encoded = base64.b64encode(data).decode("ascii")
        assert encoded[100:160] not in text
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in proc.stdout  # the content argument is masked
    assert PASSWORD not in text


def test_replace_makes_backup_outside_chaves(lab, pfx, pfx2):
    lab.add_host("h1")
    lab.deploy({"src": str(pfx), "password": PASSWORD})
    proc, results = lab.deploy({"src": str(pfx2), "password": PASSWORD, "name": "fms.pfx"})
    result = results["h1"]
    assert result["changed"] is True and result["content_changed"] is True
    backup = pathlib.Path(result["backup_file"])
    assert backup.parent == lab.install_dir("h1") / "webserver" / "chaves-backup"
    assert backup.name.startswith("fms.pfx.") and backup.name.endswith(".bak")
    assert not backup.name.lower().endswith((".pfx", ".p12"))
    assert backup.read_bytes() == pfx.read_bytes()
    assert mode_of(backup.parent) == 0o700
    assert mode_of(backup) == 0o600  # a backup holds a private key
    assert sorted(os.listdir(str(lab.chaves("h1")))) == ["fms.pfx"]
    assert (lab.chaves("h1") / "fms.pfx").read_bytes() == pfx2.read_bytes()
    # backup=false replaces without a copy
    proc, results = lab.deploy({"src": str(pfx), "password": PASSWORD, "name": "fms.pfx", "backup": False})
    assert results["h1"]["changed"] is True and results["h1"]["backup_file"] is None
    assert len(os.listdir(str(backup.parent))) == 1


def test_attribute_drift_is_fixed_without_rewrite(lab, pfx):
    lab.add_host("h1")
    lab.deploy({"src": str(pfx), "password": PASSWORD})
    target = lab.chaves("h1") / "fms.pfx"
    inode = os.stat(str(target)).st_ino
    os.chmod(str(target), 0o644)
    os.chmod(str(lab.chaves("h1")), 0o777)
    proc, results = lab.deploy({"src": str(pfx), "password": PASSWORD})
    result = results["h1"]
    assert result["changed"] is True and result["attributes_changed"] is True and result["dir_changed"] is True
    assert result["content_changed"] is False and result["backup_file"] is None
    assert mode_of(target) == 0o640 and mode_of(lab.chaves("h1")) == 0o750
    assert os.stat(str(target)).st_ino == inode


def test_prune_with_backup_keeps_listed_files(lab, pfx):
    lab.add_host("h1")
    lab.deploy({"src": str(pfx), "password": PASSWORD})
    chaves = lab.chaves("h1")
    for name in ("antigo.pfx", "OUTRO.P12", "fms.cer", "manter.pfx", "leia-me.txt"):
        (chaves / name).write_bytes(name.encode())
        os.chmod(str(chaves / name), 0o666)
    (chaves / "subpasta.pfx").mkdir()
    proc, results = lab.deploy({"src": str(pfx), "password": PASSWORD, "prune": True, "keep": ["manter.pfx"]}, "--check")
    assert sorted(results["h1"]["pruned"]) == ["OUTRO.P12", "antigo.pfx", "fms.cer"]
    assert (chaves / "antigo.pfx").exists()
    proc, results = lab.deploy({"src": str(pfx), "password": PASSWORD, "prune": True, "keep": ["manter.pfx"]})
    result = results["h1"]
    assert result["changed"] is True and result["content_changed"] is False
    assert sorted(result["pruned"]) == ["OUTRO.P12", "antigo.pfx", "fms.cer"]
    assert sorted(os.listdir(str(chaves))) == ["fms.pfx", "leia-me.txt", "manter.pfx", "subpasta.pfx"]
    backups = sorted(pathlib.Path(p).name for p in result["pruned_backup_files"])
    assert [b.split(".")[0] for b in backups] == ["OUTRO", "antigo", "fms"]
    assert all(b.endswith(".bak") for b in backups)
    assert sorted(os.listdir(str(chaves.parent / "chaves-backup"))) == backups
    assert all(mode_of(pathlib.Path(p)) == 0o600 for p in result["pruned_backup_files"])
    proc, results = lab.deploy({"src": str(pfx), "password": PASSWORD, "prune": True, "keep": ["manter.pfx"]})
    assert results["h1"]["changed"] is False


def test_prune_without_backup_deletes(lab, pfx):
    lab.add_host("h1")
    lab.deploy({"src": str(pfx), "password": PASSWORD})
    (lab.chaves("h1") / "antigo.pfx").write_bytes(b"x")
    proc, results = lab.deploy({"src": str(pfx), "password": PASSWORD, "prune": True, "backup": False})
    assert results["h1"]["pruned"] == ["antigo.pfx"] and results["h1"]["pruned_backup_files"] == []
    assert sorted(os.listdir(str(lab.chaves("h1")))) == ["fms.pfx"]
    assert not (lab.chaves("h1").parent / "chaves-backup").exists()


def test_symlinked_chaves_refused(lab, pfx, tmp_path):
    lab.add_host("h1")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(str(elsewhere), str(lab.chaves("h1")))
    proc, results = lab.deploy({"src": str(pfx), "password": PASSWORD})
    assert results["h1"]["failed"] is True and "link simbólico" in results["h1"]["msg"]
    assert os.listdir(str(elsewhere)) == []


def test_symlinked_webserver_refused(lab, pfx, tmp_path):
    real = tmp_path / "real-webserver"
    real.mkdir()
    lab.add_host("h1", create_webserver=False)
    lab.install_dir("h1").mkdir(parents=True)
    os.symlink(str(real), str(lab.install_dir("h1") / "webserver"))
    proc, results = lab.deploy({"src": str(pfx), "password": PASSWORD})
    assert results["h1"]["failed"] is True and "link simbólico" in results["h1"]["msg"]
    assert os.listdir(str(real)) == []


def test_symlinked_certificate_file_refused(lab, pfx, tmp_path):
    lab.add_host("h1")
    lab.chaves("h1").mkdir()
    victim = tmp_path / "victim"
    victim.write_bytes(b"do not touch")
    os.symlink(str(victim), str(lab.chaves("h1") / "fms.pfx"))
    proc, results = lab.deploy({"src": str(pfx), "password": PASSWORD})
    assert results["h1"]["failed"] is True and "link simbólico" in results["h1"]["msg"]
    assert victim.read_bytes() == b"do not touch"


def test_chaves_that_is_a_file_refused(lab, pfx):
    lab.add_host("h1")
    lab.chaves("h1").write_bytes(b"")
    proc, results = lab.deploy({"src": str(pfx), "password": PASSWORD})
    assert results["h1"]["failed"] is True and "não é uma pasta" in results["h1"]["msg"]


def test_missing_installation_refused(lab, pfx):
    lab.add_host("h1", create_webserver=False)
    proc, results = lab.deploy({"src": str(pfx), "passphrase": PASSWORD})
    assert results["h1"]["failed"] is True and "instale o PEC ou ajuste install_dir" in results["h1"]["msg"]
    # a role passes option_labels: its user reads the variable to change
    proc, results = lab.deploy({"src": str(pfx), "passphrase": PASSWORD,
                                "option_labels": {"install_dir": "rnds_pec_install_dir"}})
    assert results["h1"]["failed"] is True and "instale o PEC ou ajuste rnds_pec_install_dir" in results["h1"]["msg"]
    assert not lab.install_dir("h1").exists()
    lab.install_dir("h1").mkdir(parents=True)
    proc, results = lab.deploy({"src": str(pfx), "password": PASSWORD})
    assert results["h1"]["failed"] is True and "o PEC não parece instalado" in results["h1"]["msg"]
    assert os.listdir(str(lab.install_dir("h1"))) == []


def test_case_variant_folder_reported(lab, pfx):
    lab.add_host("h1")
    (lab.install_dir("h1") / "webserver" / "Chaves").mkdir()
    proc, results = lab.deploy({"src": str(pfx), "password": PASSWORD})
    result = results["h1"]
    assert result["changed"] is True and result["chaves_variants"] == ["Chaves"]
    warning = ("existe também a pasta %s ao lado de chaves (difere só em maiúsculas/minúsculas)"
               % (lab.install_dir("h1") / "webserver" / "Chaves"))
    assert [w for w in result["warnings"] if w.startswith(warning)] == result["warnings"] != [], result["warnings"]
    assert "[WARNING]: existe também a pasta" in proc.stdout + proc.stderr
    assert os.listdir(str(lab.install_dir("h1") / "webserver" / "Chaves")) == []


def test_custom_dirname_owner_and_group(lab, pfx):
    lab.add_host("h1")
    proc, results = lab.deploy({"src": str(pfx), "password": PASSWORD, "chaves_dirname": "Chaves",
                                "owner": "daemon", "group": "0", "mode": "0600", "dir_mode": "0700"})
    result = results["h1"]
    assert result["changed"] is True and result["owner"] == "daemon"
    target = lab.chaves("h1", "Chaves") / "fms.pfx"
    st = os.stat(str(target))
    assert st.st_uid == _chaves.resolve_uid("daemon") and st.st_gid == 0 and mode_of(target) == 0o600
    assert mode_of(target.parent) == 0o700 and os.stat(str(target.parent)).st_uid == st.st_uid


def test_unknown_owner_refused(lab, pfx):
    lab.add_host("h1")
    proc, results = lab.deploy({"src": str(pfx), "password": PASSWORD, "owner": "usuario-que-nao-existe",
                                "option_labels": {"owner": "rnds_chaves_owner", "passphrase": "rnds_certificate_password"}})
    assert results["h1"]["failed"] is True
    assert "o usuário 'usuario-que-nao-existe' não existe neste servidor; ajuste rnds_chaves_owner" in results["h1"]["msg"]
    assert not lab.chaves("h1").exists()
