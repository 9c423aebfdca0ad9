#!/usr/bin/env bash
# Host modules on the oldest Python 3 this machine can get: PyPy 7.3.5 = Python 3.7 (Debian
# bullseye packages, tests/infra/pythons.sh). CPython 3.6 itself is not packaged by any Debian
# suite still on the mirror; 3.6 syntax and stdlib are checked by vermin
# (tests/infra/host-python-check.sh).
#
# The controller is ansible-core 2.16 (the matrix venv build/matrix/2.16): it is the newest
# ansible-core that still manages Python 3.6 hosts (2.17 needs 3.7+, 2.18 and later 3.8+), so it
# is what a CentOS 7 fleet runs. The module tests below (integration tier) run every module through
# `ansible` or `ansible-playbook` with ansible_python_interpreter = PyPy 3.7 (ESUS_TARGET_PYTHON).
set -euo pipefail

# shellcheck source=tests/infra/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# The PEC simulator (test tooling, needs graphql-core) runs on the main venv, whatever the
# controller under test.
export ESUS_SIMULATOR_PYTHON="$ROOT/.venv/bin/python"
cd "$ROOT"

TARGET="$(bash tests/infra/pythons.sh pypy3.7)" || die "PyPy 3.7 indisponível"
bash tests/infra/matrix.sh --venv-only 2.16 >/dev/null || die "venv do ansible-core 2.16 indisponível"
BIN="$ROOT/build/matrix/2.16/bin"
# The simulator harness reads results through the ansible.posix.json callback: take ansible.posix
# (requires_ansible >= 2.15) from the main venv's `ansible` package; the matrix venv has only
# ansible-core.
POSIX_PATH="$("$ROOT/.venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
[ -d "$POSIX_PATH/ansible_collections/ansible/posix" ] || die "ansible.posix não encontrado em .venv (rode 'make venv')"
export ESUS_EXTRA_COLLECTIONS_PATH="$POSIX_PATH"
export ANSIBLE_COLLECTIONS_PATH="$ROOT/build/collections:$POSIX_PATH" ANSIBLE_CONFIG="$ROOT/ansible.cfg" PYTHONDONTWRITEBYTECODE=1
export PATH="$BIN:$PATH" ESUS_TARGET_PYTHON="$TARGET"

# Proof that modules really run on the old interpreter.
version="$("$BIN/ansible" localhost -c local -m ansible.builtin.setup -a 'filter=ansible_python_version' \
  -e "ansible_python_interpreter=$TARGET" 2>&1 | sed -n 's/.*"ansible_python_version": "\([0-9.]*\)".*/\1/p')"
[ "${version%.*}" = "3.7" ] || die "os módulos não rodaram no Python 3.7 (viu '$version')"
say "módulos rodando em Python $version (PyPy) com ansible-core $("$BIN/python" -c 'from ansible.module_utils.ansible_release import __version__ as v; print(v)') no controlador"

M=tests/integration/plugins/modules
if [ $# -gt 0 ]; then
  tests=("$@")
else
  # Only the integration tier runs the modules on a host interpreter; their in-process tests
  # (tests/unit) would run on the controller's Python and prove nothing here.
  tests=("$M/test_pec_certificate.py" "$M/test_pec_rnds.py" "$M/test_pec_rnds_info.py"
         "$M/test_pec_info.py" "$M/test_rnds_auth.py")
fi
start=$SECONDS
"$BIN/python" -m pytest -p no:cacheprovider -q "${tests[@]}"
say "testes dos módulos de servidor em Python $version: ok ($((SECONDS - start)) s)"
