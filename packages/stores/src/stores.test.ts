// What only the directory store promises: durability across restarts and
// kill -9, and one process per directory. The contract every store keeps is
// in packages/conformance/src/store-contract.test.ts.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ErrorCode } from "@xdskit/envoy-api";
import { afterEach, describe, expect, it } from "vitest";
import { DirectoryConfigStore } from "./directory-store.js";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "xdskit-store-"));
  dirs.push(dir);
  return dir;
}
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const distIndex = fileURLToPath(new URL("../dist/index.js", import.meta.url));

/** A child process that opens the store and puts `i` at `loop` forever, printing each acknowledged revision. */
function writerChild(directory: string): { child: ChildProcess; acked: () => number; ready: Promise<void> } {
  const script = `
    const { DirectoryConfigStore } = await import(${JSON.stringify(distIndex)});
    const store = await DirectoryConfigStore.open({ directory: ${JSON.stringify(directory)} });
    process.stdout.write("open\\n");
    for (let i = 1; ; i++) {
      const big = "x".repeat(20000 + (i % 7) * 1000);
      const revision = await store.put("loop", { i, big });
      process.stdout.write("acked " + revision + " " + i + "\\n");
    }`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  let last = 0;
  let buffer = "";
  const ready = new Promise<void>((resolve) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        if (line === "open") resolve();
        const match = /^acked (\d+) (\d+)$/.exec(line);
        if (match) last = Number(match[2]);
      }
    });
  });
  return { child, acked: () => last, ready };
}

describe("DirectoryConfigStore durability and locking", () => {
  it("state survives close and reopen, revisions continue", async () => {
    const directory = tempDir();
    const store = await DirectoryConfigStore.open({ directory });
    await store.put("groups/a", { version: "1" });
    await store.put("groups/b", { version: "1" });
    await store.delete("groups/b");
    await store.close();
    const again = await DirectoryConfigStore.open({ directory });
    expect(await again.revision()).toBe(3);
    expect((await again.list()).entries.map((e) => e.key)).toEqual(["groups/a"]);
    expect(await again.put("groups/a", { version: "2" }, { expectedRevision: 1 })).toBe(4);
    await again.close();
  });

  it("kill -9 during a write loop: every acknowledged write is there, nothing half-written is read", async () => {
    const directory = tempDir();
    const writer = writerChild(directory);
    await writer.ready;
    await expect.poll(() => writer.acked(), { timeout: 10_000 }).toBeGreaterThan(20);
    writer.child.kill("SIGKILL");
    await new Promise((resolve) => writer.child.once("exit", resolve));
    const ackedBeforeDeath = writer.acked();

    // The killed process's lock is stale and is taken over.
    const store = await DirectoryConfigStore.open({ directory });
    const entry = await store.get("loop");
    const i = (entry?.value as { i: number } | undefined)?.i ?? -1;
    // Acknowledged (printed) writes are durable; at most the one in flight may also have landed.
    expect(i).toBeGreaterThanOrEqual(ackedBeforeDeath);
    expect(i).toBeLessThanOrEqual(ackedBeforeDeath + 1);
    expect(entry?.modRevision).toBe(i);
    expect(readdirSync(directory).filter((n) => n.includes(".tmp-"))).toEqual([]);
    await store.close();
  });

  it("a second process on the same directory is refused with the holder's PID; a stale lock is taken over", async () => {
    const directory = tempDir();
    const writer = writerChild(directory);
    await writer.ready;
    await expect(DirectoryConfigStore.open({ directory })).rejects.toThrow(
      new RegExp(`in use by process ${writer.child.pid} \\(lock file .*lock\\)`),
    );
    writer.child.kill("SIGKILL");
    await new Promise((resolve) => writer.child.once("exit", resolve));
    const store = await DirectoryConfigStore.open({ directory });
    await store.close();
  });

  it("refuses a second open in the same process and a damaged state file", async () => {
    const directory = tempDir();
    const store = await DirectoryConfigStore.open({ directory });
    await expect(DirectoryConfigStore.open({ directory })).rejects.toMatchObject({ code: ErrorCode.STORE_FAILED });
    await store.close();
    writeFileSync(join(directory, "state.json"), "{ half");
    await expect(DirectoryConfigStore.open({ directory })).rejects.toThrow(/state.json is damaged/);
    // The failed open released its lock.
    writeFileSync(join(directory, "state.json"), JSON.stringify({ format: 1, revision: 0, entries: [] }));
    await (await DirectoryConfigStore.open({ directory })).close();
  });
});
