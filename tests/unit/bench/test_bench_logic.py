# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bench's own logic (tests/bench/bench_logic.py), so `make bench`, which is not part of `make
test`, cannot rot unnoticed: event counting, budgets, ratio targets, linearity, sizing, the tables,
the memory plan and the simulator-state check. The callback that writes the events is tested with a
real ansible-playbook in tests/integration/bench/test_bench_counter.py."""

from __future__ import annotations

import json
import pathlib
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[3] / "tests" / "bench"
sys.path.insert(0, str(BENCH))

import bench_logic as logic  # noqa: E402  pylint: disable=wrong-import-position,import-error


def _events(*records):
    return [json.dumps(record) for record in records]


def _sample_events():
    """Two hosts: a module task, a task skipped on both, a run_once task; a no-op end mark."""
    return [""] + _events(
        {"k": "task", "task": "deploy", "action": "esus.rnds.pec_certificate", "uuid": "t1", "main_cpu": 1.0},
        {"k": "module", "host": "a", "uuid": "t1", "module": "esus.rnds.pec_certificate"},
        {"k": "command", "host": "a", "uuid": "t1", "child_cpu": 0.3},
        {"k": "worker", "host": "a", "uuid": "t1", "cpu": 0.10},
        {"k": "module", "host": "b", "uuid": "t1", "module": "esus.rnds.pec_certificate"},
        {"k": "command", "host": "b", "uuid": "t1", "child_cpu": 0.5},
        {"k": "worker", "host": "b", "uuid": "t1", "cpu": 0.20},
        {"k": "result", "host": "a", "uuid": "t1", "status": "ok", "once": False, "validation": ["parsed"]},
        {"k": "result", "host": "b", "uuid": "t1", "status": "ok", "once": False, "validation": ["memory"]},
        {"k": "task", "task": "windows", "action": "ansible.builtin.include_tasks", "uuid": "t2", "main_cpu": 1.5},
        {"k": "worker", "host": "a", "uuid": "t2", "cpu": 0.01},
        {"k": "worker", "host": "b", "uuid": "t2", "cpu": 0.02},
        {"k": "result", "host": "a", "uuid": "t2", "status": "skipped", "once": False, "validation": []},
        {"k": "result", "host": "b", "uuid": "t2", "status": "skipped", "once": False, "validation": []},
        {"k": "task", "task": "report", "action": "esus.rnds.rnds_report", "uuid": "t3", "main_cpu": 1.75},
        {"k": "worker", "host": "a", "uuid": "t3", "cpu": 0.05},
        {"k": "result", "host": "a", "uuid": "t3", "status": "ok", "once": True, "validation": []},
        {"k": "end", "main_cpu": 2.0},
    )


def test_summarize_counts_per_host_with_skipped_and_run_once_tasks():
    summary = logic.summarize_events(_sample_events())
    assert summary["tasks_per_host"] == 3  # deploy + skipped include + the run_once report
    assert summary["tasks_once"] == 1
    assert summary["modules_per_host"] == 1.0 and summary["modules_max_host"] == 1
    assert summary["commands_per_host"] == 1.0 and summary["commands_max_host"] == 1
    assert summary["command_children_cpu_s"] == pytest.approx(0.8)
    assert summary["certificate_parses"] == 1
    assert summary["validation_cache"] == {"parsed": 1, "memory": 1}
    assert summary["startup_main_cpu_s"] == 1.0
    by_task = {row["task"]: row for row in summary["profile"]}
    assert by_task["deploy"]["worker_cpu_s"] == pytest.approx(0.30)
    assert by_task["deploy"]["main_cpu_s"] == pytest.approx(0.5)
    assert by_task["deploy"]["controller_cpu_s"] == pytest.approx(0.8)
    assert by_task["deploy"]["module_cpu_s"] == pytest.approx(0.8)
    assert by_task["windows"]["results"] == 2 and by_task["windows"]["main_cpu_s"] == pytest.approx(0.25)
    assert by_task["report"]["main_cpu_s"] == pytest.approx(0.25)


def test_summarize_without_events():
    summary = logic.summarize_events([])
    assert summary["tasks_per_host"] == 0 and summary["modules_max_host"] == 0 and summary["profile"] == []


def test_controller_cpu_takes_module_processes_out_only_on_the_local_connection():
    assert logic.controller_cpu(10.0, 6.0, "local") == 4.0
    assert logic.controller_cpu(10.0, 6.0, "community.docker.docker") == 10.0
    assert logic.controller_cpu(1.0, 2.0, "local") == 0.0


def _run(hosts=50, wall=10.0, cpu=20.0, controller=5.0, tasks=3, modules=2, commands=2):
    return {"label": "x", "hosts": hosts, "wall_s": wall, "cpu_s": cpu, "controller_cpu_s": controller,
            "tasks_per_host": tasks, "modules_per_host": float(modules), "modules_max_host": modules,
            "commands_per_host": float(commands), "commands_max_host": commands, "certificate_parses": hosts,
            "peak_tree_pss_mib": 500.0, "loadavg_1min_before": 1.0, "problems": [], "profile": []}


def _scenario(size, ours, lean=None, baseline=None, name="local", connection="local"):
    scenario = {"name": name, "size": size, "connection": connection, "ours": ours}
    if lean is not None:
        scenario["lean"] = lean
    if baseline is not None:
        scenario["baseline"] = baseline
    return scenario


def test_budgets_pass_at_the_limit_and_fail_above_it():
    within = {"scenarios": [_scenario(10, {"site": _run(tasks=3, modules=3, commands=3),
                                           "noop": _run(tasks=3), "audit": _run(tasks=2)})]}
    assert logic.budget_failures(within) == []
    over = {"scenarios": [_scenario(10, {"site": _run(tasks=8), "audit": _run(tasks=3, modules=3, commands=3),
                                         "noop-f50": _run(tasks=4)})]}
    failures = logic.budget_failures(over)
    assert any("site (1ª vez): 8 tarefas por host (orçamento: 3" in f for f in failures)
    assert any("audit --check: 3 tarefas por host (orçamento: 2" in f for f in failures)
    assert any("audit --check: 3 execuções de módulo" in f for f in failures)
    assert any("audit --check: 3 comandos remotos num host (orçamento: 2)" in f for f in failures)
    assert any("forks 50: 4 tarefas" in f for f in failures)


def test_budgets_ignore_the_reference_playbooks_and_allow_interpreter_discovery_off_local():
    lean_over = {"scenarios": [_scenario(10, {"site": _run()}, lean={"site": _run(tasks=9, modules=10, commands=35)})]}
    assert logic.budget_failures(lean_over) == []
    docker = {"scenarios": [_scenario(5, {"site": _run(hosts=5, modules=2, commands=3)}, name="docker",
                                      connection="community.docker.docker")]}
    assert logic.budget_failures(docker) == []
    local = {"scenarios": [_scenario(5, {"site": _run(hosts=5, modules=2, commands=3)})]}
    assert any("pipelining" in f for f in logic.budget_failures(local))


def test_ratios_against_both_references():
    scenario = _scenario(50, {"site": _run(wall=10.0, controller=5.0)},
                         lean={"site": _run(wall=40.0, controller=20.0)},
                         baseline={"site": _run(wall=50.0, controller=25.0)})
    table = logic.ratios(scenario)
    assert table["lean"]["site"] == {"wall": 0.25, "cpu_per_host": 0.25}
    assert table["baseline"]["site"] == {"wall": 0.2, "cpu_per_host": 0.2}


def _at_target(ours_wall, ours_controller, lean_wall=100.0, lean_controller=20.0):
    ours = {key: _run(wall=ours_wall[key], controller=ours_controller) for key in logic.RUNS}
    lean = {key: _run(wall=lean_wall, controller=lean_controller) for key in logic.RUNS}
    return {"scenarios": [_scenario(logic.TARGET_SIZE, ours, lean=lean)]}


def test_targets_at_n50_pass_at_the_limit():
    walls = {key: logic.WALL_TARGET[key] * 100.0 for key in logic.RUNS}
    checks, notes = logic.target_checks(_at_target(walls, logic.CPU_TARGET * 20.0))
    assert notes == [] and len(checks) == 6 and all(check["ok"] for check in checks)


def test_targets_at_n50_fail_on_wall_time_or_controller_cpu():
    walls = {"site": 35.0, "noop": 26.0, "audit": 30.0}
    evaluation = logic.evaluate(_at_target(walls, 10.2))
    failed = [f for f in evaluation["failures"] if f.startswith("meta:")]
    assert any("site (nada a fazer): tempo ÷ enxuto = 0,26 (máximo 0,25)" in f for f in failed)
    assert sum("CPU do controlador por host ÷ enxuto = 0,51" in f for f in failed) == 3
    assert not any("site (1ª vez): tempo" in f for f in failed)


def test_targets_not_checked_without_n50_say_so():
    checks, notes = logic.target_checks({"scenarios": [_scenario(10, {"site": _run(hosts=10)},
                                                                 lean={"site": _run(hosts=10)})]})
    assert checks == [] and "N=50" in notes[0]


def _linear(controllers):
    return {"scenarios": [_scenario(size, {key: _run(hosts=size, controller=cpu) for key in logic.RUNS})
                          for size, cpu in controllers]}


def test_linearity_compares_the_cost_of_one_more_host():
    # 2 s fixed + 0.4 s per host: linear, although the per-host figure falls with N.
    ok = logic.linearity_checks(_linear([(10, 6.0), (50, 22.0), (200, 82.0)]))[0]
    assert len(ok) == 3 and all(check["ok"] for check in ok)
    assert ok[0]["value"] == pytest.approx(1.0)
    # Per extra host 0.4 s up to N=50, then 0.6 s: 1.5x, over the 1.3x limit.
    bad = logic.linearity_checks(_linear([(10, 6.0), (50, 22.0), (200, 112.0)]))[0]
    assert not any(check["ok"] for check in bad) and bad[0]["value"] == pytest.approx(1.5)


def test_linearity_with_two_sizes_compares_per_host_and_with_one_is_a_note():
    checks, _notes = logic.linearity_checks(_linear([(10, 5.0), (50, 30.0)]))
    assert checks[0]["value"] == pytest.approx(1.2) and checks[0]["ok"]
    checks, notes = logic.linearity_checks(_linear([(10, 5.0)]))
    assert checks == [] and len(notes) == 3


def test_sizing_uses_the_marginal_cost_between_the_two_largest_fleets():
    results = _linear([(10, 6.0), (50, 22.0), (200, 82.0)])
    results["scenarios"][-1]["ours"]["site"]["profile"] = [{"main_cpu_s": 10.0}, {"main_cpu_s": None}]
    cost = logic.marginal_cost(results, "ours", "site")
    assert cost == {"from": 50, "to": 200, "cpu_per_host_s": 0.4, "main_per_host_s": 0.05}
    rows = {(row["variant"], row["run"]): row for row in logic.sizing_rows(results)}
    assert rows[("ours", "site")]["core_hours"] == [round(n * 0.4 / 3600, 3) for n in logic.SIZING_FLEETS]
    assert logic.marginal_cost(_linear([(10, 5.0)]), "ours", "site") is None
    assert "núcleo-hora" in logic.markdown(results)


def test_markdown_prints_runs_ratios_targets_and_notes():
    walls = {"site": 30.0, "noop": 20.0, "audit": 40.0}
    results = _at_target(walls, 8.0)
    results["scenarios"].append({"name": "docker", "size": 5, "skipped": "o daemon Docker não responde"})
    text = logic.markdown(results)
    assert "| local | 50 | coleção | site (1ª vez) | 30,0 | 0,160 | 3 | 2,00 | 2,00 |" in text
    assert "| local | 50 | audit --check | 0,40 | 0,40 | — | — |" in text
    assert "**não atingida**" in text and "pulado: o daemon Docker não responde" in text
    assert "linearidade" in text  # the note: one size only


def test_profile_markdown_orders_tasks_by_controller_cpu():
    run = dict(_run(hosts=2), label="local-2-ours-site", **{"startup_main_cpu_s": 1.0})
    run["profile"] = logic.summarize_events(_sample_events())["profile"]
    text = logic.profile_markdown(run)
    lines = [line for line in text.splitlines() if line.startswith("| ") and "ms/host" not in line]
    assert lines[0].startswith("| deploy |") and "| 400,0 |" in lines[0]


def test_fmt_uses_the_brazilian_decimal_comma():
    assert logic.fmt(1234.5) == "1.234,5" and logic.fmt(0.3456, 3) == "0,346" and logic.fmt(None) == "—"


def test_plan_size_falls_back_to_what_fits_and_says_so():
    assert logic.plan_size(200, 30 * 1024, 23 * 1024 * 1024, 3 * 1024 * 1024) == (200, None)
    size, note = logic.plan_size(200, 30 * 1024, 5 * 1024 * 1024, 3 * 1024 * 1024)
    assert size == 60 and "N=200 não cabe" in note and "N=60" in note
    size, note = logic.plan_size(200, 30 * 1024, 3 * 1024 * 1024, 3 * 1024 * 1024)
    assert size == 0 and "nenhuma" in note


def test_not_enabled_reads_the_simulator_state():
    state = {"municipios": {"1100000": {"certificado": {"certificado": "a.pfx", "servicos": ["RNDS"]}}}}
    assert logic.not_enabled("h", state, "1100000", "a.pfx") is None
    assert "b.pfx" in logic.not_enabled("h", state, "1100000", "b.pfx")
    empty = {"municipios": {"1100000": {"certificado": {"certificado": None, "servicos": []}}}}
    assert "nenhum" in logic.not_enabled("h", empty, "1100000", "a.pfx")
    assert "não pôde ser lido" in logic.not_enabled("h", None, "1100000", "a.pfx")
