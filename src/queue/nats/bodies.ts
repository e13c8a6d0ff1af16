/**
 * Bodies of queued requests and of results. NATS messages are bounded by the server's
 * `max_payload` (1 MiB by default) while TFaaS accepts 10 MiB requests and 16 MiB outputs, so a
 * body that fits is kept inline (in the ticket, or in the results KV bucket) and a larger one
 * goes to an Object Store, which chunks it.
 */
import type { KV } from "@nats-io/kv";
import type { ObjectStore } from "@nats-io/obj";
import { TfaasError } from "../../shared/errors.js";
import { liveEntry } from "../../store/nats/index.js";

/** Room left in a message for everything but the body (headers, JSON, base64 growth is separate). */
const HEADROOM_BYTES = 64 * 1024;

export class Bodies {
  readonly #results: KV;
  readonly #objects: ObjectStore;
  /** Largest body kept inline in a KV value. */
  readonly inlineLimit: number;

  constructor(results: KV, objects: ObjectStore, maxPayload: number) {
    this.#results = results;
    this.#objects = objects;
    this.inlineLimit = Math.max(1024, maxPayload - HEADROOM_BYTES);
  }

  /** Largest request body kept inline in a ticket, where it is base64 inside JSON. */
  get ticketInlineLimit(): number {
    return Math.floor((this.inlineLimit * 3) / 4);
  }

  async putRequest(key: string, body: Uint8Array): Promise<void> {
    await this.#objects.putBlob({ name: `req.${key}` }, body);
  }

  async getRequest(key: string): Promise<Uint8Array> {
    const body = await this.#objects.getBlob(`req.${key}`);
    if (body === null) throw new TfaasError("internal", `Cannot read the request of call ${key}: current request body object is missing`);
    return body;
  }

  /** Stores a result body; answers whether it went to the object store. */
  async putResult(key: string, body: Uint8Array): Promise<boolean> {
    if (body.length <= this.inlineLimit) {
      await this.#results.put(key, body);
      return false;
    }
    await this.#objects.putBlob({ name: `res.${key}` }, body);
    return true;
  }

  async getResult(key: string, inObject: boolean): Promise<Uint8Array | undefined> {
    if (inObject) return (await this.#objects.getBlob(`res.${key}`)) ?? undefined;
    return liveEntry(await this.#results.get(key))?.value;
  }

  /** Removes whatever is stored for the call (request and result); missing pieces are fine. */
  async remove(key: string, requestInObject: boolean, resultInObject: boolean): Promise<void> {
    const removals: Array<Promise<unknown>> = [this.#results.purge(key)];
    if (requestInObject) removals.push(this.#objects.delete(`req.${key}`));
    if (resultInObject) removals.push(this.#objects.delete(`res.${key}`));
    await Promise.all(removals.map((removal) => removal.catch(() => undefined)));
  }

  async removeRequest(key: string): Promise<void> {
    await this.#objects.delete(`req.${key}`).catch(() => undefined);
  }
}
