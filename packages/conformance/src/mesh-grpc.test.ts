// Real proxyless gRPC clients (@grpc/grpc-js-xds) configured by a mesh model:
// @xdskit/mesh compiles it, a SnapshotCache behind an XdsServer serves it, and
// real grpc-js backends answer. Canary shifts, header A/B, fault injection,
// retries and outlier detection, each observed on real RPCs.
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { grpcGroup, MeshCompiler, type MeshObject, StaticServiceRegistry } from "@xdskit/mesh";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ControlPlane, until } from "./support/control-plane.js";
import { callInLoop, Echo, EchoBackend } from "./support/echo-backend.js";
import { xdsChannelOptions } from "./support/xds-client.js";

const CLIENT = grpcGroup({ namespace: "mesh", name: "web" });
const TARGET = "xds:///echo.mesh:50051";

/** An Echo backend that fails every RPC with UNAVAILABLE (a broken instance). */
async function failingBackend(): Promise<{ port: number; served: () => number; stop: () => Promise<void> }> {
  const proto = fileURLToPath(new URL("../src/support/echo.proto", import.meta.url));
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(proto)) as unknown as {
    xdskit: { conformance: { Echo: grpc.ServiceClientConstructor } };
  };
  const server = new grpc.Server();
  let served = 0;
  server.addService(pkg.xdskit.conformance.Echo.service, {
    echo: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
      served += 1;
      callback({ code: grpc.status.UNAVAILABLE, details: "broken instance" });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { port, served: () => served, stop: () => new Promise<void>((r) => server.tryShutdown(() => r())) };
}

const service: MeshObject = {
  kind: "Service",
  metadata: { name: "echo", namespace: "mesh" },
  spec: {
    ports: [{ port: 50051, protocol: "GRPC" }],
    versions: [
      { name: "v1", labels: { version: "v1" } },
      { name: "v2", labels: { version: "v2" } },
    ],
  },
};
const web: MeshObject = { kind: "Service", metadata: { name: "web", namespace: "mesh" }, spec: { ports: [{ port: 8080 }] } };

function split(v1: number, v2: number, extra: Partial<{ retry: { attempts: number } }> = {}): MeshObject {
  return {
    kind: "GRPCRoute",
    metadata: { name: "echo", namespace: "mesh" },
    spec: {
      parentRefs: [{ name: "echo" }],
      rules: [
        { matches: [{ headers: [{ name: "x-variant", value: "b" }] }], backendRefs: [{ name: "echo", version: "v2" }] },
        {
          backendRefs: [
            { name: "echo", version: "v1", weight: v1 },
            { name: "echo", version: "v2", weight: v2 },
          ],
          ...extra,
        },
      ],
    },
  };
}

let v1: EchoBackend;
let v2: EchoBackend;
beforeAll(async () => {
  [v1, v2] = await Promise.all([EchoBackend.start("v1"), EchoBackend.start("v2")]);
});
afterAll(async () => {
  await Promise.all([v1.stop(), v2.stop()]);
});

/** A control plane serving what `compiler` makes for the client group; publish() pushes the current model and waits for the client's ACK. */
async function meshPlane(compiler: MeshCompiler) {
  const plane = await ControlPlane.start();
  let version = 0;
  return {
    plane,
    async publish(objects: MeshObject[], waitForClient = true): Promise<void> {
      compiler.update({ objects });
      version += 1;
      plane.cache.setSnapshot(CLIENT, { version: `mesh-${version}`, resources: compiler.compile(CLIENT) });
      if (!waitForClient) return;
      const result = await plane.xds.waitForAck({ group: CLIENT, version: `mesh-${version}`, timeoutMs: 10_000 });
      expect(result.outcome).toBe("acked");
    },
  };
}

/** Waits until the async `probe` resolves true, or fails naming `what`. */
async function eventually(what: string, probe: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function count(answers: readonly string[], name: string): number {
  return answers.filter((a) => a === name).length;
}

describe("mesh model served to real grpc-js-xds clients", () => {
  it("shifts a canary 95/5, 50/50, 100/0 without one failed RPC, and routes x-variant: b to v2 (A/B)", async () => {
    const registry = new StaticServiceRegistry({
      "mesh/echo": [
        { address: "127.0.0.1", port: v1.port, labels: { version: "v1" } },
        { address: "127.0.0.1", port: v2.port, labels: { version: "v2" } },
      ],
    });
    const compiler = new MeshCompiler({ registry });
    const { plane, publish } = await meshPlane(compiler);
    await publish([service, web, split(95, 5)], false);
    const echo = new Echo(TARGET, xdsChannelOptions(plane.address, CLIENT));
    try {
      await eventually("the first answer", async () => (await echo.call().catch(() => "")) !== "");
      // Header-based A/B: the header rule wins whatever the split.
      for (let i = 0; i < 20; i++) expect(await echo.call({ "x-variant": "b" })).toBe("v2");

      const load = callInLoop(echo, 4);
      // Answers to calls already in flight when the client ACKed (one per caller) are skipped.
      const sample = async (n: number) => {
        const from = load.answers.length + 4;
        await until(`${n} answers`, () => load.answers.length >= from + n, 20_000);
        return load.answers.slice(from, from + n);
      };
      // 95/5: v2 ~ Binomial(400, 0.05): mean 20, sd 4.4; accept 3..40.
      const at5 = count(await sample(400), "v2");
      await publish([service, web, split(50, 50)]);
      // 50/50 (after the client ACKed): v2 ~ Binomial(400, 0.5): mean 200, sd 10; accept 150..250.
      const at50 = count(await sample(400), "v2");
      await publish([service, web, split(0, 100)]);
      const at100 = count(await sample(200), "v2");
      await load.stop();
      console.info(
        `canary: v2 got ${at5}/400 at 5 %, ${at50}/400 at 50 %, ${at100}/200 at 100 %; ${load.answers.length} RPCs, ${load.failures.length} failed`,
      );
      expect(load.failures).toEqual([]);
      expect(at5).toBeGreaterThanOrEqual(3);
      expect(at5).toBeLessThanOrEqual(40);
      expect(at50).toBeGreaterThanOrEqual(150);
      expect(at50).toBeLessThanOrEqual(250);
      expect(at100).toBe(200);
    } finally {
      echo.close();
      await plane.stop();
      compiler.dispose();
    }
  });

  it("aborts about half the RPCs under a 50 % FaultInjection", async () => {
    const registry = new StaticServiceRegistry({ "mesh/echo": [{ address: "127.0.0.1", port: v1.port, labels: { version: "v1" } }] });
    const compiler = new MeshCompiler({ registry });
    const { plane, publish } = await meshPlane(compiler);
    const fault: MeshObject = {
      kind: "FaultInjection",
      metadata: { name: "chaos", namespace: "mesh" },
      spec: { targetRef: { kind: "GRPCRoute", name: "echo" }, abort: { grpcStatus: grpc.status.UNAVAILABLE, percent: 50 } },
    };
    await publish([service, web, split(100, 0), fault], false);
    const echo = new Echo(TARGET, xdsChannelOptions(plane.address, CLIENT));
    try {
      await eventually("the first answer", async () => (await echo.call().catch(() => "")) !== "");
      await plane.xds.waitForAck({ group: CLIENT, version: "mesh-1", timeoutMs: 10_000 });
      const N = 400;
      let aborted = 0;
      for (let i = 0; i < N; i++) {
        try {
          await echo.call();
        } catch (error) {
          expect((error as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
          aborted += 1;
        }
      }
      // Binomial(400, 0.5): mean 200, sd 10; accept 150..250 (5 sd).
      console.info(`fault injection: ${aborted} of ${N} RPCs aborted (expected 200, accepted 150..250)`);
      expect(aborted).toBeGreaterThanOrEqual(150);
      expect(aborted).toBeLessThanOrEqual(250);
    } finally {
      echo.close();
      await plane.stop();
      compiler.dispose();
    }
  });

  it("hides a failing instance with retries", async () => {
    const broken = await failingBackend();
    const registry = new StaticServiceRegistry({
      "mesh/echo": [
        { address: "127.0.0.1", port: v1.port, labels: { version: "v1" } },
        { address: "127.0.0.1", port: broken.port, labels: { version: "v1" } },
      ],
    });
    const compiler = new MeshCompiler({ registry });
    const { plane, publish } = await meshPlane(compiler);
    await publish([service, web, split(100, 0)], false);
    const echo = new Echo(TARGET, xdsChannelOptions(plane.address, CLIENT));
    const tryAll = async (n: number) => {
      let failed = 0;
      for (let i = 0; i < n; i++) await echo.call().catch(() => (failed += 1));
      return failed;
    };
    try {
      await eventually("the first answer", async () => (await echo.call().catch(() => "")) !== "");
      await plane.xds.waitForAck({ group: CLIENT, version: "mesh-1", timeoutMs: 10_000 });
      // Without retries, round robin sends every other RPC to the broken instance.
      const withoutRetries = await tryAll(40);
      expect(withoutRetries).toBeGreaterThanOrEqual(10);

      await publish([service, web, split(100, 0, { retry: { attempts: 2 } })]);
      const servedBefore = broken.served();
      const withRetries = await tryAll(100);
      console.info(
        `retries: ${withoutRetries}/40 failed without, ${withRetries}/100 with; the broken instance saw ${broken.served() - servedBefore} tries`,
      );
      expect(withRetries).toBe(0);
      expect(broken.served() - servedBefore).toBeGreaterThan(10);
    } finally {
      echo.close();
      await plane.stop();
      await broken.stop();
      compiler.dispose();
    }
  });

  it("ejects a failing instance with outlier detection", async () => {
    const broken = await failingBackend();
    const registry = new StaticServiceRegistry({
      "mesh/echo": [
        { address: "127.0.0.1", port: v1.port, labels: { version: "v1" } },
        { address: "127.0.0.1", port: broken.port, labels: { version: "v1" } },
      ],
    });
    const compiler = new MeshCompiler({ registry });
    const { plane, publish } = await meshPlane(compiler);
    // Failure-percentage ejection, what gRPC implements (gRFC A50): a host failing over 50 % of 10+ calls in an interval is ejected.
    const policy: MeshObject = {
      kind: "TrafficPolicy",
      metadata: { name: "echo", namespace: "mesh" },
      spec: {
        targetRef: { name: "echo" },
        outlierDetection: { interval: "300ms", baseEjectionTime: "30s", maxEjectionPercent: 50, failurePercentageThreshold: 50 },
      },
    };
    await publish([service, web, split(100, 0), policy], false);
    const echo = new Echo(TARGET, xdsChannelOptions(plane.address, CLIENT));
    const tryAll = async (n: number) => {
      let failed = 0;
      for (let i = 0; i < n; i++) await echo.call().catch(() => (failed += 1));
      return failed;
    };
    try {
      let failedBefore = 0;
      await eventually(
        "the broken instance ejected (20 RPCs in a row succeed)",
        async () => {
          const failed = await tryAll(20);
          failedBefore += failed;
          return failed === 0;
        },
        15_000,
      );
      const servedAfter = broken.served();
      const failedAfter = await tryAll(50);
      console.info(`outlier detection: ${failedBefore} RPCs failed before the ejection, ${failedAfter} of 50 after`);
      expect(failedBefore).toBeGreaterThan(0);
      expect(failedAfter).toBe(0);
      expect(broken.served()).toBe(servedAfter);
    } finally {
      echo.close();
      await plane.stop();
      await broken.stop();
      compiler.dispose();
    }
  });
});
