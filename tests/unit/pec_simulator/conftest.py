# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the PEC simulator tests (the harness lives beside the simulator)."""

from __future__ import annotations

import os
import sys

HARNESS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "pec_simulator")
if HARNESS_DIR not in sys.path:
    sys.path.insert(0, os.path.abspath(HARNESS_DIR))

from harness import sim_factory  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import
