# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pec_certificate action plugin in process: cache key, validity refresh, vault.

The plugin run by ansible-playbook is tested in tests/integration/plugins/action/test_pec_certificate.py.
"""

from __future__ import annotations

import datetime
import hashlib
import os

from ansible.parsing.vault import VaultLib, VaultSecret

from ansible_collections.esus.rnds.plugins.action import pec_certificate as action


def test_vault_source_is_decrypted_in_memory_only(make_pkcs12, tmp_path):
    """The plugin reads through the loader's in-memory vault support, never get_real_file()."""
    from ansible.parsing.dataloader import DataLoader

    plain = make_pkcs12(password="senha", name="fms-3550308.pfx").read_bytes()
    secret = VaultSecret(b"senha-do-vault")
    encrypted = tmp_path / "fms.pfx"
    encrypted.write_bytes(VaultLib([("default", secret)]).encrypt(plain))  # what ansible-vault encrypt writes
    assert encrypted.read_bytes().startswith(b"$ANSIBLE_VAULT;")
    loader = DataLoader()
    loader.set_vault_secrets([("default", secret)])
    plugin = action.ActionModule.__new__(action.ActionModule)
    plugin._loader = loader
    assert plugin._load_bytes(str(encrypted), "fms.pfx") == plain
    assert not loader._tempfiles  # get_real_file() would have left a decrypted copy here


def test_cache_key_depends_on_password_and_file(tmp_path):
    path = tmp_path / "a.pfx"
    path.write_bytes(b"x")
    st = os.stat(str(path))
    assert action._cache_key(str(path), st, "a") != action._cache_key(str(path), st, "b")
    path.write_bytes(b"xy")
    assert action._cache_key(str(path), st, "a") != action._cache_key(str(path), os.stat(str(path)), "a")
    # the key is secret: an HMAC, not a plain hash of the password
    assert hashlib.sha256(b"a").hexdigest() not in action._cache_key(str(path), st, "a")


def test_refresh_validity_recomputes_days():
    facts = {"not_before": "2020-01-01T00:00:00Z", "not_after": "2020-01-11T00:00:00Z", "days_remaining": 999}
    now = datetime.datetime(2020, 1, 1, 12, tzinfo=datetime.timezone.utc)
    fresh = action.refresh_validity(facts, now)
    assert fresh["days_remaining"] == 9 and fresh["expired"] is False and fresh["not_yet_valid"] is False
    late = action.refresh_validity(facts, datetime.datetime(2020, 2, 1, tzinfo=datetime.timezone.utc))
    assert late["expired"] is True and late["days_remaining"] < 0
