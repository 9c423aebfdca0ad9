# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is internal to esus.rnds: no compatibility promise for other collections.
"""Certificate dates, one implementation for the whole collection.

Standard library only, Python >= 3.6 (no ``datetime.fromisoformat``), so host modules can import it.

- ``validity(not_before, not_after, now=None)``: ``days_remaining`` (whole days, rounded down,
  negative once expired), ``expired`` (``now`` after ``not_after``) and ``not_yet_valid`` (``now``
  before ``not_before``). RFC 5280: both instants belong to the validity period.
- ``iso_utc(value)``: ISO 8601 UTC text ``YYYY-MM-DDTHH:MM:SSZ``, the form every returned date has;
  ``parse_iso(value)`` reads it back (and offsets, fractions, a bare calendar date).
- ``local_date(value)`` / ``local_datetime(value)``: ``dd/mm/aaaa`` (``HH:MM``) in Brasília time, for
  operator messages. Brazil has had no daylight saving time since 2019: Brasília is UTC-03:00.
"""

from __future__ import absolute_import, division, print_function

import datetime
import math
import re

__metaclass__ = type

UTC = datetime.timezone.utc
BRASILIA = datetime.timezone(datetime.timedelta(hours=-3), "-03")

_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,6})\d*)?)?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)


def utc_now():
    """The current time, aware, in UTC, whole seconds (certificates carry whole seconds)."""
    return datetime.datetime.now(UTC).replace(microsecond=0)


def to_utc(value):
    """An aware UTC datetime from a datetime (naive means UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _offset(text):
    if not text or text.upper() == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) > 2 else 0)
    return datetime.timezone(sign * datetime.timedelta(minutes=minutes))


def parse_iso(value):
    """ISO 8601 text (or a datetime/date) -> aware UTC datetime; None when empty or unreadable.

    A time without offset is UTC; a bare calendar date (``2026-01-31``) means that day at midnight in
    Brasília, the day an operator reads. Text that starts with a date but is otherwise unreadable gives
    that date at 00:00 UTC.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return to_utc(value)
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day, tzinfo=BRASILIA).astimezone(UTC)
    text = str(value).strip()
    match = _ISO_RE.match(text)
    if match is not None:
        parts = [int(part) if part else 0 for part in match.groups()[:6]]
        fraction = int((match.group(7) or "0").ljust(6, "0"))
        try:
            zone = BRASILIA if match.group(4) is None and match.group(8) is None else _offset(match.group(8))
            return datetime.datetime(*parts, microsecond=fraction, tzinfo=zone).astimezone(UTC)
        except ValueError:  # 2026-02-30, hour 25...: the date part may still be read below
            pass
    match = _ISO_RE.match(text[:10]) if len(text) > 10 else None
    try:
        return datetime.datetime(*[int(part) for part in match.groups()[:3]], tzinfo=UTC) if match else None
    except ValueError:
        return None


def iso_utc(value):
    """A datetime (naive means UTC) -> ``YYYY-MM-DDTHH:MM:SSZ``."""
    return to_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def days_remaining(not_after, now=None):
    """Whole days from ``now`` until ``not_after``, rounded down (negative once expired)."""
    now = to_utc(now) if now is not None else utc_now()
    return int(math.floor((to_utc(not_after) - now).total_seconds() / 86400.0))


def validity(not_before, not_after, now=None):
    """``{"days_remaining", "expired", "not_yet_valid"}`` at ``now`` (default: the current time).

    ``not_before``/``not_after``: datetimes or ISO 8601 text. Returns ``{}`` when either is missing
    or unreadable, so a caller can ``dict(facts, **validity(...))`` and keep what it had.
    """
    start = parse_iso(not_before)
    end = parse_iso(not_after)
    if start is None or end is None:
        return {}
    now = to_utc(now) if now is not None else utc_now()
    return {
        "days_remaining": days_remaining(end, now),
        "expired": now > end,
        "not_yet_valid": now < start,
    }


def local_date(value):
    """ISO text or datetime -> ``dd/mm/aaaa`` in Brasília time; ``''`` when unknown."""
    parsed = parse_iso(value)
    return parsed.astimezone(BRASILIA).strftime("%d/%m/%Y") if parsed is not None else ""


def local_datetime(value):
    """ISO text or datetime -> ``dd/mm/aaaa HH:MM`` in Brasília time; ``''`` when unknown."""
    parsed = parse_iso(value)
    return parsed.astimezone(BRASILIA).strftime("%d/%m/%Y %H:%M") if parsed is not None else ""
