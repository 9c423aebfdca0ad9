# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to esus.rnds (no stable API): every date and validity computation of the fleet report.

The report keeps all its date code here (parsing ISO 8601, UTC/Brasília, whole days remaining, the
weeks of the expiry chart) so that one collection-wide implementation can replace this file.
"""

from __future__ import annotations

import datetime
import math

try:
    from zoneinfo import ZoneInfo  # Python >= 3.9 with tz data available
    LOCAL_TZ = ZoneInfo("America/Sao_Paulo")
except Exception:  # pylint: disable=broad-except
    # Brazil has had no daylight saving time since 2019: America/Sao_Paulo is UTC-03:00.
    LOCAL_TZ = datetime.timezone(datetime.timedelta(hours=-3), "-03")

_DAY_SECONDS = 86400.0


def utc(value=None):
    """datetime/ISO string/None -> aware UTC datetime (None -> now, whole seconds)."""
    if value is None:
        return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=datetime.timezone.utc)
        return value.astimezone(datetime.timezone.utc)
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError("data/hora inválida: %r" % (value,))
    return parsed


def parse_datetime(value):
    """ISO 8601 ('2026-01-31T12:00:00Z', with offset, or a bare date) -> aware UTC, else None.

    A bare calendar date means midnight of that day in Brasília.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return utc(value)
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day, tzinfo=LOCAL_TZ).astimezone(datetime.timezone.utc)
    text = str(value).strip()
    if len(text) == 10:
        try:
            day = datetime.datetime.strptime(text, "%Y-%m-%d")
        except ValueError:
            return None
        return day.replace(tzinfo=LOCAL_TZ).astimezone(datetime.timezone.utc)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.datetime.strptime(text[:10], "%Y-%m-%d")
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.astimezone(datetime.timezone.utc)


def iso_utc(value):
    """Aware datetime -> 'YYYY-MM-DDTHH:MM:SSZ'."""
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_date(value):
    """ISO string or datetime -> 'dd/mm/aaaa' in Brasília time ('' when unknown)."""
    parsed = parse_datetime(value)
    return parsed.astimezone(LOCAL_TZ).strftime("%d/%m/%Y") if parsed is not None else ""


def local_datetime(value):
    """ISO string or datetime -> 'dd/mm/aaaa HH:MM' in Brasília time ('' when unknown)."""
    parsed = parse_datetime(value)
    return parsed.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M") if parsed is not None else ""


def days_until(not_after, now):
    """Whole days from now until not_after, rounded down (negative once expired)."""
    return int(math.floor((not_after - now).total_seconds() / _DAY_SECONDS))


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
