# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one module that touches ansible-core private APIs, tested on whichever ansible-core runs it.

``make matrix`` runs this file with every ansible-core minor that meta/runtime.yml claims, so each
version proves both the private path it takes and the fallback.
"""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleError, AnsibleFileNotFound
from ansible.module_utils.ansible_release import __version__ as ANSIBLE_VERSION
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import VaultLib, VaultSecret

from ansible_collections.esus.rnds.plugins.plugin_utils import _ansible_compat as compat

CORE = tuple(int(part) for part in ANSIBLE_VERSION.split(".")[:2])
PASSWORD = b"cofre-de-teste"
CONTENT = b"\x30\x82 bytes de um .pfx \x00\xff"


def _loader(secret=PASSWORD):
    loader = DataLoader()
    if secret is not None:
        loader.set_vault_secrets([("default", VaultSecret(secret))])
    return loader


def _vault():
    return VaultLib([("default", VaultSecret(PASSWORD))])


class _NoPrivateLoader:
    """A loader as a future ansible-core could have it: no ``_get_file_contents``."""

    def __init__(self, loader):
        self._vault = loader._vault  # pylint: disable=protected-access


def test_api_matches_the_running_ansible_core():
    assert CORE >= (2, 16)
    expected = "EncryptedString" if CORE >= (2, 19) else "AnsibleVaultEncryptedUnicode"
    assert compat.VAULT_VALUE_API == expected
    # the private methods and attributes the collection uses exist in this version
    loader = _loader()
    assert callable(getattr(loader, "_get_file_contents", None))
    assert hasattr(loader, "_vault")


def test_loader_vault_secrets():
    assert [vault_id for vault_id, dummy in compat.loader_vault_secrets(_loader())] == ["default"]
    assert compat.loader_vault_secrets(_loader(secret=None)) == []
    assert compat.loader_vault_secrets(object()) == []


@pytest.mark.parametrize("private", [True, False], ids=["private-api", "fallback"])
def test_read_file_decrypted(tmp_path, private):
    plain = tmp_path / "plain.pfx"
    plain.write_bytes(CONTENT)
    vaulted = tmp_path / "vaulted.pfx"
    vaulted.write_bytes(_vault().encrypt(CONTENT))
    assert vaulted.read_bytes().startswith(b"$ANSIBLE_VAULT;")
    loader = _loader() if private else _NoPrivateLoader(_loader())
    before = set(tmp_path.iterdir())
    assert compat.read_file_decrypted(loader, str(plain)) == CONTENT
    assert compat.read_file_decrypted(loader, str(vaulted)) == CONTENT
    assert set(tmp_path.iterdir()) == before  # no decrypted copy written next to it
    with pytest.raises(AnsibleFileNotFound):
        compat.read_file_decrypted(loader, str(tmp_path / "missing.pfx"))


@pytest.mark.parametrize("private", [True, False], ids=["private-api", "fallback"])
def test_read_file_decrypted_wrong_vault_password(tmp_path, private):
    vaulted = tmp_path / "vaulted.pfx"
    vaulted.write_bytes(_vault().encrypt(CONTENT))
    loader = _loader(b"outra-senha")
    loader = loader if private else _NoPrivateLoader(loader)
    with pytest.raises(AnsibleError) as info:
        compat.read_file_decrypted(loader, str(vaulted))
    assert "vault" in str(info.value).lower()


def test_vault_value_round_trip():
    vault = _vault()
    value = compat.vault_value(u"senha com acentuação e $hell", vault, VaultSecret(PASSWORD))
    assert compat.is_vault_value(value)
    ciphertext = compat.vault_ciphertext(value)
    assert ciphertext.startswith("$ANSIBLE_VAULT;")
    assert "acentuação" not in ciphertext
    assert vault.decrypt(ciphertext).decode("utf-8") == u"senha com acentuação e $hell"


@pytest.mark.parametrize("value", ["texto claro", b"bytes", 12, None, ["lista"]])
def test_plain_values_are_not_vault_values(value):
    assert not compat.is_vault_value(value)
    assert compat.vault_ciphertext(value) is None


def test_vault_values_from_yaml_are_recognised(tmp_path):
    """A value written with ``ansible-vault encrypt_string`` and read by the loader."""
    ciphertext = _vault().encrypt(b"segredo").decode("ascii")
    path = tmp_path / "vars.yml"
    path.write_text("senha: !vault |\n" + "".join("  %s\n" % line for line in ciphertext.splitlines()))
    data = _loader().load_from_file(str(path))
    assert compat.is_vault_value(data["senha"])
    assert _vault().decrypt(compat.vault_ciphertext(data["senha"])) == b"segredo"
