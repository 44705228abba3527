// Starts the Worker under `wrangler dev` for browser tests: fresh local state under
// target/browser-state/, a free port, D1 migrations applied first (like tests/e2e), and a
// stop() that ends wrangler and everything it started (its own process group).
// startWebhookReceiver() runs scripts/webhook-receiver.mjs on a free port, with the two vars
// that point the Worker's webhooks at it (pass them to startServer).
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const WRANGLER = join(ROOT, "node_modules", ".bin", "wrangler");
const READY_MS = Number(process.env.E2E_READY_TIMEOUT_SECS ?? 240) * 1000;

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** KEY="value" lines of .dev.vars (or .dev.vars.example when there is none). */
export function devVars() {
  for (const name of [".dev.vars", ".dev.vars.example"]) {
    const path = join(ROOT, name);
    if (!existsSync(path)) continue;
    const vars = {};
    for (const line of readFileSync(path, "utf8").split(/\r?\n/)) {
      const m = line.match(/^\s*([A-Z0-9_]+)\s*=\s*"?(.*?)"?\s*$/);
      if (m) vars[m[1]] = m[2];
    }
    return vars;
  }
  return {};
}

/** The first server API key (API_KEY may list several, comma separated). */
export const apiKey = () => (devVars().API_KEY ?? "").split(",")[0].trim();

/**
 * Starts wrangler dev. `vars` are `--var` overrides; ALLOWED_ORIGINS defaults to the
 * server's own origin so the page it serves may open sockets and call the API.
 */
export async function startServer(vars = {}) {
  const [port, inspector] = [await freePort(), await freePort()];
  const run = `${process.pid}-${Date.now()}`;
  const base = join(ROOT, "target", "browser-state");
  const stateDir = join(base, run);
  const logPath = join(base, `wrangler-${run}.log`);
  mkdirSync(stateDir, { recursive: true });
  const env = { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" };
  await promisify(execFile)(
    WRANGLER,
    ["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir],
    { cwd: ROOT, env },
  );
  const origin = `http://127.0.0.1:${port}`;
  const allVars = { ALLOWED_ORIGINS: origin, ...vars };
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspector),
    "--persist-to", stateDir, "--log-level", "warn", "--show-interactive-dev-session=false"];
  for (const [k, v] of Object.entries(allVars)) args.push("--var", `${k}:${v}`);
  const log = openSync(logPath, "w");
  // detached: wrangler leads its own process group, so stop() reaches workerd as well.
  const child = spawn(WRANGLER, args, { cwd: ROOT, env, detached: true, stdio: ["ignore", log, log] });
  let exited = null;
  child.on("exit", (code, signal) => (exited = signal ?? code));

  const server = {
    origin,
    port,
    logPath,
    async stop({ keepLog = false } = {}) {
      if (exited === null) {
        const gone = new Promise((r) => child.once("exit", r));
        try {
          process.kill(-child.pid, "SIGTERM");
        } catch {
          /* already gone */
        }
        const timer = setTimeout(() => {
          try {
            process.kill(-child.pid, "SIGKILL");
          } catch {
            /* already gone */
          }
        }, 10000);
        await gone;
        clearTimeout(timer);
      }
      // workerd may outlive wrangler by a moment; the group kill above covers it.
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        /* the group is empty */
      }
      rmSync(stateDir, { recursive: true, force: true });
      if (keepLog) console.error(`wrangler log kept at ${logPath}`);
      else rmSync(logPath, { force: true });
    },
    logTail(lines = 60) {
      try {
        return readFileSync(logPath, "utf8").split("\n").slice(-lines).join("\n");
      } catch {
        return "";
      }
    },
  };

  const started = Date.now();
  while (Date.now() - started < READY_MS) {
    if (exited !== null) break;
    try {
      const resp = await fetch(`${origin}/healthz`, { signal: AbortSignal.timeout(5000) });
      if (resp.status === 200) return server;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const tail = server.logTail();
  await server.stop({ keepLog: true });
  throw new Error(`wrangler dev did not become ready (exit: ${exited})\n${tail}`);
}

/**
 * Starts scripts/webhook-receiver.mjs on a free port with a fresh secret. Returns
 * {eventsUrl, vars: {WEBHOOK_URL, WEBHOOK_SECRET} (for startServer), events(), stop()}.
 */
export async function startWebhookReceiver() {
  const port = await freePort();
  const secret = `whsec_${randomBytes(32).toString("base64")}`;
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [join(ROOT, "scripts", "webhook-receiver.mjs")], {
    env: { ...process.env, WEBHOOK_SECRET: secret, WEBHOOK_RECEIVER_PORT: String(port) },
    stdio: "ignore",
  });
  let exited = null;
  child.on("exit", (code, signal) => (exited = signal ?? code));
  const receiver = {
    eventsUrl: `${base}/events`,
    vars: { WEBHOOK_URL: `${base}/`, WEBHOOK_SECRET: secret },
    async events() {
      return (await fetch(`${base}/events`)).json();
    },
    async stop() {
      if (exited !== null) return;
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await gone;
    },
  };
  for (let i = 0; i < 100 && exited === null; i++) {
    try {
      await receiver.events();
      return receiver;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await receiver.stop();
  throw new Error(`the webhook receiver did not start (exit: ${exited})`);
}
