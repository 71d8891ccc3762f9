#!/usr/bin/env bash
# Brings a checkout to a runnable state; run by `npm run setup` and before start/test/bench.
# Idempotent and quick when nothing changed: it only compares a few timestamps.
#   1. npm dependencies (npm ci when package-lock.json changed or node_modules is missing)
#   2. nats-server, redis-server and redis-sentinel (Debian packages; never starts the system
#      services), and chromium for the framework's browser test
#   3. the build (proto types + tsc) when a source is newer than dist/.build-stamp
#   4. the project's own `switchyard` bin in node_modules/.bin, so `npx switchyard` runs it
# With $SWITCHYARD_PROJECT set to another folder (`switchyard setup` in a project made by
# `switchyard init`), it sets up that project instead: `npm install` (never `npm ci`, which would
# delete the framework running this script), the same servers, and the project's `npm run build`.
set -euo pipefail

framework="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "${SWITCHYARD_PROJECT:-$framework}" && pwd)"
project_mode=0
[[ "$root" != "$framework" ]] && project_mode=1
cd "$root"

say() { printf 'setup: %s\n' "$*" >&2; }

# --- 1. npm dependencies ---------------------------------------------------------------------
# We are usually running inside an npm lifecycle script (pretest, prestart ...). A nested npm
# must not inherit the outer command's flags or think it is part of that script.
run_npm() {
  env -u npm_config_global -u npm_config_prefix -u npm_lifecycle_event -u npm_lifecycle_script \
    -u npm_config_dry_run -u npm_config_omit -u npm_config_production \
    npm "$@" --no-audit --no-fund --loglevel=error 1>&2
}

if [[ ! -d node_modules || ! -f node_modules/.package-lock.json ]] \
  || { [[ -f package-lock.json ]] && [[ package-lock.json -nt node_modules/.package-lock.json ]]; } \
  || [[ package.json -nt node_modules/.package-lock.json ]]; then
  if ((project_mode)); then
    say "installing npm dependencies (npm install)"
    run_npm install
  elif [[ -f package-lock.json ]]; then
    say "installing npm dependencies (npm ci)"
    run_npm ci
  else
    say "installing npm dependencies (npm install)"
    run_npm install
  fi
  # npm ci may keep the old mtime when the tree was already right; mark it fresh.
  touch node_modules/.package-lock.json
fi

# --- 2. nats-server, redis-server and redis-sentinel ----------------------------------------
have_binary() {
  command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/sbin/$1" || -x "/usr/bin/$1" || -x "/usr/local/bin/$1" ]]
}

missing=()
have_binary nats-server || missing+=(nats-server)
have_binary redis-server || missing+=(redis-server)
have_binary redis-sentinel || missing+=(redis-sentinel)
# The framework's own tests drive the web demo in Debian's chromium (test/browser); projects need none.
((project_mode)) || have_binary chromium || missing+=(chromium)
if ((${#missing[@]} > 0)); then
  install_cmd="DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
  if [[ "$(id -u)" != "0" ]]; then
    say "missing ${missing[*]}; install it with:"
    printf '  sudo sh -c "apt-get update && %s"\n' "$install_cmd" >&2
    say "(or put the binaries on PATH) and run \`npm run setup\` again"
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    say "missing ${missing[*]} and apt-get is not available: install them with your package manager"
    exit 1
  fi
  # policy-rc.d (exit 101) stops the packages' postinst from starting the system services:
  # the cluster starts its own processes on its own ports.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
  fi
  cleanup_policy() { if ((created_policy)); then rm -f "$policy"; fi; }
  trap cleanup_policy EXIT
  say "installing ${missing[*]} with apt-get"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    say "package lists are stale; running apt-get update"
    apt-get update >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
  fi
  cleanup_policy
  trap - EXIT
  for b in "${missing[@]}"; do
    have_binary "$b" || { say "$b is still missing after apt-get install"; exit 1; }
  done
fi

# --- 3. build --------------------------------------------------------------------------------
stamp=dist/.build-stamp
needs_build=0
if ((project_mode)); then
  watched=(modules proto test tsconfig.json package.json package-lock.json)
else
  watched=(src modules proto bench web console scripts/gen-proto.mjs scripts/build-browser.mjs scripts/build-console.mjs tsconfig.json package-lock.json)
fi
if [[ ! -f "$stamp" ]]; then
  needs_build=1
else
  sources=()
  for p in "${watched[@]}"; do
    [[ -e "$p" ]] && sources+=("$p")
  done
  if [[ -n "$(find "${sources[@]}" -newer "$stamp" -print -quit 2>/dev/null)" ]]; then
    needs_build=1
  fi
fi
if ((needs_build)) && ((project_mode)); then
  say "building the project (npm run build: switchyard gen + tsc)"
  mkdir -p dist
  before="$(mktemp -p dist .build-stamp.XXXXXX)"
  run_npm run build || { rm -f "$before"; say "build failed (see the errors above)"; exit 1; }
  mv -f "$before" "$stamp"
elif ((needs_build)); then
  say "building (proto types + tsc)"
  mkdir -p dist
  node scripts/gen-proto.mjs >&2
  # Take the stamp's time before tsc (gen-proto rewrites src/generated/proto.ts, so after it):
  # a file saved while tsc runs triggers the next build.
  before="$(mktemp -p dist .build-stamp.XXXXXX)"
  ./node_modules/.bin/tsc -p tsconfig.json >&2 || { rm -f "$before"; say "build failed (see tsc errors above)"; exit 1; }
  # The browser SDK bundle and the web demo (esbuild): dist/browser/, dist/web/.
  { ./node_modules/.bin/tsc -p web/tsconfig.json >&2 && node scripts/build-browser.mjs; } || { rm -f "$before"; say "browser build failed (see the errors above)"; exit 1; }
  # The master's web console (esbuild): dist/console/.
  { ./node_modules/.bin/tsc -p console/tsconfig.json >&2 && node scripts/build-console.mjs; } || { rm -f "$before"; say "console build failed (see the errors above)"; exit 1; }
  mv -f "$before" "$stamp"
fi

# --- 4. `npx switchyard` ---------------------------------------------------------------------
# A project has the bin from its dependency; only the framework's own checkout needs the link.
((project_mode)) && exit 0
# npm links the bins of dependencies into node_modules/.bin, never the project's own; npx looks
# there first, so without this link it would look for a package named "switchyard" on the registry.
link=node_modules/.bin/switchyard
if [[ "$(readlink "$link" 2>/dev/null)" != "../../bin/switchyard.js" ]]; then
  mkdir -p node_modules/.bin
  ln -sfn ../../bin/switchyard.js "$link"
fi
chmod +x bin/switchyard.js 2>/dev/null || true
