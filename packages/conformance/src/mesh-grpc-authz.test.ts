import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { GRPC_SERVER_LISTENER_TEMPLATE, grpcGroup, MeshCompiler, type MeshObject, StaticServiceRegistry } from "@xdskit/mesh";
import { TestCertificateAuthority } from "@xdskit/testing";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { ControlPlane } from "./support/control-plane.js";
import { Echo } from "./support/echo-backend.js";
import { BOOTSTRAP_OPTION, bootstrap, registerXds, xdsChannelOptions } from "./support/xds-client.js";

// grpc-js-xds enforces RBAC only with this set when it loads (it reads it once).
vi.hoisted(() => {
  process.env.GRPC_XDS_EXPERIMENTAL_RBAC = "true";
});

const xds = await import("@grpc/grpc-js-xds");

const SERVER_GROUP = grpcGroup({ namespace: "mesh", name: "echo" });
const CLIENT_GROUP = grpcGroup({ namespace: "mesh", name: "web" });

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function echoService(): grpc.ServiceDefinition {
  const proto = fileURLToPath(new URL("../src/support/echo.proto", import.meta.url));
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(proto)) as unknown as {
    xdskit: { conformance: { Echo: grpc.ServiceClientConstructor } };
  };
  return pkg.xdskit.conformance.Echo.service;
}

const services: MeshObject[] = [
  { kind: "Service", metadata: { name: "echo", namespace: "mesh" }, spec: { ports: [{ port: 50051, protocol: "GRPC" }] } },
  { kind: "Service", metadata: { name: "web", namespace: "mesh" }, spec: { ports: [{ port: 8080 }] } },
];
const policy = (action: "ALLOW" | "DENY", rule: object): MeshObject => ({
  kind: "AuthorizationPolicy",
  metadata: { name: "echo-callers", namespace: "mesh" },
  spec: { targetRef: { name: "echo" }, action, rules: [rule] },
});

it("an AuthorizationPolicy lets a caller through, then denies it, on a real xDS-enabled gRPC server", async () => {
  const port = await freePort();
  const registry = new StaticServiceRegistry({ "mesh/echo": [{ address: "127.0.0.1", port }] });
  const compiler = new MeshCompiler({ registry });
  const plane = await ControlPlane.start();
  let version = 0;
  const publish = async (objects: MeshObject[]) => {
    compiler.update({ objects });
    version += 1;
    for (const group of [SERVER_GROUP, CLIENT_GROUP])
      plane.cache.setSnapshot(group, { version: `m${version}`, resources: compiler.compile(group) });
  };
  await publish([...services, policy("ALLOW", { to: [{ paths: ["/xdskit.conformance.Echo/*"] }] })]);

  registerXds(); // registers grpc-js-xds's HTTP filters, which servers need as well
  const server = new xds.XdsServer({
    [BOOTSTRAP_OPTION]: JSON.stringify({
      ...bootstrap(plane.address, SERVER_GROUP),
      server_listener_resource_name_template: GRPC_SERVER_LISTENER_TEMPLATE,
    }),
    drainGraceTimeMs: 100,
  } as never);
  server.addService(echoService(), {
    echo: (call: grpc.ServerUnaryCall<{ message: string }, unknown>, callback: grpc.sendUnaryData<unknown>) =>
      callback(null, { message: call.request.message, backend: "echo" }),
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())),
  );
  const echo = new Echo("xds:///echo.mesh:50051", xdsChannelOptions(plane.address, CLIENT_GROUP));
  const outcome = async () => {
    try {
      return await echo.call();
    } catch (error) {
      return `status ${(error as grpc.ServiceError).code}`;
    }
  };
  const eventually = async (want: string) => {
    const deadline = Date.now() + 10_000;
    let got = await outcome();
    while (got !== want && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      got = await outcome();
    }
    return got;
  };
  try {
    // ALLOW on the Echo service's paths: the call passes.
    expect(await eventually("echo")).toBe("echo");

    // DENY the Echo method: the same caller is refused with PERMISSION_DENIED.
    await publish([...services, policy("DENY", { to: [{ paths: ["/xdskit.conformance.Echo/Echo"] }] })]);
    expect(await eventually(`status ${grpc.status.PERMISSION_DENIED}`)).toBe(`status ${grpc.status.PERMISSION_DENIED}`);

    // Allowed again; then ALLOW only the identity mesh/web: a plain-text caller carries no identity, so it is refused.
    await publish([...services, policy("ALLOW", { to: [{ paths: ["/xdskit.conformance.Echo/*"] }] })]);
    expect(await eventually("echo")).toBe("echo");
    await publish([...services, policy("ALLOW", { from: [{ serviceAccount: "mesh/web" }] })]);
    expect(await eventually(`status ${grpc.status.PERMISSION_DENIED}`)).toBe(`status ${grpc.status.PERMISSION_DENIED}`);
  } finally {
    echo.close();
    server.forceShutdown();
    await plane.stop();
    compiler.dispose();
  }
});

