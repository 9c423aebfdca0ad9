# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The unit tier calls Python code; it never starts Ansible, a browser or a container.

tests/conftest.py (both tiers) sets the import path and gives the test CA fixtures. Here, every
test runs with a guard on ``subprocess``: starting ``ansible``, ``ansible-playbook``,
``ansible-runner`` (or any other ``ansible-*`` program), ``molecule``, ``chromium`` or ``docker`` fails
the test with a message saying it belongs to tests/integration (the rule is in docs/testing.md).
Other programs (the PEC simulator or the RNDS mock on 127.0.0.1, ``openssl``, the test CA's
command line) are fine.

Fixtures that run a module's ``main()`` in process (what a playbook cannot reach):

``module_main``          ``module_main(module, args) -> (exit code, result dict)``: ``module.main()``
                         with the module options ``args``, its JSON result read from stdout.
``pec_certificate_main`` ``pec_certificate_main(install_dir, data, **options) -> (exit code, result)``:
                         the pec_certificate module as its action plugin calls it to write ``data``
                         (bytes) as ``fms.pfx`` (content in base64 and its SHA-256; ``data=None``
                         sends neither); ``options`` are added or replace those.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shlex
import subprocess

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.esus.rnds.plugins.modules import pec_certificate

INTEGRATION_ONLY = ("molecule", "chromium", "chromium-browser", "docker")


def integration_program(args):
    """The program name when ``args`` (as given to subprocess.Popen) starts one of the integration tier."""
    if isinstance(args, (str, bytes)):
        try:
            args = shlex.split(os.fsdecode(args))
        except ValueError:
            return None
    args = [os.fsdecode(a) for a in args]
    if not args:
        return None
    program = os.path.basename(args[0])
    if program.startswith("ansible") or program in INTEGRATION_ONLY:
        return program
    return None


@pytest.fixture(autouse=True)
def _no_integration_programs(monkeypatch):
    original = subprocess.Popen._execute_child  # pylint: disable=protected-access

    def guarded(self, args, *rest, **kwargs):
        program = integration_program(args)
        if program:
            pytest.fail("teste unitário iniciou %r: testes que rodam o Ansible, o Chromium, o Docker ou o Molecule "
                        "ficam em tests/integration (regra em docs/testing.md)" % program, pytrace=False)
        return original(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "_execute_child", guarded)


@pytest.fixture
def module_main(capsys):
    def run(module, args):
        with patch_module_args(args):
            with pytest.raises(SystemExit) as info:
                module.main()
        return info.value.code, json.loads(capsys.readouterr().out)

    return run


@pytest.fixture
def pec_certificate_main(module_main):  # pylint: disable=redefined-outer-name
    def run(install_dir, data, **options):
        args = {"name": "fms.pfx", "install_dir": str(install_dir)}
        if data is not None:
            args.update(content=base64.b64encode(data).decode(), checksum=hashlib.sha256(data).hexdigest())
        args.update(options)
        return module_main(pec_certificate, args)

    return run
