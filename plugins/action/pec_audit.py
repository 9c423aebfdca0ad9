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
from ansible_collections.esus.rnds.plugins.plugin_utils._audit import gather

ARGUMENT_SPEC = dict(
    return_contra_chave=dict(type="bool", default=False),
    auth=dict(type="bool", default=False),
    auth_environment=dict(type="str", default="homologacao", choices=["homologacao", "producao"]),
    auth_url=dict(type="str"),
    min_days_remaining=dict(type="int", default=30),
    option_labels=dict(OPTION_LABELS_SPEC),
    **connection_argument_spec()
)


class ActionModule(CollectionAction):

    def act(self, result, task_vars):
        try:
            dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        except AnsibleActionFail as exc:
            return dict(result, failed=True, msg=to_text(exc.message))
        result.update(gather(self, args, task_vars))
        return result
