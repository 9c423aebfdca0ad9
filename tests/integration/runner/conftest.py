# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the ansible-runner suite: a fleet of simulated PECs (the hardening lab) and an AWX stand-in."""

from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
for path in (HERE, os.path.join(REPO, "tests", "integration", "hardening")):
    if path not in sys.path:
        sys.path.insert(0, path)

import awx_job  # noqa: E402  pylint: disable=wrong-import-position
import hardening_lab  # noqa: E402  pylint: disable=wrong-import-position


def collections_root():
    """The collections path holding esus.rnds (tests/conftest.py makes the link)."""
    root = os.path.join(REPO, "build", "collections")
    assert os.path.isdir(os.path.join(root, "ansible_collections", "esus", "rnds", "playbooks")), root
    return root


def base_env(tmp):
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=collections_root(),
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               PATH=os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""),
               PYTHONDONTWRITEBYTECODE="1", ANSIBLE_LOCAL_TEMP=str(tmp))
    return env


@pytest.fixture(scope="module")
def awx_fleet(tmp_path_factory, test_ca):
    """(lab, controller): nine simulated PECs, secrets in vault, and the AWX stand-in that runs jobs."""
    root = tmp_path_factory.mktemp("awx")
    lab = hardening_lab.Lab(root / "lab", test_ca, base_env(root))
    try:
        for name, ibge in awx_job.FLEET:
            lab.add_host(name, ibge=ibge)
        lab.secrets.add("senha do cofre", hardening_lab.VAULT_PASSWORD)
        controller = awx_job.Controller(lab, root / "awx", collections_root(), hardening_lab.VAULT_PASSWORD)
        yield lab, controller
    finally:
        lab.stop()
