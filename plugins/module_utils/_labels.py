# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is internal to esus.rnds: no compatibility promise for other collections.
"""Option names in messages: module code names its own options, a role relabels them.

Module code writes ``option("password")`` where a message tells the user what to fix. A direct
module user reads ``password``; a role passes ``option_labels`` (module option -> the variable that
feeds it, for example ``{"password": "rnds_certificate_password"}``) and its user reads the role
variable instead. Standard library only: this file ships to the PEC servers.
"""

from __future__ import absolute_import, division, print_function

import re

__metaclass__ = type

_MARK = re.compile(r"\{option:([A-Za-z_][A-Za-z0-9_]*)\}")

# Argument spec of the shared ``option_labels`` option (doc fragment esus.rnds.option_labels).
OPTION_LABELS_SPEC = dict(type="dict", default={})


def option(name):
    """A placeholder for a module option's name inside a message (see render)."""
    return "{option:%s}" % name


def render(text, labels=None):
    """Replace every option placeholder by its label (or by the option's own name)."""
    if not isinstance(text, str) or "{option:" not in text:
        return text
    labels = labels or {}

    def _label(match):
        name = match.group(1)
        label = labels.get(name)
        return label if isinstance(label, str) and label else name

    return _MARK.sub(_label, text)
