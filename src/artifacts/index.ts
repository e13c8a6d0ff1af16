/**
 * Artifacts: uploaded function code, content-addressed by SHA-256. This module names kinds,
 * computes digests and validates code before the store accepts it.
 */
import { createHash } from "node:crypto";
import type { ArtifactKind } from "../store/index.js";
import { checkJavaScriptModule } from "../sandbox/js/index.js";
import { createWasmRuntime } from "../sandbox/wasm/index.js";
import { asTfaasError, TfaasError } from "../shared/errors.js";

const wasmRuntime = createWasmRuntime();

export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

export function isDigest(value: string): boolean {
  return DIGEST_PATTERN.test(value);
}

export function digestOf(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

const kindsByMediaType: Record<string, ArtifactKind> = {
  "application/wasm": "wasm",
  "application/javascript": "javascript",
  "text/javascript": "javascript",
};

/** The artifact kind a Content-Type names; fails with `unsupported-media-type` listing what is accepted. */
export function kindFromContentType(contentType: string | undefined): ArtifactKind {
  const mediaType = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  const kind = kindsByMediaType[mediaType];
  if (kind === undefined) {
    throw new TfaasError(
      "unsupported-media-type",
      `Cannot accept artifact: Content-Type is ${JSON.stringify(mediaType || "(none)")}, expected one of ${Object.keys(kindsByMediaType).join(", ")}`,
    );
  }
  return kind;
}

/**
 * Rejects code that can never run, saying why: it is prepared exactly as a worker will prepare
 * it (validated, instrumented for metering, compiled), so a deployment never fails later on code.
 */
export async function validateArtifact(bytes: Uint8Array, kind: ArtifactKind): Promise<void> {
  if (kind === "wasm") {
    try {
      await wasmRuntime.prepare(bytes, { abi: "stdio" });
    } catch (error) {
      const failure = asTfaasError(error);
      if (failure.code !== "invalid-artifact") throw failure;
      const reason = failure.message.replace(/^Cannot prepare: /, "").replace(/WebAssembly\.compile\(\): /, "");
      throw new TfaasError("invalid-artifact", `Cannot accept artifact: invalid WebAssembly: ${reason}`);
    }
    return;
  }
  if (kind === "javascript") return checkJavaScriptModule(bytes);
  throw new TfaasError("invalid-artifact", `Cannot accept artifact: kind ${kind} is not supported yet`);
}

export { SEALED_MEDIA_TYPE, decodeSealedUpload, encodeSealedUpload, isSealedUpload, type SealedUpload } from "./sealed.js";
