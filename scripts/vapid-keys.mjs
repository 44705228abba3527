#!/usr/bin/env node
// Generates a VAPID key pair for Web Push (SPEC §11) into .dev.vars, with node's crypto only:
// VAPID_PUBLIC_KEY (base64url of the 65-byte uncompressed P-256 point), VAPID_PRIVATE_KEY
// (base64url of the 32-byte scalar), the format `web-push generate-vapid-keys` prints, and
// VAPID_SUBJECT (a contact for push services). Idempotent: keys already in the file are kept
// (rotating them would orphan every browser subscription). `--print` only prints a new pair.
import { generateKeyPairSync } from "node:crypto";
import { existsSync, readFileSync, appendFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const file = join(dirname(fileURLToPath(import.meta.url)), "..", ".dev.vars");

function pair() {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = privateKey.export({ format: "jwk" });
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-65); // 0x04 || x || y
  return { public: Buffer.from(raw).toString("base64url"), private: jwk.d };
}

if (process.argv.includes("--print")) {
  const p = pair();
  console.log(`VAPID_PUBLIC_KEY="${p.public}"\nVAPID_PRIVATE_KEY="${p.private}"`);
  process.exit(0);
}
const text = existsSync(file) ? readFileSync(file, "utf8") : "";
const has = (k) => new RegExp(`^\\s*${k}\\s*=`, "m").test(text);
if (has("VAPID_PUBLIC_KEY") || has("VAPID_PRIVATE_KEY")) {
  console.log(`${file}: VAPID keys already set, kept`);
  process.exit(0);
}
const p = pair();
let out = text && !text.endsWith("\n") ? "\n" : "";
out += "# Web Push (SPEC §11), made by scripts/vapid-keys.mjs: development only.\n";
out += `VAPID_PUBLIC_KEY="${p.public}"\nVAPID_PRIVATE_KEY="${p.private}"\n`;
if (!has("VAPID_SUBJECT")) out += `VAPID_SUBJECT="mailto:dev@localhost.invalid"\n`;
appendFileSync(file, out);
console.log(`${file}: VAPID key pair added`);