// mTLS between proxyless client and server, identities checked by the server's RBAC.
let dir = "";
let ca: TestCertificateAuthority | undefined;

beforeAll(() => {
  ca = TestCertificateAuthority.create({ commonName: "mesh CA" });
  dir = ca.dir;
  // Each workload's URI SAN is its SPIFFE id.
  ca.issue("echo", "URI:spiffe://cluster.local/ns/mesh/sa/echo");
  ca.issue("web", "URI:spiffe://cluster.local/ns/mesh/sa/web");
  ca.issue("intruder", "URI:spiffe://cluster.local/ns/mesh/sa/intruder");
});
afterAll(() => {
  ca?.dispose();
});

/** A bootstrap whose certificate provider "mesh" serves `workload`'s certificate and the mesh CA from files (gRFC A29). */
function mtlsBootstrap(plane: string, group: string, workload: string): string {
  return JSON.stringify({
    ...bootstrap(plane, group),
    server_listener_resource_name_template: GRPC_SERVER_LISTENER_TEMPLATE,
    certificate_providers: {
      mesh: {
        plugin_name: "file_watcher",
        config: {
          certificate_file: join(dir, `${workload}.crt`),
          private_key_file: join(dir, `${workload}.key`),
          ca_certificate_file: join(dir, "ca.crt"),
          refresh_interval: "60s",
        },
      },
    },
  });
}

it("mTLS between a proxyless client and server; the server's AuthorizationPolicy admits web's identity and refuses another", async () => {
  const port = await freePort();
  const registry = new StaticServiceRegistry({ "mesh/echo": [{ address: "127.0.0.1", port }] });
  const compiler = new MeshCompiler({ registry });
  const plane = await ControlPlane.start();
  const intruderGroup = grpcGroup({ namespace: "mesh", name: "intruder" });
  compiler.update({
    objects: [
      ...services,
      { kind: "Service", metadata: { name: "intruder", namespace: "mesh" }, spec: { ports: [{ port: 8080 }] } },
      { kind: "MTLSPolicy", metadata: { name: "strict", namespace: "mesh" }, spec: { mode: "STRICT" } },
      policy("ALLOW", { from: [{ serviceAccount: "mesh/web" }] }),
    ],
  });
  for (const group of [SERVER_GROUP, CLIENT_GROUP, intruderGroup])
    plane.cache.setSnapshot(group, { version: "m1", resources: compiler.compile(group) });

  registerXds();
  const server = new xds.XdsServer({ [BOOTSTRAP_OPTION]: mtlsBootstrap(plane.address, SERVER_GROUP, "echo") } as never);
  server.addService(echoService(), {
    echo: (call: grpc.ServerUnaryCall<{ message: string }, unknown>, callback: grpc.sendUnaryData<unknown>) =>
      callback(null, { message: call.request.message, backend: "echo" }),
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, new xds.XdsServerCredentials(grpc.ServerCredentials.createInsecure()), (e) =>
      e ? reject(e) : resolve(),
    ),
  );
  const Client = grpc.makeGenericClientConstructor(echoService(), "Echo") as unknown as new (
    target: string,
    creds: grpc.ChannelCredentials,
    options: object,
  ) => grpc.Client & {
    echo: (r: object, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: { backend: string }) => void) => void;
  };
  const clientOf = (group: string, workload: string) =>
    new Client("xds:///echo.mesh:50051", new xds.XdsChannelCredentials(grpc.credentials.createInsecure()), {
      [BOOTSTRAP_OPTION]: mtlsBootstrap(plane.address, group, workload),
    });
  const call = (client: ReturnType<typeof clientOf>) =>
    new Promise<string>((resolve) =>
      client.echo({ message: "hi" }, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (e, r) =>
        resolve(e ? `status ${e.code}` : (r?.backend ?? "")),
      ),
    );
  const web = clientOf(CLIENT_GROUP, "web");
  const intruder = clientOf(intruderGroup, "intruder");
  try {
    let answer = await call(web);
    for (let i = 0; i < 100 && answer !== "echo"; i++) answer = await call(web);
    expect(answer).toBe("echo");
    expect(await call(intruder)).toBe(`status ${grpc.status.PERMISSION_DENIED}`);
    expect(await call(web)).toBe("echo");
  } finally {
    web.close();
    intruder.close();
    server.forceShutdown();
    await plane.stop();
    compiler.dispose();
  }
});
