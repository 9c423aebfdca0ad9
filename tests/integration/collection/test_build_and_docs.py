# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built collection carries no test baggage, and every plugin and role is documented."""

from __future__ import annotations

import json
import os
import re
import socket
import tarfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MODULES = sorted(
    name[:-3] for name in os.listdir(os.path.join(REPO, "plugins", "modules")) if name.endswith(".py")
)
ROLES = sorted(os.listdir(os.path.join(REPO, "roles")))


# What the PEC protocol needs at run time, in the built collection: the shipped API contract (read by the
# action plugins on the controller) and the plugins that load it and talk to the PEC.
PROTOCOL_FILES = [
    "pec_contracts/modelo.yml",
    "plugins/action/pec_rnds.py",
    "plugins/action/pec_rnds_info.py",
    "plugins/plugin_utils/_contracts.py",
    "plugins/module_utils/_pec_contract.py",
    "plugins/module_utils/_pec_work.py",
    "plugins/module_utils/_pec_api.py",
    "plugins/module_utils/_pec_http.py",
    "plugins/module_utils/_pec_errors.py",
    "plugins/module_utils/_pec_operations.py",
    "plugins/module_utils/_labels.py",
]


def test_built_artifact_has_no_test_baggage(run_ansible, tmp_path):
    result = run_ansible("ansible-galaxy", "collection", "build", "--output-path", str(tmp_path), REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    artifact = tmp_path / "esus-rnds-0.1.0.tar.gz"
    assert artifact.exists(), os.listdir(tmp_path)
    with tarfile.open(artifact) as tar:
        names = tar.getnames()
        shipped_contract = tar.extractfile("pec_contracts/modelo.yml").read() if "pec_contracts/modelo.yml" in names else None
    assert "MANIFEST.json" in names
    for wanted in ["plugins/modules/pkcs12_info.py", "roles/enable/tasks/main.yml", "playbooks/site.yml",
                   "meta/runtime.yml", "README.md", "docs/pec-api.md"] + PROTOCOL_FILES:
        assert wanted in names, wanted
    with open(os.path.join(REPO, "pec_contracts", "modelo.yml"), "rb") as handle:
        assert shipped_contract == handle.read()
    baggage = re.compile(r"^(tests|molecule|\.venv|\.git|\.ci|build|reports|\.ansible|ee)(/|$)"
                         r"|\.(pfx|p12|pem|key|cer)$|__pycache__|/generated/|^Makefile$|^ansible\.cfg$")
    leaked = [name for name in names if baggage.search(name)]
    assert leaked == [], leaked

    # Installed from the artifact (not this tree), the modules find the shipped contract by name: a PEC that
    # does not answer gives a clean "unreachable" result naming the contract, not "contract not found".
    installed = tmp_path / "instalada"
    result = run_ansible("ansible-galaxy", "collection", "install", "--offline", "--force", "-p", str(installed), str(artifact))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (installed / "ansible_collections" / "esus" / "rnds" / "pec_contracts" / "modelo.yml").is_file()
    env = {"ANSIBLE_COLLECTIONS_PATH": str(installed), "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
           "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.minimal"}
    result = run_ansible("ansible", "localhost", "-c", "local", "-m", "esus.rnds.pec_rnds_info",
                         "-a", "url=http://127.0.0.1:%d retries=0 timeout=5" % _closed_port(), env_extra=env)
    assert result.returncode == 0, result.stdout + result.stderr
    answer = json.loads(result.stdout.split("=>", 1)[1])
    assert answer["contract"] == "modelo" and answer["reachable"] is False, answer
    assert answer["error_code"] == "unreachable", answer
    result = run_ansible("ansible-doc", "--json", "esus.rnds.pec_rnds", env_extra=env)
    assert result.returncode == 0, result.stderr
    assert str(installed) in list(json.loads(result.stdout).values())[0]["doc"]["filename"]


def _closed_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _doc(run_ansible, *args):
    result = run_ansible("ansible-doc", "--json", *args)
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout).values())[0]


@pytest.mark.parametrize("module,options", [
    ("pec_rnds", ["api_contract", "force_login", "manual_fallback", "municipios", "url", "timeout", "retries"]),
    ("pec_rnds_info", ["api_contract", "force_login", "municipios", "return_contra_chave", "url"]),
])
def test_ansible_doc_documents_the_pec_protocol_options(run_ansible, module, options):
    doc = _doc(run_ansible, "esus.rnds.%s" % module)["doc"]
    for name in options:
        assert name in doc["options"], "%s: option %s is not documented" % (module, name)
        assert doc["options"][name].get("description"), (module, name)
    assert doc["options"]["api_contract"].get("default") == "modelo" or "modelo" in json.dumps(
        doc["options"]["api_contract"]["description"]), doc["options"]["api_contract"]
    assert doc["options"]["force_login"].get("default") is False
    municipios = doc["options"]["municipios"]
    assert municipios["type"] == "list" and municipios.get("elements") == "dict"
    for name in ("ibge", "username", "password"):
        assert name in municipios["suboptions"], (module, name)
    if module == "pec_rnds":
        assert doc["options"]["manual_fallback"].get("default") is True
        returned = _doc(run_ansible, "esus.rnds.%s" % module)["return"]
        assert "municipios" in returned, sorted(returned)


@pytest.mark.parametrize("role,variables", [
    ("enable", {"rnds_pec_force_login": False, "rnds_pec_api_contract": "modelo", "rnds_pec_manual_fallback": True}),
    ("audit", {"rnds_pec_force_login": False, "rnds_pec_api_contract": "modelo"}),
])
def test_ansible_doc_documents_the_pec_protocol_role_variables(run_ansible, role, variables):
    options = _doc(run_ansible, "-t", "role", "esus.rnds.%s" % role)["entry_points"]["main"]["options"]
    for name, default in variables.items():
        assert name in options, "%s: %s is not documented" % (role, name)
        assert options[name].get("description"), (role, name)
        assert options[name].get("default") == default, (role, name, options[name].get("default"))


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
