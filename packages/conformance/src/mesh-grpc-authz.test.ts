// An AuthorizationPolicy of a mesh model enforced by a real xDS-enabled gRPC
// server (@grpc/grpc-js-xds XdsServer, gRFC A36 and A41) against a real
// proxyless client: the compiler gives the server's group a listener per
// instance with the Service's RBAC filter.
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { GRPC_SERVER_LISTENER_TEMPLATE, grpcGroup, MeshCompiler, type MeshObject, StaticServiceRegistry } from "@xdskit/mesh";
import { expect, it, vi } from "vitest";
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
