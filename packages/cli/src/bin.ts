#!/usr/bin/env node
// The `xdskit` command. Every command has --help with examples; docs/serve.md has the reference.
import { Command, InvalidArgumentError } from "commander";
import { configFileList, readConfigFiles } from "./config-files.js";
import type { GroupBy } from "./control-plane.js";
import { describeProblem } from "./resource-docs.js";
import { serve } from "./serve.js";

const integer = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be an integer >= 0");
  return n;
};

const program = new Command("xdskit")
  .description("xdskit: a standalone xDS control plane for Envoy and proxyless gRPC")
  .showHelpAfterError();

program
  .command("serve")
  .description("serve xDS (ADS and per-type, SotW and delta) from a directory of Envoy YAML/JSON and an admin API")
  .option("-c, --config <path>", "directory (or file) of Envoy YAML/JSON documents, reloaded on change")
  .option("--default-group <name>", "node group for documents without `group:`")
  .option("--state-dir <dir>", "keep config set through the admin API here (atomic, fsynced; one serve per directory)")
  .option("--xds <address>", "xDS listen address", "0.0.0.0:18000")
  .option("--admin-host <host>", "admin API host (non-loopback requires --admin-token)", "127.0.0.1")
  .option("--admin-port <port>", "admin API port (0: any free port)", integer, 19000)
  .option("--admin-token <token>", "bearer token the admin API requires (env XDSKIT_ADMIN_TOKEN)", process.env.XDSKIT_ADMIN_TOKEN)
  .option("--group-by <how>", "node grouping: prefix (node id up to its first '-'), cluster or id", "prefix")
  .option("--history <n>", "versions kept per group for rollback", integer, 10)
  .option("--tls-cert <file>", "xDS server certificate chain (PEM)")
  .option("--tls-key <file>", "xDS server private key (PEM)")
  .option("--tls-client-ca <file>", "require xDS client certificates signed by this CA (PEM)")
  .addHelpText(
    "after",
    `
Examples:
  xdskit serve --config ./envoy-config
  xdskit serve --config ./envoy-config --state-dir /var/lib/xdskit --group-by cluster
  curl -X PUT localhost:19000/resources/front -d '{"clusters":[{"name":"web","connect_timeout":"1s"}]}'`,
  )
  .action(async (flags) => {
    try {
      const running = await serve({
        config: flags.config,
        defaultGroup: flags.defaultGroup,
        stateDir: flags.stateDir,
        xdsAddress: flags.xds,
        adminHost: flags.adminHost,
        adminPort: flags.adminPort,
        adminToken: flags.adminToken,
        groupBy: flags.groupBy as GroupBy,
        history: flags.history,
        tlsCert: flags.tlsCert,
        tlsKey: flags.tlsKey,
        tlsClientCa: flags.tlsClientCa,
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
      process.stderr.write(`${JSON.stringify({ level: "fatal", time: new Date().toISOString(), msg: (error as Error).message })}\n`);
      process.exit(1);
    }
  });

program
  .command("validate")
  .description("check Envoy YAML/JSON files offline; exit code 1 and one line per problem when any is invalid")
  .argument("<paths...>", "files or directories")
  .option("--default-group <name>", "node group for documents without `group:`", "default")
  .addHelpText("after", "\nExample:\n  xdskit validate ./envoy-config && echo ok")
  .action((paths: string[], flags) => {
    const files = paths.flatMap((p) => configFileList(p));
    const read = readConfigFiles(files, flags.defaultGroup);
    for (const p of read.problems) process.stdout.write(`${describeProblem(p)}\n`);
    const count = [...read.groups.values()].reduce((n, g) => n + [...g.values()].reduce((m, byName) => m + byName.size, 0), 0);
    process.stdout.write(
      `${read.problems.length === 0 ? "ok" : "invalid"}: ${files.length} file(s), ${read.groups.size} group(s), ${count} resource(s), ${read.problems.length} problem(s)\n`,
    );
    process.exitCode = read.problems.length === 0 ? 0 : 1;
  });

await program.parseAsync();
