# shellcheck shell=bash
# Sourced (never run) by the scripts of tests/infra, right after their `set -euo pipefail`:
#   ROOT       the checkout (two folders above this file);
#   say MSG    prints "<script>: MSG"; die MSG prints "<script>: ERRO: MSG" on stderr and exits 1
#              (<script>: the name of the script that sourced this file, without .sh).

# shellcheck disable=SC2034  # used by the scripts that source this file
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
_SCRIPT_NAME="$(basename "${BASH_SOURCE[1]:-$0}" .sh)"

say() { echo "$_SCRIPT_NAME: $*"; }
die() { echo "$_SCRIPT_NAME: ERRO: $*" >&2; exit 1; }
