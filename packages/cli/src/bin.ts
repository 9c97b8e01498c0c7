#!/usr/bin/env node
import { readFileSync } from "node:fs";
// The `xdskit` command. Every command has --help with examples; docs/serve.md has the reference.
import type { NodeStatus } from "@xdskit/cache";
import { Command, InvalidArgumentError, Option } from "commander";
import { parse, stringify } from "yaml";
import { AdminRequestFailed, adminRequest, formatStatus, nodeNacking } from "./admin-client.js";
import type { GroupBy } from "./control-plane.js";

// serve and validate load the Envoy API (large); the admin clients and --help do not, so they start fast.

const integer = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be an integer >= 0");
  return n;
};
const fatal = (message: string) =>
  process.stderr.write(`${JSON.stringify({ level: "fatal", time: new Date().toISOString(), msg: message })}\n`);
const profileOption = () =>
  new Option("--profile <profile>", "validation rules: envoy, or grpc (stricter: what proxyless gRPC clients NACK)")
    .choices(["envoy", "grpc"])
    .default("envoy");
const adminOptions = (command: Command) =>
  command
    .option("--admin <url>", "admin API of a running xdskit serve (env XDSKIT_ADMIN)", process.env.XDSKIT_ADMIN ?? "http://127.0.0.1:19000")
    .option("--token <token>", "bearer token of the admin API (env XDSKIT_ADMIN_TOKEN)", process.env.XDSKIT_ADMIN_TOKEN);
/** Runs an admin client command; a failed request is one line on stderr and exit code 1. */
const client =
  (run: (...args: any[]) => Promise<void>) =>
  async (...args: any[]) => {
    try {
      await run(...args);
    } catch (error) {
      if (!(error instanceof AdminRequestFailed)) throw error;
      process.stderr.write(`xdskit: ${error.message}\n`);
      process.exitCode = 1;
    }
  };

const program = new Command("xdskit")
  .description("xdskit: a standalone xDS control plane for Envoy and proxyless gRPC")
  .showHelpAfterError()
  .addHelpText(
    "after",
    `
Examples:
  xdskit serve --config ./envoy-config --state-dir ./state
  xdskit validate ./envoy-config --profile grpc
  xdskit status
  xdskit get front -o yaml

Docs: https://github.com/xdskit/xdskit/blob/main/docs/serve.md`,
  );

