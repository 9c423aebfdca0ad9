# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (no stable API): the fleet report's view of dates.

Parsing, UTC/Brasília and whole days remaining come from module_utils/_dates (one implementation
for the collection); what only the report needs (report states, days since, chart weeks) is here.
"""

from __future__ import annotations

import datetime

# The collection's one implementation of dates and validity (also used by the PKCS#12 inspection).
from ansible_collections.esus.rnds.plugins.module_utils._dates import (  # noqa: F401  (re-exported)
    BRASILIA as LOCAL_TZ,
    days_remaining as days_until,
    iso_utc,
    local_date,
    local_datetime,
    parse_iso as parse_datetime,
    to_utc,
    utc_now,
)

__all__ = ["LOCAL_TZ", "days_since", "days_until", "iso_utc", "local_date", "local_datetime", "parse_datetime",
           "utc", "validity", "weeks_from"]

_DAY_SECONDS = 86400.0


def utc(value=None):
    """datetime/ISO string/None -> aware UTC datetime (None -> now, whole seconds)."""
    if value is None:
        return utc_now()
    if isinstance(value, datetime.datetime):
        return to_utc(value)
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError("data/hora inválida: %r" % (value,))
    return parsed


def days_since(moment, now):
    """Whole days elapsed since ``moment`` (0 within the first 24 hours)."""
    return int((now - moment).total_seconds() // _DAY_SECONDS)


def validity(not_after, now, min_days):
    """(days remaining, state) of a certificate: state is ``expired``, ``expiring`` (fewer than
    ``min_days`` days left) or ``valid``."""
    days = days_until(not_after, now)
    if not_after <= now:
        return days, "expired"
    return days, "expiring" if days < min_days else "valid"


def weeks_from(now, count):
    """The ``count`` weeks starting today in Brasília: [(label 'dd/mm', range 'dd/mm a dd/mm/aaaa')]."""
    today = now.astimezone(LOCAL_TZ).date()
    weeks = []
    for week in range(count):
        start = today + datetime.timedelta(days=7 * week)
        end = start + datetime.timedelta(days=6)
        weeks.append((start.strftime("%d/%m"), "%s a %s" % (start.strftime("%d/%m"), end.strftime("%d/%m/%Y"))))
    return weeks
