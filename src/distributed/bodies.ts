/**
 * Bodies too large for one NATS message (the server's `max_payload`, 1 MiB by default; TFaaS
 * accepts 10 MiB requests and 16 MiB outputs) go through an Object Store, which chunks them. The
 * sender puts the body under a random name and sends the name; the receiver takes it (reads and
 * deletes). Objects a crashed receiver never took expire after `BODY_TTL_MS`.
 */
import { randomUUID } from "node:crypto";
import { StorageType, type JetStreamClient } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { Objm, type ObjectStore } from "@nats-io/obj";
import { TfaasError } from "../shared/errors.js";
import { natsFailure, redactNatsUrl } from "../store/nats/index.js";
import type { BodyRef } from "./wire.js";

/** Room in a message for the frame's JSON next to the body. */
const HEADROOM_BYTES = 64 * 1024;
const BODY_TTL_MS = 3_600_000;

export class LargeBodies {
  readonly #objects: ObjectStore;
  readonly #server: string;
  /** Largest body sent inside the message. */
  readonly inlineLimit: number;

  private constructor(objects: ObjectStore, maxPayload: number, server: string) {
    this.#objects = objects;
    this.#server = server;
    this.inlineLimit = Math.max(1024, maxPayload - HEADROOM_BYTES);
  }

  /** `server` (a URL) only names NATS in messages; it is redacted here. */
  static async open(js: JetStreamClient, prefix: string, replicas: number, maxPayload: number, server: string): Promise<LargeBodies> {
    const objects = await new Objm(js).create(`${prefix}_sync_bodies`, { replicas, storage: StorageType.File, ttl: nanos(BODY_TTL_MS) });
    return new LargeBodies(objects, maxPayload, redactNatsUrl(server));
  }

  async put(body: Uint8Array): Promise<BodyRef> {
    const ref = randomUUID();
    await this.#objects.putBlob({ name: ref }, body).catch((error: unknown) => {
      throw natsFailure("store a large body", this.#server, error);
    });
    return { ref, size: body.length };
  }

  async take(body: BodyRef): Promise<Uint8Array> {
    const bytes = await this.#objects.getBlob(body.ref).catch((error: unknown) => {
      throw natsFailure("read a large body", this.#server, error);
    });
    if (bytes === null || bytes.length !== body.size) {
      throw new TfaasError("internal", `Cannot read a large body: current object ${body.ref} is ${bytes === null ? "missing" : `${bytes.length} bytes, expected ${body.size}`}`);
    }
    void this.#objects.delete(body.ref).catch(() => undefined);
    return bytes;
  }
}
