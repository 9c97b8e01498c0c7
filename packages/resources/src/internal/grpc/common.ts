// Helpers shared by the proxyless gRPC rules.
import type { Any } from "@xdskit/envoy-api/core";
import { typeNameOf } from "@xdskit/envoy-api/core";
import type { ConfigSource } from "@xdskit/envoy-api/envoy/config/core/v3/config_source";
import { TypedStruct as UdpaTypedStruct } from "@xdskit/envoy-api/udpa/type/v1/typed_struct";
import { TypedStruct } from "@xdskit/envoy-api/xds/type/v3/typed_struct";
import { unpackIf } from "../any.js";

/** A violation of a gRPC rule, before the resource prefix is added. */
export interface GrpcProblem {
  readonly path: string;
  readonly rule: string;
  readonly message: string;
}

export type Out = GrpcProblem[];

export function at(prefix: string, field: string): string {
  return prefix === "" ? field : `${prefix}.${field}`;
}

export function report(out: Out, path: string, rule: string, message: string): void {
  out.push({ path, rule: `grpc.${rule}`, message });
}

/** A27: gRPC clients fetch everything over their ADS stream, so config sources must be `ads` or `self`. */
export function checkConfigSource(out: Out, source: ConfigSource | undefined, path: string, what: string): void {
  if (!source?.ads && !source?.self) {
    report(
      out,
      path,
      "config_source",
      `must be { ads: {} } or { self: {} }: gRPC clients fetch ${what} only over their ADS stream (gRFC A27)`,
    );
  }
}

/** The full name of what an Any holds, looking through xDS/UDPA TypedStruct wrappers. */
export function configTypeName(any: Any | undefined): string | undefined {
  if (!any?.typeUrl) return undefined;
  const typed = unpackIf(any, TypedStruct) ?? unpackIf(any, UdpaTypedStruct);
  return typeNameOf(typed ? typed.typeUrl : any.typeUrl);
}

export const UINT32_MAX = 0xffffffff;

export function durationMs(d: { seconds?: unknown; nanos?: number } | undefined): number | undefined {
  if (!d) return undefined;
  return Number(d.seconds ?? 0) * 1000 + (d.nanos ?? 0) / 1e6;
}
