# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The arithmetic of `make bench`, apart from processes and Ansible runs so it can be unit-tested.

- ``summarize_events``: what the bench_counter callback recorded in one run -> counts per host
  (tasks, module executions, remote commands) and where the controller's CPU went, per task;
- the budgets (per run of the collection) and the targets (ratios to the lean builtin playbook at
  N = TARGET_SIZE, linearity of the controller CPU per host from the smallest to the largest fleet);
- ``evaluate``: every budget and target against a whole bench result, failures listed;
- ``markdown``: the tables `make bench` prints (pt-BR numbers: decimal comma);
- ``plan_size``: whether N simulated PECs fit in this machine's memory.
"""

from __future__ import annotations

import collections
import json

RUNS = ("site", "noop", "audit")
REFERENCES = ("lean", "baseline")
LABELS = {"ours": "coleção", "lean": "enxuto", "baseline": "manual", "mitogen": "coleção + Mitogen"}
RUN_LABELS = {"site": "site (1ª vez)", "noop": "site (nada a fazer)", "audit": "audit --check"}

# Per host with one municipality and one certificate, skipped tasks included; a run_once task
# counts 1 for every host (it is in every host's play), whatever the number of hosts.
TASK_BUDGET = {"site": 3, "noop": 3, "audit": 2}
# Module executions per host (ActionBase._execute_module). Remote commands per host may add one
# interpreter discovery when the inventory does not set ansible_python_interpreter.
MODULE_BUDGET = {"site": 3, "noop": 3, "audit": 2}
# Targets against the lean builtin playbook, at this fleet size, in one bench run.
TARGET_SIZE = 50
WALL_TARGET = {"site": 0.35, "noop": 0.25, "audit": 0.35}  # collection wall time / lean wall time
CPU_TARGET = 0.5  # collection controller CPU per host / lean controller CPU per host, every run
# Linearity: the controller CPU of one more host, measured between the two largest fleets, at most
# this many times the same figure between the two smallest (the fixed start-up cost cancels out).
LINEARITY_MAX = 1.3


def kind_of(key):
    """``noop-f50`` -> ``noop``."""
    return key.split("-")[0]


def run_label(key):
    kind = kind_of(key)
    label = RUN_LABELS.get(kind, kind)
    if key != kind and key.startswith(kind + "-f"):
        label += ", forks %s" % key[len(kind) + 2:]
    return label


def fmt(value, digits=1):
    """pt-BR number: 1.234,5; None -> —."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    text = "{:,.{}f}".format(value, digits)
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


# --- one run -----------------------------------------------------------------------------------
def summarize_events(lines):
    """Counts and per-task controller CPU from the bench_counter JSON lines of one run."""
    modules, commands, host_tasks = collections.Counter(), collections.Counter(), collections.Counter()
    per_module, origins = collections.Counter(), collections.Counter()
    result_hosts, once, parses, child_cpu = set(), 0, 0, 0.0
    marks = []
    worker_cpu, task_child_cpu = collections.defaultdict(float), collections.defaultdict(float)
    task_results, task_modules = collections.Counter(), collections.Counter()
    for line in lines:
        line = line.strip()
        if not line:
            continue
        event = json.loads(line)
        kind, uuid = event["k"], event.get("uuid")
        if kind == "module":
            modules[event["host"]] += 1
            per_module[event["module"]] += 1
            task_modules[uuid] += 1
        elif kind == "command":
            commands[event["host"]] += 1
            cpu = event.get("child_cpu") or 0.0
            child_cpu += cpu
            task_child_cpu[uuid] += cpu
        elif kind == "worker":
            worker_cpu[uuid] += event.get("cpu") or 0.0
        elif kind in ("task", "end"):
            marks.append((uuid if kind == "task" else None, event.get("task"), event.get("action"), event.get("main_cpu")))
        elif kind == "result":
            result_hosts.add(event["host"])
            task_results[uuid] += 1
            if event.get("once"):
                once += 1
            else:
                host_tasks[event["host"]] += 1
            for origin in event.get("validation") or ():
                origins[origin] += 1
                parses += origin == "parsed"
    hosts = max(1, len(result_hosts))
    profile = []
    for index, (uuid, name, action, cpu) in enumerate(marks):
        if uuid is None:
            continue
        following = marks[index + 1][3] if index + 1 < len(marks) else None
        main = following - cpu if following is not None and cpu is not None else None
        profile.append({
            "task": name, "action": action, "results": task_results[uuid], "modules": task_modules[uuid],
            "worker_cpu_s": round(worker_cpu[uuid], 3),
            "main_cpu_s": round(main, 3) if main is not None else None,
            "controller_cpu_s": round(worker_cpu[uuid] + (main or 0.0), 3),
            "module_cpu_s": round(task_child_cpu[uuid], 3),
        })
    return {
        "modules_total": sum(modules.values()),
        "modules_per_host": round(sum(modules.values()) / float(hosts), 2),
        "modules_max_host": max(modules.values()) if modules else 0,
        "modules_by_name": dict(per_module),
        "commands_total": sum(commands.values()),
        "commands_per_host": round(sum(commands.values()) / float(hosts), 2),
        "commands_max_host": max(commands.values()) if commands else 0,
        "task_results_per_host": round((sum(host_tasks.values()) + once) / float(hosts), 2),
        "tasks_per_host": (max(host_tasks.values()) if host_tasks else 0) + once,
        "tasks_once": once,
        "certificate_parses": parses,
        "validation_cache": dict(origins),
        "command_children_cpu_s": round(child_cpu, 2),
        "startup_main_cpu_s": round(marks[0][3], 3) if marks and marks[0][3] is not None else None,
        "profile": profile,
    }


