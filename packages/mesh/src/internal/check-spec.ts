// Shape checks of each kind's spec (types, ranges, known fields). References
// between objects are checked in check-refs.ts.
import { type Checker, isObject } from "./checks.js";

const U32 = 4_294_967_295;
const MAX = Number.MAX_SAFE_INTEGER;

function ref(c: Checker, path: string, value: unknown, kinds: readonly string[], withVersion = false): void {
  if (!c.object(path, value, true)) return;
  const r = value as Record<string, unknown>;
  c.known(path, r, ["kind", "name", "namespace", "port", ...(withVersion ? ["version"] : [])]);
  c.oneOf(`${path}.kind`, r.kind, kinds);
  c.name(`${path}.name`, r.name);
  c.name(`${path}.namespace`, r.namespace, false);
  c.integer(`${path}.port`, r.port, 1, 65535);
  if (withVersion) c.string(`${path}.version`, r.version);
}

function headerMatches(c: Checker, path: string, value: unknown): void {
  if (!c.list(path, value)) return;
  (value as unknown[]).forEach((h, i) => {
    const p = `${path}[${i}]`;
    if (!c.object(p, h, true)) return;
    c.known(p, h, ["name", "value", "type"]);
    c.string(`${p}.name`, h.name, true);
    if (c.oneOf(`${p}.type`, h.type, ["Exact", "RegularExpression"]) && h.type === "RegularExpression") c.regex(`${p}.value`, h.value);
    else if (typeof h.value !== "string") c.report(`${p}.value`, "a string", h.value);
  });
}

function headerModifier(c: Checker, path: string, value: unknown): void {
  if (!c.object(path, value, true)) return;
  c.known(path, value, ["set", "add", "remove"]);
  for (const op of ["set", "add"] as const) {
    if (!c.list(`${path}.${op}`, value[op])) continue;
    (value[op] as unknown[]).forEach((h, i) => {
      const p = `${path}.${op}[${i}]`;
      if (!c.object(p, h, true)) return;
      c.string(`${p}.name`, h.name, true);
      if (typeof h.value !== "string") c.report(`${p}.value`, "a string", h.value);
    });
  }
  if (c.list(`${path}.remove`, value.remove))
    (value.remove as unknown[]).forEach((n, i) => {
      c.string(`${path}.remove[${i}]`, n, true);
    });
}

function pathModifier(c: Checker, path: string, value: unknown): void {
  if (!c.object(path, value)) return;
  const v = value as Record<string, unknown>;
  c.known(path, v, ["type", "replaceFullPath", "replacePrefixMatch"]);
  if (!c.oneOf(`${path}.type`, v.type, ["ReplaceFullPath", "ReplacePrefixMatch"], true)) return;
  const field = v.type === "ReplaceFullPath" ? "replaceFullPath" : "replacePrefixMatch";
  if (typeof v[field] !== "string" || !(v[field] as string).startsWith("/"))
    c.report(`${path}.${field}`, "a path starting with /", v[field]);
}

export function backendRef(c: Checker, path: string, value: unknown): void {
  if (!c.object(path, value, true)) return;
  c.known(path, value, ["name", "namespace", "port", "version", "weight", "kind"]);
  c.name(`${path}.name`, value.name);
  c.name(`${path}.namespace`, value.namespace, false);
  c.integer(`${path}.port`, value.port, 1, 65535);
  c.string(`${path}.version`, value.version);
  c.integer(`${path}.weight`, value.weight, 0, 1_000_000);
  if (value.kind !== undefined) c.oneOf(`${path}.kind`, value.kind, ["Service"]);
}

const FILTERS = ["RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite", "RequestMirror"] as const;
const FIELD_OF = {
  RequestHeaderModifier: "requestHeaderModifier",
  ResponseHeaderModifier: "responseHeaderModifier",
  RequestRedirect: "requestRedirect",
  URLRewrite: "urlRewrite",
  RequestMirror: "requestMirror",
} as const;

