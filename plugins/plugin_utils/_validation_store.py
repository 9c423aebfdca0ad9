# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This plugin_utils file is internal to esus.rnds: no compatibility promise for other collections.
"""Validated certificates remembered between runs of ansible-playbook (controller side).

Opening a .pfx/.p12 with ``cryptography`` costs about 40 ms of controller CPU, most of it the RSA key
consistency check; an audit or a re-run opens every unchanged file of the fleet again. This store keeps,
for each file that passed a full validation, its public facts (the ones pec_certificate returns: no
secret) under the SHA-256 of the file's bytes (after ansible-vault decryption). A later run reuses them
only when the file is byte for byte the same **and** the password given now verifies the file's own
integrity MAC (PKCS#12 MacData, checked with the standard library in about 1 ms): the same bytes and a
password that opens them give the same certificate, key match and chain, so only the time-dependent
facts are recomputed. A file without a MAC, a wrong password or anything unexpected falls back to the
full validation; a refused file is never stored.

Where: ``$ESUS_RNDS_CERTIFICATE_CACHE`` when set (``off`` turns the store off), else
``$XDG_CACHE_HOME/esus.rnds/certificates`` (``~/.cache/esus.rnds/certificates``). The folder is created
with mode 0700; a folder that is a symbolic link, is not owned by the user running ansible-playbook, or
that group or others can write or read is not used (silently: the store only saves time). Entries are
read without following symbolic links and written atomically with mode 0600.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat

from ansible_collections.esus.rnds.plugins.module_utils._pkcs12_format import mac_verifies, password_candidates
from ansible_collections.esus.rnds.plugins.plugin_utils._files import write_atomic

ENV_NAME = "ESUS_RNDS_CERTIFICATE_CACHE"
OFF = ("off", "0", "false", "no", "none")
VERSION = 1
MAX_ENTRY_BYTES = 64 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def store_dir(environ=None):
    """The store folder, or None when the store is turned off."""
    environ = os.environ if environ is None else environ
    configured = environ.get(ENV_NAME)
    if configured is not None:
        configured = configured.strip()
        if configured.lower() in OFF or not configured:
            return None
        return os.path.abspath(os.path.expanduser(configured))
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "esus.rnds", "certificates")


def _private_dir(path, create):
    """``path`` when it is a real folder of ours that only we can use (created 0700 if ``create``), else None."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if not create:
            return None
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
            st = os.lstat(path)
        except OSError:
            return None
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
        return None
    return path


def lookup(content, password, environ=None):
    """The stored entry (``{"facts": ..., "sha256": ...}``) of these exact bytes when ``password`` verifies
    their MAC, else None."""
    directory = store_dir(environ)
    if directory is None or _private_dir(directory, create=False) is None:
        return None
    sha256 = hashlib.sha256(content).hexdigest()
    try:
        fd = os.open(os.path.join(directory, sha256 + ".json"), os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_ENTRY_BYTES or st.st_uid != os.geteuid():
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            entry = json.loads(handle.read(MAX_ENTRY_BYTES).decode("utf-8"))
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
    if not isinstance(entry, dict) or entry.get("v") != VERSION or entry.get("sha256") != sha256 \
            or not isinstance(entry.get("facts"), dict) or entry["facts"].get("sha256") != sha256:
        return None
    # The bytes are the ones validated before; the password must be one that opens them.
    if mac_verifies(content, password_candidates(password)) is not True:
        return None
    return {"facts": entry["facts"], "sha256": sha256}


def remember(entry, environ=None):
    """Store a successful validation entry (``{"facts": ..., "sha256": ...}``); errors are never stored."""
    if not isinstance(entry, dict) or "error" in entry or not isinstance(entry.get("facts"), dict) \
            or not isinstance(entry.get("sha256"), str) or not _SHA256.match(entry["sha256"]):
        return
    sha256 = entry["sha256"]
    directory = store_dir(environ)
    if directory is None or _private_dir(directory, create=True) is None:
        return
    data = json.dumps({"v": VERSION, "sha256": sha256, "facts": entry["facts"]}, sort_keys=True).encode("utf-8")
    try:
        write_atomic(os.path.join(directory, sha256 + ".json"), data, 0o600)
    except OSError:
        pass  # an optimisation only