program
  .command("serve")
  .description("serve xDS (ADS and per-type, SotW and delta) from a directory of Envoy YAML/JSON and an admin API")
  .option("-c, --config <path>", "directory (or file) of Envoy YAML/JSON documents, reloaded on change")
  .option(
    "--settings <file>",
    "YAML/JSON file of serve flags (keys are flag names, e.g. group-by: cluster); flags given on the command line win",
  )
  .option("--default-group <name>", "node group for documents without `group:`")
  .option("--mesh-instances <file>", "YAML of the mesh model's Service instances (namespace/name: [instances]), re-read on change")
  .option("--state-dir <dir>", "keep config set through the admin API here (atomic, fsynced; one serve per directory)")
  .option("--store <url>", "share config with other replicas through etcd: etcd://host:port[,host:port]/prefix (instead of --state-dir)")
  .option("--replica-id <id>", "with --store: this replica's id in the fleet status (default <hostname>-<pid>)")
  .option("--xds <address>", "xDS listen address", "0.0.0.0:18000")
  .option("--admin-host <host>", "admin API host (non-loopback requires --admin-token)", "127.0.0.1")
  .option("--admin-port <port>", "admin API port (0: any free port)", integer, 19000)
  .option("--admin-token <token>", "bearer token the admin API requires (env XDSKIT_ADMIN_TOKEN)", process.env.XDSKIT_ADMIN_TOKEN)
  .option("--group-by <how>", "node grouping: prefix (node id up to its first '-'), cluster or id", "prefix")
  .option("--history <n>", "versions kept per group for rollback", integer, 10)
  .addOption(profileOption())
  .option("--tls-cert <file>", "xDS server certificate chain (PEM)")
  .option("--tls-key <file>", "xDS server private key (PEM)")
  .option("--tls-client-ca <file>", "require xDS client certificates signed by this CA (PEM)")
  .option("--require-node-identity", "serve a node only when its id is its client certificate's SPIFFE id or a SAN (needs --tls-client-ca)")
  .option(
    "--workers <n>",
    "processes serving xDS on the shared port (this one keeps the state and the admin API); 1 to 4 x CPUs",
    integer,
    1,
  )
  .option(
    "--transport <transport>",
    "what serves the xDS port: grpc (grpc-js) or http2 (xdskit's gRPC on node:http2: less CPU per stream, no compression)",
    "grpc",
  )
  .addHelpText(
    "after",
    `
Examples:
  xdskit serve --config ./envoy-config
  xdskit serve --config ./envoy-config --state-dir /var/lib/xdskit --group-by cluster
  xdskit serve --settings /etc/xdskit/serve.yaml
  xdskit serve --config ./envoy-config --workers 2
  xdskit serve --config ./envoy-config --transport http2 --workers 2
  xdskit serve --store etcd://127.0.0.1:2379/xdskit/ --xds 0.0.0.0:18001 --admin-port 19001
  xdskit serve --profile grpc --admin-host 0.0.0.0 --admin-token "$(cat token)"
  xdskit serve --tls-cert xds.pem --tls-key xds-key.pem --tls-client-ca ca.pem --require-node-identity
  curl -X PUT localhost:19000/resources/front -d '{"clusters":[{"name":"web","connect_timeout":"1s"}]}'`,
  )
  .action(async (flags, command: Command) => {
    try {
      if (flags.settings !== undefined) applySettings(command, flags, flags.settings);
      const { serve } = await import("./serve.js");
      const running = await serve({
        config: flags.config,
        defaultGroup: flags.defaultGroup,
        stateDir: flags.stateDir,
        store: flags.store,
        replicaId: flags.replicaId,
        meshInstances: flags.meshInstances,
        xdsAddress: flags.xds,
        adminHost: flags.adminHost,
        adminPort: flags.adminPort,
        adminToken: flags.adminToken,
        groupBy: flags.groupBy as GroupBy,
        history: flags.history,
        profile: flags.profile,
        tlsCert: flags.tlsCert,
        tlsKey: flags.tlsKey,
        tlsClientCa: flags.tlsClientCa,
        requireNodeIdentity: flags.requireNodeIdentity === true,
        workers: flags.workers,
        transport: flags.transport,
      });
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`${JSON.stringify({ level: "info", time: new Date().toISOString(), msg: `${signal}: shutting down` })}\n`);
        running.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on("SIGTERM", () => stop("SIGTERM"));
      process.on("SIGINT", () => stop("SIGINT"));
    } catch (error) {
      fatal((error as Error).message);
      process.exit(1);
    }
  });

program
  .command("validate")
  .description("check Envoy YAML/JSON files offline as serve would; exit code 1 and one line per problem when any is invalid")
  .argument("<paths...>", "files or directories")
  .option("--default-group <name>", "node group for documents without `group:`", "default")
  .addOption(profileOption())
  .addHelpText(
    "after",
    `
Examples:
  xdskit validate ./envoy-config && echo ok
  xdskit validate front.yaml back.yaml --profile grpc     # rules of proxyless gRPC clients too`,
  )
  .action(async (paths: string[], flags) => {
    const { validateFiles } = await import("./validate-files.js");
    const { describeProblem } = await import("./resource-docs.js");
    const result = validateFiles(paths, { defaultGroup: flags.defaultGroup, profile: flags.profile });
    for (const p of result.problems) process.stdout.write(`${describeProblem(p)}\n`);
    process.stdout.write(
      `${result.problems.length === 0 ? "ok" : "invalid"}: ${result.files.length} file(s), ${result.groups} group(s), ${result.resources} resource(s), ${result.problems.length} problem(s) (profile ${flags.profile})\n`,
    );
    process.exitCode = result.problems.length === 0 ? 0 : 1;
  });