function filter(c: Checker, path: string, value: unknown, grpc: boolean): void {
  if (!c.object(path, value, true)) return;
  const allowed = grpc ? (["RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror"] as const) : FILTERS;
  c.known(path, value, ["type", ...allowed.map((t) => FIELD_OF[t])]);
  if (!c.oneOf(`${path}.type`, value.type, allowed, true)) return;
  const field = FIELD_OF[value.type as keyof typeof FIELD_OF];
  const body = value[field];
  const p = `${path}.${field}`;
  if (!c.object(p, body, true)) return;
  if (field === "requestHeaderModifier" || field === "responseHeaderModifier") headerModifier(c, p, body);
  else if (field === "requestRedirect") {
    c.known(p, body, ["scheme", "hostname", "port", "path", "statusCode"]);
    c.oneOf(`${p}.scheme`, body.scheme, ["http", "https"]);
    c.string(`${p}.hostname`, body.hostname);
    c.integer(`${p}.port`, body.port, 1, 65535);
    pathModifier(c, `${p}.path`, body.path);
    if (body.statusCode !== undefined && ![301, 302, 303, 307, 308].includes(body.statusCode as number)) {
      c.report(`${p}.statusCode`, "one of 301, 302, 303, 307, 308", body.statusCode);
    }
  } else if (field === "urlRewrite") {
    c.known(p, body, ["hostname", "path"]);
    c.string(`${p}.hostname`, body.hostname);
    pathModifier(c, `${p}.path`, body.path);
  } else {
    c.known(p, body, ["backendRef", "percent"]);
    backendRef(c, `${p}.backendRef`, body.backendRef);
    c.percent(`${p}.percent`, body.percent);
  }
}

const GRPC_STATUSES = ["cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"];

function rule(c: Checker, path: string, value: unknown, grpc: boolean): void {
  if (!c.object(path, value, true)) return;
  c.known(path, value, ["matches", "filters", "backendRefs", "timeouts", "retry"]);
  if (c.list(`${path}.matches`, value.matches)) {
    (value.matches as unknown[]).forEach((m, i) => {
      const p = `${path}.matches[${i}]`;
      if (!c.object(p, m, true)) return;
      if (grpc) {
        c.known(p, m, ["method", "headers"]);
        if (c.object(`${p}.method`, m.method)) {
          const method = m.method as Record<string, unknown>;
          c.known(`${p}.method`, method, ["service", "method", "type"]);
          c.string(`${p}.method.service`, method.service);
          c.string(`${p}.method.method`, method.method);
          if (method.type !== undefined) c.oneOf(`${p}.method.type`, method.type, ["Exact"]);
          if (method.method !== undefined && method.service === undefined) {
            c.report(`${p}.method.service`, "a service name when a method is given (gRPC matches paths /service/method)", undefined);
          }
        }
      } else {
        c.known(p, m, ["path", "headers", "queryParams", "method"]);
        if (c.object(`${p}.path`, m.path)) {
          const pm = m.path as Record<string, unknown>;
          c.known(`${p}.path`, pm, ["type", "value"]);
          c.oneOf(`${p}.path.type`, pm.type, ["Exact", "PathPrefix", "RegularExpression"]);
          if (pm.type === "RegularExpression") c.regex(`${p}.path.value`, pm.value);
          else if (typeof pm.value !== "string" || !pm.value.startsWith("/"))
            c.report(`${p}.path.value`, "a path starting with /", pm.value);
        }
        headerMatches(c, `${p}.queryParams`, m.queryParams);
        c.oneOf(`${p}.method`, m.method, ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]);
      }
      headerMatches(c, `${p}.headers`, m.headers);
    });
  }
  if (c.list(`${path}.filters`, value.filters))
    (value.filters as unknown[]).forEach((f, i) => {
      filter(c, `${path}.filters[${i}]`, f, grpc);
    });
  if (c.list(`${path}.backendRefs`, value.backendRefs)) {
    (value.backendRefs as unknown[]).forEach((b, i) => {
      backendRef(c, `${path}.backendRefs[${i}]`, b);
    });
  }
  if (c.object(`${path}.timeouts`, value.timeouts)) {
    const t = value.timeouts as Record<string, unknown>;
    c.known(`${path}.timeouts`, t, ["request", "backendRequest"]);
    c.duration(`${path}.timeouts.request`, t.request);
    c.duration(`${path}.timeouts.backendRequest`, t.backendRequest);
  }
  if (c.object(`${path}.retry`, value.retry)) {
    const r = value.retry as Record<string, unknown>;
    c.known(`${path}.retry`, r, ["attempts", "codes", "grpcStatuses", "backoff"]);
    c.integer(`${path}.retry.attempts`, r.attempts, 0, 100, true);
    if (c.list(`${path}.retry.codes`, r.codes))
      (r.codes as unknown[]).forEach((x, i) => {
        c.integer(`${path}.retry.codes[${i}]`, x, 100, 599);
      });
    if (c.list(`${path}.retry.grpcStatuses`, r.grpcStatuses)) {
      (r.grpcStatuses as unknown[]).forEach((x, i) => {
        c.oneOf(`${path}.retry.grpcStatuses[${i}]`, x, GRPC_STATUSES);
      });
    }
    c.duration(`${path}.retry.backoff`, r.backoff);
  }
}

