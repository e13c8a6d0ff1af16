/** GET /system/usage?name=&since=&until=: usage totals per function from the ledger (what a bill is made of). */
import { TfaasError } from "../shared/errors.js";
import { nameSchema } from "../shared/function.js";
import type { UsageRecord, UsageStore } from "../store/index.js";
import type { BatchWriter } from "./batch-writer.js";
import { checkNamespace } from "./functions.js";
import { sendJson, type Route } from "./http.js";
import { timeParam } from "./logs-route.js";

export function usageRoute(store: UsageStore, pending: BatchWriter<UsageRecord>): Route {
  return {
    pattern: /^\/system\/usage$/,
    auth: true,
    methods: {
      GET: async ({ res, url }) => {
        const params = url.searchParams;
        const namespace = checkNamespace(params.get("namespace") ?? undefined);
        const name = params.get("name") ?? undefined;
        // Removed functions keep their usage: a bill covers them too, so no 404 for unknown names.
        if (name !== undefined && !nameSchema.safeParse(name).success) {
          throw new TfaasError("invalid-request", `Cannot read usage: name ${JSON.stringify(name)} is not a DNS-1123 label`);
        }
        const since = timeParam(params, "since", "read usage");
        const until = timeParam(params, "until", "read usage");
        await pending.flush();
        const totals = await store.totals({
          namespace,
          ...(name !== undefined ? { name } : {}),
          ...(since !== undefined ? { since } : {}),
          ...(until !== undefined ? { until } : {}),
        });
        sendJson(res, 200, totals);
      },
    },
  };
}