adminOptions(
  program
    .command("status")
    .description("what each connected node was sent, ACKed and NACKed (with the reason); exit code 2 when a node is NACKing")
    .option("-g, --group <group>", "only the nodes of this group")
    .option("--json", "print the admin API's JSON"),
)
  .addHelpText(
    "after",
    `
Examples:
  xdskit status
  xdskit status --group front --admin http://10.0.0.5:19000 --token "$TOKEN"
  xdskit status --json | jq '.nodes[].nodeId'`,
  )
  .action(
    client(async (flags) => {
      const { nodes } = (await adminRequest(flags, "GET", "/v1/status")) as { nodes: NodeStatus[] };
      const shown = flags.group === undefined ? nodes : nodes.filter((n) => n.group === flags.group);
      process.stdout.write(flags.json ? `${JSON.stringify({ nodes: shown }, null, 2)}\n` : formatStatus(shown));
      if (shown.some(nodeNacking)) process.exitCode = 2;
    }),
  );

adminOptions(
  program
    .command("get")
    .description("the groups served, or one group's config as served (a document `xdskit serve --config` reads back)")
    .argument("[group]", "a node group; without it, every group and the version it serves")
    .option("--api", "only the resources set through the admin API (with the store revision for If-Match)")
    .option("--history", "the versions kept for rollback")
    .addOption(new Option("-o, --output <format>", "output format").choices(["yaml", "json"]).default("yaml")),
)
  .addHelpText(
    "after",
    `
Examples:
  xdskit get                          # groups and versions
  xdskit get front > front.yaml       # the merged config of group front, as a config document
  xdskit get front --api -o json      # what the API set, and its revision
  xdskit get front --history`,
  )
  .action(
    client(async (group: string | undefined, flags) => {
      let out: unknown;
      if (group === undefined) out = await adminRequest(flags, "GET", "/v1/groups");
      else if (flags.history) out = await adminRequest(flags, "GET", `/v1/groups/${encodeURIComponent(group)}/history`);
      else if (flags.api) out = await adminRequest(flags, "GET", `/v1/groups/${encodeURIComponent(group)}/resources`);
      else {
        const dump = (await adminRequest(flags, "GET", `/v1/groups/${encodeURIComponent(group)}`)) as {
          version: string;
          resources: unknown[];
        };
        out = { group, version: dump.version, resources: dump.resources };
      }
      if (flags.output === "json") process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      else {
        // `version` is informational: a config document has only group and resources.
        const { version, ...doc } = out as { version?: unknown };
        process.stdout.write(
          `${version === undefined ? "" : `# version ${version}\n`}${stringify(group && !flags.api && !flags.history ? doc : out)}`,
        );
      }
    }),
  );

const collect = (value: string, previous: string[] = []) => [...previous, value];

