# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter esus.rnds.pec_os: the operating system of a PEC host, as the collection's plugins see it."""

from __future__ import annotations

DOCUMENTATION = r"""
name: pec_os
short_description: Operating system of a PEC e-SUS APS host (Linux or Windows)
version_added: 0.1.0
author:
  - esus.rnds maintainers (!UNKNOWN)
description:
  - Gives C(Windows) or C(Linux) by the same rule the collection's action plugins use (one implementation) - the
    inventory's C(rnds_pec_os) (set by the inventory plugin P(esus.rnds.municipios#inventory) from the spreadsheet's
    C(so) column) when it is not empty, otherwise the connection (a PowerShell shell, WinRM or PSRP means Windows),
    otherwise gathered facts (C(ansible_os_family)).
  - The roles of this collection use it to run the PEC client of a Windows server on the controller.
options:
  _input:
    description: The host's C(rnds_pec_os) (V(linux), V(windows), any case), or an empty string.
    type: str
    required: true
  shell_type:
    description: The host's C(ansible_shell_type).
    type: str
  connection:
    description: The host's C(ansible_connection).
    type: str
  os_family:
    description: The host's C(ansible_os_family), when facts were gathered.
    type: str
"""

EXAMPLES = r"""
- name: Run the PEC client on the controller for Windows servers
  esus.rnds.pec_rnds_info:
    url: "http://{{ ansible_host }}:8080"
  delegate_to: "{{ 'localhost' if (rnds_pec_os | default('') | esus.rnds.pec_os(ansible_shell_type | default(''),
    ansible_connection | default(''))) == 'Windows' else inventory_hostname }}"
"""

RETURN = r"""
_value:
  description: C(Windows) or C(Linux).
  type: str
  sample: Windows
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.esus.rnds.plugins.plugin_utils._pec_host import HostValuesError
from ansible_collections.esus.rnds.plugins.plugin_utils._pec_host import pec_os as _pec_os


def pec_os(declared, shell_type=None, connection=None, os_family=None):
    try:
        return _pec_os(declared, shell_type, connection, os_family)
    except HostValuesError as exc:
        raise AnsibleFilterError(exc.message) from None


class FilterModule:
    """Operating system of a PEC host."""

    def filters(self):
        return {"pec_os": pec_os}
