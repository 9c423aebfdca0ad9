# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_dates: the one implementation of certificate validity and date text."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.esus.rnds.plugins.module_utils import _dates

UTC = datetime.timezone.utc
NOT_BEFORE = datetime.datetime(2026, 1, 10, 12, 0, 0, tzinfo=UTC)
NOT_AFTER = datetime.datetime(2027, 1, 10, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("now,expected", [
    (NOT_BEFORE - datetime.timedelta(seconds=1), {"days_remaining": 365, "expired": False, "not_yet_valid": True}),
    (NOT_BEFORE, {"days_remaining": 365, "expired": False, "not_yet_valid": False}),
    (NOT_AFTER - datetime.timedelta(days=1, hours=12), {"days_remaining": 1, "expired": False, "not_yet_valid": False}),
    (NOT_AFTER - datetime.timedelta(hours=1), {"days_remaining": 0, "expired": False, "not_yet_valid": False}),
    # RFC 5280: not_after itself is still inside the validity period
    (NOT_AFTER, {"days_remaining": 0, "expired": False, "not_yet_valid": False}),
    (NOT_AFTER + datetime.timedelta(seconds=1), {"days_remaining": -1, "expired": True, "not_yet_valid": False}),
    (NOT_AFTER + datetime.timedelta(days=10), {"days_remaining": -10, "expired": True, "not_yet_valid": False}),
])
def test_validity(now, expected):
    assert _dates.validity(NOT_BEFORE, NOT_AFTER, now) == expected
    # the same from the ISO text the facts carry, and with a naive "now" (UTC)
    assert _dates.validity("2026-01-10T12:00:00Z", "2027-01-10T12:00:00Z", now.replace(tzinfo=None)) == expected


def test_validity_unknown_dates():
    assert _dates.validity(None, NOT_AFTER) == {}
    assert _dates.validity(NOT_BEFORE, "depois") == {}


def test_validity_defaults_to_now():
    now = _dates.utc_now()
    facts = _dates.validity(now - datetime.timedelta(days=1), now + datetime.timedelta(days=30, hours=1))
    assert facts == {"days_remaining": 30, "expired": False, "not_yet_valid": False}


@pytest.mark.parametrize("text,expected", [
    ("2027-01-10T12:00:00Z", NOT_AFTER),
    ("2027-01-10T12:00:00z", NOT_AFTER),
    ("2027-01-10T12:00:00", NOT_AFTER),                          # no offset: UTC
    ("2027-01-10 09:00:00-03:00", NOT_AFTER),
    ("2027-01-10T14:00:00+0200", NOT_AFTER),
    ("2027-01-10T12:00:00.123456Z", NOT_AFTER.replace(microsecond=123456)),
    ("2027-01-10T12:00Z", NOT_AFTER),
    ("2027-01-10", datetime.datetime(2027, 1, 10, 3, 0, tzinfo=UTC)),  # a bare date: midnight in Brasília
    ("2027-01-10 algo", datetime.datetime(2027, 1, 10, tzinfo=UTC)),
    ("2027-02-30T00:00:00Z", None),                                 # no such day
    ("2027-01-10T25:00:00Z", datetime.datetime(2027, 1, 10, tzinfo=UTC)),  # the date part is still read
    ("2027-01-10T12:00:00+25:00", datetime.datetime(2027, 1, 10, tzinfo=UTC)),
    ("2027-02-30", None),
    ("amanhã", None),
    ("", None),
    (None, None),
])
def test_parse_iso(text, expected):
    assert _dates.parse_iso(text) == expected


def test_parse_iso_of_datetime_and_date():
    assert _dates.parse_iso(NOT_AFTER.replace(tzinfo=None)) == NOT_AFTER
    brt = datetime.timezone(datetime.timedelta(hours=-3))
    assert _dates.parse_iso(datetime.datetime(2027, 1, 10, 9, 0, tzinfo=brt)) == NOT_AFTER
    assert _dates.parse_iso(datetime.date(2027, 1, 10)) == datetime.datetime(2027, 1, 10, 3, 0, tzinfo=UTC)


def test_iso_utc_round_trip():
    assert _dates.iso_utc(NOT_AFTER) == "2027-01-10T12:00:00Z"
    assert _dates.iso_utc(NOT_AFTER.replace(tzinfo=None)) == "2027-01-10T12:00:00Z"
    assert _dates.parse_iso(_dates.iso_utc(NOT_AFTER)) == NOT_AFTER


def test_local_dates_are_brasilia_time():
    late = datetime.datetime(2027, 1, 11, 2, 30, tzinfo=UTC)  # still the 10th in Brasília
    assert _dates.local_date(late) == "10/01/2027"
    assert _dates.local_date("2027-01-11T02:30:00Z") == "10/01/2027"
    assert _dates.local_datetime(late) == "10/01/2027 23:30"
    assert _dates.local_date(None) == "" and _dates.local_datetime("nunca") == ""
