# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the plugin tests of the integration tier.

Puts tests/integration/certificate on ``sys.path``: the pec_certificate and certificate-role tests
``import certificate_lab`` (``PASSWORD``, ``assert_no_secret``, ``module_runs``, ``tree``, ...).

``lab``   a ``certificate_lab.Lab`` in ``tmp_path``: local "PEC servers" in temporary folders,
          converged with ``ansible-playbook`` through ``run_ansible``.
"""

from __future__ import annotations

import os
import sys

import pytest

CERTIFICATE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "certificate")
if CERTIFICATE_DIR not in sys.path:
    sys.path.insert(0, CERTIFICATE_DIR)

import certificate_lab  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture
def lab(tmp_path, run_ansible):
    return certificate_lab.Lab(tmp_path / "lab", run_ansible)
