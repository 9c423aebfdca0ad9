# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/plugin_utils/_report_merge.py: AWX slicing, stale/overlap/missing refusals."""

from __future__ import annotations

import datetime
import json

import pytest

from ansible_collections.esus.rnds.plugins.plugin_utils import _report, _report_merge as M

NOW = datetime.datetime(2026, 3, 10, 5, 30, tzinfo=datetime.timezone.utc)
HOSTS = ["pec-%02d" % number for number in range(1, 11)]  # 10 hosts: slices of 4, 3 and 3


def entry(host, status="ok"):
    ok = _report.evaluate_host(host, None, None, None, None, now=NOW)
    ok.update(status=status, reachable=True, problems=[], problem_details=[])
    return ok


def partial(hosts, run_id="900", job_id=None, generated=NOW - datetime.timedelta(minutes=5), status="ok"):
    report = _report.build_report([entry(h, status) for h in hosts], now=generated)
    report["run"] = {"id": run_id, "job_id": job_id}
    # what the action plugin reads back: plain JSON
    return json.loads(_report.render_json(report))


def sliced(count=3, run_id="900"):
    slices = M.awx_slices(HOSTS, count)
    return [("%d/rnds-report.json" % (100 + number), partial(hosts, run_id=run_id, job_id=str(100 + number)))
            for number, hosts in sorted(slices.items())]


def test_awx_slices_every_nth_host_by_name():
    slices = M.awx_slices(list(reversed(HOSTS)), 3)
    assert slices == {1: ["pec-01", "pec-04", "pec-07", "pec-10"], 2: ["pec-02", "pec-05", "pec-08"],
                      3: ["pec-03", "pec-06", "pec-09"]}


@pytest.mark.parametrize("count", [2, 3, 4])
def test_infer_slice_count(count):
    assert M.infer_slice_count(HOSTS, M.awx_slices(HOSTS, count).values()) == count


def test_infer_slice_count_gives_up_on_irregular_sets():
    assert M.infer_slice_count(HOSTS, [["pec-01", "pec-02", "pec-05"]]) is None


def test_merge_joins_every_slice():
    report = M.merge(sliced(), expected_hosts=HOSTS, now=NOW)
    assert [h["host"] for h in report["hosts"]] == HOSTS
    assert report["summary"]["hosts_total"] == 10 and report["summary"]["ok"] == 10
    assert [(s["number"], s["count"], s["job_id"], s["hosts"]) for s in report["slices"]] == [
        (1, 3, "101", 4), (2, 3, "102", 3), (3, 3, "103", 3)]
    assert report["run"]["id"] == "900" and report["run"]["slice_count"] == 3
    assert report["generated_at"] == _report.iso_utc(NOW - datetime.timedelta(minutes=5))
    # the documented format holds, and the renderers take it
    assert set(("generated_at", "hosts", "summary")) <= set(report)
    assert "pec-10" in _report.render_csv(report) and "pec-10" in _report.render_html(report)


def test_merge_same_as_one_unsliced_report():
    whole = _report.build_report([entry(h, "warning" if h == "pec-05" else "ok") for h in HOSTS], now=NOW)
    parts = [(str(n), {"generated_at": whole["generated_at"], "hosts": [e for e in whole["hosts"] if e["host"] in hosts]})
             for n, hosts in M.awx_slices(HOSTS, 3).items()]
    merged = M.merge(parts, expected_hosts=HOSTS, now=NOW)
    assert merged["hosts"] == whole["hosts"] and merged["summary"] == whole["summary"]


def test_missing_slice_is_named():
    parts = [p for p in sliced() if not p[0].startswith("102")]
    with pytest.raises(M.MergeError) as info:
        M.merge(parts, expected_hosts=HOSTS, slice_count=3, now=NOW)
    assert info.value.problems == [
        "falta a fatia 2 de 3 (host(s) pec-02, pec-05, pec-08): nenhum relatório parcial a cobre — o job dessa "
        "fatia falhou antes de gravar o relatório, gravou em outra pasta ou ainda não terminou"]
    assert "nada foi gravado" in info.value.message


def test_missing_slice_found_without_slice_count():
    """The slice count comes from the spacing of the hosts, so the missing slice still has its number."""
    parts = [p for p in sliced() if not p[0].startswith("103")]
    with pytest.raises(M.MergeError) as info:
        M.merge(parts, expected_hosts=HOSTS, now=NOW)
    assert len(info.value.problems) == 1 and info.value.problems[0].startswith("falta a fatia 3 de 3 (host(s) pec-03,")