def controller_cpu(cpu_s, command_children_cpu_s, connection):
    """The controller's share of a run's CPU.

    Local connection: the module processes are children of the workers and run on the controller
    only because the bench simulates the servers there; in a real fleet they run on the servers,
    so their CPU (measured per remote command) is taken out. Any other connection (docker, ssh):
    the processes the commands start are the connection's clients (docker CLI, ssh), which do run
    on the controller, and the modules run elsewhere: nothing to take out.
    """
    if connection == "local":
        return round(max(0.0, cpu_s - command_children_cpu_s), 2)
    return round(cpu_s, 2)


def per_host(run, field="controller_cpu_s"):
    value = run.get(field)
    return None if value is None or not run.get("hosts") else value / float(run["hosts"])


# --- budgets, targets, linearity ---------------------------------------------------------------
def _where(scenario, variant, key):
    return "%s N=%d, %s, %s" % (scenario["name"], scenario["size"], LABELS.get(variant, variant), run_label(key))


def budget_failures(results):
    """Tasks, module executions and remote commands per host of every run of the collection."""
    out = []
    for scenario in results.get("scenarios", ()):
        discovery = 0 if scenario.get("connection") == "local" else 1
        for variant in ("ours", "mitogen"):
            for key, run in (scenario.get(variant) or {}).items():
                kind = kind_of(key)
                where = _where(scenario, variant, key)
                if run.get("tasks_per_host", 0) > TASK_BUDGET[kind]:
                    out.append("%s: %d tarefas por host (orçamento: %d; puladas contam)"
                               % (where, run["tasks_per_host"], TASK_BUDGET[kind]))
                if run.get("modules_max_host", 0) > MODULE_BUDGET[kind]:
                    out.append("%s: %d execuções de módulo num host (orçamento: %d)"
                               % (where, run["modules_max_host"], MODULE_BUDGET[kind]))
                if run.get("commands_max_host", 0) > MODULE_BUDGET[kind] + discovery:
                    out.append("%s: %d comandos remotos num host (orçamento: %d)"
                               % (where, run["commands_max_host"], MODULE_BUDGET[kind] + discovery))
                if run.get("commands_per_host", 0) > run.get("modules_per_host", 0) + discovery + 0.005:
                    out.append("%s: %s comandos por host para %s módulos (pipelining desligado?)"
                               % (where, fmt(run["commands_per_host"], 2), fmt(run["modules_per_host"], 2)))
    return out


def ratios(scenario):
    """{reference: {run: {"wall": collection/reference, "cpu_per_host": ...}}} for the runs both have."""
    ours = scenario.get("ours") or {}
    out = {}
    for reference in REFERENCES:
        other = scenario.get(reference) or {}
        table = {}
        for key in RUNS:
            if key in ours and key in other and other[key].get("wall_s"):
                mine, theirs = per_host(ours[key]), per_host(other[key])
                table[key] = {
                    "wall": round(ours[key]["wall_s"] / other[key]["wall_s"], 3),
                    "cpu_per_host": round(mine / theirs, 3) if mine is not None and theirs else None,
                }
        if table:
            out[reference] = table
    return out


