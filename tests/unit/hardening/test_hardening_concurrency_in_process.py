# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Concurrency, in process: the lock that serialises the writers of one installation.

pec_certificate serialises the writers of one installation with a flock on
``<install_dir>/webserver/.esus-rnds.lock`` (never inside ``chaves``) and, under that lock, removes
the temporary files a killed run left. Here the module's main() runs in process: a held lock makes
it wait, then give up with a clear message and nothing changed. Two real ansible-playbook runs at
once: tests/integration/hardening/test_hardening_concurrency.py.
"""

from __future__ import annotations

import fcntl
import os

from ansible_collections.esus.rnds.plugins.modules import pec_certificate

# The files belong to whoever runs the tests.
OWNER = {"owner": str(os.getuid()), "group": str(os.getgid())}


def test_lock_makes_a_second_writer_wait_then_give_up_clearly(tmp_path, pec_certificate_main, monkeypatch):
    webserver = tmp_path / "webserver"
    webserver.mkdir()
    lock = webserver / ".esus-rnds.lock"
    monkeypatch.setattr(pec_certificate, "LOCK_TIMEOUT", 0.6)
    with open(str(lock), "a") as holder:
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)  # another run is writing
        code, result = pec_certificate_main(tmp_path, b"certificado", **OWNER)
        assert code == 1 and "outra execução do esus.rnds está gravando" in result["msg"], result
        assert not (webserver / "chaves").exists()
    # released: the same call goes through, and the lock file is private and outside chaves
    code, result = pec_certificate_main(tmp_path, b"certificado", **OWNER)
    assert code == 0 and result["changed"] is True
    assert os.listdir(str(webserver / "chaves")) == ["fms.pfx"]
    assert (lock.stat().st_mode & 0o777) == 0o600


def test_lock_file_that_is_a_symlink_is_refused(tmp_path, pec_certificate_main):
    webserver = tmp_path / "webserver"
    webserver.mkdir()
    target = tmp_path / "alvo"
    target.write_text("não mexa")
    os.symlink(str(target), str(webserver / ".esus-rnds.lock"))
    code, result = pec_certificate_main(tmp_path, b"certificado", **OWNER)
    assert code == 1 and "link simbólico" in result["msg"]
    assert target.read_text() == "não mexa" and not (webserver / "chaves").exists()


def test_leftovers_of_a_killed_run_are_removed_under_the_lock(tmp_path, pec_certificate_main):
    chaves = tmp_path / "webserver" / "chaves"
    chaves.mkdir(parents=True)
    data = b"certificado"
    code, result = pec_certificate_main(tmp_path, data, **OWNER)
    assert code == 0
    (chaves / ".esus-rnds-abc123.tmp").write_bytes(data[:4])  # half-written by a killed run
    (chaves / ".ansible_tmpxyzfms.pfx").write_bytes(data[:4])  # atomic_move() fallback, killed
    (chaves / "outro.pfx").write_bytes(b"do operador")
    code, result = pec_certificate_main(tmp_path, data, _ansible_check_mode=True, **OWNER)
    assert code == 0 and result["changed"] is True
    assert result["removed_temp_files"] == [".ansible_tmpxyzfms.pfx", ".esus-rnds-abc123.tmp"]
    assert len(os.listdir(str(chaves))) == 4  # check mode removed nothing
    code, result = pec_certificate_main(tmp_path, data, **OWNER)
    assert code == 0 and result["changed"] is True and not result["content_changed"]
    assert sorted(os.listdir(str(chaves))) == ["fms.pfx", "outro.pfx"]
    code, result = pec_certificate_main(tmp_path, data, **OWNER)
    assert code == 0 and result["changed"] is False and result["removed_temp_files"] == []
