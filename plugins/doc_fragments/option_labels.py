# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The option_labels option shared by the modules whose messages name their options."""

from __future__ import annotations


class ModuleDocFragment(object):

    # The argument spec is _labels.OPTION_LABELS_SPEC.
    DOCUMENTATION = r"""
options:
  option_labels:
    description:
      - Names to show for this module's options in failure and warning messages, as a mapping from option name to
        label. Messages that tell the user what to fix name the module option by default (for example C(passphrase));
        the collection's roles map each option to the inventory variable that feeds it (for example
        C(rnds_certificate_password)) so their users read the variable they can change.
      - Options absent from the mapping keep their own name.
    type: dict
    default: {}
"""