def _check(name, value, limit, detail=""):
    return {"name": name, "value": value, "limit": limit, "ok": value is not None and value <= limit,
            "detail": detail}


def target_checks(results):
    """The ratio targets against the lean playbook at N = TARGET_SIZE. Returns (checks, notes)."""
    checks, notes = [], []
    scenario = next((s for s in results.get("scenarios", ()) if s["name"] == "local" and s["size"] == TARGET_SIZE), None)
    if scenario is None:
        notes.append("metas de razão (definidas em N=%d) não conferidas: esta execução não mediu N=%d"
                     % (TARGET_SIZE, TARGET_SIZE))
        return checks, notes
    lean = (ratios(scenario).get("lean")) or {}
    for key in RUNS:
        if key not in lean:
            notes.append("meta de %s em N=%d não conferida: falta a execução da coleção ou do playbook enxuto"
                         % (RUN_LABELS[key], TARGET_SIZE))
            continue
        checks.append(_check("N=%d %s: tempo ÷ enxuto" % (TARGET_SIZE, RUN_LABELS[key]), lean[key]["wall"],
                             WALL_TARGET[key]))
        checks.append(_check("N=%d %s: CPU do controlador por host ÷ enxuto" % (TARGET_SIZE, RUN_LABELS[key]),
                             lean[key]["cpu_per_host"], CPU_TARGET))
    return checks, notes


def linearity_checks(results):
    """Controller CPU per extra host, largest fleets vs smallest, for each run of the collection."""
    checks, notes = [], []
    local = sorted((s for s in results.get("scenarios", ()) if s["name"] == "local" and s.get("ours")),
                   key=lambda s: s["size"])
    for key in RUNS:
        points = [(s["size"], s["ours"][key]["controller_cpu_s"]) for s in local if key in s["ours"]]
        if len(points) < 2:
            notes.append("linearidade de %s não conferida: precisa de pelo menos dois tamanhos de frota"
                         % RUN_LABELS[key])
            continue
        sizes = "/".join(str(size) for size, _cpu in points)
        each = "; ".join("N=%d: %s s/host" % (size, fmt(cpu / size, 3)) for size, cpu in points)
        if len(points) == 2:
            (n1, c1), (n2, c2) = points
            value = (c2 / n2) / (c1 / n1) if c1 > 0 else None
            checks.append(_check("linearidade %s (N=%s): CPU do controlador por host, maior ÷ menor"
                                 % (RUN_LABELS[key], sizes), value, LINEARITY_MAX,
                                 each + " (com dois tamanhos, o custo fixo de partida entra na conta)"))
            continue
        (n1, c1), (n2, c2) = points[0], points[1]
        (m1, d1), (m2, d2) = points[-2], points[-1]
        first, last = (c2 - c1) / (n2 - n1), (d2 - d1) / (m2 - m1)
        value = last / first if first > 0 else None
        checks.append(_check("linearidade %s (N=%s): CPU por host a mais, N=%d→%d ÷ N=%d→%d"
                             % (RUN_LABELS[key], sizes, m1, m2, n1, n2), value, LINEARITY_MAX,
                             "%s s/host entre N=%d e %d, %s entre N=%d e %d; %s"
                             % (fmt(last, 3), m1, m2, fmt(first, 3), n1, n2, each)))
    return checks, notes


def evaluate(results):
    """Every budget and target: {"failures": [...], "checks": [...], "notes": [...]}."""
    failures = budget_failures(results)
    checks, notes = target_checks(results)
    more, more_notes = linearity_checks(results)
    checks += more
    notes += more_notes
    for check in checks:
        if not check["ok"]:
            failures.append("meta: %s = %s (máximo %s)%s" % (
                check["name"], fmt(check["value"], 2), fmt(check["limit"], 2),
                "; " + check["detail"] if check["detail"] else ""))
    return {"failures": failures, "checks": checks, "notes": notes}


# --- sizing ----------------------------------------------------------------------------------
SIZING_FLEETS = (100, 1000, 5000)


