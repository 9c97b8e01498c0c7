// A PID lock file: created exclusively (O_EXCL), holding the owner's PID. A
// lock whose PID no longer runs is stale (its owner was killed) and is taken
// over; a live one refuses the second process with a message naming it.
import { readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { ErrorCode, XdskitError } from "@xdskit/envoy-api";

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the lock at `file` for this process; returns its release function. */
export function acquirePidLock(file: string, owner: string): () => void {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: "wx", mode: 0o644 });
      return () => {
        try {
          if (readFileSync(file, "utf8").trim() === String(process.pid)) unlinkSync(file);
        } catch {
          // Already gone: nothing to release.
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new XdskitError(ErrorCode.STORE_FAILED, `${owner}: cannot create the lock file ${file}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    let holder = Number.NaN;
    try {
      holder = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
    } catch {
      // Removed meanwhile: try again.
      continue;
    }
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && running(holder)) {
      throw new XdskitError(
        ErrorCode.STORE_FAILED,
        `${owner}: the state directory is in use by process ${holder} (lock file ${file}); stop that process or use another directory`,
      );
    }
    // Stale (its process is gone) or unreadable: remove and retry.
    try {
      unlinkSync(file);
    } catch {
      // Someone else removed it first.
    }
  }
  throw new XdskitError(ErrorCode.STORE_FAILED, `${owner}: could not take the lock file ${file} (another process keeps racing for it)`);
}
