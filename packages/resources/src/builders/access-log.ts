import { AccessLog } from "@xdskit/envoy-api/envoy/config/accesslog/v3/accesslog";
import { FileAccessLog } from "@xdskit/envoy-api/envoy/extensions/access_loggers/file/v3/file";
import { StdoutAccessLog } from "@xdskit/envoy-api/envoy/extensions/access_loggers/stream/v3/stream";
import { typedExtension } from "./common.js";
import { WellKnownName } from "./well-known.js";

/** Options of the access-log builders. */
export interface AccessLogOptions {
  /** A format string (`%START_TIME% %REQ(:METHOD)% ...`), or a JSON object of format strings. Default: Envoy's default format. */
  readonly format?: string | Readonly<Record<string, string>>;
}

function logFormat(options: AccessLogOptions) {
  if (options.format === undefined) return {};
  if (typeof options.format === "string") return { logFormat: { textFormatSource: { inlineString: options.format } } };
  return { logFormat: { jsonFormat: { ...options.format } } };
}

/** An access log written to a file. @example fileAccessLog("/var/log/envoy/access.log") */
export function fileAccessLog(path: string, options: AccessLogOptions = {}): AccessLog {
  return AccessLog.fromPartial(typedExtension(WellKnownName.FileAccessLog, FileAccessLog, { path, ...logFormat(options) }));
}

/** An access log written to standard output. @example stdoutAccessLog({ format: { method: "%REQ(:METHOD)%", code: "%RESPONSE_CODE%" } }) */
export function stdoutAccessLog(options: AccessLogOptions = {}): AccessLog {
  return AccessLog.fromPartial(typedExtension(WellKnownName.StdoutAccessLog, StdoutAccessLog, logFormat(options)));
}
