# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of esus.rnds.pec_rnds: loads the PEC API contract on the controller, then runs the module.

``from_inventory``, ``limit_ibge`` and ``certificate_fingerprints`` are handled here (plugin_utils/_pec_rnds_inventory.py).
"""

from ansible_collections.esus.rnds.plugins.plugin_utils._contracts import ContractAction
from ansible_collections.esus.rnds.plugins.plugin_utils._pec_rnds_inventory import prepare


class ActionModule(ContractAction):
    MODULE = "esus.rnds.pec_rnds"

    def prepare(self, args, task_vars):
        return prepare(self, args, task_vars)
