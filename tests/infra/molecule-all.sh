#!/usr/bin/env bash
# Run `molecule test` for every scenario under molecule/ (a folder with a molecule.yml),
# `default` first, then the others in alphabetical order. Stops at the first failure.
#
# With no scenario at all: exit 1 when MOLECULE_REQUIRED=1, otherwise exit 0 saying so.
set -euo pipefail

# shellcheck source=tests/infra/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
MOLECULE="$ROOT/.venv/bin/molecule"
[ -x "$MOLECULE" ] || MOLECULE="molecule"

scenarios=()
if [ -f molecule/default/molecule.yml ]; then
  scenarios+=(default)
fi
while IFS= read -r file; do
  name="$(basename "$(dirname "$file")")"
  [ "$name" = "default" ] && continue
  scenarios+=("$name")
done < <(find molecule -mindepth 2 -maxdepth 2 -name molecule.yml 2>/dev/null | LC_ALL=C sort)

if [ "${#scenarios[@]}" -eq 0 ]; then
  if [ "${MOLECULE_REQUIRED:-0}" = "1" ]; then
    die "nenhum cenário Molecule encontrado em molecule/*/molecule.yml (MOLECULE_REQUIRED=1)."
  fi
  say "nenhum cenário Molecule encontrado em molecule/ - nada a testar (defina MOLECULE_REQUIRED=1 para tornar isso um erro)."
  exit 0
fi

say "cenários: ${scenarios[*]}"
summary=()
for scenario in "${scenarios[@]}"; do
  say "=== molecule test -s $scenario ==="
  start=$(date +%s)
  if ! "$MOLECULE" test -s "$scenario"; then
    elapsed=$(( $(date +%s) - start ))
    for line in "${summary[@]}"; do say "$line"; done
    die "o cenário '$scenario' falhou (${elapsed}s); os cenários seguintes não foram executados."
  fi
  elapsed=$(( $(date +%s) - start ))
  summary+=("ok: $scenario (${elapsed}s)")
done

for line in "${summary[@]}"; do say "$line"; done
say "${#scenarios[@]} cenário(s) passaram."
