# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only stand-ins of the ansible.windows plugins esus.rnds drives on a Windows PEC server.

The contract test copies this file into a throw-away collection ``ansible.windows`` (as
``plugins/plugin_utils/_standin.py``, with one tiny action plugin per module) that comes first in the
collections path, so that the roles and playbooks run for a host that presents itself as Windows
(``ansible_shell_type: powershell``) without a Windows host. Each stand-in:

- checks its arguments against the documentation of the REAL module of the installed ansible.windows
  (unknown option, wrong choice, non-boolean flag, missing required option -> the task fails);
- appends what it received (module, arguments, check mode, task name) as one JSON line to
  ``$ESUS_WINDOWS_CONTRACT_LOG``;
- acts on a local folder standing for the Windows disks (``C:\\x\\y`` -> ``$ESUS_WINDOWS_CONTRACT_ROOT/C/x/y``;
  a path that is not an absolute Windows path fails), never in check mode, and answers like the real
  module (``changed``, ``checksum`` SHA-1, ``backup_file``). ACLs live in ``acl-state.json`` there.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil

import yaml

from ansible_collections.esus.rnds.plugins.plugin_utils._action import CollectionAction

LOG_ENV = "ESUS_WINDOWS_CONTRACT_LOG"
ROOT_ENV = "ESUS_WINDOWS_CONTRACT_ROOT"
DOCS_ENV = "ESUS_WINDOWS_CONTRACT_DOCS"


def local_path(win_path, root=None):
    """``C:\\Program Files\\e-SUS`` -> ``<root>/C/Program Files/e-SUS``; None when not an absolute Windows path."""
    text = str(win_path)
    if len(text) < 3 or not text[0].isalpha() or text[1:3] != ":\\" or "/" in text:
        return None
    parts = text[3:].split("\\")
    if any(part in ("", ".", "..") for part in parts):
        return None
    return os.path.join(root or os.environ[ROOT_ENV], text[0].upper(), *parts)


class Refused(Exception):
    """Raised by a stand-in's ``apply``: the task fails with this message, as the real module would."""


def windows_path(args, key):
    """Local path of the absolute Windows path ``args[key]``; Refused when it is not one."""
    path = local_path(args[key])
    if path is None:
        raise Refused("not an absolute Windows path: %s" % args[key])
    return path


def real_options(module):
    """Options of the real ansible.windows module (its DOCUMENTATION)."""
    path = os.path.join(os.environ[DOCS_ENV], module + ".py")
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "DOCUMENTATION" for t in node.targets):
            return yaml.safe_load(node.value.value)["options"]
    raise AssertionError("no DOCUMENTATION in %s" % path)


def check_args(module, args):
    """Why the real module would refuse ``args`` (empty list when it would accept them)."""
    options = real_options(module)
    by_name = dict(options)
    for spec in options.values():
        by_name.update((alias, spec) for alias in spec.get("aliases") or [])
    errors = []
    for key, value in args.items():
        spec = by_name.get(key)
        if spec is None:
            errors.append("%s: unsupported parameter %s" % (module, key))
            continue
        if spec.get("type") == "bool" and not isinstance(value, bool):
            errors.append("%s: %s must be a boolean, got %r" % (module, key, value))
        if spec.get("choices") and value not in spec["choices"]:
            errors.append("%s: %s must be one of %s, got %r" % (module, key, spec["choices"], value))
    for key, spec in options.items():
        names = [key] + list(spec.get("aliases") or [])
        if spec.get("required") and not any(name in args for name in names):
            errors.append("%s: missing required %s" % (module, key))
    return errors


def _state_path():
    return os.path.join(os.environ[ROOT_ENV], "acl-state.json")


