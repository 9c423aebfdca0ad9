# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is internal to esus.rnds: no compatibility promise for other collections.
"""A problem a check finds, as one row of a table: code, severity and its words in Portuguese (pt-BR).

Host modules (``pec_info``) and the fleet report on the controller use the same rows: a check
returns ``(code, parameters)`` and the row turns it into the sentence an operator reads. Standard
library only, Python >= 3.6: this file ships to the PEC servers.
"""

from __future__ import absolute_import, division, print_function

import collections

from ansible_collections.esus.rnds.plugins.module_utils._labels import render as _render_labels

__metaclass__ = type

ERROR = "error"
WARNING = "warning"
SEVERITIES = (WARNING, ERROR)


class Problem(collections.namedtuple("Problem", ["code", "severity", "message", "fix"])):
    """One row: ``message`` says what is wrong, ``fix`` what to do about it.

    Both are ``%(name)s`` templates; they may name a module option with ``_labels.option()``,
    rendered with the caller's labels before the parameters are put in (so a parameter value is
    never read as a placeholder).
    """

    __slots__ = ()

    def words(self, params=None, labels=None):
        """The sentence for the operator: what is wrong, then what to do."""
        template = _render_labels("%s %s" % (self.message, self.fix), labels)
        return template % dict(params or {})


def table(*rows):
    """Rows -> ordered dict code -> Problem; a code appears once, with a known severity."""
    found = collections.OrderedDict()
    for row in rows:
        if row.code in found or row.severity not in SEVERITIES:
            raise ValueError("problem row %r: duplicated code or unknown severity" % (row.code,))
        found[row.code] = row
    return found
