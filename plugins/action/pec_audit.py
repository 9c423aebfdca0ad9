# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin esus.rnds.pec_audit: the audit data of one PEC server in one task (plugin_utils/_audit.py)."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.esus.rnds.plugins.module_utils._labels import OPTION_LABELS_SPEC
from ansible_collections.esus.rnds.plugins.module_utils._pec_api import connection_argument_spec
from ansible_collections.esus.rnds.plugins.plugin_utils._action import CollectionAction
from ansible_collections.esus.rnds.plugins.plugin_utils._audit import ROLE, gather
from ansible_collections.esus.rnds.plugins.plugin_utils._pec_host import HostValuesError, from_action, options_from_host

ARGUMENT_SPEC = dict(
    return_contra_chave=dict(type="bool", default=False),
    auth=dict(type="bool", default=False),
    auth_environment=dict(type="str", default="homologacao", choices=["homologacao", "producao"]),
    auth_url=dict(type="str"),
    min_days_remaining=dict(type="int", default=30),
    option_labels=dict(OPTION_LABELS_SPEC),
    **connection_argument_spec()
)

HOST_OPTIONS = tuple(name for name in ARGUMENT_SPEC if name != "option_labels")


class ActionModule(CollectionAction):

    def act(self, result, task_vars):
        try:
            # the options the task leaves out come from the host's variables (option_labels names them)
            self._task.args = options_from_host(from_action(self, task_vars, ROLE), self._task.args, HOST_OPTIONS)
        except HostValuesError:
            pass  # gather() reports the host's variables that cannot be used
        try:
            dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        except AnsibleActionFail as exc:
            return dict(result, failed=True, msg=to_text(exc.message))
        result.update(gather(self, args, task_vars))
        return result
