# shellcheck shell=bash
# Shared by the project scripts: where the tools live and how they are put on PATH.
# Everything the project installs outside the repo goes under $TOOLS (a cache that
# survives fresh clones on the same machine); nothing is installed by hand.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${EDGE_RT_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/edge-realtime-tools}"

# Pinned versions. WASM_BINDGEN_VERSION must equal Cargo.lock's wasm-bindgen.
NODE_PKG_VERSION=22.23.3
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' "$ROOT/Cargo.lock")"

WASM_TC="$TOOLS/wasm32-toolchain"
NODE_PREFIX="$TOOLS/node-$NODE_PKG_VERSION"
BINDGEN_ROOT="$TOOLS/wasm-bindgen-$WASM_BINDGEN_VERSION"

export WRANGLER_SEND_METRICS=false
export CLOUDFLARE_CF_FETCH_ENABLED=false
export WRANGLER_LOG_PATH="$ROOT/.wrangler/logs"
export NPM_CONFIG_UPDATE_NOTIFIER=false
export NPM_CONFIG_FUND=false
export NPM_CONFIG_AUDIT=false

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

node_ok() { # Node >= 22.12 on PATH?
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)' 2>/dev/null
}

native_wasm_target() { # an ordinary rustup toolchain with the wasm32 target installed?
  local dir
  dir="$(rustc --target wasm32-unknown-unknown --print target-libdir 2>/dev/null)" && [ -d "$dir" ] &&
    ls "$dir"/libstd-*.rlib >/dev/null 2>&1
}

# Tools for everything except the wasm compile: node, wrangler, esbuild, wasm-bindgen, wasm-opt.
tools_path() {
  [ -d "$NODE_PREFIX/node_modules/.bin" ] && PATH="$NODE_PREFIX/node_modules/.bin:$PATH"
  PATH="$ROOT/node_modules/.bin:$PATH"
  export PATH
  export WASM_BINDGEN_BIN="$BINDGEN_ROOT/bin/edge-wasm-bindgen"
  [ -x "$ROOT/node_modules/@esbuild/linux-x64/bin/esbuild" ] &&
    export ESBUILD_BIN="$ROOT/node_modules/@esbuild/linux-x64/bin/esbuild"
  [ -x "$ROOT/node_modules/binaryen/bin/wasm-opt" ] &&
    export WASM_OPT_BIN="$ROOT/node_modules/binaryen/bin/wasm-opt"
  return 0
}

# The wasm compile: the machine's toolchain if it has the target, else the rustc-web one.
wasm_path() {
  if ! native_wasm_target && [ -x "$WASM_TC/bin/rustc" ]; then
    PATH="$WASM_TC/bin:$PATH"
    export PATH
  fi
}
