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
"""

from __future__ import annotations

import os
import shlex
import subprocess

import pytest

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
