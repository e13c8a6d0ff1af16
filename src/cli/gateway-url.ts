/** Which gateway a command talks to, with faas-cli's precedence: flag, environment, stack file, default. */
import { Defaults } from "../shared/constants.js";
import { TfaasError } from "../shared/errors.js";

export const DEFAULT_GATEWAY_URL = `http://${Defaults.host}:${Defaults.port}`;

export interface GatewaySources {
  flag?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  /** `provider.gateway` of the stack file in use, if any. */
  stack?: string | undefined;
}

export function resolveGatewayUrl(sources: GatewaySources): string {
  const candidates: Array<[string, string | undefined]> = [
    ["--gateway", sources.flag],
    ["TFAAS_GATEWAY", sources.env.TFAAS_GATEWAY],
    ["OPENFAAS_URL", sources.env.OPENFAAS_URL],
    ["provider.gateway", sources.stack],
  ];
  for (const [origin, value] of candidates) {
    if (value !== undefined && value.trim() !== "") return normalizeGatewayUrl(value.trim(), origin);
  }
  return DEFAULT_GATEWAY_URL;
}

/** Validates an http(s) URL and trims trailing slashes, so it can be used as a prefix for routes. */
export function normalizeGatewayUrl(value: string, origin: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch (cause) {
    throw new TfaasError("invalid-request", `Cannot use the gateway URL from ${origin}: current value is ${JSON.stringify(value)}, not a URL`, { cause });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TfaasError("invalid-request", `Cannot use the gateway URL from ${origin}: current value is ${JSON.stringify(value)}; expected http:// or https://`);
  }
  if (url.username !== "" || url.password !== "") {
    throw new TfaasError("invalid-request", `Cannot use the gateway URL from ${origin}: it contains credentials; use \`tfaas login\` instead`);
  }
  return value.replace(/\/+$/, "");
}
