#!/usr/bin/env bash
# Provide the extra Python interpreters the version matrix needs, from Debian's package mirror
# only (no other download host), and print the interpreter's path on stdout.
#
#   tests/infra/pythons.sh cpython3.13  # ansible-core >= 2.20 needs Python >= 3.12 on the
#                                       # controller; bookworm has 3.11. Built from the source
#                                       # package of Debian trixie (upstream tarball, no patches).
#   tests/infra/pythons.sh pypy3.7      # the oldest Python 3 to be had here, for running host
#                                       # modules: PyPy 7.3.5 (Python 3.7) binaries of Debian
#                                       # bullseye, unpacked (dpkg -x) with the two libraries
#                                       # bookworm lacks (libffi7, libssl1.1). Nothing is
#                                       # installed into the system.
#
# Everything lives under $ESUS_RNDS_CACHE (default: ${XDG_CACHE_HOME:-~/.cache}/esus-rnds), so a
# second checkout or a CI clone on the same machine reuses it; a flock serialises builders.
# apt verifies what it downloads against the suites' signed Release files.
set -euo pipefail

CACHE="${ESUS_RNDS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/esus-rnds}"
MIRROR="${ESUS_RNDS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CPYTHON_SERIES="3.13"      # trixie's python3.13; the exact upstream version is printed
PYPY_VERSION="7.3.5"       # bullseye's pypy3 (implements Python 3.7)

say() { echo "pythons: $*" >&2; }
die() { echo "pythons: ERRO: $*" >&2; exit 1; }

WORK_DIRS=()
cleanup() { local d; for d in "${WORK_DIRS[@]}"; do rm -rf "$d"; done; }
trap cleanup EXIT

