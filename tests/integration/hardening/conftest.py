# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the hardening suite: ``lab`` is a hardening_lab.Lab stopped at teardown."""

from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import hardening_lab  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture
def lab(tmp_path, test_ca, ansible_env):
    laboratory = hardening_lab.Lab(tmp_path / "lab", test_ca, ansible_env)
    yield laboratory
    laboratory.stop()
