# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built collection carries no test baggage, and every plugin and role is documented."""

from __future__ import annotations

import json
import os
import re
import tarfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MODULES = sorted(
    name[:-3] for name in os.listdir(os.path.join(REPO, "plugins", "modules")) if name.endswith(".py")
)
ROLES = sorted(os.listdir(os.path.join(REPO, "roles")))


def test_built_artifact_has_no_test_baggage(run_ansible, tmp_path):
    result = run_ansible("ansible-galaxy", "collection", "build", "--output-path", str(tmp_path), REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    artifact = tmp_path / "esus-rnds-0.1.0.tar.gz"
    assert artifact.exists(), os.listdir(tmp_path)
    with tarfile.open(artifact) as tar:
        names = tar.getnames()
    assert "MANIFEST.json" in names
    for wanted in ["plugins/modules/pkcs12_info.py", "roles/enable/tasks/main.yml", "playbooks/site.yml",
                   "meta/runtime.yml", "README.md", "docs/pec-api.md"]:
        assert wanted in names, wanted
    baggage = re.compile(r"^(tests|molecule|\.venv|\.git|\.ci|build|reports|\.ansible|ee)(/|$)"
                         r"|\.(pfx|p12|pem|key|cer)$|__pycache__|/generated/|^Makefile$|^ansible\.cfg$")
    leaked = [name for name in names if baggage.search(name)]
    assert leaked == [], leaked


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_documents_every_module(run_ansible, module):
    result = run_ansible("ansible-doc", "--json", "esus.rnds.%s" % module)
    assert result.returncode == 0, result.stderr
    doc = list(json.loads(result.stdout).values())[0]["doc"]
    assert doc["short_description"]
    for name, option in doc.get("options", {}).items():
        assert option.get("description"), "%s: option %s has no description" % (module, name)


@pytest.mark.parametrize("role", ROLES)
def test_ansible_doc_documents_every_role(run_ansible, role):
    result = run_ansible("ansible-doc", "-t", "role", "--json", "esus.rnds.%s" % role)
    assert result.returncode == 0, result.stderr
    entry = list(json.loads(result.stdout).values())[0]
    options = entry["entry_points"]["main"]["options"]
    assert options, role
    for name, option in options.items():
        assert name.startswith("rnds_"), "%s: public variable %s lacks the rnds_ prefix" % (role, name)
        assert option.get("description"), "%s: %s has no description" % (role, name)
