/** Test helper (imported only by tests and contract suites): awaits a rejection and checks it is the expected TfaasError. */
import { expect } from "vitest";
import { TfaasError, type ErrorCode } from "./errors.js";

export async function expectTfaasError(promise: Promise<unknown>, code: ErrorCode, messageIncludes?: string): Promise<TfaasError> {
  const error: unknown = await promise.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(TfaasError);
  const failure = error as TfaasError;
  expect(failure.code).toBe(code);
  if (messageIncludes !== undefined) expect(failure.message).toContain(messageIncludes);
  return failure;
}
