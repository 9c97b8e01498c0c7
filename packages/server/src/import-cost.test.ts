// What `import "@xdskit/server"` loads (docs/benchmarks.md, "Import time"):
// its cost is mostly per module loaded, so these guard the modules it used to
// load without needing them.
import { ClientStatusDiscoveryServiceService } from "@xdskit/envoy-api";
import * as rxjs from "rxjs";
import { describe, expect, it } from "vitest";
import { runWithModuleLog } from "../../envoy-api/test-support/module-log.js";
import { CSDS_METHOD_PATHS } from "./csds.js";
import * as rx from "./internal/rx.js";

describe('import "@xdskit/server"', () => {
  it("loads neither @grpc/grpc-js, nor rxjs's whole index, nor the resource message modules, nor the schema, nor protobuf reflection", () => {
    // A fresh process (what is loaded is per process) that logs every module
    // file compiled; CommonJS modules (rxjs, grpc-js) also show in require.cache.
    const script = (log: string) => `
      import { readFileSync } from "node:fs";
      import { createRequire } from "node:module";
      await import("@xdskit/server");
      const modules = readFileSync(${JSON.stringify(log)}, "utf8").split("\\n").filter(Boolean);
      const required = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify({
        grpc: [...modules, ...required].filter((p) => p.includes("@grpc/grpc-js")),
        rxjsIndex: required.filter((p) => /rxjs\\/dist\\/cjs\\/index\\.js$/.test(p)),
        rxjsFiles: required.filter((p) => p.includes("/rxjs/")).length,
        messages: modules.filter((u) => /\\/gen\\/envoy\\/(config\\/(listener|cluster|route)|extensions)\\//.test(u)),
        tables: modules.filter((u) => /\\/dist\\/gen\\/(schema|registry)\\.js$/.test(u)),
        // CSDS, LRS and canonical JSON: loaded by the first CSDS or REST-JSON
        // answer (csds.ts, internal/rest-json.ts), not by the import, nor is
        // envoy-api's root entry, which exports them (the packages import
        // @xdskit/envoy-api/core).
        optional: modules.filter((u) =>
          /\\/dist\\/(index|json|yaml|internal\\/json-[a-z]+)\\.js$|\\/gen\\/envoy\\/(service\\/status|service\\/load_stats|admin)\\//.test(u) && u.includes("/envoy-api/"),
        ),
        generated: modules.filter((u) => u.includes("/dist/gen/")).length,
        // immer is for partial updates only (loaded by the first updateResources).
        immer: modules.filter((u) => u.includes("/immer/")),
        // CommonJS (rxjs) is require()d, never imported: an import of CommonJS
        // loads node's export scanner and wraps the module (internal/rx.ts).
        cjsImported: process.moduleLoadList.some((m) => m.includes("cjs-module-lexer")),
        // node:http is for the REST gateway only (loaded by restServer()).
        http: process.moduleLoadList.includes("NativeModule http"),
        protobuf: modules.filter((u) => u.includes("/@bufbuild/protobuf/")).map((u) => u.replace(/^.*\\/dist\\/esm\\//, "")).sort(),
      }));`;
    const child = runWithModuleLog(import.meta.dirname, script);
    expect(child.stderr).toBe("");
    const seen = JSON.parse(child.stdout);
    // The schema (860 KB) and the codec tables are loaded by the first lookup, JSON or validation.
    expect(seen).toMatchObject({
      grpc: [],
      rxjsIndex: [],
      messages: [],
      tables: [],
      optional: [],
      immer: [],
      cjsImported: false,
      http: false,
    });
    // rxjs: Observable, Subject, Subscriber, throwError and what they import (about 20 of its 223 files).
    expect(seen.rxjsFiles).toBeLessThan(40);
    // The discovery messages, the service definitions and what they import (was 108).
    expect(seen.generated).toBeLessThan(50);
    // @bufbuild/protobuf: the generated codecs' BinaryReader and BinaryWriter and
    // what they import, not its `wire` entry point, whose size-delimited helpers
    // load the reflection runtime (21 modules; envoy-api/src/internal/wire.ts).
    expect(seen.protobuf).toEqual(["proto-int64.js", "wire/binary-encoding.js", "wire/text-encoding.js", "wire/varint.js"]);
  });

  it("requires rxjs's classes from the rxjs the application imports", () => {
    expect(rx.Observable).toBe(rxjs.Observable);
    expect(rx.Subject).toBe(rxjs.Subject);
    expect(rx.Subscriber).toBe(rxjs.Subscriber);
  });

  it("names the CSDS methods as envoy-api's service definition does (csds.ts registers them without loading it)", () => {
    expect(CSDS_METHOD_PATHS).toEqual({
      stream: ClientStatusDiscoveryServiceService.streamClientStatus.path,
      fetch: ClientStatusDiscoveryServiceService.fetchClientStatus.path,
    });
  });
});
