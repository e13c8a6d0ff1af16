/** POST /system/artifacts: content-addressed code upload; GET /system/artifacts/{digest}: its metadata. */
import { decodeSealedUpload, isDigest, kindFromContentType, SEALED_MEDIA_TYPE, validateArtifact } from "../artifacts/index.js";
import { TfaasError } from "../shared/errors.js";
import type { ArtifactStore } from "../store/index.js";
import { readBody, sendJson, type Route } from "./http.js";

export function artifactRoutes(store: ArtifactStore, maxArtifactBytes: number): Route[] {
  return [
    {
      pattern: /^\/system\/artifacts$/,
      auth: true,
      methods: {
        POST: async ({ req, res }) => {
          const sealed = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase() === SEALED_MEDIA_TYPE;
          const declared = sealed ? undefined : kindFromContentType(req.headers["content-type"]);
          const bytes = await readBody(req, maxArtifactBytes);
          if (bytes.length === 0) throw new TfaasError("invalid-artifact", "Cannot accept artifact: body is empty");
          // Sealed code cannot be prepared here (no key): only its envelope is checked; the worker checks the rest.
          const envelope = sealed ? decodeSealedUpload(bytes) : undefined;
          const kind = envelope?.kind ?? declared!;
          if (envelope === undefined) await validateArtifact(bytes, kind);
          // Idempotent: uploading known bytes answers exactly as the first upload did.
          const { info } = await store.put(bytes, kind);
          sendJson(res, 201, { digest: info.digest, size: info.size, kind: info.kind, ...(envelope ? { sealed: { measurement: envelope.digest } } : {}) });
        },
      },
    },
    {
      pattern: /^\/system\/artifacts\/([^/]+)$/,
      auth: true,
      methods: {
        GET: async ({ res, params }) => {
          const digest = decodeURIComponent(params[0]!);
          if (!isDigest(digest)) throw new TfaasError("invalid-request", `Cannot find artifact: ${JSON.stringify(digest)} is not a sha256:<64 hex> digest`);
          const info = await store.stat(digest);
          if (!info) throw new TfaasError("artifact-not-found", `Cannot find artifact ${digest}`);
          sendJson(res, 200, info);
        },
      },
    },
  ];
}
