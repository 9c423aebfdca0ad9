# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the integration tier: running ``ansible``/``ansible-playbook`` from this tree.

tests/conftest.py (both tiers) sets the import path and gives the test CA fixtures and
``collections_path``.

``ansible_env``   environment for running ``ansible``/``ansible-playbook`` from this tree in a
                  subprocess (ANSIBLE_CONFIG, collections path, the venv's python, temp dirs
                  under ``tmp_path``).
``run_ansible``   ``run_ansible("ansible", "localhost", "-m", ..., input=None, env_extra=None)``
                  -> ``subprocess.CompletedProcess`` (text, stdout/stderr captured, no check).
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def ansible_env(tmp_path, collections_path):
    bindir = os.path.dirname(sys.executable)
    local_tmp = tmp_path / "ansible-tmp"
    local_tmp.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(REPO_ROOT / "ansible.cfg"),
        # ESUS_EXTRA_COLLECTIONS_PATH: collections the ansible-core under test lacks (ansible.posix
        # for an ansible-core-only venv of the version matrix).
        ANSIBLE_COLLECTIONS_PATH=os.pathsep.join(
            [collections_path] + [p for p in os.environ.get("ESUS_EXTRA_COLLECTIONS_PATH", "").split(os.pathsep) if p]),
        # ESUS_TARGET_PYTHON: run the modules under another interpreter, as on an old PEC server
        # (`make host-python` sets it to the oldest Python 3 this machine can get).
        ANSIBLE_PYTHON_INTERPRETER=os.environ.get("ESUS_TARGET_PYTHON") or sys.executable,
        ANSIBLE_LOCAL_TEMP=str(local_tmp),
        ANSIBLE_REMOTE_TEMP=str(local_tmp),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_DEPRECATION_WARNINGS="0",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        PATH=bindir + os.pathsep + env.get("PATH", ""),
        PYTHONDONTWRITEBYTECODE="1",
        # The controller's memory of refused PEC logins: one per test, never the user's home.
        ESUS_RNDS_STATE_DIR=os.environ.get("ESUS_RNDS_STATE_DIR") or str(tmp_path / "esus-rnds-state"),
    )
    return env


@pytest.fixture
def run_ansible(ansible_env):  # pylint: disable=redefined-outer-name
    bindir = os.path.dirname(sys.executable)

    def runner(program, *args, input=None, env_extra=None, timeout=300):  # pylint: disable=redefined-builtin
        env = dict(ansible_env)
        env.update(env_extra or {})
        return subprocess.run(
            [os.path.join(bindir, program)] + [str(a) for a in args],
            input=input, env=env, cwd=str(REPO_ROOT), capture_output=True, text=True,
            timeout=timeout, check=False,
        )

    return runner
