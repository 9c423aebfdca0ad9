# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (not a public API): the base class of the collection's action plugins."""

from ansible.plugins.action import ActionBase


class CollectionAction(ActionBase):
    """An action plugin of esus.rnds: it sends its own files (ActionBase makes no temporary folder for it),
    honours check mode itself, and does not run async.

    ``run`` does ActionBase's part (refuses async, starts the result) and hands the result to
    ``act(result, task_vars)``, which fills it and returns it. A plugin that never talks to the host also
    sets ``_requires_connection = False``.
    """

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(CollectionAction, self).run(tmp, task_vars)
        del tmp
        return self.act(result, task_vars)

    def act(self, result, task_vars):
        """Do the task: fill ``result`` (a dict) and return it."""
        raise NotImplementedError