def load_acls():
    try:
        with open(_state_path(), encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {}


def save_acls(state):
    with open(_state_path(), "w", encoding="utf-8") as handle:
        json.dump(state, handle, indent=1, sort_keys=True)


def _record(entry):
    with open(os.environ[LOG_ENV], "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, sort_keys=True) + "\n")


class StandIn(CollectionAction):
    """Base of the stand-ins: check, record, then ``apply`` (never in check mode). The action plugin plumbing
    (no file transfer by ActionBase, check mode) is the collection's own."""

    MODULE = None

    def act(self, result, task_vars):
        args = dict(self._task.args)
        check_mode = bool(self._task.check_mode)
        errors = check_args(self.MODULE, args)
        _record({"module": "ansible.windows." + self.MODULE, "args": args, "check_mode": check_mode,
                 "host": (task_vars or {}).get("inventory_hostname"), "errors": errors})
        if errors:
            return dict(result, failed=True, msg="; ".join(errors))
        try:
            result.update(self.apply(args, check_mode))
        except Refused as exc:
            return dict(result, failed=True, msg=str(exc))
        return result

    def apply(self, args, check_mode):
        raise NotImplementedError


class WinFile(StandIn):
    MODULE = "win_file"

    def apply(self, args, check_mode):
        path = windows_path(args, "path")
        if os.path.isdir(path):
            return dict(changed=False, path=args["path"])
        if not check_mode:
            os.makedirs(path)
            state = load_acls()
            state[args["path"]] = {"inherit": True, "aces": []}
            save_acls(state)
        return dict(changed=True, path=args["path"])


class _FolderAcl(StandIn):
    """win_acl and win_acl_inheritance: act on the recorded ACL of an existing folder."""

    def apply(self, args, check_mode):
        path = local_path(args["path"])
        if path is None or not os.path.exists(path):
            return dict(failed=True, msg="%s does not exist" % args["path"])
        state = load_acls()
        entry = state.setdefault(args["path"], {"inherit": True, "aces": []})
        changed = self.change(entry, args, check_mode)
        if changed and not check_mode:
            save_acls(state)
        return dict(changed=changed)

    def change(self, entry, args, check_mode):
        raise NotImplementedError


class WinAcl(_FolderAcl):
    MODULE = "win_acl"

    def change(self, entry, args, check_mode):
        ace = [args["user"], args["rights"], args.get("type"), args.get("inherit"), args.get("propagation")]
        if ace in entry["aces"]:
            return False
        if not check_mode:
            entry["aces"].append(ace)
        return True


class WinAclInheritance(_FolderAcl):
    MODULE = "win_acl_inheritance"

    def change(self, entry, args, check_mode):
        wanted = args.get("state", "absent") == "present"
        if entry["inherit"] == wanted:
            return False
        if not check_mode:
            entry["inherit"] = wanted
        return True


class WinCopy(StandIn):
    MODULE = "win_copy"

    def apply(self, args, check_mode):
        dest = windows_path(args, "dest")
        if not os.path.isdir(os.path.dirname(dest)):
            return dict(failed=True, msg="the folder of %s does not exist" % args["dest"])
        real = self._loader.get_real_file(args["src"], decrypt=args.get("decrypt", True))
        try:
            with open(real, "rb") as handle:
                data = handle.read()
        finally:
            self._loader.cleanup_tmp_file(real)
        checksum = hashlib.sha1(data).hexdigest()
        result = dict(dest=args["dest"], checksum=checksum, size=len(data), src=args["src"])
        if os.path.exists(dest):
            with open(dest, "rb") as handle:
                if hashlib.sha1(handle.read()).hexdigest() == checksum:
                    return dict(result, changed=False)
        if not check_mode:
            if os.path.exists(dest) and args.get("backup"):
                shutil.copy2(dest, dest + ".standin-backup")
                result["backup_file"] = args["dest"] + ".standin-backup"
            with open(dest, "wb") as handle:
                handle.write(data)
        return dict(result, changed=True)


STANDINS = {"win_file": "WinFile", "win_acl": "WinAcl", "win_acl_inheritance": "WinAclInheritance",
            "win_copy": "WinCopy"}
