/**
 * The request half of the CGI / classic-watchdog ABI: what a WASI function finds in its
 * environment. The function's envVars come first; request-derived names follow and win on a
 * clash, so a function always sees the request it is actually serving.
 */
import type { InvocationRequest } from "../index.js";

/** Header names are HTTP tokens; anything not alphanumeric becomes "_" in a variable name. */
function variablePart(headerName: string): string[] {
  return headerName.split("-").map((part) => part.replace(/[^A-Za-z0-9]/g, "_"));
}

/** "x-call-id" → "X_Call_Id", as Go's canonical header form that the classic watchdog exports. */
function watchdogName(headerName: string): string {
  return variablePart(headerName)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1).toLowerCase())
    .join("_");
}

export function buildEnvironment(request: InvocationRequest, envVars: Readonly<Record<string, string>>): Map<string, string> {
  const env = new Map<string, string>(Object.entries(envVars));
  const contentType = request.headers["content-type"];
  const contentLength = String(request.body.length);

  // CGI (RFC 3875) meta-variables. Content-Type and Content-Length have their own names there.
  env.set("REQUEST_METHOD", request.method);
  env.set("PATH_INFO", request.path);
  env.set("QUERY_STRING", request.query);
  if (contentType !== undefined) env.set("CONTENT_TYPE", contentType);
  env.set("CONTENT_LENGTH", contentLength);
  env.set("SERVER_PROTOCOL", "HTTP/1.1");
  for (const [name, value] of Object.entries(request.headers)) {
    if (name === "content-type" || name === "content-length") continue;
    env.set(`HTTP_${variablePart(name).join("_").toUpperCase()}`, value);
  }

  // OpenFaaS classic watchdog names.
  env.set("Http_Method", request.method);
  env.set("Http_Path", request.path);
  env.set("Http_Query", request.query);
  for (const [name, value] of Object.entries(request.headers)) {
    if (name === "content-length") continue;
    env.set(`Http_${watchdogName(name)}`, value);
  }
  env.set("Http_Content_Length", contentLength);
  return env;
}
