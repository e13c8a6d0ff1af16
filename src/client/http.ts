/** The client library's HTTP: the gateway's URL, optional Basic credentials, and errors as TfaasError. */
import { TfaasError, isErrorCode, type ErrorCode } from "../shared/errors.js";

export interface GatewayTarget {
  /** Base URL, without a trailing slash. */
  url: string;
  /** For /system/attestation (behind auth); /function/* and /system/ohttp-keys need none. */
  credentials?: { user: string; password: string };
}

function codeFor(status: number): ErrorCode {
  if (status === 401) return "unauthorized";
  if (status === 404) return "not-found";
  if (status === 409) return "conflict";
  return status >= 500 ? "unavailable" : "invalid-request";
}

/** A request to the gateway; a non-2xx answer throws with the gateway's code and (short, public) message. */
export async function gatewayFetch(target: GatewayTarget, pathname: string, init: RequestInit, action: string): Promise<Response> {
  const headers = new Headers(init.headers);
  if (target.credentials !== undefined && pathname.startsWith("/system/")) {
    headers.set("authorization", `Basic ${Buffer.from(`${target.credentials.user}:${target.credentials.password}`).toString("base64")}`);
  }
  let response: Response;
  try {
    response = await fetch(target.url + pathname, { ...init, headers });
  } catch (cause) {
    throw new TfaasError("unavailable", `Cannot ${action}: the gateway at ${target.url} is unreachable`, { cause });
  }
  if (response.ok) return response;
  const text = (await response.text().catch(() => "")).trim().slice(0, 500);
  const sent = response.headers.get("x-tfaas-error");
  const code = sent !== null && isErrorCode(sent) ? sent : codeFor(response.status);
  throw new TfaasError(code, `Cannot ${action}: the gateway answered ${response.status}${text === "" ? "" : `: ${text}`}`);
}
