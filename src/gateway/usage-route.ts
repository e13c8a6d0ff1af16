/** GET /system/usage?name=&since=&until=: usage totals per function from the ledger (what a bill is made of). */
import type { UsageRecord, UsageStore } from "../store/index.js";
import type { BatchWriter } from "./batch-writer.js";
import { sendJson, type Route } from "./http.js";
import { ledgerQuery } from "./ledger-query.js";

export function usageRoute(store: UsageStore, pending: BatchWriter<UsageRecord>): Route {
  return {
    pattern: /^\/system\/usage$/,
    auth: true,
    methods: {
      GET: async ({ res, url }) => {
        const query = ledgerQuery(url.searchParams, "read usage");
        await pending.flush();
        const totals = await store.totals(query);
        sendJson(res, 200, totals);
      },
    },
  };
}