/** Checks the spec of one object of a known kind. */
export function checkSpec(c: Checker, kind: string, spec: Record<string, unknown>): void {
  switch (kind) {
    case "Service": {
      c.known("spec", spec, ["ports", "versions", "serviceAccount"]);
      if (c.list("spec.ports", spec.ports, true)) {
        if (spec.ports.length === 0) c.report("spec.ports", "at least one port", spec.ports);
        spec.ports.forEach((p, i) => {
          if (!c.object(`spec.ports[${i}]`, p, true)) return;
          c.known(`spec.ports[${i}]`, p, ["name", "port", "targetPort", "protocol"]);
          c.name(`spec.ports[${i}].name`, p.name, false);
          c.integer(`spec.ports[${i}].port`, p.port, 1, 65535, true);
          c.integer(`spec.ports[${i}].targetPort`, p.targetPort, 1, 65535);
          c.oneOf(`spec.ports[${i}].protocol`, p.protocol, ["HTTP", "GRPC"]);
        });
      }
      if (c.list("spec.versions", spec.versions)) {
        spec.versions.forEach((v, i) => {
          if (!c.object(`spec.versions[${i}]`, v, true)) return;
          c.known(`spec.versions[${i}]`, v, ["name", "labels"]);
          c.name(`spec.versions[${i}].name`, v.name);
          if (c.object(`spec.versions[${i}].labels`, v.labels, true)) {
            for (const [k, l] of Object.entries(v.labels as object)) {
              if (typeof l !== "string") c.report(`spec.versions[${i}].labels.${k}`, "a string", l);
            }
          }
        });
      }
      c.name("spec.serviceAccount", spec.serviceAccount, false);
      return;
    }
    case "HTTPRoute":
    case "GRPCRoute": {
      c.known("spec", spec, ["parentRefs", "rules"]);
      if (c.list("spec.parentRefs", spec.parentRefs, true)) {
        if (spec.parentRefs.length === 0) c.report("spec.parentRefs", "at least one Service", spec.parentRefs);
        spec.parentRefs.forEach((r, i) => {
          ref(c, `spec.parentRefs[${i}]`, r, ["Service"]);
        });
      }
      if (c.list("spec.rules", spec.rules, true))
        spec.rules.forEach((r, i) => {
          rule(c, `spec.rules[${i}]`, r, kind === "GRPCRoute");
        });
      return;
    }
    case "TrafficPolicy": {
      c.known("spec", spec, ["targetRef", "connectionPool", "outlierDetection", "loadBalancer"]);
      ref(c, "spec.targetRef", spec.targetRef, ["Service"], true);
      if (c.object("spec.connectionPool", spec.connectionPool)) {
        const p = spec.connectionPool as Record<string, unknown>;
        c.known("spec.connectionPool", p, ["maxConnections", "maxPendingRequests", "maxRequests", "maxRetries"]);
        for (const k of ["maxConnections", "maxPendingRequests", "maxRequests", "maxRetries"])
          c.integer(`spec.connectionPool.${k}`, p[k], 0, U32);
      }
      if (c.object("spec.outlierDetection", spec.outlierDetection)) {
        const o = spec.outlierDetection as Record<string, unknown>;
        c.known("spec.outlierDetection", o, [
          "consecutiveErrors",
          "interval",
          "baseEjectionTime",
          "maxEjectionPercent",
          "failurePercentageThreshold",
        ]);
        c.integer("spec.outlierDetection.consecutiveErrors", o.consecutiveErrors, 0, U32);
        c.duration("spec.outlierDetection.interval", o.interval);
        c.duration("spec.outlierDetection.baseEjectionTime", o.baseEjectionTime);
        c.integer("spec.outlierDetection.maxEjectionPercent", o.maxEjectionPercent, 0, 100);
        c.integer("spec.outlierDetection.failurePercentageThreshold", o.failurePercentageThreshold, 0, 100);
      }
      if (c.object("spec.loadBalancer", spec.loadBalancer)) {
        const l = spec.loadBalancer as Record<string, unknown>;
        c.known("spec.loadBalancer", l, ["policy", "hashHeader", "localityFailover"]);
        c.oneOf("spec.loadBalancer.policy", l.policy, ["ROUND_ROBIN", "LEAST_REQUEST", "RING_HASH", "RANDOM", "MAGLEV"]);
        c.string("spec.loadBalancer.hashHeader", l.hashHeader);
        if (l.hashHeader !== undefined && l.policy !== "RING_HASH" && l.policy !== "MAGLEV") {
          c.report("spec.loadBalancer.hashHeader", 'policy "RING_HASH" or "MAGLEV" with a hash header', l.policy);
        }
        if (c.list("spec.loadBalancer.localityFailover", l.localityFailover)) {
          l.localityFailover.forEach((x, i) => {
            c.string(`spec.loadBalancer.localityFailover[${i}]`, x, true);
          });
        }
      }
      return;
    }
    case "FaultInjection": {
      c.known("spec", spec, ["targetRef", "delay", "abort"]);
      ref(c, "spec.targetRef", spec.targetRef, ["Service", "HTTPRoute", "GRPCRoute"]);
      if (spec.delay === undefined && spec.abort === undefined) c.report("spec", "a delay, an abort or both", undefined);
      if (c.object("spec.delay", spec.delay)) {
        const d = spec.delay as Record<string, unknown>;
        c.known("spec.delay", d, ["fixedDelay", "percent"]);
        c.duration("spec.delay.fixedDelay", d.fixedDelay, true);
        c.percent("spec.delay.percent", d.percent, true);
      }
      if (c.object("spec.abort", spec.abort)) {
        const a = spec.abort as Record<string, unknown>;
        c.known("spec.abort", a, ["httpStatus", "grpcStatus", "percent"]);
        if ((a.httpStatus === undefined) === (a.grpcStatus === undefined))
          c.report("spec.abort", "exactly one of httpStatus or grpcStatus", a);
        c.integer("spec.abort.httpStatus", a.httpStatus, 200, 599);
        c.integer("spec.abort.grpcStatus", a.grpcStatus, 1, 16);
        c.percent("spec.abort.percent", a.percent, true);
      }
      return;
    }
    case "LocalRateLimit": {
      c.known("spec", spec, ["targetRef", "maxTokens", "tokensPerFill", "fillInterval"]);
      ref(c, "spec.targetRef", spec.targetRef, ["Service"]);
      c.integer("spec.maxTokens", spec.maxTokens, 1, U32, true);
      c.integer("spec.tokensPerFill", spec.tokensPerFill, 1, U32);
      c.duration("spec.fillInterval", spec.fillInterval);
      return;
    }
    case "MTLSPolicy": {
      c.known("spec", spec, ["targetRef", "mode"]);
      if (spec.targetRef !== undefined) ref(c, "spec.targetRef", spec.targetRef, ["Service"]);
      c.oneOf("spec.mode", spec.mode, ["STRICT", "PERMISSIVE", "DISABLE"], true);
      return;
    }
    case "AuthorizationPolicy": {
      c.known("spec", spec, ["targetRef", "action", "rules"]);
      ref(c, "spec.targetRef", spec.targetRef, ["Service"]);
      c.oneOf("spec.action", spec.action, ["ALLOW", "DENY"]);
      if (!c.list("spec.rules", spec.rules, true)) return;
      spec.rules.forEach((r, i) => {
        const p = `spec.rules[${i}]`;
        if (!c.object(p, r, true)) return;
        c.known(p, r, ["from", "to"]);
        if (c.list(`${p}.from`, r.from)) {
          (r.from as unknown[]).forEach((f, j) => {
            if (!c.object(`${p}.from[${j}]`, f, true)) return;
            c.known(`${p}.from[${j}]`, f, ["serviceAccount", "namespace"]);
            if (f.serviceAccount === undefined && f.namespace === undefined)
              c.report(`${p}.from[${j}]`, "a serviceAccount or a namespace", f);
            if (
              f.serviceAccount !== undefined &&
              !(typeof f.serviceAccount === "string" && /^(spiffe:\/\/.+|[^/]+\/[^/]+)$/.test(f.serviceAccount))
            ) {
              c.report(`${p}.from[${j}].serviceAccount`, '"namespace/serviceAccount" or a spiffe:// id', f.serviceAccount);
            }
            c.name(`${p}.from[${j}].namespace`, f.namespace, false);
          });
        }
        if (c.list(`${p}.to`, r.to)) {
          (r.to as unknown[]).forEach((t, j) => {
            if (!c.object(`${p}.to[${j}]`, t, true)) return;
            c.known(`${p}.to[${j}]`, t, ["paths", "methods"]);
            if (c.list(`${p}.to[${j}].paths`, t.paths)) {
              (t.paths as unknown[]).forEach((x, k) => {
                if (typeof x !== "string" || !x.startsWith("/")) c.report(`${p}.to[${j}].paths[${k}]`, "a path starting with /", x);
              });
            }
            if (c.list(`${p}.to[${j}].methods`, t.methods))
              (t.methods as unknown[]).forEach((x, k) => {
                c.string(`${p}.to[${j}].methods[${k}]`, x, true);
              });
          });
        }
      });
      return;
    }
  }
}

export { isObject, MAX };
