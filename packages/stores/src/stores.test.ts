// The ConfigStore contract, run against both embedded stores, then what only
// the directory store promises: durability across restarts and kill -9, and
// one process per directory.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ErrorCode } from "@xdskit/envoy-api";
import { firstValueFrom, take, toArray } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import type { ConfigStore } from "./config-store.js";
import { DirectoryConfigStore } from "./directory-store.js";
import { MemoryConfigStore } from "./memory-store.js";

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

const makers: [string, () => Promise<ConfigStore>][] = [
  ["MemoryConfigStore", async () => new MemoryConfigStore({ maxLoggedEvents: 3 })],
  ["DirectoryConfigStore", () => DirectoryConfigStore.open({ directory: tempDir(), maxLoggedEvents: 3 })],
];

describe.each(makers)("%s (the ConfigStore contract)", (_name, make) => {
  it("numbers every write with the next store revision and keeps create/mod revisions per key", async () => {
    const store = await make();
    expect(await store.revision()).toBe(0);
    expect(await store.put("groups/a", { v: 1 })).toBe(1);
    expect(await store.put("groups/b", { v: 1 })).toBe(2);
    expect(await store.put("groups/a", { v: 2 })).toBe(3);
    expect(await store.get("groups/a")).toEqual({ key: "groups/a", value: { v: 2 }, createRevision: 1, modRevision: 3 });
    const listing = await store.list("groups/");
    expect(listing.revision).toBe(3);
    expect(listing.entries.map((e) => e.key)).toEqual(["groups/a", "groups/b"]);
    expect(await store.delete("groups/b")).toBe(4);
    expect(await store.delete("groups/b")).toBeUndefined();
    expect(await store.get("groups/b")).toBeUndefined();
    await store.close();
  });

  it("compare-and-set: a write with a stale expectedRevision is refused and changes nothing", async () => {
    const store = await make();
    const first = await store.put("k", "one", { expectedRevision: 0 });
    await expect(store.put("k", "again", { expectedRevision: 0 })).rejects.toMatchObject({ code: ErrorCode.STORE_CONFLICT, path: "k" });
    const second = await store.put("k", "two", { expectedRevision: first });
    await expect(store.put("k", "lost", { expectedRevision: first })).rejects.toThrow(/expected revision 1 but the key is at revision 2/);
    await expect(store.delete("k", { expectedRevision: first })).rejects.toMatchObject({ code: ErrorCode.STORE_CONFLICT });
    expect((await store.get("k"))?.value).toBe("two");
    expect(await store.delete("k", { expectedRevision: second })).toBe(3);
    await store.close();
  });

  it("stored values are copies, frozen: the caller's object can change afterwards", async () => {
    const store = await make();
    const value = { list: [1] };
    await store.put("k", value);
    value.list.push(2);
    const entry = await store.get("k");
    expect(entry?.value).toEqual({ list: [1] });
    expect(Object.isFrozen(entry?.value)).toBe(true);
    await store.close();
  });

  it("watch resumes from a revision, filters by prefix, and errors once the log no longer reaches back", async () => {
    const store = await make();
    await store.put("a/1", 1);
    await store.put("b/1", 1);
    const events = firstValueFrom(store.watch("a/", 1).pipe(take(2), toArray()));
    await store.put("a/2", 2);
    await store.delete("a/1");
    expect((await events).map((e) => [e.kind, e.revision])).toEqual([
      ["put", 3],
      ["delete", 4],
    ]);
    // The log keeps 3 events (revisions 2..4): revision 0 is too old.
    await expect(firstValueFrom(store.watch("", 0))).rejects.toMatchObject({ code: ErrorCode.STORE_FAILED });
    await store.close();
  });

  it("refuses keys that cannot be stored", async () => {
    const store = await make();
    await expect(store.put("", 1)).rejects.toMatchObject({ code: ErrorCode.API_MISUSE });
    await store.close();
  });
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
