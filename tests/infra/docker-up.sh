#!/usr/bin/env bash
# Make sure a Docker daemon is available for Molecule (idempotent, run as root).
#
# - installs docker.io and debootstrap from the machine's apt sources when they are missing;
# - reuses a daemon that already answers `docker info`;
# - otherwise starts `dockerd --bridge=none --iptables=false` in the background (containers run
#   with network_mode none, so no bridge and no firewall rules are needed) and waits for it.
set -euo pipefail

# shellcheck source=tests/infra/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
LOG_DIR="$ROOT/build"
LOG="$LOG_DIR/dockerd.log"
WAIT_SECONDS="${DOCKER_UP_WAIT_SECONDS:-60}"

[ "$(id -u)" -eq 0 ] || die "este script precisa rodar como root (instala pacotes e inicia o dockerd)."

missing=()
for cmd in docker dockerd debootstrap; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
done

if [ "${#missing[@]}" -gt 0 ]; then
  say "faltando: ${missing[*]} - instalando docker.io e debootstrap com apt-get"
  # Keep the package scripts from starting a daemon with the default bridge/iptables setup:
  # this script starts dockerd itself, with the flags the tests need.
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  cleanup_policy() { if [ "$created_policy" -eq 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; }
  trap cleanup_policy EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends docker.io debootstrap
  cleanup_policy
  trap - EXIT
  for cmd in docker dockerd debootstrap; do
    command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' continua ausente depois do apt-get install."
  done
fi

if docker info >/dev/null 2>&1; then
  say "o daemon Docker já está respondendo; nada a fazer."
  exit 0
fi

mkdir -p "$LOG_DIR"
if command -v pgrep >/dev/null 2>&1 && pgrep -x dockerd >/dev/null 2>&1; then
  say "há um dockerd em execução que ainda não responde; aguardando por ele."
else
  say "iniciando dockerd --bridge=none --iptables=false (log em build/dockerd.log)"
  # setsid + redirections: the daemon must not hold the caller's terminal or pipes open.
  setsid dockerd --bridge=none --iptables=false </dev/null >>"$LOG" 2>&1 &
  dockerd_pid=$!
fi

for _ in $(seq 1 "$WAIT_SECONDS"); do
  if docker info >/dev/null 2>&1; then
    say "daemon Docker pronto."
    exit 0
  fi
  if [ -n "${dockerd_pid:-}" ] && ! kill -0 "$dockerd_pid" 2>/dev/null; then
    echo "docker-up: últimas linhas de $LOG:" >&2
    tail -n 20 "$LOG" >&2 || true
    die "o dockerd terminou logo após iniciar (veja $LOG)."
  fi
  sleep 1
done

echo "docker-up: últimas linhas de $LOG:" >&2
tail -n 20 "$LOG" >&2 || true
die "o daemon Docker não respondeu a 'docker info' em ${WAIT_SECONDS}s (veja $LOG)."
