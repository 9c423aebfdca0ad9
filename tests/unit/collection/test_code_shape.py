# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every plugin file stays readable: at most 500 lines per file, at most 60 lines per function.

Files: every ``.py`` under ``plugins/``. The module documentation string literals ``DOCUMENTATION``,
``EXAMPLES`` and ``RETURN`` are not counted: Ansible requires them inside the plugin file itself
(ansible-doc and the sanity tests read them from there), so they cannot move to another file. Any
other line counts, comments and blank lines included.

Functions and methods (found with ``ast``, nested ones too): a longer one passes only when the line
right above its ``def`` (or above its first decorator) is a comment ``# shape: <reason>`` that says
why it is better kept whole. The reason is written for the reader; an empty one does not count.
"""

from __future__ import annotations

import ast
import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLUGINS = os.path.join(REPO, "plugins")
MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 60
DOC_NAMES = ("DOCUMENTATION", "EXAMPLES", "RETURN")
REASON = re.compile(r"^\s*#\s*shape:\s*\S")

# PENDING: files being reshaped right now in other branches. They are reported (xfail, or XPASS once
# they pass) but do not fail this test yet. Whoever merges those branches removes the entries: the
# list must end empty, and a file listed here must exist.
PENDING = frozenset([
    # roles helper
    "plugins/action/pec_certificate.py",
])


def _plugin_files():
    found = []
    for top, dirs, files in os.walk(PLUGINS):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        found += [os.path.relpath(os.path.join(top, name), REPO).replace(os.sep, "/")
                  for name in sorted(files) if name.endswith(".py")]
    return found


FILES = _plugin_files()


def _doc_lines(tree):
    """Lines taken by DOCUMENTATION/EXAMPLES/RETURN assignments (module level, or a doc fragment's class body)."""
    bodies = [tree.body] + [node.body for node in tree.body if isinstance(node, ast.ClassDef)]
    lines = 0
    for body in bodies:
        for node in body:
            if isinstance(node, ast.Assign) and any(
                    isinstance(target, ast.Name) and target.id in DOC_NAMES for target in node.targets):
                lines += node.end_lineno - node.lineno + 1
    return lines


def _functions(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def shape_problems(path, root=REPO):
    """What is wrong with the shape of one file, as messages naming the file, the function and the count."""
    with open(os.path.join(root, path), encoding="utf-8") as handle:
        text = handle.read()
    source = text.splitlines()
    tree = ast.parse(text, filename=path)
    problems = []
    counted = len(source) - _doc_lines(tree)
    if counted > MAX_FILE_LINES:
        problems.append("%s: %d lines without DOCUMENTATION/EXAMPLES/RETURN (limit %d): split it by concept"
                        % (path, counted, MAX_FILE_LINES))
    for node in _functions(tree):
        length = node.end_lineno - node.lineno + 1
        if length <= MAX_FUNCTION_LINES:
            continue
        first = min([node.lineno] + [decorator.lineno for decorator in node.decorator_list])
        above = source[first - 2] if first >= 2 else ""
        if not REASON.match(above):
            problems.append("%s:%d: function %s has %d lines (limit %d) and no '# shape: <reason>' comment above it"
                            % (path, node.lineno, node.name, length, MAX_FUNCTION_LINES))
    return problems


def _params():
    for path in FILES:
        marks = [pytest.mark.xfail(reason="PENDING: being reshaped in another branch", strict=False)] \
            if path in PENDING else []
        yield pytest.param(path, id=path, marks=marks)


@pytest.mark.parametrize("path", list(_params()))
def test_plugin_file_shape(path):
    problems = shape_problems(path)
    assert not problems, "\n".join(problems)


def test_pending_entries_exist():
    missing = sorted(PENDING - set(FILES))
    assert not missing, "PENDING lists files that do not exist under plugins/: %s" % ", ".join(missing)


def test_the_checker_finds_what_it_must(tmp_path):
    """The checks can fail: a long file, a long function, a reason that counts and one that does not."""
    body = "\n".join("    x = %d" % n for n in range(MAX_FUNCTION_LINES))
    doc = 'DOCUMENTATION = r"""\n' + "a: b\n" * (MAX_FILE_LINES + 10) + '"""\n'
    cases = {
        "short.py": doc + "def ok():\n    return 1\n",
        "long_file.py": "\n".join("x%d = %d" % (n, n) for n in range(MAX_FILE_LINES + 1)) + "\n",
        "long_function.py": "def too_long():\n%s\n" % body,
        "reasoned.py": "# shape: one table, read top to bottom\n@staticmethod\ndef kept():\n%s\n" % body,
        "empty_reason.py": "# shape:\ndef kept():\n%s\n" % body,
        "nested.py": "def outer():\n    def inner():\n%s\n    return inner\n" % body.replace("    ", "        "),
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    found = dict((name, shape_problems(name, root=str(tmp_path))) for name in cases)
    assert found["short.py"] == []
    assert len(found["long_file.py"]) == 1 and "%d lines" % (MAX_FILE_LINES + 1) in found["long_file.py"][0]
    assert len(found["long_function.py"]) == 1
    assert "function too_long has %d lines" % (MAX_FUNCTION_LINES + 1) in found["long_function.py"][0]
    assert found["reasoned.py"] == []
    assert len(found["empty_reason.py"]) == 1
    assert sorted(p.split(" has ")[0].split()[-1] for p in found["nested.py"]) == ["inner", "outer"]
