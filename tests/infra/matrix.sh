#!/usr/bin/env bash
# Version matrix: every ansible-core minor that meta/runtime.yml claims, each in its own venv.
#
#   tests/infra/matrix.sh            # every tests/matrix/ansible-core-*.txt
#   tests/infra/matrix.sh 2.16 2.21  # only these minors
#   tests/infra/matrix.sh --venv-only 2.16  # only create/refresh the venv
#
# For each minor: a venv build/matrix/<minor> with the pinned requirements of
# tests/matrix/ansible-core-<minor>.txt (reinstalled only when that file or the interpreter
# changes: stamp file; pip's own cache is reused), then
#   unit - the fast unit tests (MATRIX_UNIT_TESTS) with that venv's pytest;
#   e2e  - the demo (tests/demo/run_demo.py, the same entry as `make demo`) with that venv's
#          python, so ansible-playbook, the simulated PECs and the checks are that version's:
#          site.yml, site.yml again (changed=0), audit.yml --check.
# The first line of each requirements file names the interpreter: "# python: system" (python3)
# or "# python: cpython3.13" (tests/infra/pythons.sh builds it from Debian's source package).
# Results: build/matrix/results.tsv and a Markdown table on stdout (copied to docs/testing.md).
# Every minor runs even when one fails; the exit status is 1 when any failed.
set -euo pipefail

# shellcheck source=tests/infra/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# The PEC simulator (test tooling, needs graphql-core) runs on the main venv, whatever the
# controller under test.
export ESUS_SIMULATOR_PYTHON="$ROOT/.venv/bin/python"
cd "$ROOT"
OUT="$ROOT/build/matrix"
RESULTS="$OUT/results.tsv"
# Fast tests that exercise ansible-core itself: the private-API compatibility layer, plugins
# loaded by ansible (filters, tests, the inventory plugin with vault values, in a real play or
# ansible-inventory run), the report's monitoring outputs and a module run through AnsibleModule and
# through `ansible`. The inventory tests that compare ansible-inventory's error text are left to
# `make integration`: ansible-core < 2.19 wraps that text at 80 columns, which those assertions do
# not expect.
INVENTORY=tests/integration/plugins/inventory/test_municipios.py
MATRIX_UNIT_TESTS="${MATRIX_UNIT_TESTS:-tests/unit/plugins/plugin_utils tests/unit/plugins/filter tests/unit/plugins/test
  tests/integration/plugins/filter tests/integration/plugins/test
  tests/unit/plugins/module_utils/test_brdocs.py tests/unit/plugins/module_utils/test_monitoring.py
  tests/unit/plugins/modules/test_pec_info.py tests/integration/plugins/modules/test_pec_info.py
  $INVENTORY::test_example_list_shows_only_vault_ciphertext $INVENTORY::test_example_secrets_decrypt_when_used
  $INVENTORY::test_example_wrong_vault_password $INVENTORY::test_secrets_inline_and_whole_file}"

VENV_ONLY=0
if [ "${1:-}" = "--venv-only" ]; then
  VENV_ONLY=1
  shift