def marginal_cost(results, variant, key):
    """Controller CPU of one more host (s), between the two largest local fleets that ran ``key``
    (the start-up cost cancels out), and the ansible-playbook process's own share per host at the
    largest (one process, one core: a floor on the wall time). None when fewer than two fleets ran."""
    points = sorted((s["size"], s[variant][key]) for s in results.get("scenarios", ())
                    if s["name"] == "local" and key in (s.get(variant) or {}))
    if len(points) < 2:
        return None
    (n1, run1), (n2, run2) = points[-2], points[-1]
    main = [row["main_cpu_s"] for row in run2.get("profile") or () if row.get("main_cpu_s") is not None]
    return {
        "from": n1, "to": n2,
        "cpu_per_host_s": round((run2["controller_cpu_s"] - run1["controller_cpu_s"]) / float(n2 - n1), 4),
        "main_per_host_s": round(sum(main) / float(n2), 4) if main else None,
    }


def sizing_rows(results):
    """Core-hours of controller CPU per run for SIZING_FLEETS servers, from the measured marginal cost."""
    rows = []
    for variant in ("ours", "lean", "baseline"):
        for key in RUNS:
            cost = marginal_cost(results, variant, key)
            if cost is None:
                continue
            rows.append(dict(cost, variant=variant, run=key, core_hours=[
                round(n * cost["cpu_per_host_s"] / 3600.0, 3) for n in SIZING_FLEETS]))
    return rows


# --- the simulator's own word ------------------------------------------------------------------
def not_enabled(host, state, ibge, certificate):
    """None when the simulator's state file (``pec-simulator/state.json``) says RNDS enabled for
    ``ibge`` with ``certificate``; else what it says instead."""
    if not isinstance(state, dict):
        return "%s: o arquivo de estado do simulador não pôde ser lido" % host
    entry = ((state.get("municipios") or {}).get(ibge) or {}).get("certificado") or {}
    services = entry.get("servicos") or []
    if "RNDS" in services and entry.get("certificado") == certificate:
        return None
    return ("%s: o PEC simulado não tem a RNDS habilitada com %s para %s (certificado %s, serviços %s)"
            % (host, certificate, ibge, entry.get("certificado"), ", ".join(services) or "nenhum"))