def test_incomplete_slice():
    parts = sliced()
    parts[0][1]["hosts"] = [h for h in parts[0][1]["hosts"] if h["host"] != "pec-07"]
    with pytest.raises(M.MergeError) as info:
        M.merge(parts, expected_hosts=HOSTS, slice_count=3, now=NOW)
    assert info.value.problems == ["a fatia 1 de 3 está incompleta: faltam pec-07"]


def test_overlapping_slices_refused():
    parts = sliced()
    parts.append(("extra/rnds-report.json", partial(["pec-04", "pec-05"], job_id="777")))
    with pytest.raises(M.MergeError) as info:
        M.merge(parts, expected_hosts=HOSTS, now=NOW)
    problems = info.value.problems
    assert any(p.startswith("o host pec-04 está em mais de uma fatia (101/rnds-report.json e extra/rnds-report.json)")
               for p in problems), problems
    assert any("pec-05" in p and "mais de uma fatia" in p for p in problems), problems


def test_stale_partial_of_another_run_refused_even_when_it_completes_the_set():
    parts = sliced()
    old = partial(M.awx_slices(HOSTS, 3)[2], run_id="850", job_id="860", generated=NOW - datetime.timedelta(hours=3))
    parts[1] = ("860/rnds-report.json", old)
    with pytest.raises(M.MergeError) as info:
        M.merge(parts, expected_hosts=HOSTS, slice_count=3, now=NOW)
    problems = info.value.problems
    # 02:30 UTC is 23:30 of the day before in Brasília
    assert problems[0].startswith("o relatório parcial 860/rnds-report.json é de outra execução (850, gerado em "
                                  "09/03/2026 23:30)")
    assert "não da execução 900" in problems[0]
    # and then the slice it stood for is missing
    assert problems[1].startswith("falta a fatia 2 de 3")


def test_explicit_run_id():
    with pytest.raises(M.MergeError) as info:
        M.merge(sliced(run_id="900"), expected_hosts=HOSTS, run_id="901", now=NOW)
    assert all("é de outra execução (900" in p for p in info.value.problems[:3])
    assert M.merge(sliced(run_id="901"), expected_hosts=HOSTS, run_id="901", now=NOW)["run"]["id"] == "901"


def test_old_partial_refused_by_age():
    parts = sliced()
    parts[2][1]["generated_at"] = _report.iso_utc(NOW - datetime.timedelta(hours=30))
    with pytest.raises(M.MergeError) as info:
        M.merge(parts, expected_hosts=HOSTS, now=NOW)
    assert info.value.problems[0].startswith("o relatório parcial 103/rnds-report.json foi gerado em 08/03/2026 "
                                             "20:30, há mais de 24 h")
    # without the age limit it is accepted
    assert M.merge(parts, expected_hosts=HOSTS, max_age_hours=0, now=NOW)["summary"]["hosts_total"] == 10


def test_foreign_host_refused():
    parts = sliced()
    parts[0][1]["hosts"].append(entry("pec-antigo"))
    with pytest.raises(M.MergeError) as info:
        M.merge(parts, expected_hosts=HOSTS, now=NOW)
    assert any("não estão no inventário desta execução aparecem nos relatórios parciais: pec-antigo" in p
               for p in info.value.problems)


def test_without_expected_hosts_only_the_count_is_checked():
    parts = sliced()[:2]
    assert M.merge(parts, now=NOW)["summary"]["hosts_total"] == 7
    with pytest.raises(M.MergeError) as info:
        M.merge(parts, slice_count=3, now=NOW)
    assert info.value.problems[0].startswith("faltam 1 fatia(s): há 2 relatório(s) parcial(is) válido(s) para 3 fatias")


@pytest.mark.parametrize("document, words", [
    ({"hosts": []}, "generated_at"),
    ([], "não é um rnds-report.json"),
    ({"generated_at": "2026-03-10T05:00:00Z", "hosts": [{"host": "x"}]}, "hosts[0]"),
    ({"generated_at": "2026-03-10T05:00:00Z", "hosts": [], "slices": [{}]}, "já é um relatório juntado"),
])
def test_invalid_partials(document, words):
    with pytest.raises(M.MergeError) as info:
        M.merge([("a/rnds-report.json", document)], now=NOW)
    assert words in info.value.message and info.value.message.startswith("a/rnds-report.json")


def test_no_partial():
    with pytest.raises(M.MergeError) as info:
        M.merge([], now=NOW)
    assert "nenhum relatório parcial" in info.value.message