fi
if [ $# -gt 0 ]; then
  minors=("$@")
else
  mapfile -t minors < <(find tests/matrix -name 'ansible-core-*.txt' | sed 's/.*ansible-core-\(.*\)\.txt/\1/' | sort -V)
fi
[ "${#minors[@]}" -gt 0 ] || die "nenhum arquivo tests/matrix/ansible-core-*.txt"

# The collection must be importable as ansible_collections.esus.rnds from this tree.
mkdir -p build/collections/ansible_collections/esus
ln -sfn ../../../.. build/collections/ansible_collections/esus/rnds
export ANSIBLE_COLLECTIONS_PATH="$ROOT/build/collections" ANSIBLE_CONFIG="$ROOT/ansible.cfg" PYTHONDONTWRITEBYTECODE=1
mkdir -p "$OUT"

venv_for() {
  local minor="$1" req="tests/matrix/ansible-core-$1.txt" venv="$OUT/$1" kind python
  [ -f "$req" ] || die "$req não existe"
  kind="$(sed -n 's/^# python: *//p' "$req" | head -n 1)"
  case "$kind" in
    system | "") python="$(command -v python3)" ;;
    *) python="$(bash tests/infra/pythons.sh "$kind")" || die "interpretador $kind indisponível" ;;
  esac
  local stamp; stamp="$(sha256sum "$req" | cut -c1-16) $("$python" -c 'import sys; print(sys.version.split()[0])') $python"
  if [ -f "$venv/.installed" ] && [ "$(cat "$venv/.installed")" = "$stamp" ] && [ -x "$venv/bin/ansible-playbook" ]; then
    return 0
  fi
  say "$minor: criando $venv com $("$python" --version 2>&1) ($req)"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" 2>&1 | grep -v "^WARNING: Location" >&2 || true
  "$venv/bin/ansible-playbook" --version >/dev/null || die "$minor: ansible-core não ficou instalado em $venv"
  echo "$stamp" >"$venv/.installed"
}

if [ "$VENV_ONLY" = 1 ]; then  # only make sure the venvs exist (used by host-python.sh)
  for minor in "${minors[@]}"; do venv_for "$minor"; done
  exit 0
fi

printf 'ansible_core\tpython\tunit\tunit_s\te2e\te2e_s\tvenv_s\n' >"$RESULTS"
failed=0
for minor in "${minors[@]}"; do
  log="$OUT/$minor.log"
  : >"$log"
  start=$SECONDS
  if ! venv_for "$minor" >>"$log" 2>&1; then
    tail -n 20 "$log" >&2
    printf '%s\t?\tvenv-falhou\t0\t-\t0\t%s\n' "$minor" "$((SECONDS - start))" >>"$RESULTS"
    failed=1
    continue
  fi
  venv_s=$((SECONDS - start))
  bin="$OUT/$minor/bin"
  core="$("$bin/python" -c 'from ansible.module_utils.ansible_release import __version__; print(__version__)')"
  pyver="$("$bin/python" -c 'import platform; print(platform.python_version())')"
  say "=== ansible-core $core (Python $pyver) ==="

  start=$SECONDS
  # shellcheck disable=SC2086  # the test list is a space-separated list of paths
  if (PATH="$bin:$PATH" "$bin/python" -m pytest -p no:cacheprovider -q $MATRIX_UNIT_TESTS) >>"$log" 2>&1; then
    unit=ok
  else
    unit=FALHOU; failed=1
  fi
  unit_s=$((SECONDS - start))
  say "$minor unit: $unit (${unit_s}s) - $(grep -E '(passed|failed|error)' "$log" | tail -n 1)"

  start=$SECONDS
  if (PATH="$bin:$PATH" "$bin/python" tests/demo/run_demo.py) >>"$log" 2>&1; then
    e2e=ok
  else
    e2e=FALHOU; failed=1
  fi
  e2e_s=$((SECONDS - start))
  say "$minor e2e: $e2e (${e2e_s}s)"
  if [ "$unit" != ok ] || [ "$e2e" != ok ]; then
    say "$minor: fim do log ($log):"
    tail -n 40 "$log" | sed 's/^/    /'
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$core" "$pyver" "$unit" "$unit_s" "$e2e" "$e2e_s" "$venv_s" >>"$RESULTS"
done

echo
echo "| ansible-core | Python | unit | tempo unit | e2e (demo) | tempo e2e | venv |"
echo "|---|---|---|---|---|---|---|"
tail -n +2 "$RESULTS" | while IFS=$'\t' read -r core pyver unit unit_s e2e e2e_s venv_s; do
  echo "| $core | $pyver | $unit | ${unit_s} s | $e2e | ${e2e_s} s | ${venv_s} s |"
done
[ "$failed" -eq 0 ] || die "alguma versão falhou (logs em build/matrix/<versão>.log)."
say "todas as versões passaram."
