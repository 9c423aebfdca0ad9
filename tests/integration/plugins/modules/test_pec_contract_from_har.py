# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""esus.rnds.pec_contract_from_har: the shipped playbook, run for real with ansible-playbook.

The HAR captures are built by the helpers of the in-process tests
(tests/unit/plugins/modules/test_pec_contract_from_har.py), loaded here by path.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import sys

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "pec_simulator"))

from harness import run_playbook  # noqa: E402  pylint: disable=wrong-import-position

# Loaded by path under its own name (the two tiers' files share a basename).
_CAPTURES = importlib.util.spec_from_file_location(
    "esus_rnds_har_captures",
    str(pathlib.Path(__file__).resolve().parents[3] / "unit" / "plugins" / "modules" / "test_pec_contract_from_har.py"))
captures = importlib.util.module_from_spec(_CAPTURES)
_CAPTURES.loader.exec_module(captures)
write_har, model_har, assert_clean = captures.write_har, captures.model_har, captures.assert_clean

PLAYBOOK = str(pathlib.Path(__file__).resolve().parents[4] / "playbooks" / "pec_contract_from_har.yml")


def test_playbook_runs_the_module(tmp_path, run_ansible):
    src = write_har(tmp_path / "captura.har", model_har())
    dest = tmp_path / "contracts" / "pb.yml"
    # The shipped playbook, run as a user would (json callback to read the results).
    vars_path = tmp_path / "vars.json"
    vars_path.write_text(json.dumps({"har_file": src, "contract_file": str(dest), "contract_name": "pb",
                                     "certificate": "fms.pfx", "requester_id": "4507"}), encoding="utf-8")
    env = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}
    proc = run_ansible("ansible-playbook", "-i", "localhost,", "-e", "@" + str(vars_path), PLAYBOOK,
                       env_extra=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    document = json.loads(proc.stdout)
    results = [task["hosts"]["localhost"] for task in document["plays"][0]["tasks"]]
    converted, summary = results[1], results[2]
    assert converted["changed"] is True and converted["written"] is True
    assert yaml.safe_load(dest.read_text(encoding="utf-8"))["name"] == "pb"
    text = "\n".join(summary["msg"])
    assert "gravado" in text and "playbooks/audit.yml --check" in text and str(dest) in text
    assert "enable <- HabilitarCertificado" in text and "disable" in text
    assert_clean(proc.stdout + proc.stderr)
    # Second run through a task: idempotent; check mode + diff writes nothing new.
    task = {"name": "har", "esus.rnds.pec_contract_from_har": {"src": src, "dest": str(dest), "name": "pb",
                                                               "certificate": "fms.pfx", "requester_id": "4507"},
            "register": "out"}
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r2", [task])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["changed"] is False
    other = tmp_path / "other.yml"
    task["esus.rnds.pec_contract_from_har"]["dest"] = str(other)
    proc, (result,) = run_playbook(run_ansible, tmp_path / "r3", [task], check=True, diff=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["changed"] is True and not other.exists()
    assert_clean(proc.stdout + proc.stderr)
