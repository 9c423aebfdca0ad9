# -*- coding: utf-8 -*-
# Copyright: esus.rnds contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters cnpj_format, cpf_format, cnpj_normalize, cpf_normalize in a real play.

In Python: tests/unit/plugins/filter/test_brdocs_filters.py.
"""

from __future__ import annotations

import json


def test_filters_in_a_play(run_ansible, tmp_path):
    playbook = tmp_path / "filters.yml"
    playbook.write_text("""
- name: CNPJ and CPF filters
  hosts: localhost
  gather_facts: false
  vars:
    numeric: "11222333000181"
    alnum: 12abc34501de35
    unquoted: 191
  tasks:
    - name: Show
      ansible.builtin.debug:
        msg: >-
          {{ {'numeric': numeric | esus.rnds.cnpj_format,
              'alnum': alnum | esus.rnds.cnpj_format,
              'unquoted': unquoted | esus.rnds.cnpj_format,
              'cpf': '52998224725' | esus.rnds.cpf_format,
              'norm': '12.ABC.345/01DE-35' | esus.rnds.cnpj_normalize,
              'cpfnorm': '529.982.247-25' | esus.rnds.cpf_normalize} | to_json }}
    - name: Invalid CNPJ fails the task
      ansible.builtin.debug:
        msg: "{{ '11222333000182' | esus.rnds.cnpj_format }}"
      ignore_errors: true
      register: bad
    - name: Check the failure
      ansible.builtin.assert:
        that: bad is failed and 'CNPJ inválido' in bad.msg
""", encoding="utf-8")
    proc = run_ansible("ansible-playbook", str(playbook))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = [ln for ln in proc.stdout.splitlines() if '"msg":' in ln][0]
    shown = json.loads(json.loads("{" + line.strip().rstrip(",") + "}")["msg"])
    assert shown == {
        "numeric": "11.222.333/0001-81",
        "alnum": "12.ABC.345/01DE-35",
        "unquoted": "00.000.000/0001-91",
        "cpf": "529.982.247-25",
        "norm": "12ABC34501DE35",
        "cpfnorm": "52998224725",
    }