adminOptions(
  program
    .command("canary")
    .description(
      "roll a change out to part of a group first: promoted to the whole group once that part ACKs, rolled back on a NACK; exit code 2 when rolled back",
    )
    .argument("<group>", "the node group")
    .option(
      "-f, --file <file>",
      "the change: a YAML/JSON document with resources or collections (clusters, endpoints, ...), as in config files",
    )
    .option("--percentage <n>", "share of the group's nodes, above 0 and at most 100 (chosen by a hash of group and node id)", Number)
    .option("--selector <path=value>", "node metadata the node must have (repeatable; dotted paths)", collect)
    .option("--timeout-ms <ms>", "how long the chosen nodes have to ACK before it is rolled back (default 60000)", Number)
    .option("--replace", "the file replaces the group's API resources (as PUT) instead of upserting (as PATCH)")
    .option("--no-wait", "start it and print its status without waiting for the outcome")
    .option("--status", "print the group's running or last canary")
    .option("--abort", "roll the group's running canary back now")
    .option("--json", "print the admin API's JSON"),
)
  .addHelpText(
    "after",
    `
Examples:
  xdskit canary edge -f new-endpoints.yaml --percentage 10
  xdskit canary edge -f listener.yaml --selector canary=true --timeout-ms 120000
  xdskit canary edge -f change.yaml --percentage 25 --no-wait && xdskit canary edge --status
  xdskit canary edge --abort`,
  )
  .action(
    client(async (group: string, flags) => {
      const path = `/v1/groups/${encodeURIComponent(group)}/canary`;
      let status: Record<string, any>;
      if (flags.abort) status = (await adminRequest(flags, "DELETE", path)) as Record<string, any>;
      else if (flags.status) status = (await adminRequest(flags, "GET", path)) as Record<string, any>;
      else {
        if (!flags.file) throw new AdminRequestFailed(0, "give the change with -f <file> (or --status, or --abort)");
        let doc: Record<string, unknown>;
        try {
          doc = parse(readFileSync(flags.file, "utf8")) ?? {};
        } catch (error) {
          throw new AdminRequestFailed(0, `cannot read ${flags.file}: ${(error as Error).message}`);
        }
        const { group: _group, ...change } = doc;
        const selector = flags.selector
          ? Object.fromEntries(
              (flags.selector as string[]).map((s) => {
                const at = s.indexOf("=");
                if (at <= 0) throw new AdminRequestFailed(0, `--selector ${s}: expected path=value`);
                return [s.slice(0, at), s.slice(at + 1)];
              }),
            )
          : undefined;
        status = (await adminRequest(flags, "POST", `${path}${flags.wait ? "?wait=1" : ""}`, {
          ...change,
          ...(flags.percentage === undefined ? {} : { percentage: flags.percentage }),
          ...(selector === undefined ? {} : { selector }),
          ...(flags.timeoutMs === undefined ? {} : { timeoutMs: flags.timeoutMs }),
          ...(flags.replace ? { replace: true } : {}),
        })) as Record<string, any>;
      }
      if (flags.json) process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      else {
        const list = (names: string[]) => (names.length ? names.join(", ") : "none");
        process.stdout.write(
          `canary #${status.id} of group ${status.group}: ${status.state}${status.reason ? ` (${status.reason})` : ""}\n` +
            `  version ${status.version}; changes ${[...status.diff.added, ...status.diff.changed, ...status.diff.removed].join(", ")}\n` +
            `  selected ${list(status.selected)}; ACKed ${list(status.acked)}; pending ${list(status.pending)}\n` +
            status.nacked.map((n: Record<string, string>) => `  NACK from ${n.nodeId} for ${n.typeUrl}: ${n.message}\n`).join("") +
            (status.promotedVersion === undefined ? "" : `  the group now serves API version ${status.promotedVersion}\n`),
        );
      }
      if (status.state === "rolled-back") process.exitCode = 2;
    }),
  );

await program.parseAsync();

/**
 * `serve --settings <file>`: each key is a long flag name (`group-by`,
 * `state-dir`, ...), its value the flag's; a flag given on the command line
 * wins over the file. An unknown key or a value of the wrong kind stops
 * serve with the file, the key and what was expected.
 */
function applySettings(command: Command, flags: Record<string, unknown>, file: string): void {
  let parsed: unknown;
  try {
    parsed = parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new Error(`--settings ${file}: cannot read it as YAML or JSON: ${(error as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return;
  if (typeof parsed !== "object" || Array.isArray(parsed)) throw new Error(`--settings ${file}: must be a mapping of flag names to values`);
  const options = command.options.filter((o) => o.long !== undefined && o.long !== "--settings");
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    const option = options.find((o) => o.long === `--${key}`);
    if (!option) {
      const names = options.map((o) => (o.long as string).slice(2)).join(", ");
      throw new Error(`--settings ${file}: unknown setting "${key}" (expected one of ${names})`);
    }
    const attribute = option.attributeName();
    if (command.getOptionValueSource(attribute) === "cli") continue;
    const expected = option.isBoolean() ? "boolean" : typeof option.defaultValue === "number" ? "number" : "string";
    const ok = expected === "number" ? Number.isInteger(value) && (value as number) >= 0 : typeof value === expected;
    if (!ok)
      throw new Error(
        `--settings ${file}: "${key}" must be ${expected === "number" ? "a non-negative integer" : `a ${expected}`}; got ${JSON.stringify(value)}`,
      );
    flags[attribute] = value;
  }
}
