// CPU profile of a benchmark target through the V8 inspector of its workerd (started by
// bench/serve.mjs with --inspector-port). Profiles for --seconds, writes the .cpuprofile
// (open it in Chrome DevTools) and prints the functions with the most self time.
//
//   node bench/profile.mjs --inspector-port 9229 --seconds 20 --out target/fanout.cpuprofile \
//        [--source bundle/shim.js]   (names the anonymous wasm-bindgen import wrappers)
import { readFileSync, writeFileSync } from "node:fs";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, v, i, all) => (i % 2 ? pairs : [...pairs, [v.replace(/^--/, ""), all[i + 1]]]), []),
);
const port = Number(args["inspector-port"] ?? 9229);
const seconds = Number(args.seconds ?? 20);
const top = Number(args.top ?? 30);

const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
const target = targets.find((t) => t.webSocketDebuggerUrl && /core:user:/.test(t.id)) ?? targets[0];
const ws = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((resolve, reject) => {
  ws.onopen = resolve;
  ws.onerror = reject;
});
let nextId = 1;
const pending = new Map();
ws.onmessage = (e) => {
  const msg = JSON.parse(e.data);
  if (msg.id && pending.has(msg.id)) {
    pending.get(msg.id)(msg);
    pending.delete(msg.id);
  }
};
const call = (method, params = {}) =>
  new Promise((resolve) => {
    const id = nextId++;
    pending.set(id, resolve);
    ws.send(JSON.stringify({ id, method, params }));
  });

await call("Profiler.enable");
await call("Profiler.setSamplingInterval", { interval: 200 });
await call("Profiler.start");
console.error(`profiling ${target.title} for ${seconds} s`);
await new Promise((r) => setTimeout(r, seconds * 1000));
const { result } = await call("Profiler.stop");
ws.close();
if (args.out) writeFileSync(args.out, JSON.stringify(result.profile));

// wasm-bindgen's JS import wrappers are anonymous functions in an object literal
// (`__wbg_send_…: __name(function …)`): name them after their key in the bundle.
const source = args.source ? readFileSync(args.source, "utf8").split("\n") : null;
function wrapperName(f) {
  const line = source?.[f.lineNumber];
  if (!line) return null;
  const keys = [...line.slice(0, f.columnNumber + 1).matchAll(/(__wb\w+):\s*\/\*/g)];
  return keys.length ? keys[keys.length - 1][1] : null;
}

// Self time per function: samples whose leaf is that node.
const { nodes, samples } = result.profile;
const byId = new Map(nodes.map((n) => [n.id, n]));
const hits = new Map();
for (const id of samples) {
  const f = byId.get(id).callFrame;
  const fn = f.functionName || wrapperName(f) || "(anonymous)";
  const name = `${fn} ${f.url ? f.url.split("/").pop() : ""}`.trim();
  hits.set(name, (hits.get(name) ?? 0) + 1);
}
const total = samples.length;
const idle = ["(idle)", "(program)", "(garbage collector)"].map((n) => hits.get(n) ?? 0);
console.log(`samples: ${total} (idle ${idle[0]}, program ${idle[1]}, gc ${idle[2]})`);
for (const [name, n] of [...hits].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${((100 * n) / total).toFixed(1).padStart(5)} %  ${name}`);
}
