# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (not a public API): what the collection's Jinja filters share."""

from ansible.errors import AnsibleFilterError


def strict_filter(name, function):
    """The filter ``esus.rnds.<name>``: ``function(value)``, whose ValueError fails the task as
    ``AnsibleFilterError("esus.rnds.<name>: <reason>")``."""

    def apply(value):
        try:
            return function(value)
        except ValueError as exc:
            raise AnsibleFilterError("esus.rnds.%s: %s" % (name, exc)) from None

    apply.__name__ = name
    return apply
