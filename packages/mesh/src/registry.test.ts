import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  FileServiceRegistry,
  MeshModelErrors,
  PollingServiceRegistry,
  type ServiceInstance,
  type ServiceKey,
  StaticServiceRegistry,
} from "./index.js";

const orders = { namespace: "shop", name: "orders" };

describe("StaticServiceRegistry", () => {
  it("announces a Service only when its instances change, and survives a throwing listener", () => {
    const registry = new StaticServiceRegistry({ "shop/orders": [{ address: "10.0.0.1", port: 80 }] });
    const heard: ServiceKey[] = [];
    registry.subscribe(() => {
      throw new Error("listener bug");
    });
    const stop = registry.subscribe((s) => heard.push(s));
    registry.set(orders, [{ address: "10.0.0.1", port: 80 }]);
    registry.set(orders, [{ address: "10.0.0.2", port: 80 }]);
    expect(heard).toEqual([orders]);
    expect(registry.instances(orders)).toEqual([{ address: "10.0.0.2", port: 80 }]);
    expect(registry.instances({ namespace: "shop", name: "none" })).toEqual([]);
    stop();
    registry.set(orders, []);
    expect(heard).toHaveLength(1);
  });

  it("refuses bad instances naming the Service and field, changing nothing", () => {
    const registry = new StaticServiceRegistry();
    expect(() => registry.set(orders, [{ address: "10.0.0.1", port: 70000 }])).toThrow(
      "ServiceInstances shop/orders: [0].port: expected an integer from 1 to 65535; got 70000",
    );
    expect(() => StaticServiceRegistry.fromYaml("shop/orders:\n  - { address: 10.0.0.1, health: sick }\n")).toThrow(MeshModelErrors);
    expect(registry.instances(orders)).toEqual([]);
  });
});

describe("FileServiceRegistry", () => {
  it("reloads a file, announcing changed Services only, and keeps the last good instances on a bad file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mesh-registry-"));
    const path = join(dir, "instances.yaml");
    writeFileSync(path, "shop/orders: [{ address: 10.0.0.1 }]\nshop/web: [{ address: 10.0.1.1 }]\n");
    const errors: unknown[] = [];
    const registry = await FileServiceRegistry.open({ path, onError: (e) => errors.push(e) });
    const heard: string[] = [];
    registry.subscribe((s) => heard.push(`${s.namespace}/${s.name}`));
    writeFileSync(path, "shop/orders: [{ address: 10.0.0.1 }, { address: 10.0.0.2 }]\nshop/web: [{ address: 10.0.1.1 }]\n");
    await registry.reload();
    expect(heard).toEqual(["shop/orders"]);
    writeFileSync(path, "shop/orders: [{ adress: 10.0.0.3 }]\n");
    await expect(registry.reload()).rejects.toThrow(/ServiceInstances shop\/orders: \[0\]\.adress/);
    expect(errors).toHaveLength(1);
    expect(registry.instances(orders)).toHaveLength(2);
    registry.close();
  });
});

describe("PollingServiceRegistry", () => {
  it("feeds your discovery's answers in, keeps the last good instances when it fails, and announces only changes", async () => {
    const answers: (readonly ServiceInstance[] | Error)[] = [
      [{ address: "10.0.0.1" }],
      [{ address: "10.0.0.1" }],
      new Error("consul down"),
      [{ address: "bad", weight: 0 }],
      [{ address: "10.0.0.2" }],
    ];
    const errors: string[] = [];
    const registry = await PollingServiceRegistry.start({
      services: [orders],
      discover: async () => {
        const next = answers.shift() ?? [];
        if (next instanceof Error) throw next;
        return next;
      },
      intervalMs: 60_000,
      onError: (e) => {
        errors.push(`${e.code}: ${e.message}`);
        throw new Error("onError bug");
      },
    });
    const heard: string[] = [];
    registry.subscribe((s) => heard.push(s.name));
    expect(registry.instances(orders)).toEqual([{ address: "10.0.0.1" }]);
    await registry.refresh(); // same answer: nothing announced
    await registry.refresh(); // rejects: kept
    await registry.refresh(); // invalid instance: kept
    expect(registry.instances(orders)).toEqual([{ address: "10.0.0.1" }]);
    expect(heard).toEqual([]);
    expect(errors).toEqual([
      "XDSKIT_HOOK_FAILED: PollingServiceRegistry: discover(shop/orders) failed; its last good instances stay: consul down",
      expect.stringContaining("ServiceInstances shop/orders: [0].weight: expected an integer from 1 to 131072; got 0"),
    ]);
    await registry.refresh();
    expect(heard).toEqual(["orders"]);
    expect(registry.instances(orders)).toEqual([{ address: "10.0.0.2" }]);
    registry.close();
  });
});
