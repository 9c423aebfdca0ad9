#!/usr/bin/env bash
# Build the Molecule base image esus-rnds-pec:bookworm locally (no container registry needed):
# debootstrap a minimal Debian bookworm from the machine's own apt mirror, then `docker import`.
#
# Cache: the image also carries the tag esus-rnds-pec:bookworm-<hash8>, where <hash8> is taken
# from the sha256 of this script; when both tags exist and point to the same image, nothing is
# done. Change the script (packages, mirror logic) and the image is rebuilt.
set -euo pipefail

# shellcheck source=tests/infra/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
IMAGE_REPO="esus-rnds-pec"
IMAGE="$IMAGE_REPO:bookworm"
SUITE="bookworm"
# python3-cffi-backend: python3-cryptography needs it through a virtual package, which
# debootstrap does not resolve by itself.
PACKAGES="python3,python3-cryptography,python3-cffi-backend,openssl,ca-certificates,procps"
FALLBACK_MIRROR="http://deb.debian.org/debian"
APT_DIR="${APT_DIR:-/etc/apt}"  # overridable for testing the mirror lookup
HASH="$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-8)"
HASH_TAG="$IMAGE_REPO:$SUITE-$HASH"

image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

# First URI of an enabled "deb" source for $SUITE in the apt configuration (deb822 first, then
# the classic one-line format). Prints nothing when there is none.
apt_mirror() {
  local f
  for f in "$APT_DIR"/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$SUITE" '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && enabled != "no" && uris != "") {
          split(uris, u, " "); print u[1]; found = 1; exit
        }
        types = ""; suites = ""; uris = ""; enabled = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      {
        key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^[ \t]+/, "")
        if (key == "types") types = $0
        else if (key == "suites") suites = $0
        else if (key == "uris") uris = $0
        else if (key == "enabled") enabled = tolower($0)
      }
      END { if (!found) flush() }
    ' "$f"
  done | head -n 1 | grep . && return 0
  for f in "$APT_DIR"/sources.list "$APT_DIR"/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # deb [options] URI suite components...
    sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }'
  done | head -n 1 | grep . && return 0
  return 0
}

existing="$(image_id "$IMAGE")"
if [ -n "$existing" ] && [ "$existing" = "$(image_id "$HASH_TAG")" ]; then
  say "imagem $IMAGE já construída por esta versão do script ($HASH_TAG); nada a fazer."
  exit 0
fi

command -v debootstrap >/dev/null 2>&1 || die "debootstrap não encontrado (rode tests/infra/docker-up.sh antes)."
docker info >/dev/null 2>&1 || die "o daemon Docker não responde (rode tests/infra/docker-up.sh antes)."

MIRROR="$(apt_mirror)"
if [ -z "$MIRROR" ]; then
  MIRROR="$FALLBACK_MIRROR"
  say "nenhum espelho '$SUITE' na configuração do apt; usando $MIRROR"
else
  say "espelho lido da configuração do apt: $MIRROR"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/esus-rnds-rootfs.XXXXXX")"
cleanup() {
  # debootstrap mounts /proc and /sys inside the target; never delete through a live mount.
  local mnt
  if [ -r /proc/mounts ]; then
    awk -v w="$WORK/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r | while read -r mnt; do
      umount -l "$mnt" 2>/dev/null || true
    done
  fi
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

ROOTFS="$WORK/rootfs"
say "debootstrap --variant=minbase $SUITE (pacotes: $PACKAGES)"
start=$(date +%s)
if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
  tail -n 30 "$WORK/debootstrap.log" >&2 || true
  [ -f "$ROOTFS/debootstrap/debootstrap.log" ] && tail -n 30 "$ROOTFS/debootstrap/debootstrap.log" >&2
  die "debootstrap falhou (espelho $MIRROR)."
fi
elapsed=$(( $(date +%s) - start ))
say "debootstrap levou ${elapsed}s"

# Smaller image: package caches and lists are not needed inside the test containers.
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/debootstrap

say "importando em $IMAGE"
tar -C "$ROOTFS" -c . | docker import \
  --change 'CMD ["sleep","infinity"]' \
  --change "LABEL org.esus-rnds.build-script-sha256=$HASH" \
  - "$IMAGE" >/dev/null
docker tag "$IMAGE" "$HASH_TAG"

# Drop tags left by older versions of this script.
docker image ls "$IMAGE_REPO" --format '{{.Tag}}' | while read -r tag; do
  case "$tag" in
    "$SUITE-$HASH" | "$SUITE") ;;
    "$SUITE"-????????) docker rmi "$IMAGE_REPO:$tag" >/dev/null || true ;;
  esac
done

say "verificando a imagem (python3, ssl, cryptography)"
docker run --rm --network none "$IMAGE" python3 -c 'import cryptography, ssl; print("cryptography", cryptography.__version__, "|", ssl.OPENSSL_VERSION)' \
  || die "a imagem $IMAGE não importa cryptography/ssl."

# Can the image's python3-cryptography open a legacy RC2-40 PKCS#12 (OpenSSL 1.x export)?
# Informational: the PEC simulator uses the openssl CLI as a fallback when it cannot.
PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || PY=python3
if "$PY" - "$WORK/legacy.p12" "$ROOT" <<'EOF' >/dev/null 2>&1; then
import os, sys
sys.path.insert(0, os.path.join(sys.argv[2], "tests", "ca"))
from testca import TestCA, write_pkcs12
write_pkcs12(sys.argv[1], TestCA().issue_ecnpj(), "legado-rc2", flavour="legacy-rc2")
EOF
  cat >"$WORK/check_rc2.py" <<'EOF'
import subprocess
from cryptography.hazmat.primitives.serialization import pkcs12
data = open("/tmp/legacy.p12", "rb").read()
try:
    key, cert, extra = pkcs12.load_key_and_certificates(data, b"legado-rc2")
    print("cryptography: OK (%s)" % cert.subject.rfc4514_string())
except Exception as exc:  # report whatever the library says
    print("cryptography: FALHOU (%s: %s)" % (type(exc).__name__, exc))
for extra_args in ([], ["-legacy"]):
    proc = subprocess.run(["openssl", "pkcs12", "-in", "/tmp/legacy.p12", "-passin", "pass:legado-rc2",
                           "-nokeys", "-noout"] + extra_args, capture_output=True)
    print("openssl pkcs12 %s: %s" % (" ".join(extra_args) or "(sem -legacy)", "OK" if proc.returncode == 0 else "FALHOU"))
EOF
  cid="$(docker create --network none "$IMAGE" python3 /tmp/check_rc2.py)"
  docker cp "$WORK/legacy.p12" "$cid:/tmp/legacy.p12" >/dev/null
  docker cp "$WORK/check_rc2.py" "$cid:/tmp/check_rc2.py" >/dev/null
  say "PKCS#12 legado (RC2-40) na imagem:"
  docker start -a "$cid" | sed 's/^/build-image:   /' || true
  docker rm -f "$cid" >/dev/null
else
  say "aviso: não foi possível gerar o PKCS#12 legado de teste; verificação RC2 pulada."
fi

say "imagem $IMAGE pronta ($HASH_TAG)."
