#!/usr/bin/env node
// Three `xdskit serve` replicas sharing one etcd, on this machine, with one
// command (docs/scale-out.md, "Run three replicas locally"):
//
//   pnpm build && node scripts/scale-out-local.mjs
//
// Starts etcd (Debian's etcd-server, /usr/bin/etcd or $XDSKIT_ETCD_BIN) on
// loopback with a temporary data directory, then replicas r1..r3 with
// `--store etcd://…/xdskit/` on xDS ports 18001..18003 and admin ports
// 19001..19003 (`--ports 0`: any free ports), writes a first config through
// r1 and shows every replica serving the same version. Runs until Ctrl-C,
// which stops the replicas and etcd and removes the data directory.
// `--once` stops right after the check (the test of this script uses it).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const once = args.includes("--once");
const portsArg = args.indexOf("--ports");
const base = portsArg >= 0 ? Number(args[portsArg + 1]) : 1;
const root = new URL("../", import.meta.url);
const bin = fileURLToPath(new URL("packages/cli/dist/bin.js", root));
const { EtcdTestServer } = await import(new URL("packages/store-etcd/dist/testing/etcd-server.js", root).href).catch(() => {
  console.error("scale-out-local: build first (pnpm build)");
  process.exit(1);
});

const etcd = await EtcdTestServer.start();
const store = `etcd://${etcd.endpoint.replace("http://", "")}/xdskit/`;
console.log(`etcd      ${etcd.endpoint} (data ${etcd.dataDir})`);
const replicas = [];

async function stopAll(code) {
  for (const r of replicas) r.child.kill("SIGTERM");
  await Promise.all(replicas.map((r) => new Promise((resolve) => (r.child.exitCode !== null ? resolve() : r.child.once("exit", resolve)))));
  await etcd.destroy();
  process.exit(code);
}
process.once("SIGINT", () => void stopAll(0));
process.once("SIGTERM", () => void stopAll(0));

function startReplica(i) {
  const xds = base === 0 ? 0 : 18000 + i;
  const adminPort = base === 0 ? 0 : 19000 + i;
  const child = spawn(
    process.execPath,
    [bin, "serve", "--store", store, "--replica-id", `r${i}`, "--xds", `127.0.0.1:${xds}`, "--admin-port", String(adminPort)],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  return new Promise((resolve, reject) => {
    let buffer = "";
    child.once("exit", (code) => reject(new Error(`replica r${i} exited (${code}): ${buffer.slice(-2000)}`)));
    child.stderr.on("data", (chunk) => {
      buffer += chunk.toString();
      const line = buffer.split("\n").find((l) => l.includes('"xdskit serve started"'));
      if (line) {
        const { xdsPort, adminPort: admin } = JSON.parse(line);
        resolve({ child, id: `r${i}`, xdsPort, adminPort: admin });
      }
    });
  });
}

try {
  replicas.push(...(await Promise.all([1, 2, 3].map(startReplica))));
  for (const r of replicas) console.log(`replica   ${r.id}: xDS 127.0.0.1:${r.xdsPort}, admin http://127.0.0.1:${r.adminPort}`);
  const admin = (r, method, path, body) =>
    fetch(`http://127.0.0.1:${r.adminPort}${path}`, { method, ...(body ? { body: JSON.stringify(body) } : {}) }).then(async (res) => ({
      status: res.status,
      body: await res.json(),
    }));
  const put = await admin(replicas[0], "PUT", "/v1/groups/edge/resources", {
    clusters: [{ name: "api", connect_timeout: "1s", type: "STATIC" }],
  });
  console.log(`write     through r1: ${put.status} version ${put.body.version}`);
  const deadline = Date.now() + 10_000;
  let versions = [];
  while (Date.now() < deadline) {
    versions = await Promise.all(
      replicas.map(async (r) => (await admin(r, "GET", "/v1/groups")).body.groups.find((g) => g.group === "edge")?.version ?? null),
    );
    if (versions.every((v) => v !== null && v === versions[0])) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const [i, r] of replicas.entries()) console.log(`serving   ${r.id}: group edge at ${versions[i]}`);
  const converged = versions.every((v) => v !== null && v === versions[0]);
  console.log(converged ? "converged: every replica serves the same version" : "NOT converged");
  if (once || !converged) await stopAll(converged ? 0 : 1);
  console.log(
    `\nTry: curl -X PATCH localhost:${replicas[1].adminPort}/v1/groups/edge/resources -d '{"clusters":[{"name":"api","connect_timeout":"2s","type":"STATIC"}]}'`,
  );
  console.log(`     curl localhost:${replicas[2].adminPort}/v1/groups\nCtrl-C stops everything.`);
} catch (error) {
  console.error(`scale-out-local: ${error.message}`);
  await stopAll(1);
}
