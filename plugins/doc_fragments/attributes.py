# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation fragments describing module attributes (check mode, diff mode, ...).

Use the base fragment ``esus.rnds.attributes`` (descriptions) together with the pieces that
declare support levels, for example::

    extends_documentation_fragment:
      - esus.rnds.attributes
      - esus.rnds.attributes.info_module

Pieces (each needs the base fragment):
  ``info_module``      read-only module: check_mode full, diff_mode N/A, idempotent full.
  ``files``            adds the ``safe_file_operations`` attribute (description only; set support).
  ``flow``             adds the ``action`` and ``async`` attributes (description only; set support).
  ``platform``         adds the ``platform`` attribute (description only; set support/platforms).
  ``idempotent_not_modify_state``  idempotent full, for modules that never change state.
Modules that change state set ``check_mode``, ``diff_mode`` and ``idempotent`` support in their own
``attributes:`` block.
"""

from __future__ import annotations


class ModuleDocFragment:
    # Base fragment: descriptions of the attributes every esus.rnds module declares.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
      - This assumes that the system controlled/queried by the module has not changed in a relevant way.
"""

    # Read-only modules (use together with the base fragment).
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
  idempotent:
    support: full
    details:
      - This action does not modify state.
"""

    # Modules that never modify state but are not info modules (use with the base fragment).
    IDEMPOTENT_NOT_MODIFY_STATE = r"""
options: {}
attributes:
  idempotent:
    support: full
    details:
      - This action does not modify state.
"""

    # Modules that write files; the module sets C(support) itself.
    FILES = r"""
options: {}
attributes:
  safe_file_operations:
    description: Uses Ansible's strict file operation functions to ensure proper permissions and avoid data corruption.
"""

    # Modules with an action plugin; the module sets C(support) itself.
    FLOW = r"""
options: {}
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
  async:
    description: Supports being used with the C(async) keyword.
"""

    # Target platforms; the module sets C(support) and C(platforms) itself.
    PLATFORM = r"""
options: {}
attributes:
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
"""
