# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared pytest fixtures of both test tiers (tests/unit and tests/integration).

Import path: makes ``ansible_collections.esus.rnds`` importable from this source tree (through the
same ``build/collections`` link as ``make collection-link``; nothing to do under ansible-test) and
puts ``tests/ca`` on ``sys.path`` so tests can ``import testca``.

Fixtures (all certificates are generated at run time, nothing is committed):

``collections_path`` session-scoped: the collections path (str) whose ``ansible_collections/esus/rnds``
                  is this tree.

``test_ca``       session-scoped ``testca.TestCA()`` (ICP-shaped root, intermediate, non-ICP CA).
``ecnpj_leaf``    session-scoped e-CNPJ A1 leaf (CNPJ 12345678000195, 365 days) from ``test_ca``.
``make_pkcs12``   factory writing a PKCS#12 into ``tmp_path``::

                      path = make_pkcs12(leaf=None, password="senha", flavour="aes",
                                         name="certificado.pfx", **testca_kwargs)

                  ``leaf`` defaults to ``ecnpj_leaf``; ``flavour`` is ``aes``, ``3des``,
                  ``legacy-rc2`` or ``none``; other keyword arguments go to
                  ``testca.write_pkcs12`` (``include_key``, ``include_chain``, ``key_override``).
                  Returns a ``pathlib.Path`` (mode 0600).
``make_cer``      factory writing a certificate alone: ``make_cer(leaf=None, encoding="der"|"pem",
                  name="certificado.cer")`` -> ``pathlib.Path``.

The fixtures that run ``ansible``/``ansible-playbook`` in a subprocess (``ansible_env``,
``run_ansible``) are in tests/integration/conftest.py: the unit tier has none (docs/testing.md).
"""

from __future__ import annotations

import os
import pathlib
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
CA_DIR = REPO_ROOT / "tests" / "ca"

if str(CA_DIR) not in sys.path:
    sys.path.insert(0, str(CA_DIR))


def _collections_root():
    """Directory that contains ``ansible_collections/esus/rnds`` pointing at this tree."""
    if REPO_ROOT.parent.name == "esus" and REPO_ROOT.parent.parent.name == "ansible_collections":
        return REPO_ROOT.parents[2]
    root = REPO_ROOT / "build" / "collections"
    link = root / "ansible_collections" / "esus" / "rnds"
    if not os.path.lexists(str(link)):
        link.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.symlink("../../../..", str(link))
        except FileExistsError:  # another test run created it meanwhile
            pass
    return root


COLLECTIONS_ROOT = _collections_root()
if str(COLLECTIONS_ROOT) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_ROOT))

import testca  # noqa: E402  pylint: disable=wrong-import-position

# The between-runs certificate store (plugins/plugin_utils/_validation_store.py) is off in every test unless
# the test turns it on with a folder of its own: a validation_cache origin or a count of PKCS#12 openings must
# not depend on an earlier test or on the user's ~/.cache. Inherited by every ansible-playbook a test starts.
os.environ["ESUS_RNDS_CERTIFICATE_CACHE"] = "off"


def _patch_module_args_fallback():
    """ansible-core < 2.19 has no ansible.module_utils.testing: provide its patch_module_args.

    Module tests call ``with patch_module_args({...}): module.main()``; before 2.19 the same is done
    by setting ``ansible.module_utils.basic._ANSIBLE_ARGS``. Lets the version matrix run them.
    """
    try:
        import ansible.module_utils.testing  # noqa: F401  pylint: disable=unused-import,import-outside-toplevel
        return
    except ImportError:
        pass
    import contextlib  # pylint: disable=import-outside-toplevel
    import json  # pylint: disable=import-outside-toplevel
    import types  # pylint: disable=import-outside-toplevel

    from ansible.module_utils import basic  # pylint: disable=import-outside-toplevel

    @contextlib.contextmanager
    def patch_module_args(args=None):
        args = dict(args or {})
        args.setdefault("_ansible_remote_tmp", "/tmp")
        args.setdefault("_ansible_keep_remote_files", False)
        saved = basic._ANSIBLE_ARGS  # pylint: disable=protected-access
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode("utf-8")  # pylint: disable=protected-access
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved  # pylint: disable=protected-access

    module = types.ModuleType("ansible.module_utils.testing")
    module.patch_module_args = patch_module_args
    sys.modules["ansible.module_utils.testing"] = module


_patch_module_args_fallback()


@pytest.fixture(scope="session")
def collections_path():
    return str(COLLECTIONS_ROOT)


@pytest.fixture(scope="session")
def test_ca():
    return testca.TestCA()


@pytest.fixture(scope="session")
def ecnpj_leaf(test_ca):  # pylint: disable=redefined-outer-name
    return test_ca.issue_ecnpj()


@pytest.fixture
def make_pkcs12(tmp_path, ecnpj_leaf):  # pylint: disable=redefined-outer-name
    def factory(leaf=None, password="senha", flavour="aes", name="certificado.pfx", **kwargs):
        path = tmp_path / name
        testca.write_pkcs12(str(path), leaf or ecnpj_leaf, password, flavour=flavour, **kwargs)
        return path

    return factory


@pytest.fixture
def make_cer(tmp_path, ecnpj_leaf):  # pylint: disable=redefined-outer-name
    def factory(leaf=None, encoding="der", name="certificado.cer"):
        path = tmp_path / name
        testca.write_cer(str(path), leaf or ecnpj_leaf, encoding=encoding)
        return path

    return factory
