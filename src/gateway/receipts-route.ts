/**
 * Receipts from the usage ledger, as the workers signed them. The ledger keeps each in its
 * compact form (the X-Tfaas-Receipt value, as it went out); they are served in their JSON form,
 * decoded strictly, the Merkle root recomputed from the content and audit path:
 * - GET /system/receipts/{callId} → one receipt (404 when the call is unknown or has none);
 * - GET /system/receipts?since=&until=&name=&limit= → the receipts of a range, in ledger order
 *   (what `tfaas usage --verify` recomputes a bill from).
 * The gateway stores and relays receipts; it cannot forge them, but it can withhold them, which a
 * verifier sees as gaps in a worker's chain (docs/receipts.md).
 */
import { decodeReceiptHeader, type SignedReceipt } from "../crypto/index.js";
import { TfaasError } from "../shared/errors.js";
import type { UsageRecord, UsageStore } from "../store/index.js";
import type { BatchWriter } from "./batch-writer.js";
import { sendJson, type Route } from "./http.js";
import { ledgerQuery } from "./ledger-query.js";

const DEFAULT_LIMIT = 10_000;
const MAX_LIMIT = 100_000;

function limitOf(text: string | null): number {
  if (text === null || text === "") return DEFAULT_LIMIT;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_LIMIT) {
    throw new TfaasError("invalid-request", `Cannot list receipts: limit must be 1 to ${MAX_LIMIT}, current value is ${JSON.stringify(text)}`);
  }
  return value;
}

/** A stored receipt that does not decode is the ledger's fault, not the client's: `internal`, naming the call. */
function parsed(record: UsageRecord): SignedReceipt {
  try {
    return decodeReceiptHeader(record.receipt!);
  } catch (error) {
    throw new TfaasError("internal", `Cannot serve the receipt of call ${JSON.stringify(record.callId.slice(0, 128))}: the stored form does not decode`, { cause: error });
  }
}

export function receiptsRoutes(store: UsageStore, pending: BatchWriter<UsageRecord>): Route[] {
  return [
    {
      pattern: /^\/system\/receipts\/([^/]+)$/,
      auth: true,
      methods: {
        GET: async ({ res, params }) => {
          let callId: string;
          try {
            callId = decodeURIComponent(params[0]!);
          } catch {
            throw new TfaasError("invalid-request", "Cannot find a receipt: current call id is not valid percent-encoding");
          }
          await pending.flush();
          const record = await store.get(callId);
          if (record?.receipt === undefined) throw new TfaasError("not-found", `Cannot find a receipt for call ${JSON.stringify(callId.slice(0, 128))}`);
          sendJson(res, 200, parsed(record));
        },
      },
    },
    {
      pattern: /^\/system\/receipts$/,
      auth: true,
      methods: {
        GET: async ({ res, url }) => {
          const query = ledgerQuery(url.searchParams, "list receipts");
          const limit = limitOf(url.searchParams.get("limit"));
          await pending.flush();
          const records = await store.list({ ...query, limit });
          sendJson(res, 200, records.filter((record) => record.receipt !== undefined).map(parsed));
        },
      },
    },
  ];
}
