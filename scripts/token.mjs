#!/usr/bin/env node
// Prints a development HS256 JWT for a user, signed with JWT_SECRET from .dev.vars
// (fallback .dev.vars.example) in the repo root. No dependencies beyond node itself.
//
//   node scripts/token.mjs <user_id> [--name N] [--username U] [--email E]
//        [--orgs a,b] [--ttl SECONDS (default 86400)] [--secret S]

import { createHmac } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const USAGE =
  "usage: node scripts/token.mjs <user_id> [--name N] [--username U] [--email E] " +
  "[--orgs a,b] [--ttl SECONDS] [--secret S]";

function fail(msg) {
  process.stderr.write(`${msg}\n${USAGE}\n`);
  process.exit(2);
}

// Parses KEY="value" / KEY=value lines; blank lines and # comments are ignored.
function parseVars(text) {
  const vars = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim().replace(/^export\s+/, "");
    let value = line.slice(eq + 1).trim();
    const quoted = value.length >= 2 && (value[0] === '"' || value[0] === "'") &&
      value[value.length - 1] === value[0];
    if (quoted) value = value.slice(1, -1);
    vars[key] = value;
  }
  return vars;
}

function secretFromFiles() {
  for (const name of [".dev.vars", ".dev.vars.example"]) {
    const path = join(ROOT, name);
    if (!existsSync(path)) continue;
    const secret = parseVars(readFileSync(path, "utf8")).JWT_SECRET;
    if (secret) return secret;
  }
  fail("JWT_SECRET not found in .dev.vars or .dev.vars.example (or pass --secret)");
}

function parseArgs(argv) {
  const opts = { ttl: 86400 };
  const flags = new Set(["name", "username", "email", "orgs", "ttl", "secret"]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "-h" || arg === "--help") {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    if (arg.startsWith("--")) {
      const [flag, inline] = arg.slice(2).split(/=(.*)/s, 2);
      if (!flags.has(flag)) fail(`unknown option --${flag}`);
      const value = inline ?? argv[++i];
      if (value === undefined) fail(`--${flag} needs a value`);
      opts[flag] = value;
    } else if (opts.sub === undefined) {
      opts.sub = arg;
    } else {
      fail(`unexpected argument ${arg}`);
    }
  }
  if (!opts.sub) fail("missing <user_id>");
  opts.ttl = Number(opts.ttl);
  if (!Number.isFinite(opts.ttl)) fail("--ttl must be a number of seconds");
  return opts;
}

const b64url = (buf) => Buffer.from(buf).toString("base64url");

function sign(claims, secret) {
  const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64url(JSON.stringify(claims));
  const mac = createHmac("sha256", secret).update(`${header}.${body}`).digest();
  return `${header}.${body}.${b64url(mac)}`;
}

const opts = parseArgs(process.argv.slice(2));
const now = Math.floor(Date.now() / 1000);
const claims = { sub: opts.sub, iat: now, exp: now + Math.trunc(opts.ttl) };
for (const key of ["name", "username", "email"]) {
  if (opts[key] !== undefined) claims[key] = opts[key];
}
if (opts.orgs !== undefined) {
  claims.orgs = opts.orgs.split(",").map((s) => s.trim()).filter(Boolean);
}
process.stdout.write(`${sign(claims, opts.secret ?? secretFromFiles())}\n`);
