# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This plugin_utils file is internal to esus.rnds: no compatibility promise for other collections.
"""The ansible-core private APIs esus.rnds relies on, in one place (controller side only).

Each function names the private API it uses and the ansible-core versions it was tested with
(``make matrix`` runs ``tests/unit/plugins/plugin_utils/test_ansible_compat.py`` on every
ansible-core minor that ``meta/runtime.yml`` claims). Nothing else in the collection touches a
private attribute of ansible-core: when one changes, this file is the only one to adapt.

- ``DataLoader._get_file_contents`` (2.16 - 2.21): file bytes with ansible-vault decrypted in
  memory. Fallback: read the file and decrypt with the loader's vault secrets.
- ``DataLoader._vault`` (2.16 - 2.21): the vault secrets given on the command line.
- Vault values: ``EncryptedString``/``VaultHelper`` (2.19+, data tagging) or
  ``AnsibleVaultEncryptedUnicode`` (2.16 - 2.18).
"""

from __future__ import annotations

from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.parsing.vault import VaultLib, is_encrypted

try:  # ansible-core >= 2.19 (data tagging)
    from ansible.parsing.vault import EncryptedString, VaultHelper
    AnsibleVaultEncryptedUnicode = None
    VAULT_VALUE_API = "EncryptedString"
except ImportError:  # ansible-core 2.16 - 2.18
    EncryptedString = VaultHelper = None
    from ansible.parsing.yaml.objects import AnsibleVaultEncryptedUnicode
    VAULT_VALUE_API = "AnsibleVaultEncryptedUnicode"


def loader_vault_secrets(loader):
    """The vault secrets the loader was given (``--vault-password-file``, ``--ask-vault-pass``)."""
    vault = getattr(loader, "_vault", None)
    return list(getattr(vault, "secrets", None) or [])


def read_file_decrypted(loader, path):
    """Bytes of a controller file, ansible-vault decrypted in memory (no plain copy on disk).

    Raises what ``DataLoader`` raises: ``AnsibleFileNotFound`` for a missing file, an
    ``AnsibleError`` mentioning the vault when it cannot be decrypted.
    """
    getter = getattr(loader, "_get_file_contents", None)
    if getter is not None:
        data, dummy = getter(path)
        return bytes(data)
    return _read_and_decrypt(loader, path)  # no such private method in this ansible-core


def _read_and_decrypt(loader, path):
    from ansible.errors import AnsibleFileNotFound, AnsibleParserError  # pylint: disable=import-outside-toplevel

    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise AnsibleFileNotFound(file_name=path) from None
    except OSError as exc:
        raise AnsibleParserError("an error occurred while trying to read the file '%s': %s" % (path, to_text(exc))) from None
    if is_encrypted(data):
        data = VaultLib(loader_vault_secrets(loader)).decrypt(data)
    return bytes(data)


def is_vault_value(value):
    """True for a value that came from ``!vault`` / ``ansible-vault encrypt_string``."""
    if VaultHelper is not None:
        return VaultHelper.get_ciphertext(value, with_tags=False) is not None
    return isinstance(value, AnsibleVaultEncryptedUnicode)


def vault_ciphertext(value):
    """The vault ciphertext (text) of a vault value, or None for anything else."""
    if VaultHelper is not None:
        return VaultHelper.get_ciphertext(value, with_tags=False)
    if isinstance(value, AnsibleVaultEncryptedUnicode):
        return to_text(value._ciphertext)  # pylint: disable=protected-access
    return None


def vault_value(plaintext, vault, secret):
    """A vault value holding ``plaintext`` encrypted with ``secret`` (shows as ciphertext in dumps)."""
    if EncryptedString is not None:
        return EncryptedString(ciphertext=to_text(vault.encrypt(to_bytes(plaintext), secret)))
    return AnsibleVaultEncryptedUnicode.from_plaintext(plaintext, vault, secret)
