# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The problem registry of the fleet report is the single source: docs/report.md documents every code
with the same severity (and nothing else), every row has an evaluator that emits it and a test that
asserts on it, and every row's words render with its parameters."""

from __future__ import annotations

import ast
import os
import re

import pytest
import yaml

from ansible_collections.esus.rnds.plugins.module_utils import _install_checks
from ansible_collections.esus.rnds.plugins.modules import pec_info
from ansible_collections.esus.rnds.plugins.plugin_utils import _report_problems

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
DOC = os.path.join(ROOT, "docs", "report.md")
SEVERITY_PT = {"erro": "error", "aviso": "warning"}
# Where the checks live: every code of the registry is emitted from one of these files.
EVALUATORS = ["plugins/plugin_utils/_report_eval.py", "plugins/plugin_utils/_report_eval_municipio.py",
              "plugins/module_utils/_install_checks.py"]
# Where the checks are tested: every code is asserted on in one of these files.
TESTS = ["tests/unit/plugins/module_utils/test_report.py", "tests/unit/plugins/modules/test_pec_info.py"]
REGISTRY = _report_problems.REGISTRY


def documented():
    """{code: severity} of the table "Problemas detectados e o que fazer" of docs/report.md."""
    with open(DOC, encoding="utf-8") as handle:
        text = handle.read()
    section = text.split("## Problemas detectados e o que fazer", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| (\w+) \|", section, re.M)
    assert rows, "tabela de problemas não encontrada em docs/report.md"
    codes = [code for code, dummy in rows]
    assert len(codes) == len(set(codes)), "código repetido na tabela de docs/report.md"
    return dict((code, SEVERITY_PT.get(level, level)) for code, level in rows)


def test_docs_document_every_code_with_its_severity():
    docs = documented()
    assert sorted(set(REGISTRY) - set(docs)) == [], "códigos sem linha em docs/report.md"
    assert sorted(set(docs) - set(REGISTRY)) == [], "docs/report.md documenta códigos que o relatório não tem"
    differ = dict((code, (REGISTRY[code].severity, docs[code])) for code in REGISTRY if REGISTRY[code].severity != docs[code])
    assert differ == {}, "nível diferente entre o registro e docs/report.md: %r" % differ


def _strings(path, functions_only=False):
    """String constants of a Python file (only inside functions, when asked)."""
    with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    roots = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)] if functions_only else [tree]
    return set(node.value for root in roots for node in ast.walk(root)
               if isinstance(node, ast.Constant) and isinstance(node.value, str))


def test_every_code_has_an_evaluator_and_a_test():
    # _install_checks holds its table too: there, only the strings of its functions count
    emitted = set().union(*[_strings(path, functions_only=path.endswith("_install_checks.py")) for path in EVALUATORS])
    assert sorted(set(REGISTRY) - emitted) == [], "linhas do registro que nenhum avaliador emite"
    tested = ""
    for path in TESTS:
        with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
            tested += handle.read()
    assert sorted(code for code in REGISTRY if '"%s"' % code not in tested) == [], "códigos sem teste"


def test_evaluators_emit_only_registered_codes():
    for path in EVALUATORS[:2]:
        with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
            used = set(re.findall(r'\badd\(\s*"([a-z_]+)"', handle.read()))
        assert used and used <= set(REGISTRY), (path, sorted(used - set(REGISTRY)))


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_words_render_with_their_parameters(code):
    row = REGISTRY[code]
    template = row.message + " " + row.fix
    names = set(re.findall(r"%\((\w+)\)[sd]", template))
    params = dict((name, 7 if name in ("days", "min_days") else "<%s>" % name) for name in names)
    words = _report_problems.words(code, params)
    assert words[0].isupper() or words[0] == "<", words  # an operator reads a sentence
    assert "%(" not in words and "{option:" not in words, words
    assert row.fix and row.fix[0].isupper() and row.fix.endswith("."), (code, "o que fazer")
    assert not re.search(r"\brnds_\w+", row.message + row.fix) or code not in _install_checks.PROBLEMS, \
        "a pec_info message names a role variable: use _labels.option()"


def test_pec_info_documents_its_codes():
    returned = yaml.safe_load(pec_info.RETURN)
    description = " ".join(returned["problem_details"]["contains"]["code"]["description"])
    assert sorted(re.findall(r"C\(([a-z_]+)\)", description)) == sorted(_install_checks.PROBLEMS)


def test_host_side_rows_are_in_the_registry_unchanged():
    for code, row in _install_checks.PROBLEMS.items():
        assert REGISTRY[code] is row
