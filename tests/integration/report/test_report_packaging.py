# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML template of the report ships in the built collection, and the report renders from an
installed copy (no file of this tree read)."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
TEMPLATE = "plugins/plugin_utils/templates/rnds-report.html.j2"

RENDER = """
import sys
root = sys.argv[1]
sys.path.insert(0, root)
from ansible_collections.esus.rnds.plugins.plugin_utils import _report, _report_render
assert _report.__file__.startswith(root) and _report_render.TEMPLATES.startswith(root), _report.__file__
entry = _report.evaluate_host("pec-<b>", None, None, None, None)
print(_report.render_html(_report.build_report([entry])))
"""


def test_template_is_in_the_artifact_and_renders_from_it(run_ansible, tmp_path):
    result = run_ansible("ansible-galaxy", "collection", "build", "--output-path", str(tmp_path), ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    [artifact] = [name for name in os.listdir(str(tmp_path)) if name.endswith(".tar.gz")]
    installed = tmp_path / "installed"
    result = run_ansible("ansible-galaxy", "collection", "install", "--offline", "--force", "-p", str(installed),
                         str(tmp_path / artifact))
    assert result.returncode == 0, result.stdout + result.stderr
    with tarfile.open(str(tmp_path / artifact)) as tar:
        shipped = tar.extractfile(TEMPLATE).read()
    with open(os.path.join(ROOT, TEMPLATE), "rb") as handle:
        assert shipped == handle.read()
    proc = subprocess.run([sys.executable, "-c", RENDER, str(installed)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("<!DOCTYPE html>") and "pec-&lt;b&gt;" in proc.stdout
