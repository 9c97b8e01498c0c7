// The status page: one static HTML file with its script inline, no build
// step (packages/cli/static/status.html). Read once, on first request.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

let page: { html: string; csp: string } | undefined;

function load(): { html: string; csp: string } {
  if (page) return page;
  const html = readFileSync(new URL("../static/status.html", import.meta.url), "utf8");
  // Only the page's own inline script may run (by its hash), and it may talk only to this origin.
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
    (m) =>
      `'sha256-${createHash("sha256")
        .update(m[1] ?? "")
        .digest("base64")}'`,
  );
  const csp = `default-src 'none'; script-src ${scripts.join(" ")}; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
  page = { html, csp };
  return page;
}

/** The page's HTML. */
export function statusPageHtml(): string {
  return load().html;
}

/** The Content-Security-Policy the page is served with: its inline script by hash, requests to its own origin only. */
export function statusPageCsp(): string {
  return load().csp;
}
