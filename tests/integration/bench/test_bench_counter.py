# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bench_counter callback of `make bench` (tests/bench/callback_plugins) in a real
ansible-playbook: what it writes for a module task, a task skipped on every host and a run_once
task is what tests/bench/bench_logic.py counts (tasks, modules and commands per host, the per-task
controller CPU profile)."""

from __future__ import annotations

import json
import os
import pathlib
import sys

BENCH = pathlib.Path(__file__).resolve().parents[3] / "tests" / "bench"
sys.path.insert(0, str(BENCH))

import bench_logic as logic  # noqa: E402  pylint: disable=wrong-import-position,import-error


PLAYBOOK = """---
- hosts: all
  gather_facts: false
  tasks:
    - name: one module
      ansible.builtin.command: "true"
      changed_when: false
    - name: never applies
      ansible.builtin.debug:
        msg: skipped
      when: false
    - name: once per play
      ansible.builtin.debug:
        msg: once
      run_once: true
"""


def test_the_callback_records_what_the_logic_counts(tmp_path, run_ansible):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {"h1": {}, "h2": {}}, "vars": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}))
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK)
    events = tmp_path / "events.jsonl"
    proc = run_ansible("ansible-playbook", "-i", str(inventory), str(playbook), env_extra={
        "ANSIBLE_CALLBACK_PLUGINS": str(BENCH / "callback_plugins"), "ANSIBLE_CALLBACKS_ENABLED": "bench_counter",
        "ESUS_BENCH_COUNTER_LOG": str(events)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = logic.summarize_events(events.read_text().splitlines())
    assert summary["tasks_per_host"] == 3 and summary["tasks_once"] == 1
    assert summary["modules_max_host"] == 1 and summary["commands_max_host"] == 1
    assert [row["task"] for row in summary["profile"]] == ["one module", "never applies", "once per play"]
    module_task = summary["profile"][0]
    assert module_task["results"] == 2 and module_task["worker_cpu_s"] > 0 and module_task["main_cpu_s"] >= 0
    assert module_task["module_cpu_s"] > 0 and summary["startup_main_cpu_s"] > 0
    assert os.path.getsize(events) > 0