[ $# -eq 1 ] || die "uso: $0 cpython$CPYTHON_SERIES|pypy3.7"
mkdir -p "$CACHE/pythons"
exec 8>"$CACHE/pythons/.lock"
flock -w 3600 8 || die "outra execução não liberou $CACHE/pythons/.lock em 1 hora."

# apt-get with a private configuration: the system's sources and package state are untouched.
private_apt() {
  local suite="$1" kind="$2"
  local dir="$CACHE/apt-$suite"
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
  echo "$kind $MIRROR $suite main" >"$dir/sources.list"
  APT_OPTS=(-o "Dir::Etc::SourceList=$dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
            -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache" -o "APT::Sandbox::User=root")
  if [ -z "$(find "$dir/lists" -maxdepth 1 -name '*Release' -mmin -1440 2>/dev/null)" ]; then
    say "apt-get update ($suite, $kind)"
    apt-get "${APT_OPTS[@]}" update -qq >&2 || die "apt-get update falhou para $suite."
  fi
}

cpython() {
  local prefix="$CACHE/pythons/cpython$CPYTHON_SERIES"
  local exe="$prefix/bin/python$CPYTHON_SERIES"
  if [ -f "$prefix/.complete" ] && "$exe" -c 'import ssl, zlib, sqlite3, ctypes' 2>/dev/null; then
    echo "$exe"; return 0
  fi
  # Build dependencies (Debian package names): a fresh machine gets them here.
  local deps="build-essential libssl-dev zlib1g-dev libffi-dev libsqlite3-dev libbz2-dev liblzma-dev libreadline-dev"
  local missing=() dep
  for dep in $deps; do
    dpkg -s "$dep" >/dev/null 2>&1 || missing+=("$dep")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || die "faltam pacotes para compilar o Python: ${missing[*]} (rode como root)"
    say "instalando ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
      || die "apt-get install ${missing[*]} falhou"
  fi
  private_apt trixie deb-src
  local work; work="$(mktemp -d "${TMPDIR:-/tmp}/esus-rnds-cpython.XXXXXX")"
  WORK_DIRS+=("$work")
  (cd "$work" && apt-get "${APT_OPTS[@]}" source --download-only -qq "python$CPYTHON_SERIES" >&2) \
    || die "não foi possível baixar o pacote-fonte python$CPYTHON_SERIES (trixie)."
  local orig; orig="$(find "$work" -maxdepth 1 -name "python${CPYTHON_SERIES}_*.orig.tar.*" | head -n 1)"
  [ -n "$orig" ] && [ -f "$orig" ] || die "tarball original do python$CPYTHON_SERIES não encontrado."
  say "compilando $(basename "$orig") (sem otimizações PGO; alguns minutos)"
  local start=$SECONDS
  mkdir "$work/src"
  tar -xf "$orig" -C "$work/src" --strip-components=1
  rm -rf "$prefix"
  (
    cd "$work/src"
    ./configure --prefix="$prefix" --without-ensurepip --disable-test-modules >"$work/configure.log" 2>&1 \
      || { tail -n 30 "$work/configure.log" >&2; exit 1; }
    make -j"$(nproc)" >"$work/make.log" 2>&1 || { tail -n 30 "$work/make.log" >&2; exit 1; }
    make altinstall >"$work/install.log" 2>&1 || { tail -n 30 "$work/install.log" >&2; exit 1; }
  ) || die "a compilação do Python $CPYTHON_SERIES falhou."
  "$exe" -c 'import ssl, zlib, sqlite3, ctypes, venv' || die "o Python compilado não tem ssl/zlib/sqlite3/ctypes."
  "$exe" -m ensurepip --default-pip >/dev/null 2>&1 || true   # venv needs ensurepip's bundled wheel
  touch "$prefix/.complete"
  say "Python $("$exe" -c 'import platform; print(platform.python_version())') pronto em $((SECONDS - start))s"
  echo "$exe"
}

pypy37() {
  local root="$CACHE/pythons/pypy3.7"
  local exe="$root/usr/lib/pypy3/bin/pypy3-c"
  local wrapper="$root/bin/pypy3.7"
  if [ -f "$root/.complete" ] && "$wrapper" -c 'import ssl, json' 2>/dev/null; then
    echo "$wrapper"; return 0
  fi
  private_apt bullseye deb
  local work; work="$(mktemp -d "${TMPDIR:-/tmp}/esus-rnds-pypy.XXXXXX")"
  WORK_DIRS+=("$work")
  (cd "$work" && apt-get "${APT_OPTS[@]}" download -qq "pypy3=$PYPY_VERSION*" "pypy3-lib=$PYPY_VERSION*" libffi7 libssl1.1 >&2) \
    || die "não foi possível baixar pypy3 $PYPY_VERSION (bullseye)."
  rm -rf "$root"
  mkdir -p "$root/bin"
  local deb
  for deb in "$work"/*.deb; do dpkg -x "$deb" "$root"; done
  [ -x "$exe" ] || die "pypy3 não encontrado em $exe depois de desempacotar."
  # The unpacked libffi7/libssl1.1 are found through LD_LIBRARY_PATH set by this wrapper only.
  cat >"$wrapper" <<'EOF'
#!/bin/sh
# PyPy 3.7 unpacked from Debian bullseye packages (see tests/infra/pythons.sh).
here="$(cd "$(dirname "$0")/.." && pwd)"
LD_LIBRARY_PATH="$here/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$here/usr/lib/pypy3/bin/pypy3-c" "$@"
EOF
  chmod 0755 "$wrapper"
  "$wrapper" -c 'import ssl, json, sys; assert sys.version_info[:2] == (3, 7), sys.version' \
    || die "o pypy3 desempacotado não roda (ssl/json)."
  touch "$root/.complete"
  say "PyPy $("$wrapper" -c 'import sys; print(sys.version.split()[0])') (Python 3.7) pronto"
  echo "$wrapper"
}

case "$1" in
  cpython"$CPYTHON_SERIES") cpython ;;
  pypy3.7) pypy37 ;;
  *) die "interpretador desconhecido: $1 (use cpython$CPYTHON_SERIES ou pypy3.7)" ;;
esac
