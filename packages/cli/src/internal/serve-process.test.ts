// Test harness shared by the cli tests: spawns the real `xdskit` binary on
// free ports, parses its JSON log lines, talks to its admin API, and cleans
// up (processes killed, temp directories removed) after each test.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FakeEnvoy } from "@xdskit/testing";
import { afterEach, describe, expect, it } from "vitest";

export const bin = fileURLToPath(new URL("../../dist/bin.js", import.meta.url));
const cleanup: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** Runs `f` after the current test. */
export function afterThisTest(f: () => void | Promise<void>): void {
  cleanup.push(f);
}

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "xdskit-serve-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Running {
  child: ChildProcess;
  xdsPort: number;
  adminPort: number;
  adminUrl: string;
  logs: Record<string, unknown>[];
  summary: Record<string, unknown>;
  admin(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  exited: Promise<number | null>;
}

/** Spawns `xdskit serve ARGS` and resolves on its startup summary (or rejects with its logs). */
export async function startServe(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [bin, "serve", "--xds", "127.0.0.1:0", "--admin-port", "0", ...args], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  cleanup.push(async () => {
    child.kill("SIGKILL");
    await exited;
  });
  const logs: Record<string, unknown>[] = [];
  let buffer = "";
  const started = new Promise<Record<string, unknown>>((resolve, reject) => {
    child.stderr?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        const entry = (line.startsWith("{") ? JSON.parse(line) : { msg: line }) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === "xdskit serve started") resolve(entry);
      }
    });
    exited.then((code) => reject(new Error(`xdskit serve exited with ${code}: ${JSON.stringify(logs)}`)));
  });
  const summary = await started;
  const adminPort = summary.adminPort as number;
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  return {
    child,
    xdsPort: summary.xdsPort as number,
    adminPort,
    adminUrl,
    logs,
    summary,
    exited,
    async admin(method, path, body, headers = {}) {
      const response = await fetch(`${adminUrl}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {}
      return { status: response.status, body: parsed };
    },
  };
}

/** Runs an `xdskit` command to completion: exit code, stdout and stderr. */
export function runXdskit(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, stdout, stderr })));
}

/** A FakeEnvoy closed after the test. */
export async function envoy(port: number, id: string, extra: Partial<Parameters<typeof FakeEnvoy.start>[0]> = {}) {
  const e = await FakeEnvoy.start({ address: `127.0.0.1:${port}`, node: { id }, ...extra });
  cleanup.push(() => e.close());
  return e;
}

describe("serve-process harness", () => {
  it("reports a serve that cannot start with its exit code and log lines", async () => {
    await expect(startServe(["--group-by", "nonsense"])).rejects.toThrow(/exited with 1: .*group-by/);
  });
});
