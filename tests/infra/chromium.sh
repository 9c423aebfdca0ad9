#!/usr/bin/env bash
# Install Debian's chromium for the report rendering test (tests/integration/report/), if it is missing.
# Idempotent: does nothing when `chromium` is already on PATH.
set -eu
if command -v chromium >/dev/null 2>&1; then
  echo "chromium já instalado: $(command -v chromium)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ERRO: chromium ausente e apt-get indisponível; instale o chromium manualmente." >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium >/dev/null 2>&1 || { echo "ERRO: chromium não ficou disponível após apt-get install." >&2; exit 1; }
echo "chromium instalado: $(command -v chromium)"
