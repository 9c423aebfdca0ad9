# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of esus.rnds.rnds_auth: runs the module, or, with ``from_inventory``, runs it for the
certificate of every municipality of the host (plugin_utils/_auth_inventory.py)."""

from __future__ import annotations

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.esus.rnds.plugins.plugin_utils import _municipalities
from ansible_collections.esus.rnds.plugins.plugin_utils._action import CollectionAction
from ansible_collections.esus.rnds.plugins.plugin_utils._auth_inventory import auth_for_entries, refused
from ansible_collections.esus.rnds.plugins.plugin_utils._pec_host import (
    HostValuesError,
    from_action,
    lift_facts,
    options_from_host,
)

MODULE = "esus.rnds.rnds_auth"
# The role whose argument spec documents the variables read with from_inventory.
ROLE = "enable"


class ActionModule(CollectionAction):

    def act(self, result, task_vars):
        args = dict(self._task.args)
        if not boolean(args.pop("from_inventory", False), strict=False):
            try:
                result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
            finally:
                self._remove_tmp_path(self._connection._shell.tmpdir)
            return result
        try:
            host = from_action(self, task_vars, ROLE)
            # the options the task leaves out come from the host's variables (option_labels names them)
            args = options_from_host(host, args, ("environment", "url"))
            entries = host.municipios(require=["rnds_certificate_name", "rnds_certificate_password"])
        except HostValuesError as exc:
            return dict(result, failed=True, msg=exc.message)
        if host.windows:
            return dict(result, skipped=True, msg="rnds_auth roda no próprio servidor e precisa de Python: em servidores "
                                                  "Windows a prova de TLS mútuo não é feita")
        problems = _municipalities.problems(entries)
        if problems:
            return dict(result, failed=True, msg=" ".join(problems), inventory_problems=problems)
        fail_on_error = boolean(args.pop("fail_on_error", False), strict=False)
        results = auth_for_entries(self, host, entries, args, task_vars)
        lift_facts(result, results)
        result.update(changed=False, results=results, authenticated=all(r.get("authenticated") for r in results))
        failed = [r for r in results if r.get("failed")]
        lines = refused(results)
        if failed or (fail_on_error and lines):
            result.update(failed=True, msg="; ".join(lines))
        return result
