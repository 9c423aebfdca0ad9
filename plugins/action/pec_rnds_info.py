# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of esus.rnds.pec_rnds_info: loads the PEC API contract on the controller, then runs the module."""

from ansible_collections.esus.rnds.plugins.plugin_utils._contracts import ContractAction


class ActionModule(ContractAction):
    MODULE = "esus.rnds.pec_rnds_info"
