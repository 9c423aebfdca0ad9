# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This plugin_utils file is internal to esus.rnds: no compatibility promise for other collections.
"""``esus.rnds.pec_certificate`` on a Windows host: the ``ansible.windows`` modules, driven by the action.

NOT TRIED ON A REAL WINDOWS SERVER. The order of the calls and their arguments are fixed by the contract
test ``tests/integration/windows_contract`` (stand-in ``ansible.windows`` plugins that record what they
receive). The certificate was already validated on the controller; then, on the host:

1. ``win_file``: create ``<install_dir>\\webserver\\chaves``;
2. ``win_acl``: full control for Administrators and SYSTEM (well-known SIDs, so the ACL works in any
   language: "Administradores" in pt-BR), read for the PEC service account when one is given;
3. ``win_acl_inheritance``: drop the permissions inherited from ``Program Files`` (``Users`` could read);
4. ``win_copy`` of each file (an ansible-vault source is decrypted by ``win_copy`` on the controller),
   whose checksum is compared with the bytes validated in step 0.

The password never leaves the controller: none of these calls receives it. In check mode, when the
folder does not exist yet, steps 2-4 cannot be checked on the host and are reported as changes.

Each call goes through the action plugin of the module when there is one (``win_copy`` has one), as a
task would; the others are plain module executions.
"""

from __future__ import annotations

import hashlib

from ansible_collections.esus.rnds.plugins.plugin_utils._pec_host import WINDOWS, install_dir as pec_install_dir

ADMINISTRATORS_SID = "S-1-5-32-544"
SYSTEM_SID = "S-1-5-18"
COLLECTION = "ansible.windows"
# Every module of COLLECTION this file calls (the execution environment pins the collection for them).
MODULES = ("win_file", "win_acl", "win_acl_inheritance", "win_copy")
MISSING_COLLECTION = ("a coleção ansible.windows não está instalada no controlador e é ela que grava em servidores "
                      "Windows: instale-a (ansible-galaxy collection install ansible.windows; o pacote ansible do PyPI "
                      "e o execution environment da coleção já a trazem)")


def win_join(*parts):
    """Join Windows path parts with single backslashes (a trailing separator of a part is dropped)."""
    out = [str(parts[0]).rstrip("\\/")]
    out.extend(str(part).strip("\\/") for part in parts[1:])
    return "\\".join(out)


def _available(action, name):
    loader = action._shared_loader_obj  # pylint: disable=protected-access
    return loader.action_loader.has_plugin(name) or loader.module_loader.has_plugin(name)


def run_windows(action, name, module_args, task_vars):
    """Run ``name`` (an ansible.windows plugin) with ``module_args`` on the task's host, as a task would."""
    loader = action._shared_loader_obj  # pylint: disable=protected-access
    if loader.action_loader.has_plugin(name):
        task = action._task.copy()  # pylint: disable=protected-access
        task.args = dict(module_args)
        handler = loader.action_loader.get(
            name, task=task, connection=action._connection, play_context=action._play_context,  # pylint: disable=protected-access
            loader=action._loader, templar=action._templar, shared_loader_obj=loader)  # pylint: disable=protected-access
        return handler.run(task_vars=task_vars)
    try:
        return action._execute_module(module_name=name, module_args=dict(module_args), task_vars=task_vars)  # pylint: disable=protected-access
    finally:
        action._remove_tmp_path(action._connection._shell.tmpdir)  # pylint: disable=protected-access


def _aces(service_account):
    aces = [(ADMINISTRATORS_SID, "FullControl"), (SYSTEM_SID, "FullControl")]
    if service_account:
        aces.append((service_account, "ReadAndExecute"))
    return aces


def _failure(step, result):
    return "%s (%s) falhou: %s" % (step, result.get("_esus_module"), result.get("msg") or "sem mensagem")


def deploy_windows(action, args, certificates, task_vars):
    """Create chaves, restrict its ACL and copy each validated certificate. Returns a task-like result."""
    if not _available(action, COLLECTION + ".win_copy"):
        return dict(failed=True, msg=MISSING_COLLECTION)
    check_mode = bool(action._task.check_mode)  # pylint: disable=protected-access
    chaves = win_join(pec_install_dir(args["install_dir"], WINDOWS), "webserver", args["chaves_dirname"])
    changed = False

    def step(module, module_args):
        result = run_windows(action, "%s.%s" % (COLLECTION, module), module_args, task_vars)
        result["_esus_module"] = "%s.%s" % (COLLECTION, module)
        return result

    folder = step("win_file", {"path": chaves, "state": "directory"})
    if folder.get("failed") or folder.get("unreachable"):
        return dict(failed=True, msg=_failure("criar a pasta %s" % chaves, folder))
    changed = bool(folder.get("changed"))
    results = []
    if check_mode and folder.get("changed"):
        # The folder does not exist: its ACL and the copies cannot be checked on the host; all of it would change.
        for cert in certificates:
            results.append(dict(changed=True, path=win_join(chaves, cert["name"]), checksum=None))
        return dict(changed=True, results=results)
    for user, rights in _aces(args.get("windows_service_account")):
        # No inherit/propagation: on a folder win_acl defaults to "ContainerInherit, ObjectInherit" and "None"
        # (files created in chaves inherit the entry), and its documented choices do not list the combination.
        acl = step("win_acl", {"path": chaves, "user": user, "rights": rights, "type": "allow", "state": "present"})
        if acl.get("failed") or acl.get("unreachable"):
            return dict(failed=True, changed=changed, msg=_failure("dar acesso a %s em %s" % (user, chaves), acl))
        changed = changed or bool(acl.get("changed"))
    inheritance = step("win_acl_inheritance", {"path": chaves, "state": "absent", "reorganize": False})
    if inheritance.get("failed") or inheritance.get("unreachable"):
        return dict(failed=True, changed=changed,
                    msg=_failure("remover as permissões herdadas de %s" % chaves, inheritance))
    changed = changed or bool(inheritance.get("changed"))
    for cert in certificates:
        dest = win_join(chaves, cert["name"])
        copied = step("win_copy", {"src": cert["src"], "dest": dest, "decrypt": True, "force": True,
                                   "backup": bool(args.get("backup"))})
        item = dict(changed=bool(copied.get("changed")), path=dest, checksum=copied.get("checksum"))
        if copied.get("backup_file"):
            item["backup_file"] = copied["backup_file"]
        if copied.get("failed") or copied.get("unreachable"):
            item.update(failed=True, msg=_failure("copiar %s" % cert["name"], copied))
        elif not check_mode and copied.get("checksum") and copied["checksum"] != hashlib.sha1(cert["content"]).hexdigest():
            # win_copy read the source again: it changed after the validation on the controller
            item.update(failed=True, msg="o arquivo copiado para %s não é o que foi validado no controlador (o arquivo de "
                                         "origem mudou durante a execução): rode de novo" % dest)
        if copied.get("warnings"):
            item["warnings"] = list(copied["warnings"])
        results.append(item)
    return dict(changed=changed, results=results)
