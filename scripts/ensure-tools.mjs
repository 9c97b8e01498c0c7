#!/usr/bin/env node
// Makes sure the real components some tests start are on this machine:
// etcd (Debian `etcd-server`, for the scale-out tests) and Chromium (Debian
// `chromium`, for the status-page test) and the openssl CLI (the mTLS tests
// make their certificates with it). `pnpm test` runs this first.
//
// Missing ones are installed with apt when we run as root on a machine that
// has apt-get (CI, a fresh container). Elsewhere it says what to install and
// exits non-zero, unless XDSKIT_SKIP_TOOLS=1 is set: then the tests that
// need a missing tool report themselves skipped, by name, and nothing else.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** Each tool: how to find it and which Debian package provides it. */
const TOOLS = [
  { name: "etcd", binaries: ["etcd"], apt: "etcd-server" },
  { name: "Chromium", binaries: ["chromium", "chromium-browser"], apt: "chromium" },
  { name: "OpenSSL", binaries: ["openssl"], apt: "openssl" },
];

function onPath(binary) {
  return spawnSync("sh", ["-c", `command -v ${binary}`], { stdio: "ignore" }).status === 0;
}

const missing = TOOLS.filter((tool) => !tool.binaries.some(onPath));
if (missing.length === 0) process.exit(0);

const packages = missing.map((tool) => tool.apt);
const canApt = process.getuid?.() === 0 && existsSync("/usr/bin/apt-get");
if (canApt) {
  console.log(
    `ensure-tools: installing ${packages.join(", ")} with apt-get (needed by the tests that start a real ${missing.map((t) => t.name).join(" and ")})`,
  );
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  try {
    execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
    execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], { stdio: "inherit", env });
  } catch (error) {
    console.error(
      `ensure-tools: apt-get install ${packages.join(" ")} failed (${error.message.split("\n")[0]}); install them by hand and rerun`,
    );
    process.exit(1);
  }
  const still = missing.filter((tool) => !tool.binaries.some(onPath));
  if (still.length === 0) process.exit(0);
  console.error(`ensure-tools: apt-get ran but ${still.map((t) => t.name).join(", ")} is still not on PATH`);
  process.exit(1);
}
const advice = `install them (Debian/Ubuntu: sudo apt-get install ${packages.join(" ")}), or set XDSKIT_SKIP_TOOLS=1 to skip the tests that need them`;
if (process.env.XDSKIT_SKIP_TOOLS === "1") {
  console.warn(
    `ensure-tools: ${missing.map((t) => t.name).join(", ")} missing; the tests that need them will be skipped (XDSKIT_SKIP_TOOLS=1)`,
  );
  process.exit(0);
}
console.error(`ensure-tools: some tests start a real ${missing.map((t) => t.name).join(" and ")}, which this machine lacks; ${advice}.`);
process.exit(1);
