// Serves one benchmark target straight on workerd through Miniflare's API, without the
// extra proxy workerd that `wrangler dev` puts in front of every request and frame.
//
//   node bench/serve.mjs --config wrangler.toml --script bundle/shim.js --port 8790 \
//        --state DIR [--dev-vars .dev.vars] [--migrations migrations] [--var KEY:VALUE]...
//        [--inspector-port N]   (V8 inspector, for bench/profile.mjs)
//
// The bindings (Durable Objects, D1, [vars]) come from the wrangler config, exactly as
// wrangler dev derives them; `--dev-vars` and `--var` override vars like they do there.
// D1 migrations are applied before the port opens. Stops on SIGTERM / SIGINT.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Log, LogLevel, Miniflare, convertV4MiniflareOptions } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_splitSqlQuery } from "wrangler";

function parseArgs(argv) {
  const opts = { vars: {} };
  for (let i = 0; i < argv.length; i += 2) {
    const [key, value] = [argv[i].replace(/^--/, ""), argv[i + 1]];
    if (value === undefined) throw new Error(`--${key} needs a value`);
    if (key === "var") {
      const at = value.indexOf(":");
      opts.vars[value.slice(0, at)] = value.slice(at + 1);
    } else {
      opts[key] = value;
    }
  }
  for (const required of ["config", "script", "port", "state"]) {
    if (!opts[required]) throw new Error(`--${required} is required`);
  }
  return opts;
}

/** KEY="value" lines, as wrangler reads .dev.vars. */
function readDevVars(path) {
  const vars = {};
  for (const line of readFileSync(path, "utf8").split(/\r?\n/)) {
    const m = line.match(/^\s*([A-Za-z0-9_]+)\s*=\s*"?(.*?)"?\s*$/);
    if (m) vars[m[1]] = m[2];
  }
  return vars;
}

/** The bundle: its entry module plus the Wasm modules beside it (as `wrangler deploy` writes them). */
function bundleModules(script) {
  const wasm = readdirSync(dirname(script)).filter((f) => f.endsWith(".wasm"));
  return [
    { type: "ESModule", path: script },
    ...wasm.map((f) => ({ type: "CompiledWasm", path: join(dirname(script), f) })),
  ];
}

async function migrate(mf, dir) {
  const db = await mf.getD1Database("DB");
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".sql")).sort()) {
    const statements = unstable_splitSqlQuery(readFileSync(join(dir, file), "utf8"));
    await db.batch(statements.map((s) => db.prepare(s)));
  }
}

const opts = parseArgs(process.argv.slice(2));
const { workerOptions } = unstable_getMiniflareWorkerOptions(resolve(opts.config));
// Static assets are served by a router worker in front of the Worker; the socket and API
// paths never match a file, so the benchmark leaves it out (the baseline has none either).
delete workerOptions.assets;
const devVars = opts["dev-vars"] ? readDevVars(opts["dev-vars"]) : {};
const state = resolve(opts.state);
const mf = new Miniflare(convertV4MiniflareOptions({
  host: "127.0.0.1",
  port: Number(opts.port),
  resourcePersistencePath: state,
  ...(opts["inspector-port"] ? { inspectorPort: Number(opts["inspector-port"]) } : {}),
  log: new Log(LogLevel.WARN),
  workers: [
    {
      ...workerOptions,
      name: "bench-target",
      modules: bundleModules(resolve(opts.script)),
      modulesRoot: dirname(resolve(opts.script)),
      bindings: { ...workerOptions.bindings, ...devVars, ...opts.vars },
    },
  ],
}));
await mf.ready;
if (opts.migrations) await migrate(mf, resolve(opts.migrations));
console.log(`ready on http://127.0.0.1:${opts.port}`);

const stop = async () => {
  await mf.dispose();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
