/** The range query the ledger routes share (/system/usage, /system/receipts): namespace, name, since, until. */
import { TfaasError } from "../shared/errors.js";
import { nameSchema } from "../shared/function.js";
import type { UsageQuery } from "../store/index.js";
import { checkNamespace } from "./functions.js";
import { timeParam } from "./logs-route.js";

/**
 * Reads and checks the range from the query string; `action` names the refused operation in
 * messages ("read usage"). Removed functions keep their ledger entries, so a well-formed name
 * that no function has is not an error.
 */
export function ledgerQuery(params: URLSearchParams, action: string): UsageQuery {
  const namespace = checkNamespace(params.get("namespace") ?? undefined);
  const name = params.get("name") ?? undefined;
  if (name !== undefined && !nameSchema.safeParse(name).success) {
    throw new TfaasError("invalid-request", `Cannot ${action}: name ${JSON.stringify(name)} is not a DNS-1123 label`);
  }
  const since = timeParam(params, "since", action);
  const until = timeParam(params, "until", action);
  return {
    namespace,
    ...(name !== undefined ? { name } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
  };
}
