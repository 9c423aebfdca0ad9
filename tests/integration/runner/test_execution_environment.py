# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The execution environment: ``ansible-builder create`` on execution-environment.yml, no image build.

No container registry is reachable here, so the image itself is never built. What is tested is the
build context ansible-builder generates, and what that context would put in the image:

- the Containerfile installs the pinned ansible-core and ansible-runner (the versions the tests use),
  copies the collection tarball in, installs the galaxy requirements and runs the introspection;
- the introspection script of the context, run on the collection installed from the tarball of the
  context, yields Python requirements covering every third-party module the collection imports
  (on the controller: cryptography; nothing else is allowed without a line here);
- the galaxy requirements of the context hold every collection the roles and playbooks call
  (the Windows path: ansible.windows), pinned to the version the tests run against, and that version
  has each module used.
"""

from __future__ import annotations

import ast
import glob
import importlib.metadata
import json
import os
import re
import subprocess
import sys

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
BIN = os.path.dirname(sys.executable)
# import name -> distribution name, for the third-party imports the collection is allowed to have
KNOWN_DISTRIBUTIONS = {"cryptography": "cryptography"}
# Imported on the controller but installed with ansible-core itself (its own dependencies: PyYAML, and
# Jinja2 for the report template), so the image has them without a line in the collection's requirements.
PROVIDED_BY_ANSIBLE_CORE = {"yaml": "pyyaml", "jinja2": "jinja2"}
FQCN_RE = re.compile(r"^\s*-?\s*([a-z0-9_]+)\.([a-z0-9_]+)\.([a-z0-9_]+):", re.M)


def run(cmd, cwd):
    proc = subprocess.run([str(c) for c in cmd], cwd=str(cwd), capture_output=True, text=True, check=False, timeout=300,
                          env=dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", "")))
    assert proc.returncode == 0, (cmd, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc


def requirement_names(lines):
    names = set()
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def third_party_imports():
    """Top-level names imported anywhere in plugins/ that are neither stdlib, ansible nor this collection."""
    found = {}
    for path in glob.glob(os.path.join(REPO, "plugins", "**", "*.py"), recursive=True):
        with open(path, "r", encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".", 1)[0]
                if top in sys.stdlib_module_names or top in ("ansible", "ansible_collections", "__future__"):
                    continue
                found.setdefault(top, set()).add(os.path.relpath(path, REPO))
    return found


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    """ansible-builder create on a copy of execution-environment.yml, ee/ and a fresh collection tarball."""
    root = tmp_path_factory.mktemp("ee")
    with open(os.path.join(REPO, "execution-environment.yml"), "r", encoding="utf-8") as handle:
        (root / "execution-environment.yml").write_text(handle.read(), encoding="utf-8")
    (root / "ee").mkdir()
    for name in os.listdir(os.path.join(REPO, "ee")):
        with open(os.path.join(REPO, "ee", name), "r", encoding="utf-8") as handle:
            (root / "ee" / name).write_text(handle.read(), encoding="utf-8")
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--force", "--output-path", root / "build", REPO], REPO)
    run([os.path.join(BIN, "ansible-builder"), "create", "-f", "execution-environment.yml", "--context", "context",
         "--output-filename", "Containerfile"], root)
    return root


def test_containerfile_pins_and_steps(context):
    text = (context / "context" / "Containerfile").read_text(encoding="utf-8")
    with open(os.path.join(REPO, "requirements.txt"), encoding="utf-8") as handle:
        core = re.search(r"^ansible-core==\S+", handle.read(), re.M).group(0)
    with open(os.path.join(REPO, "requirements-test.txt"), encoding="utf-8") as handle:
        runner = re.search(r"^ansible-runner==\S+", handle.read(), re.M).group(0)
    # the image gets the ansible-core and ansible-runner the tests here run with
    assert 'ARG ANSIBLE_INSTALL_REFS="%s %s"' % (core, runner) in text
    assert "ansible-galaxy collection install" in text and "-r requirements.yml" in text
    assert "introspect.py introspect --user-pip=requirements.txt --user-bindep=bindep.txt" in text
    assert "COPY _build/collections/ /tmp/esus-rnds/" in text
    tarballs = glob.glob(str(context / "context" / "_build" / "collections" / "esus-rnds-*.tar.gz"))
    assert len(tarballs) == 1


def test_python_requirements_cover_every_import(context, tmp_path):
    imports = third_party_imports()
    unknown = sorted(set(imports) - set(KNOWN_DISTRIBUTIONS) - set(PROVIDED_BY_ANSIBLE_CORE))
    assert not unknown, "import sem pacote conhecido no EE: %s" % dict((k, sorted(imports[k])) for k in unknown)
    assert "cryptography" in imports  # the PKCS#12 checks: the test is not vacuous
    core_requires = [re.split(r"[<>=!~ ;\[]", r)[0].lower() for r in importlib.metadata.requires("ansible-core") or []]
    for module, distribution in PROVIDED_BY_ANSIBLE_CORE.items():
        assert distribution in core_requires, (module, core_requires)
    imports = dict((k, v) for k, v in imports.items() if k not in PROVIDED_BY_ANSIBLE_CORE)

    # what the builder stage of the image does: install the collection, then introspect it
    build = context / "context" / "_build"
    collections = tmp_path / "collections"
    tarball = glob.glob(str(build / "collections" / "esus-rnds-*.tar.gz"))[0]
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "-p", collections, tarball], tmp_path)
    run([sys.executable, build / "scripts" / "introspect.py", "introspect", "--user-pip", build / "requirements.txt",
         "--user-bindep", build / "bindep.txt", "--write-pip", tmp_path / "pip.txt", "--write-bindep",
         tmp_path / "bindep.txt", collections], tmp_path)
    pip = (tmp_path / "pip.txt").read_text(encoding="utf-8").splitlines()
    names = requirement_names(pip)
    for module in imports:
        assert KNOWN_DISTRIBUTIONS[module] in names, (module, pip)
    # the image gets the cryptography the tests use
    with open(os.path.join(REPO, "requirements.txt"), encoding="utf-8") as handle:
        pinned = re.search(r"^cryptography==\S+", handle.read(), re.M).group(0)
    assert any(line.startswith(pinned + " ") or line == pinned for line in pip), pip
    # and nothing the introspection would drag in from the collection's own requirements.txt is heavy
    assert "ansible" not in names and "ansible-core" not in names, pip
    assert "openssh-clients [platform:rpm]" in (tmp_path / "bindep.txt").read_text(encoding="utf-8")


def test_galaxy_requirements_cover_every_collection_used(context):
    used = {}
    for pattern in ("roles/*/tasks/*.yml", "playbooks/*.yml"):
        for path in glob.glob(os.path.join(REPO, pattern)):
            with open(path, "r", encoding="utf-8") as handle:
                for namespace, name, module in FQCN_RE.findall(handle.read()):
                    if (namespace, name) not in (("ansible", "builtin"), ("esus", "rnds")):
                        used.setdefault("%s.%s" % (namespace, name), set()).add(module)
    # the modules the action plugins drive themselves (pec_certificate on Windows hosts)
    from ansible_collections.esus.rnds.plugins.plugin_utils import _windows_chaves  # pylint: disable=import-outside-toplevel
    used.setdefault(_windows_chaves.COLLECTION, set()).update(_windows_chaves.MODULES)
    assert "ansible.windows" in used and "win_acl" in used["ansible.windows"]  # not vacuous

    with open(context / "context" / "_build" / "requirements.yml", "r", encoding="utf-8") as handle:
        wanted = yaml.safe_load(handle)["collections"]
    versions = dict((entry["name"], entry.get("version")) for entry in wanted if entry.get("type") != "file")
    import ansible_collections  # pylint: disable=import-outside-toplevel

    for collection, modules in sorted(used.items()):
        assert versions.get(collection), "%s não está em ee/requirements.yml com versão fixa" % collection
        # the version pinned for the image is the one the tests (sanity, lint) run against
        namespace, name = collection.split(".")
        installed = None
        for base in ansible_collections.__path__:
            manifest = os.path.join(base, namespace, name, "MANIFEST.json")
            if os.path.exists(manifest):
                with open(manifest, encoding="utf-8") as handle:
                    installed = json.load(handle)["collection_info"]["version"]
                modules_dir = os.path.join(base, namespace, name, "plugins", "modules")
                break
        assert installed == str(versions[collection]), (collection, installed, versions[collection])
        for module in modules:
            assert glob.glob(os.path.join(modules_dir, module + ".*")), (collection, module)
