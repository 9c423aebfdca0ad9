#!/usr/bin/env bash
# Run pytest and treat "no tests collected" (exit 5) as a failure, with a clear message.
set -u
rc=0
"$(dirname "$0")/../../.venv/bin/python" -m pytest -p no:cacheprovider "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
  echo "ERRO: pytest não encontrou nenhum teste em: $*" >&2
  exit 1
fi
exit "$rc"
