#!/usr/bin/env node
// The Worker build that `worker-build --release` (workers-rs 0.8.7) does, as a script, so a
// fresh machine does not compile worker-build (and its HTTP client, TLS and archive crates)
// just to run four steps. Called by scripts/build-worker.sh with the wasm32 toolchain on PATH.
//
//   1. cargo build --lib --release --target wasm32-unknown-unknown
//   2. wasm-bindgen --target module (with the reset-state function and abort handler that
//      workers-rs's shim uses to reinitialise after a Wasm trap)
//   3. wasm-opt -Oz over the module (the features workerd accepts; the name section dropped)
//   4. the shim: an entrypoint class per exported handler and a Proxy per exported Durable
//      Object class, bundled with esbuild into build/index.js; build/worker/shim.mjs re-exports
//      it (wrangler.toml's main).
//
// The output is written to build/.staging and swapped in at the end, so a failed build keeps
// the last good one. Environment: WASM_BINDGEN_BIN, WASM_OPT_BIN, ESBUILD_BIN (scripts/lib.sh).
//
//   node scripts/worker-build.mjs [--out-dir DIR] [--profiling]
//
// --profiling keeps the Wasm name section (function names in profiles, stack traces and
// scripts/wasm-breakdown.py); --out-dir writes somewhere other than build/.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { OUT, PROFILING } = options(process.argv.slice(2));
const STAGING = path.join(OUT, ".staging");
const CRATE = "edge_realtime";
const SHIM_TEMPLATE = path.join(ROOT, "scripts", "worker-shim.js");
// workers-rs's list for wasm-opt: rustc's wasm32 defaults plus the exception handling that
// wasm-bindgen's catch wrappers use; nothing newer than workerd accepts.
const WASM_FEATURES = [
  "mutable-globals", "sign-ext", "nontrapping-float-to-int", "bulk-memory",
  "multivalue", "reference-types", "exception-handling",
];
// wasm-bindgen exports that the shim calls itself rather than wrapping as handlers.
const SYSTEM_FNS = new Set(["__wbg_reset_state", "__worker_init_state"]);

function options(args) {
  let out = "build";
  let profiling = false;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--out-dir" && i + 1 < args.length) out = args[++i];
    else if (args[i] === "--profiling") profiling = true;
    else if (args[i] !== "--release") throw new Error(`worker-build.mjs: unknown argument ${args[i]}`);
  }
  return { OUT: path.resolve(ROOT, out), PROFILING: profiling };
}

function run(cmd, args, opts = {}) {
  execFileSync(cmd, args, { stdio: "inherit", cwd: ROOT, ...opts });
}

function need(name) {
  const value = process.env[name];
  if (!value || !fs.existsSync(value)) {
    throw new Error(`${name} is not set to an existing file (run scripts/setup.sh)`);
  }
  return value;
}

/** Step 1: the crate as a wasm32 cdylib. */
function compile() {
  // wasm-bindgen's proc-macro reads this (as under worker-build) to use js_sys's futures.
  const env = { ...process.env, WASM_BINDGEN_USE_JS_SYS: "1" };
  run("cargo", ["build", "--lib", "--release", "--target", "wasm32-unknown-unknown", "--quiet"], { env });
  const target = process.env.CARGO_TARGET_DIR ?? path.join(ROOT, "target");
  return path.join(target, "wasm32-unknown-unknown", "release", `${CRATE}.wasm`);
}

/** Steps 2 and 3: bindings into the staging directory, then the size pass. */
function bindgen(wasm) {
  run(need("WASM_BINDGEN_BIN"), [
    wasm, "--out-dir", STAGING, "--out-name", "index", "--target", "module", "--no-typescript",
    "--experimental-reset-state-function", "--force-enable-abort-handler",
  ]);
  const module = path.join(STAGING, "index_bg.wasm");
  const features = WASM_FEATURES.map((f) => `--enable-${f}`);
  // The name section would add about a quarter to the gzip size: only a profiling build keeps it.
  const names = PROFILING ? ["--debuginfo"] : [];
  // --converge repeats -Oz until it stops shrinking: about 2 KB of gzip for 10 s.
  run(need("WASM_OPT_BIN"), [module, "-Oz", "--converge", ...features, ...names, "-o", `${module}.opt`]);
  fs.renameSync(`${module}.opt`, module);
}

/** The handler functions and Durable Object classes that wasm-bindgen's index.js exports. */
function exportsOf(indexJs) {
  const functions = [];
  const classes = [];
  for (const line of indexJs.split("\n")) {
    let m;
    if ((m = /^export (?:async )?function\s+([\w$]+)\s*\(/.exec(line))) functions.push(m[1]);
    else if ((m = /^export \{.* as ([\w$]+)\s*\}/.exec(line))) functions.push(m[1]);
    else if ((m = /^export class ([\w$]+)\s*\{/.exec(line))) classes.push(m[1]);
  }
  return { functions: functions.filter((f) => !SYSTEM_FNS.has(f)), classes };
}

function handler(name) {
  if (["fetch", "queue", "scheduled", "email", "connect"].includes(name)) {
    return `Entrypoint.prototype.${name} = function ${name} (arg) {
  return exports.${name}.call(this, arg, this.env, this.ctx);
}
`;
  }
  return `Entrypoint.prototype.${name} = exports.${name};\n`;
}

/** Step 4: the shim, bundled with the bindings into index.js. */
function shim() {
  const indexPath = path.join(STAGING, "index.js");
  const { functions, classes } = exportsOf(fs.readFileSync(indexPath, "utf8"));
  let source = fs.readFileSync(SHIM_TEMPLATE, "utf8").replace("$HANDLERS", () => functions.map(handler).join(""));
  for (const name of classes) {
    source += `export const ${name} = new Proxy(exports.${name}, classProxyHooks);\n`;
  }
  fs.writeFileSync(path.join(STAGING, "shim.js"), source);
  run(need("ESBUILD_BIN"), [
    "--external:./index_bg.wasm", "--external:cloudflare:email", "--external:cloudflare:sockets",
    "--external:cloudflare:workers", "--format=esm", "--bundle", "./shim.js",
    "--outfile=index.js", "--allow-overwrite", "--minify", "--log-level=warning",
  ], { cwd: STAGING });
  // wasm-bindgen's module target imports the Wasm as a source-phase import; workerd's module
  // loader takes a plain import of a .wasm file.
  const bundled = fs.readFileSync(indexPath, "utf8").replace("import source ", "import ");
  fs.writeFileSync(indexPath, bundled);
  fs.rmSync(path.join(STAGING, "shim.js"));
  fs.rmSync(path.join(STAGING, "snippets"), { recursive: true, force: true });
  fs.mkdirSync(path.join(STAGING, "worker"), { recursive: true });
  fs.writeFileSync(path.join(STAGING, "worker", "shim.mjs"),
    "// Use index.js directly, this file provided for backwards compat\n// with former shim.mjs only.\n" +
    "export * from '../index.js';\nexport { default } from '../index.js';\n");
}

/** Moves the staged files over build/, leaving anything else there alone. */
function swapIn() {
  for (const name of fs.readdirSync(STAGING)) {
    const to = path.join(OUT, name);
    fs.rmSync(to, { recursive: true, force: true });
    fs.renameSync(path.join(STAGING, name), to);
  }
  fs.rmSync(STAGING, { recursive: true, force: true });
}

fs.rmSync(STAGING, { recursive: true, force: true });
fs.mkdirSync(STAGING, { recursive: true });
bindgen(compile());
shim();
swapIn();
