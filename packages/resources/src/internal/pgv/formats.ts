// The string formats of protoc-gen-validate's well-known rules.
import { isIP, isIPv4, isIPv6 } from "node:net";

export { isIP, isIPv4, isIPv6 };

/** RFC 1034 host name: labels of 1-63 letters, digits or hyphens (not at the ends), 253 characters in all; one trailing dot allowed. */
export function isHostname(value: string): boolean {
  const host = value.endsWith(".") ? value.slice(0, -1) : value;
  if (host.length === 0 || host.length > 253) return false;
  for (const label of host.split(".")) {
    if (label.length === 0 || label.length > 63) return false;
    if (label.startsWith("-") || label.endsWith("-")) return false;
    if (!/^[0-9A-Za-z-]+$/.test(label)) return false;
  }
  return true;
}

/** RFC 5322 address (optionally `Name <addr>`): local part of 1-64 characters, a valid host name, at most 254 characters. */
export function isEmail(value: string): boolean {
  let addr = value;
  const angle = /<([^<>]+)>\s*$/.exec(value);
  if (angle?.[1]) addr = angle[1];
  if (addr.length > 254) return false;
  const at = addr.lastIndexOf("@");
  if (at <= 0) return false;
  const local = addr.slice(0, at);
  if (local.length > 64 || /[\s<>()[\]\\,;:@"]/.test(local)) return false;
  return isHostname(addr.slice(at + 1));
}

/** Absolute URI: a scheme, a colon, and no whitespace or control characters. */
export function isUri(value: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(value) && isUriRef(value);
}

/** URI reference (absolute or relative): no whitespace or control characters and well-formed percent escapes. */
export function isUriRef(value: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  return !/[\s\u0000-\u001f\u007f]/.test(value) && !/%(?![0-9A-Fa-f]{2})/.test(value);
}

/** A host name or an IP address. */
export function isAddress(value: string): boolean {
  return isIP(value) !== 0 || isHostname(value);
}

/** An RFC 4122 UUID in its 8-4-4-4-12 hex form. */
export function isUuid(value: string): boolean {
  return /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(value);
}

// protoc-gen-validate's header regexes (validate.proto, KnownRegex).
/** HTTP_HEADER_NAME, strict: RFC 7230 token, with an optional leading `:` (HTTP/2 pseudo-headers). */
export const HEADER_NAME_STRICT = /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/;
/** HTTP_HEADER_VALUE, strict: no control characters other than horizontal tab. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the rule is about control characters
export const HEADER_VALUE_STRICT = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;
/** Both header rules with `strict: false`: no NUL, LF or CR. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the rule is about control characters
export const HEADER_LOOSE = /^[^\u0000\u000A\u000D]*$/;
