# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This plugin_utils file is internal to esus.rnds: no compatibility promise for other collections.
"""``esus.rnds.rnds_auth`` for every municipality of a host (``from_inventory``, and the audit).

Each distinct certificate file of the host is tried once on the host (one module execution each);
every municipality then gets its own result, with ``ibge`` and ``certificate_name``, which is what the
report reads to put a refused certificate on the right municipality.
"""

from __future__ import annotations

import posixpath

MODULE = "esus.rnds.rnds_auth"


def certificate_path(host, name):
    """Where the PEC keeps ``name`` on a Linux host."""
    return posixpath.join(host.install_dir, "webserver", host.chaves_dirname, name)


def auth_for_entries(action, host, entries, options, task_vars):
    """One rnds_auth result per municipality that has a certificate name and password (module args: ``options``)."""
    by_name = {}
    results = []
    for entry in entries:
        name = entry.get("certificate_name")
        password = entry.get("certificate_password")
        if not name or password is None:
            continue  # reported by the inventory check; never a request without the password
        if name not in by_name:
            module_args = dict(options, path=certificate_path(host, name), passphrase=password, fail_on_error=False)
            try:
                outcome = action._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars)  # pylint: disable=protected-access
            finally:
                action._remove_tmp_path(action._connection._shell.tmpdir)  # pylint: disable=protected-access
            outcome.pop("invocation", None)
            by_name[name] = outcome
        results.append(dict(by_name[name], ibge=entry.get("ibge") or None, certificate_name=name))
    return results


def refused(results):
    """pt-BR lines for the municipalities whose certificate was not accepted."""
    lines = []
    for item in results:
        if item.get("authenticated"):
            continue
        where = "município IBGE %s" % item["ibge"] if item.get("ibge") else "este servidor"
        lines.append("%s (%s): %s" % (where, item.get("certificate_name"),
                                      item.get("diagnosis") or item.get("msg") or "sem diagnóstico"))
    return lines
