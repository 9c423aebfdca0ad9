#!/usr/bin/env bash
# Everything that ships to a PEC server must run on Python 3.6 (CentOS 7, Ubuntu 18.04):
# check the host modules and the module_utils they import with vermin (minimum-version checker).
#
# Host files: the modules that run on the PEC server and, found by reading their imports, every
# esus.rnds module_utils they pull in (transitively). Controller-only code is left out on purpose:
# pkcs12_info/_pkcs12 (needs cryptography; the roles run it on the controller) and rnds_report
# (action plugin, writes the report on the controller). A new host module goes in HOST_MODULES.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VERMIN="$ROOT/.venv/bin/vermin"
PY="$ROOT/.venv/bin/python"
TARGET="3.6"
HOST_MODULES=(pec_certificate pec_info pec_rnds pec_rnds_info rnds_auth)

[ -x "$VERMIN" ] || { echo "host-python: ERRO: vermin não encontrado em .venv (rode 'make venv')." >&2; exit 1; }

mapfile -t files < <("$PY" - "$ROOT" "${HOST_MODULES[@]}" <<'EOF'
import os
import re
import sys

root, modules = sys.argv[1], sys.argv[2:]
pattern = re.compile(r"ansible_collections\.esus\.rnds\.plugins\.module_utils\.(\w+)|"
                     r"from ansible_collections\.esus\.rnds\.plugins\.module_utils import ([\w, ]+)")
todo = [os.path.join(root, "plugins", "modules", name + ".py") for name in modules]
seen = []
while todo:
    path = todo.pop()
    if path in seen:
        continue
    if not os.path.isfile(path):
        sys.exit("host-python: ERRO: %s não existe" % path)
    seen.append(path)
    with open(path, encoding="utf-8") as handle:
        for match in pattern.finditer(handle.read()):
            names = [match.group(1)] if match.group(1) else [n.strip() for n in match.group(2).split(",")]
            todo += [os.path.join(root, "plugins", "module_utils", n + ".py") for n in names if n]
for path in sorted(seen):
    print(os.path.relpath(path, root))
EOF
)
[ "${#files[@]}" -ge 5 ] || { echo "host-python: ERRO: lista de arquivos do servidor incompleta." >&2; exit 1; }

echo "host-python: vermin -t=$TARGET- em ${#files[@]} arquivos que rodam no servidor PEC:"
printf '  %s\n' "${files[@]}"
cd "$ROOT"
# --eval-annotations: annotations are evaluated at run time on 3.6 (no postponed evaluation).
if ! "$VERMIN" --no-tips --violations --eval-annotations --no-parse-comments -t="$TARGET-" "${files[@]}"; then
  echo "host-python: ERRO: código acima exige Python > $TARGET; os servidores PEC com CentOS 7 ou Ubuntu 18.04 têm 3.6." >&2
  echo "host-python: (a causa mais comum: 'from __future__ import annotations', que é do 3.7)" >&2
  exit 1
fi
echo "host-python: ok, tudo roda em Python $TARGET."
