#!/usr/bin/env bash
# Packaging as a user gets it: build the collection tarball, install it with ansible-galaxy into a
# clean venv that has only ansible-core (and what ansible-core itself pulls in), then, from that
# installed copy and never from the checkout:
#   - ansible-doc of every module, filter, test, inventory plugin and role of the collection;
#   - the demo (tests/demo/run_demo.py: site.yml, site.yml again, audit.yml --check) with the
#     installed playbooks, roles and plugins.
# The venv is reinstalled only when the ansible-core pin in requirements.txt changes (stamp file).
set -euo pipefail

# shellcheck source=tests/infra/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# The PEC simulator (test tooling, needs graphql-core) runs on the main venv, whatever the
# controller under test.
export ESUS_SIMULATOR_PYTHON="$ROOT/.venv/bin/python"
cd "$ROOT"
WORK="$ROOT/build/install-test"
VENV="$WORK/venv"
COLLECTIONS="$WORK/collections"
INSTALLED="$COLLECTIONS/ansible_collections/esus/rnds"

pin="$(grep -E '^ansible-core==' requirements.txt)" || die "requirements.txt não fixa o ansible-core"
mkdir -p "$WORK"
if [ "$(cat "$VENV/.installed" 2>/dev/null)" != "$pin" ]; then
  say "venv limpo só com $pin"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$pin" 2>&1 | grep -v "^WARNING: Location" >&2 || true
  echo "$pin" >"$VENV/.installed"
fi
# Only ansible-core and its own dependencies: no ansible (community package), no test tools.
extra="$("$VENV/bin/python" -m pip list --format=freeze 2>/dev/null \
  | grep -viE '^(ansible-core|cffi|cryptography|jinja2|markupsafe|packaging|pycparser|pyyaml|resolvelib|pip|setuptools)==' || true)"
[ -z "$extra" ] || die "o venv de instalação tem pacotes além do ansible-core e suas dependências: $extra"

# A configuration that knows only the installed copy (the checkout's ansible.cfg points at it).
CFG="$WORK/ansible.cfg"
cat >"$CFG" <<EOF
[defaults]
collections_path = $COLLECTIONS
host_key_checking = False
interpreter_python = auto_silent
retry_files_enabled = False
gathering = explicit
forks = 20
[connection]
pipelining = True
[inventory]
any_unparsed_is_failed = True
EOF
export ANSIBLE_CONFIG="$CFG" ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS" ANSIBLE_NOCOLOR=1
unset ANSIBLE_COLLECTIONS_PATHS
export PATH="$VENV/bin:$PATH"

say "ansible-galaxy collection build"
rm -rf "$WORK/dist" "$COLLECTIONS"
"$VENV/bin/ansible-galaxy" collection build --force --output-path "$WORK/dist" . >/dev/null
tarball="$(find "$WORK/dist" -name 'esus-rnds-*.tar.gz' | head -n 1)"
[ -n "$tarball" ] || die "ansible-galaxy collection build não gerou o tarball"
say "ansible-galaxy collection install $(basename "$tarball")"
"$VENV/bin/ansible-galaxy" collection install "$tarball" -p "$COLLECTIONS" >/dev/null
[ -d "$INSTALLED" ] && [ ! -L "$INSTALLED" ] || die "a coleção não foi instalada em $INSTALLED"
listed="$("$VENV/bin/ansible-galaxy" collection list esus.rnds 2>/dev/null | grep -c '^esus.rnds ' || true)"
[ "$listed" = "1" ] || die "ansible-galaxy collection list deveria ver uma única esus.rnds (viu $listed)"
# Nothing the tarball must not carry (tests, Molecule, build outputs, keys).
for forbidden in tests molecule build .venv Makefile; do
  [ ! -e "$INSTALLED/$forbidden" ] || die "o tarball contém $forbidden"
done
if find "$INSTALLED" -name '*.pfx' -o -name '*.p12' -o -name '*.key' | grep -q .; then
  die "o tarball contém certificados ou chaves"
fi

# ansible-doc of every plugin and role found in the installed copy.
# Checks one `ansible-doc --json` answer (stdin): documented, and read from the installed copy.
CHECK_DOC_PY='
import json, sys
kind, name, installed = sys.argv[1:]
data = json.load(sys.stdin)[name]
if kind == "role":
    entry = data.get("entry_points", {}).get("main", {})
    assert entry.get("short_description") and entry.get("options"), "role sem argument_specs"
    assert data.get("path", "").startswith(installed), data.get("path")
else:
    doc = data["doc"]
    assert doc.get("short_description") or doc.get("description"), "sem descrição"
    assert doc.get("filename", "").startswith(installed), doc.get("filename")
'
count=0
check_doc() {  # type name
  local out
  out="$("$VENV/bin/ansible-doc" -t "$1" --json "esus.rnds.$2" 2>&1)" || die "ansible-doc -t $1 esus.rnds.$2 falhou: $out"
  "$VENV/bin/python" -c "$CHECK_DOC_PY" "$1" "esus.rnds.$2" "$INSTALLED" <<<"$out" \
    || die "ansible-doc -t $1 esus.rnds.$2: documentação vazia ou fora da cópia instalada"
  count=$((count + 1))
}
for dir_type in modules:module filter:filter test:test inventory:inventory; do
  dir="${dir_type%%:*}" type="${dir_type##*:}"
  for file in "$INSTALLED/plugins/$dir"/*.py; do
    [ -f "$file" ] || continue
    name="$(basename "$file" .py)"
    [ "$name" = "__init__" ] && continue
    check_doc "$type" "$name"
  done
done
for role in "$INSTALLED"/roles/*/; do
  check_doc role "$(basename "$role")"
done
expected=$(( $(find plugins/modules plugins/filter plugins/test plugins/inventory -maxdepth 1 -name '*.py' ! -name '__init__.py' | wc -l) + $(find roles -mindepth 1 -maxdepth 1 -type d | wc -l) ))
[ "$count" -eq "$expected" ] || die "ansible-doc conferiu $count itens; a árvore tem $expected"
say "ansible-doc ok para $count plugins e papéis da cópia instalada"

say "demo a partir da cópia instalada"
ESUS_DEMO_PLAYBOOKS="$INSTALLED/playbooks" ESUS_DEMO_ANSIBLE_CONFIG="$CFG" \
  "$VENV/bin/python" tests/demo/run_demo.py >"$WORK/demo.log" 2>&1 || { tail -n 40 "$WORK/demo.log" >&2; die "o demo falhou com a coleção instalada (log em $WORK/demo.log)"; }
grep -q "playbooks/site.yml" "$WORK/demo.log" || die "o demo não rodou site.yml"
tail -n 12 "$WORK/demo.log"
say "ok: tarball instalado, ansible-doc completo e demo verde sem a árvore de trabalho."
