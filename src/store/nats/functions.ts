/**
 * Function records in a KV bucket: key `<namespace>.<name>` (tokens, see keys.ts), value the
 * record as JSON. Create and update are compare-and-set on the key's revision, so two gateways
 * racing to create the same function get one success and one `conflict`.
 */
import type { KV } from "@nats-io/kv";
import { TfaasError } from "../../shared/errors.js";
import type { FunctionRecord } from "../../shared/function.js";
import type { FunctionStore } from "../index.js";
import type { Guard } from "./guard.js";
import { isWrongLastSequence, liveEntry, updateLive } from "./kv-util.js";
import { token } from "./keys.js";

export class NatsFunctionStore implements FunctionStore {
  readonly #kv: KV;
  readonly #guard: Guard;

  constructor(kv: KV, guard: Guard) {
    this.#kv = kv;
    this.#guard = guard;
  }

  list(namespace: string): Promise<FunctionRecord[]> {
    return this.#guard.run("list functions", async () => {
      const keys: string[] = [];
      for await (const key of await this.#kv.keys(`${token(namespace)}.*`)) keys.push(key);
      const records = await Promise.all(keys.map(async (key) => liveEntry(await this.#kv.get(key))));
      return records
        .flatMap((entry) => (entry === undefined ? [] : [entry.json<FunctionRecord>()]))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    });
  }

  get(name: string, namespace: string): Promise<FunctionRecord | undefined> {
    return this.#guard.run("read function", async () => liveEntry(await this.#kv.get(keyOf(name, namespace)))?.json<FunctionRecord>());
  }

  create(record: FunctionRecord): Promise<void> {
    return this.#guard.run("create function", async () => {
      try {
        await this.#kv.create(keyOf(record.name, record.namespace), JSON.stringify(record));
      } catch (error) {
        if (!isWrongLastSequence(error)) throw error;
        throw new TfaasError(
          "conflict",
          `Cannot create function ${JSON.stringify(record.name)} in namespace ${JSON.stringify(record.namespace)}: it already exists`,
        );
      }
    });
  }

  update(record: FunctionRecord): Promise<void> {
    return this.#guard.run("update function", async () => {
      await updateLive(
        this.#kv,
        keyOf(record.name, record.namespace),
        () => JSON.stringify(record),
        () =>
          new TfaasError(
            "function-not-found",
            `Cannot update function ${JSON.stringify(record.name)}: it does not exist in namespace ${JSON.stringify(record.namespace)}`,
          ),
      );
    });
  }

  remove(name: string, namespace: string): Promise<boolean> {
    return this.#guard.run("remove function", async () => removeKey(this.#kv, keyOf(name, namespace)));
  }
}

/** Deletes a live key; answers false when there was none. Compare-and-set, so of two racing removers one wins. */
export async function removeKey(kv: KV, key: string): Promise<boolean> {
  for (;;) {
    const current = liveEntry(await kv.get(key));
    if (current === undefined) return false;
    try {
      await kv.delete(key, { previousSeq: current.revision });
      return true;
    } catch (error) {
      if (!isWrongLastSequence(error)) throw error;
    }
  }
}

function keyOf(name: string, namespace: string): string {
  return `${token(namespace)}.${token(name)}`;
}
