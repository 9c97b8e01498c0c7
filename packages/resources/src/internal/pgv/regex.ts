// RE2 (the regex dialect of protoc-gen-validate patterns) to JavaScript RegExp.
//
// Translated: a leading `(?flags)` group with i, m, s (JS flags), `(?P<name>`
// (named groups), `\A` and `\z` (text anchors), `\pL`/`\PL` (one-letter
// Unicode classes, as `\p{L}`), and POSIX classes inside brackets
// (`[[:alpha:]]`). Patterns compile with the `u` flag when they can (so `.`
// matches a code point, as in RE2), else without it.
// Not equivalent: JS supports backreferences and lookaround that RE2 rejects
// (we do not reject them), RE2's `(?U)` (ungreedy) has no JS equivalent and
// throws, and RE2 runs in linear time while JS may backtrack.

const POSIX: Readonly<Record<string, string>> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\x00-\\x7F",
  blank: "\\t ",
  cntrl: "\\x00-\\x1F\\x7F",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-\\/:-@\\[-`{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};

/**
 * Compiles an RE2 pattern as a JS RegExp.
 * @throws Error when the pattern uses RE2 syntax JS cannot express.
 */
export function compileRe2(pattern: string): RegExp {
  let source = pattern;
  let flags = "";
  const lead = /^\(\?([imsU]+)\)/.exec(source);
  if (lead) {
    const groupFlags = lead[1] ?? "";
    if (groupFlags.includes("U")) throw new Error("RE2 flag U (ungreedy) has no JavaScript equivalent");
    flags = groupFlags;
    source = source.slice(lead[0].length);
  }
  source = source
    .replace(/\(\?P</g, "(?<")
    .replace(/\\A/g, "^")
    .replace(/\\z/g, "$")
    .replace(/\\([pP])([A-Za-z])(?!\{)/g, "\\$1{$2}")
    .replace(/\[:(\^?)([a-z]+):\]/g, (whole, negate: string, name: string) => {
      const range = POSIX[name];
      if (range === undefined) return whole;
      if (negate) throw new Error(`negated POSIX class [:^${name}:] is not supported`);
      return range;
    });
  try {
    return new RegExp(source, `${flags}u`);
  } catch {
    return new RegExp(source, flags);
  }
}
