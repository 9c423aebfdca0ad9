# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja tests valid_cnpj and valid_cpf through a real ansible run.

In Python: tests/unit/plugins/test/test_brdocs_tests.py.
"""

from __future__ import annotations

import json


def test_through_ansible(run_ansible):
    expression = (
        "{{ {"
        "'a': '12.ABC.345/01DE-35' is esus.rnds.valid_cnpj, "
        "'b': '12.ABC.345/01DE-35' is esus.rnds.valid_cnpj(alphanumeric=false), "
        "'c': '11.222.333/0001-81' is esus.rnds.valid_cnpj, "
        "'d': '11.222.333/0001-82' is esus.rnds.valid_cnpj, "
        "'e': '529.982.247-25' is esus.rnds.valid_cpf, "
        "'f': '111.111.111-11' is esus.rnds.valid_cpf, "
        "'g': '00000000000000' is not esus.rnds.valid_cnpj"
        "} | to_json }}"
    )
    proc = run_ansible("ansible", "localhost", "-m", "ansible.builtin.debug", "-a", "msg=\"%s\"" % expression)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    body = proc.stdout[proc.stdout.index("=> {") + 3:]
    shown = json.loads(json.loads(body[: body.rindex("}") + 1])["msg"])
    assert shown == {"a": True, "b": False, "c": True, "d": False, "e": True, "f": False, "g": True}