# --- memory ------------------------------------------------------------------------------------
def plan_size(size, per_simulator_kib, available_kib, reserve_kib):
    """How many simulated PECs to start: ``size`` when they fit (with ``reserve_kib`` left for
    ansible-playbook and the rest of the machine), else the largest multiple of 10 that fits, with
    a note saying so. Returns (size_to_run, note or None)."""
    budget = available_kib - reserve_kib
    if per_simulator_kib <= 0 or size * per_simulator_kib <= budget:
        return size, None
    fits = int(max(0, budget) // per_simulator_kib) // 10 * 10
    note = ("N=%d não cabe na memória desta máquina: cada PEC simulado ocupa ≈ %s MiB (PSS medido), %d deles "
            "pedem ≈ %s MiB e há %s MiB disponíveis (reservados %s MiB para o ansible-playbook); "
            % (size, fmt(per_simulator_kib / 1024.0, 1), size, fmt(size * per_simulator_kib / 1024.0, 0),
               fmt(available_kib / 1024.0, 0), fmt(reserve_kib / 1024.0, 0)))
    if fits < 10:
        return 0, note + "nenhuma frota deste tamanho foi medida"
    return fits, note + "medido N=%d no lugar" % fits


# --- tables ------------------------------------------------------------------------------------
def _ordered(runs):
    return [k for k in RUNS if k in runs] + sorted(k for k in runs if k not in RUNS)


def markdown(results, evaluation=None):
    evaluation = evaluation or evaluate(results)
    lines = ["| cenário | N | playbook | execução | tempo (s) | CPU controlador por host (s) | tarefas por host | "
             "módulos por host | comandos por host | CPU total (s) | PKCS#12 abertos | PSS máx. (MiB) | carga |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for scenario in results.get("scenarios", ()):
        if scenario.get("skipped"):
            lines.append("| %s | %d | — | pulado: %s | | | | | | | | | |"
                         % (scenario["name"], scenario["size"], scenario["skipped"]))
            continue
        for variant in ("ours", "lean", "baseline", "mitogen"):
            runs = scenario.get(variant) or {}
            for key in _ordered(runs):
                run = runs[key]
                lines.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    scenario["name"], run["hosts"], LABELS[variant], run_label(key), fmt(run["wall_s"]),
                    # Mitogen runs the modules inside its own processes: no command to take them out by.
                    "—" if variant == "mitogen" else fmt(per_host(run), 3), fmt(run.get("tasks_per_host"), 0), fmt(run["modules_per_host"], 2),
                    fmt(run["commands_per_host"], 2), fmt(run["cpu_s"]),
                    fmt(run["certificate_parses"], 0) if variant in ("ours", "mitogen") else "—",
                    fmt(run.get("peak_tree_pss_mib"), 0), fmt(run.get("loadavg_1min_before"))))
    lines += ["", "Razões coleção ÷ referência (tempo de relógio; CPU do controlador por host)", "",
              "| cenário | N | execução | tempo ÷ enxuto | CPU/host ÷ enxuto | tempo ÷ manual | CPU/host ÷ manual |",
              "|---|---|---|---|---|---|---|"]
    for scenario in results.get("scenarios", ()):
        table = ratios(scenario)
        for key in RUNS:
            cells = []
            for reference in REFERENCES:
                value = table.get(reference, {}).get(key)
                cells += [fmt(value["wall"], 2), fmt(value["cpu_per_host"], 2)] if value else ["—", "—"]
            if any(cell != "—" for cell in cells):
                lines.append("| %s | %d | %s | %s |" % (scenario["name"], scenario["size"], RUN_LABELS[key],
                                                        " | ".join(cells)))
    sizing = sizing_rows(results)
    if sizing:
        lines += ["", "Custo do controlador por host a mais (entre as duas maiores frotas) e núcleo-hora por execução",
                  "", "| playbook | execução | c: CPU por host (s) | m: ansible-playbook por host (s) | %s |"
                  % " | ".join("%s servidores (núcleo-hora)" % fmt(n, 0) for n in SIZING_FLEETS),
                  "|---|---|---|---|%s" % ("---|" * len(SIZING_FLEETS))]
        for row in sizing:
            lines.append("| %s | %s (N=%d→%d) | %s | %s | %s |" % (
                LABELS[row["variant"]], RUN_LABELS[row["run"]], row["from"], row["to"], fmt(row["cpu_per_host_s"], 3),
                fmt(row["main_per_host_s"], 3), " | ".join(fmt(h, 2) for h in row["core_hours"])))
    lines += ["", "Metas", "", "| meta | medido | limite | resultado |", "|---|---|---|---|"]
    for check in evaluation["checks"]:
        lines.append("| %s | %s | ≤ %s | %s |" % (check["name"], fmt(check["value"], 2), fmt(check["limit"], 2),
                                                  "atingida" if check["ok"] else "**não atingida**"))
    for note in evaluation["notes"]:
        lines.append("")
        lines.append("Nota: %s." % note)
    return "\n".join(lines)


def profile_markdown(run, top=15):
    """Where the controller's CPU went in one run, per task (largest first)."""
    rows = sorted(run.get("profile") or (), key=lambda r: r["controller_cpu_s"], reverse=True)
    hosts = float(run.get("hosts") or 1)
    lines = ["Perfil de %s (%d hosts): CPU do controlador por tarefa, em ms por host" % (run["label"], run["hosts"]),
             "",
             "| tarefa | ação | resultados | processo de trabalho (ms/host) | ansible-playbook (ms/host) | "
             "total (ms/host) | módulos (ms/host, fora do controlador) |",
             "|---|---|---|---|---|---|---|"]
    for row in rows[:top]:
        lines.append("| %s | %s | %d | %s | %s | %s | %s |" % (
            row["task"], row["action"], row["results"], fmt(row["worker_cpu_s"] * 1000 / hosts, 1),
            fmt(None if row["main_cpu_s"] is None else row["main_cpu_s"] * 1000 / hosts, 1),
            fmt(row["controller_cpu_s"] * 1000 / hosts, 1), fmt(row["module_cpu_s"] * 1000 / hosts, 1)))
    if run.get("startup_main_cpu_s") is not None:
        lines.append("")
        lines.append("Partida do ansible-playbook (importações, inventário, playbook): %s s de CPU, uma vez por execução."
                     % fmt(run["startup_main_cpu_s"], 2))
    return "\n".join(lines)
