// The status page: one static HTML file with its script inline, no build
// step (packages/cli/static/status.html). Read once, on first request.
import { readFileSync } from "node:fs";

let html: string | undefined;

/** The page's HTML. */
export function statusPageHtml(): string {
  html ??= readFileSync(new URL("../static/status.html", import.meta.url), "utf8");
  return html;
}
