# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (not a public API): remember, on the controller, logins a PEC refused.

The PEC locks an account after a few failed logins. A module run tries each CPF once, but a
wrong password in the inventory would still be tried by every run (site, site again, audit...)
until the account locks. So the action plugins of pec_rnds / pec_rnds_info remember which
(host, PEC URL, CPF, password) a PEC refused and do not try that password again: the module
reports the municipality without logging in. A changed password is tried normally.

Only an HMAC of the refused password is kept (key and file 0600 in a 0700 folder of the
controller user, ``~/.ansible/esus.rnds`` or ``$ESUS_RNDS_STATE_DIR``), never the password.
Entries expire after 30 days. The file is read and written under a lock (forks run at once).
"""

import datetime
import fcntl
import hashlib
import hmac
import json
import os
import secrets

FILE_NAME = "refused-logins.json"
MAX_AGE_DAYS = 30


def state_dir():
    return os.environ.get("ESUS_RNDS_STATE_DIR") or os.path.join(os.path.expanduser("~"), ".ansible", "esus.rnds")


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


class RefusedLogins(object):
    """Read-modify-write of the memo under an exclusive lock: ``with RefusedLogins() as memo: ...``."""

    def __init__(self, directory=None):
        self.directory = directory or state_dir()
        self.path = os.path.join(self.directory, FILE_NAME)
        self.data = None
        self._fd = None
        self._dirty = False

    def __enter__(self):
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        raw = b""
        while True:
            chunk = os.read(self._fd, 65536)
            if not chunk:
                break
            raw += chunk
        try:
            data = json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict) or not isinstance(data.get("key"), str) or not isinstance(data.get("entries"), dict):
            data = {"key": secrets.token_hex(32), "entries": {}}
            self._dirty = True
        limit = _now() - datetime.timedelta(days=MAX_AGE_DAYS)
        for digest, entry in list(data["entries"].items()):
            when = entry.get("at") if isinstance(entry, dict) else None
            try:
                stamp = datetime.datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
            except (TypeError, ValueError):
                stamp = None
            if stamp is None or stamp < limit:
                del data["entries"][digest]
                self._dirty = True
        self.data = data
        return self

    def __exit__(self, *exc):
        try:
            if self._dirty:
                body = json.dumps(self.data, sort_keys=True).encode("utf-8")
                os.lseek(self._fd, 0, os.SEEK_SET)
                os.ftruncate(self._fd, 0)
                os.write(self._fd, body)
                os.fsync(self._fd)
        finally:
            os.close(self._fd)
        return False

    def _digest(self, host, url, cpf, password):
        message = "\0".join([host or "", url or "", cpf or "", password or ""]).encode("utf-8")
        return hmac.new(bytes.fromhex(self.data["key"]), message, hashlib.sha256).hexdigest()

    def refused_at(self, host, url, cpf, password):
        """When this very password of this CPF was refused by this host's PEC, or None."""
        entry = self.data["entries"].get(self._digest(host, url, cpf, password))
        return entry.get("at") if isinstance(entry, dict) else None

    def record(self, host, url, cpf, password):
        self.data["entries"][self._digest(host, url, cpf, password)] = {"at": _now().strftime("%Y-%m-%dT%H:%M:%SZ")}
        self._dirty = True

    def forget(self, host, url, cpf, password):
        if self.data["entries"].pop(self._digest(host, url, cpf, password), None) is not None:
            self._dirty = True
