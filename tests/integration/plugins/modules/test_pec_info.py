# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pec_info module for real with ``ansible``. In process: tests/unit/plugins/modules/test_pec_info.py."""

from __future__ import annotations

import json
import os

import pytest


@pytest.fixture
def install(tmp_path):
    root = tmp_path / "e-SUS"
    (root / "webserver" / "config").mkdir(parents=True)
    return root


def test_real_run_in_check_mode(install, run_ansible, tmp_path):
    chaves = install / "webserver" / "chaves"
    chaves.mkdir(mode=0o750)
    (chaves / "fms.pfx").write_bytes(b"x")
    before = sorted(os.listdir(str(chaves)))
    proc = run_ansible("ansible", "localhost", "-c", "local", "--check", "-m", "esus.rnds.pec_info",
                       "-a", "install_dir=%s" % install)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout.split("=>", 1)[1])
    assert result["changed"] is False and result["chaves"]["files"][0]["name"] == "fms.pfx"
    assert sorted(os.listdir(str(chaves))) == before
