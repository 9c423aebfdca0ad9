# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugin_utils/_validation_store: validated certificates remembered between runs (real PKCS#12 files).

The action plugin's use of it (origin ``store``, no PKCS#12 opened on the second run, counted from outside)
is in tests/integration/plugins/action/test_pec_certificate.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess

import pytest
import testca

from ansible_collections.esus.rnds.plugins.module_utils._pkcs12 import inspect_pkcs12
from ansible_collections.esus.rnds.plugins.plugin_utils import _validation_store as store

PASSWORD = testca.HARD_PASSWORD


@pytest.fixture
def env(tmp_path):
    return {store.ENV_NAME: str(tmp_path / "store")}


def _entry(content, password):
    sha256 = hashlib.sha256(content).hexdigest()
    facts = dict(inspect_pkcs12(content, password), sha256=sha256)
    facts.pop("password", None)
    return {"facts": facts, "sha256": sha256}


@pytest.fixture
def pfx_bytes(make_pkcs12):
    return make_pkcs12(password=PASSWORD, name="fms.pfx").read_bytes()


def test_remembered_file_is_found_with_a_password_that_opens_it(pfx_bytes, env, tmp_path):
    entry = _entry(pfx_bytes, PASSWORD)
    assert store.lookup(pfx_bytes, PASSWORD, env) is None  # nothing stored yet
    store.remember(entry, env)
    found = store.lookup(pfx_bytes, PASSWORD, env)
    assert found == {"facts": entry["facts"], "sha256": entry["sha256"]}
    folder = tmp_path / "store"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = list(folder.iterdir())
    assert [f.name for f in files] == [entry["sha256"] + ".json"]
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    text = files[0].read_text(encoding="utf-8")
    for piece in (PASSWORD, "Sênha", "S\\u00eanha", "`id`"):
        assert piece not in text
    assert json.loads(text)["facts"]["cnpj"] == "12345678000195"


def test_wrong_password_or_other_bytes_are_never_answered_from_the_store(pfx_bytes, make_pkcs12, env):
    entry = _entry(pfx_bytes, PASSWORD)
    store.remember(entry, env)
    assert store.lookup(pfx_bytes, "senha errada", env) is None
    assert store.lookup(pfx_bytes, "", env) is None
    other = make_pkcs12(password=PASSWORD, name="outro.pfx").read_bytes()
    assert store.lookup(other, PASSWORD, env) is None  # other bytes: not stored


def test_file_without_mac_is_always_opened_again(ecnpj_leaf, tmp_path, env):
    crt, key = testca.write_pem_files(str(tmp_path), testca.Leaf(ecnpj_leaf.cert, ecnpj_leaf.key, []), "leaf")
    out = tmp_path / "sem-mac.p12"
    subprocess.run(["openssl", "pkcs12", "-export", "-nomac", "-in", crt, "-inkey", key, "-out", str(out),
                    "-passout", "pass:senha"], check=True, capture_output=True)
    content = out.read_bytes()
    entry = _entry(content, "senha")
    store.remember(entry, env)
    assert (tmp_path / "store" / (entry["sha256"] + ".json")).exists()
    assert store.lookup(content, "senha", env) is None


def test_refused_files_and_malformed_entries_are_not_stored(pfx_bytes, env, tmp_path):
    store.remember({"error": "senha errada", "code": "wrong_password"}, env)
    store.remember({"facts": {}, "sha256": "../../fora"}, env)
    store.remember({"facts": {}, "sha256": None}, env)
    store.remember(None, env)
    assert not (tmp_path / "store").exists() or list((tmp_path / "store").iterdir()) == []
    assert not (tmp_path / "fora.json").exists()


@pytest.mark.parametrize("value", ["off", "OFF", "0", "false", ""])
def test_store_can_be_turned_off(pfx_bytes, tmp_path, value):
    environ = {store.ENV_NAME: value, "XDG_CACHE_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home")}
    assert store.store_dir(environ) is None
    entry = _entry(pfx_bytes, PASSWORD)
    store.remember(entry, environ)
    assert store.lookup(pfx_bytes, PASSWORD, environ) is None
    assert not (tmp_path / "xdg").exists() and not (tmp_path / "home").exists()


def test_default_folder_follows_xdg_cache_home(tmp_path):
    assert store.store_dir({"XDG_CACHE_HOME": str(tmp_path)}) == str(tmp_path / "esus.rnds" / "certificates")


def test_folder_others_can_use_is_ignored(pfx_bytes, env, tmp_path):
    entry = _entry(pfx_bytes, PASSWORD)
    store.remember(entry, env)
    folder = tmp_path / "store"
    os.chmod(str(folder), 0o755)
    assert store.lookup(pfx_bytes, PASSWORD, env) is None
    os.chmod(str(folder), 0o700)
    assert store.lookup(pfx_bytes, PASSWORD, env) is not None


def test_symbolic_links_are_not_followed(pfx_bytes, env, tmp_path):
    """A link in place of the folder or of an entry is not used, even when it points at a valid entry."""
    entry = _entry(pfx_bytes, PASSWORD)
    real = {store.ENV_NAME: str(tmp_path / "real")}
    store.remember(entry, real)
    os.symlink(str(tmp_path / "real"), str(tmp_path / "store"))
    assert store.lookup(pfx_bytes, PASSWORD, env) is None
    store.remember(entry, env)  # does not write through the link either
    os.unlink(str(tmp_path / "store"))
    os.mkdir(str(tmp_path / "store"), 0o700)
    os.symlink(str(tmp_path / "real" / (entry["sha256"] + ".json")), str(tmp_path / "store" / (entry["sha256"] + ".json")))
    assert store.lookup(pfx_bytes, PASSWORD, env) is None


def test_entry_of_another_digest_or_version_is_ignored(pfx_bytes, env, tmp_path):
    entry = _entry(pfx_bytes, PASSWORD)
    store.remember(entry, env)
    path = tmp_path / "store" / (entry["sha256"] + ".json")
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(dict(data, v=store.VERSION + 1)), encoding="utf-8")
    assert store.lookup(pfx_bytes, PASSWORD, env) is None
    path.write_text(json.dumps(dict(data, facts=dict(data["facts"], sha256="0" * 64))), encoding="utf-8")
    assert store.lookup(pfx_bytes, PASSWORD, env) is None
    path.write_text("não é json", encoding="utf-8")
    assert store.lookup(pfx_bytes, PASSWORD, env) is None
