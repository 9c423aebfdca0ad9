# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark-only callback: count what really runs on each host (used by tests/bench/bench.py).

Counting method (exact, not inferred from task names):

- A *module execution* is one call of ``ActionBase._execute_module``: the only way an action
  plugin runs a module on the target (``copy`` calls it twice: remote stat + copy/file; ``uri``
  once; ``esus.rnds.pec_certificate`` once per certificate; ``set_fact``, ``assert``, ``debug``,
  ``include_*``, ``esus.rnds.rnds_report`` and ``pec_certificate`` with ``validate_only`` never).
  Loop items are counted one by one, because each item calls it again.
- A *remote command* is one call of ``ActionBase._low_level_execute_command`` (one round trip on
  the connection: with pipelining a module execution is one command; without it, also the
  mkdir/chmod/rm of the remote temp folder). Each command also records the CPU time of the child
  processes it waited for (``RUSAGE_CHILDREN`` delta in the worker): with the local connection that
  is the module's own Python process, so the controller's share can be told apart.

Ansible forks one worker process per task and host from the ansible-playbook process, after
callbacks are loaded; the wrappers installed here at import time are inherited by every worker.
Each worker appends one JSON line per event to ``$ESUS_BENCH_COUNTER_LOG`` (O_APPEND writes of a
few hundred bytes: atomic on Linux). The parent adds one line per task result (status, and the
``validation_cache`` origin that ``esus.rnds.pec_certificate`` reports: ``parsed``, ``disk`` or
``memory``) and whether the task runs once per play (``run_once``).

Where the controller's CPU goes, per task (cheap, always on):

- each worker writes, when its ``TaskExecutor.run`` returns, its own CPU time (``RUSAGE_SELF``:
  a forked process starts at zero, and the module processes it waited for are children, not
  self): the templating, conditionals, loops and action plugin code of one task on one host;
- the ansible-playbook process writes its own CPU time at each task start and at the end (the
  difference between two marks is what the strategy spent on that task for every host: variable
  managers, queueing, results, callbacks); the first mark is the start-up (imports, inventory,
  playbook parsing).

With ``$ESUS_BENCH_PROFILE_DIR`` set, each worker also runs ``TaskExecutor.run`` under cProfile
(timer: the process's CPU time) and dumps the stats there (``worker-<pid>.prof``), for
``bench.py --profile``.

With Mitogen the same wrappers are put on its action mixin when it is loaded. Nothing secret is
written: host, task name, module name, origin, CPU seconds.
"""

from __future__ import annotations

import cProfile
import json
import os
import resource
import sys
import time

from ansible.executor.task_executor import TaskExecutor
from ansible.plugins.action import ActionBase
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: bench_counter
    type: aggregate
    short_description: count module executions and remote commands per host (benchmark only)
    description:
      - Writes one JSON line per module execution, remote command and task result to the file
        named by the environment variable E(ESUS_BENCH_COUNTER_LOG).
    requirements:
      - enabled with E(ANSIBLE_CALLBACKS_ENABLED=bench_counter)
"""

LOG_ENV = "ESUS_BENCH_COUNTER_LOG"
PROFILE_ENV = "ESUS_BENCH_PROFILE_DIR"
# Set in each worker process by the TaskExecutor wrapper (one worker = one host and one task).
_CURRENT = {"host": None, "task": None, "uuid": None}
_PATCHED = set()


def _write(record):
    path = os.environ.get(LOG_ENV)
    if not path:
        return
    record["t"] = round(time.time(), 4)
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _self_cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return round(usage.ru_utime + usage.ru_stime, 4)


def _wrap_executor():
    original = TaskExecutor.run

    def run(self, *args, **kwargs):
        _CURRENT["host"] = getattr(self._host, "name", None)
        _CURRENT["task"] = self._task.get_name()
        _CURRENT["uuid"] = getattr(self._task, "_uuid", None)
        profile_dir = os.environ.get(PROFILE_ENV)
        # CPU time, not wall time: the question is where the controller's CPU goes.
        profiler = cProfile.Profile(time.process_time) if profile_dir else None
        try:
            if profiler is None:
                return original(self, *args, **kwargs)
            profiler.enable()
            try:
                return original(self, *args, **kwargs)
            finally:
                profiler.disable()
                profiler.dump_stats(os.path.join(profile_dir, "worker-%d.prof" % os.getpid()))
        finally:
            # This worker's own CPU since the fork (module processes are children: not included).
            _write({"k": "worker", "host": _CURRENT["host"], "task": _CURRENT["task"], "uuid": _CURRENT["uuid"],
                    "cpu": _self_cpu()})

    TaskExecutor.run = run


def _wrap_action(cls, label):
    """Wrap _execute_module/_low_level_execute_command defined on ``cls`` (once)."""
    if (cls, label) in _PATCHED:
        return
    _PATCHED.add((cls, label))
    if "_execute_module" in vars(cls):
        execute = cls._execute_module

        def _execute_module(self, *args, **kwargs):
            module_name = kwargs.get("module_name") or (args[0] if args else None)
            _write({"k": "module", "host": _CURRENT["host"], "task": _CURRENT["task"], "uuid": _CURRENT["uuid"],
                    "module": module_name or self._task.action, "via": label})
            return execute(self, *args, **kwargs)

        cls._execute_module = _execute_module
    if "_low_level_execute_command" in vars(cls):
        low_level = cls._low_level_execute_command

        def _low_level_execute_command(self, *args, **kwargs):
            # CPU of the processes the command started and waited for (with the local connection: the
            # module's Python process; with docker/ssh: the docker/ssh client), to split controller time.
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            try:
                return low_level(self, *args, **kwargs)
            finally:
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                _write({"k": "command", "host": _CURRENT["host"], "task": _CURRENT["task"], "uuid": _CURRENT["uuid"],
                        "via": label,
                        "child_cpu": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 4)})

        cls._low_level_execute_command = _low_level_execute_command


def _wrap_mitogen():
    mixins = sys.modules.get("ansible_mitogen.mixins")
    if mixins is not None and hasattr(mixins, "ActionModuleMixin"):
        _wrap_action(mixins.ActionModuleMixin, "mitogen")


_wrap_executor()
_wrap_action(ActionBase, "ansible")


def _run_once(task):
    """True for a task that runs once per play (run_once: true), whatever the number of hosts."""
    value = getattr(task, "run_once", False)
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "yes", "1"))


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_counter"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_play_start(self, play):
        _wrap_mitogen()

    def v2_playbook_on_task_start(self, task, is_conditional):
        # The Mitogen strategy imports its mixin after the callbacks are loaded.
        _wrap_mitogen()
        _write({"k": "task", "task": task.get_name(), "action": task.action, "uuid": task._uuid,
                "main_cpu": _self_cpu()})

    def v2_playbook_on_stats(self, stats):
        _write({"k": "end", "main_cpu": _self_cpu()})

    def _record(self, result, status):
        data = result._result if isinstance(result._result, dict) else {}
        items = data.get("results") if isinstance(data.get("results"), list) else [data]
        origins = [item.get("validation_cache") for item in items if isinstance(item, dict) and item.get("validation_cache")]
        _write({"k": "result", "host": result._host.get_name(), "task": result._task.get_name(),
                "uuid": result._task._uuid, "action": result._task.action, "status": status,
                "changed": bool(data.get("changed")), "once": _run_once(result._task), "validation": origins})

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")
