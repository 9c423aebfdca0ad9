# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pec_certificate module's main() in process, and its file logic (module_utils/_chaves.py).

What a playbook cannot reach: a corrupted transfer, the permission window of the atomic rename,
hard links, backup names. The module run by ansible-playbook is tested in
tests/integration/plugins/modules/test_pec_certificate.py.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import stat

import pytest

from ansible_collections.esus.rnds.plugins.module_utils import _chaves
from ansible_collections.esus.rnds.plugins.modules import pec_certificate


def mode_of(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def test_corrupted_transfer_refused(tmp_path, pec_certificate_main):
    (tmp_path / "webserver").mkdir()
    code, result = pec_certificate_main(tmp_path, b"abc", checksum="0" * 64)
    assert code == 1 and "SHA-256 não confere" in result["msg"]
    assert not (tmp_path / "webserver" / "chaves").exists()
    code, result = pec_certificate_main(tmp_path, b"abc", content="não é base64!")
    assert code == 1 and "base64" in result["msg"]
    code, result = pec_certificate_main(tmp_path, None)
    assert code == 1 and "src" in result["msg"]


def test_new_file_is_never_readable_by_others(tmp_path, pec_certificate_main, monkeypatch):
    """Even with umask 000, the certificate is never world-accessible, not even for an instant."""
    (tmp_path / "webserver").mkdir()
    seen = []
    original = os.rename

    def spy(src, dst, *args, **kwargs):
        src_fd, dst_fd = kwargs.get("src_dir_fd"), kwargs.get("dst_dir_fd")
        seen.append(("tmp", stat.S_IMODE(os.stat(src, dir_fd=src_fd, follow_symlinks=False).st_mode)))
        original(src, dst, *args, **kwargs)
        seen.append(("dest", stat.S_IMODE(os.stat(dst, dir_fd=dst_fd, follow_symlinks=False).st_mode)))

    monkeypatch.setattr(pec_certificate.os, "rename", spy)
    old = os.umask(0)
    try:
        code, result = pec_certificate_main(tmp_path, b"certificado")
    finally:
        os.umask(old)
    assert code == 0 and result["changed"] is True
    assert seen and all(not mode & 0o007 for _where, mode in seen), seen
    assert mode_of(tmp_path / "webserver" / "chaves" / "fms.pfx") == 0o640


def test_check_mode_in_process(tmp_path, pec_certificate_main):
    (tmp_path / "webserver").mkdir()
    code, result = pec_certificate_main(tmp_path, b"abc", _ansible_check_mode=True, _ansible_diff=True)
    assert code == 0 and result["changed"] is True and "diff" in result
    assert os.listdir(str(tmp_path / "webserver")) == []
    assert base64.b64encode(b"abc").decode() not in json.dumps(result)


# ----------------------------------------------------------------------------- _chaves helpers

@pytest.mark.parametrize("value,expected", [("0640", 0o640), ("640", 0o640), (0o640, 0o640), ("0o600", 0o600), ("0750", 0o750)])
def test_parse_mode(value, expected):
    assert _chaves.parse_mode(value, "modo") == expected


@pytest.mark.parametrize("value", ["0644", "0607", "1750", "abc", "", "99", True, 0o777])
def test_parse_mode_refused(value):
    with pytest.raises(ValueError):
        _chaves.parse_mode(value, "modo")


@pytest.mark.parametrize("args,option", [
    (("a.cer", "chaves", "0640", "0750"), "name"),
    (("a.pfx", "../x", "0640", "0750"), "chaves_dirname"),
    (("a.pfx", "chaves", "0644", "0750"), "mode"),
    (("a.pfx", "chaves", "0640", "0755"), "dir_mode"),
])
def test_parse_target_names_the_option(args, option):
    assert _chaves.parse_target("a.pfx", "chaves", "0640", "0750") == (0o640, 0o750)
    with pytest.raises(ValueError) as info:
        _chaves.parse_target(*args)
    assert "{option:%s}" % option in str(info.value)


def test_names_and_kinds():
    assert _chaves.check_certificate_name("fms.PFX") is None
    assert _chaves.check_certificate_name("a/b.pfx") and _chaves.check_certificate_name("a\x00.pfx")
    assert _chaves.check_certificate_name(None)
    # names the option it is given (a placeholder the module renders), and no option otherwise
    assert _chaves.check_certificate_name("a.cer", "name").endswith("; ajuste {option:name}")
    assert "ajuste" not in _chaves.check_certificate_name("a.cer") and "{option:" not in _chaves.check_certificate_name("a.cer")
    assert _chaves.kind_of("A.P12") == "pkcs12" and _chaves.kind_of("a.cer") == "cer" and _chaves.kind_of("a.bak") == "other"
    assert _chaves.check_dirname("chaves") is None and _chaves.check_dirname("") is not None


def test_case_variants(tmp_path):
    for name in ("chaves", "Chaves", "CHAVES", "outra"):
        (tmp_path / name).mkdir()
    assert _chaves.case_variants(str(tmp_path), "chaves") == ["CHAVES", "Chaves"]
    assert _chaves.case_variants(str(tmp_path / "nao-existe"), "chaves") == []


# ----------------------------------------------------------------------------- descriptors, links, names

def test_hard_linked_certificate_is_refused_and_left_alone(tmp_path, pec_certificate_main):
    """A file with two links could be any file of the server: never read, copied, chowned or replaced through it."""
    chaves = tmp_path / "webserver" / "chaves"
    chaves.mkdir(parents=True)
    other = tmp_path / "outro-arquivo-do-servidor"
    other.write_bytes(b"segredo do root")
    os.chmod(str(other), 0o400)
    os.link(str(other), str(chaves / "fms.pfx"))
    before = os.stat(str(other))
    code, result = pec_certificate_main(tmp_path, b"certificado", owner="nobody")
    assert code == 1 and "mais de um link físico" in result["msg"], result
    after = os.stat(str(other))
    assert other.read_bytes() == b"segredo do root" and (after.st_mode, after.st_uid, after.st_nlink) == (
        before.st_mode, before.st_uid, 2)
    assert not (tmp_path / "webserver" / "chaves-backup").exists()


def test_hard_linked_lock_file_is_refused(tmp_path, pec_certificate_main):
    webserver = tmp_path / "webserver"
    webserver.mkdir()
    other = tmp_path / "outro"
    other.write_bytes(b"")
    os.chmod(str(other), 0o644)
    os.link(str(other), str(webserver / ".esus-rnds.lock"))
    code, result = pec_certificate_main(tmp_path, b"certificado")
    assert code == 1 and "link físico" in result["msg"] and "trava" in result["msg"], result
    assert mode_of(other) == 0o644 and not (webserver / "chaves").exists()


def test_backup_names_are_unpredictable_and_copied_from_the_checked_file(tmp_path, pec_certificate_main):
    (tmp_path / "webserver").mkdir()
    names = []
    for number in range(3):  # three replacements in the same second
        code, result = pec_certificate_main(tmp_path, ("versao %d" % number).encode())
        assert code == 0, result
        if number:
            names.append(os.path.basename(result["backup_file"]))
    backups = tmp_path / "webserver" / "chaves-backup"
    assert sorted(os.listdir(str(backups))) == sorted(names)
    for name in names:
        prefix, stamp, token, suffix = name.rsplit(".", 3)
        assert prefix == "fms.pfx" and suffix == "bak" and len(stamp) == 15 and len(token) == 16
        int(token, 16)
    assert names[0].split(".")[3] != names[1].split(".")[3]
    assert sorted((backups / name).read_bytes() for name in names) == [b"versao 0", b"versao 1"]
    assert all(mode_of(backups / name) == 0o600 for name in names)


def test_host_side_files_keep_python36_syntax():
    """pec_certificate and _chaves run on PEC servers, whose python3 may be old: no newer syntax there."""
    import ast  # pylint: disable=import-outside-toplevel
    for module in (pec_certificate, _chaves):
        source = pathlib.Path(module.__file__).read_text(encoding="utf-8")
        ast.parse(source, feature_version=(3, 6))
        assert "from __future__ import annotations" not in source
