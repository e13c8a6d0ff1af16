/**
 * Attestation policy: which TEE types are acceptable and, per type, the expected measurements and
 * minimum TCB; debug off unless explicitly allowed. Written in YAML (or JSON), validated by one
 * strict schema so a typo is an error, not a silently ignored rule.
 *
 *   tee:
 *     sev-snp: { measurements: [<96 hex>], minTcb: { bootloader: 3, tee: 0, snp: 20, microcode: 209 } }
 *     tdx:     { mrtd: [<96 hex>], rtmr2: [<96 hex>], tcbStatus: [UpToDate] }
 *     sgx:     { mrenclave: [<64 hex>], minIsvSvn: 1 }
 *     sim:     { measurements: [<hex>] }
 *   allowDebug: false
 *   artifactDigests: [sha256:<64 hex>]
 */
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { TfaasError } from "../shared/errors.js";

const hexOf = (bytes: number) =>
  z
    .string()
    .regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`), `expected ${bytes * 2} hex digits`)
    .transform((text) => text.toLowerCase());
const hexList = (bytes: number) => z.array(hexOf(bytes)).min(1);
const svn = (max: number) => z.number().int().min(0).max(max);
const tcbStatuses = z.array(z.string().min(1)).min(1).default(["UpToDate"]);

const simRule = z.strictObject({
  measurements: z.array(z.string().regex(/^([0-9a-fA-F]{2}){1,64}$/, "expected 2–128 hex digits").transform((text) => text.toLowerCase())).min(1),
  minSvn: svn(0xffffffff).default(0),
});

const sevSnpRule = z.strictObject({
  measurements: hexList(48),
  minTcb: z.strictObject({ bootloader: svn(255), tee: svn(255), snp: svn(255), microcode: svn(255) }).optional(),
  minGuestSvn: svn(0xffffffff).default(0),
});

const tdxRule = z.strictObject({
  mrtd: hexList(48),
  rtmr0: hexList(48).optional(),
  rtmr1: hexList(48).optional(),
  rtmr2: hexList(48).optional(),
  rtmr3: hexList(48).optional(),
  /** Accepted TCB statuses from Intel's TCB info (UpToDate, SWHardeningNeeded, …). */
  tcbStatus: tcbStatuses,
});

const sgxRule = z
  .strictObject({
    mrenclave: hexList(32).optional(),
    mrsigner: hexList(32).optional(),
    isvProdId: svn(0xffff).optional(),
    minIsvSvn: svn(0xffff).default(0),
    tcbStatus: tcbStatuses,
  })
  .refine((rule) => rule.mrenclave !== undefined || (rule.mrsigner !== undefined && rule.isvProdId !== undefined), {
    message: "expected mrenclave, or mrsigner with isvProdId",
  });

export const policySchema = z.strictObject({
  tee: z
    .strictObject({ sim: simRule.optional(), "sev-snp": sevSnpRule.optional(), tdx: tdxRule.optional(), sgx: sgxRule.optional() })
    .refine((tee) => Object.values(tee).some((rule) => rule !== undefined), { message: "expected at least one allowed TEE type" }),
  /** Accept debug-enabled TEEs (whose memory the host can read). Never in production. */
  allowDebug: z.boolean().default(false),
  /** Artifact digests the attested workers may run; passed through as claims for receipt checks. */
  artifactDigests: z.array(z.string().regex(/^sha256:[0-9a-f]{64}$/, "expected sha256:<64 lowercase hex>")).optional(),
});

export type Policy = z.output<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;

/** A policy from parsed YAML/JSON data; one `invalid-request` naming every problem. */
export function parsePolicy(data: unknown): Policy {
  const result = policySchema.safeParse(data);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join(".") || "(policy)"}: ${issue.message}`);
    throw new TfaasError("invalid-request", `Cannot use attestation policy: ${problems.join("; ")}`);
  }
  return result.data;
}

export function parsePolicyText(text: string): Policy {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new TfaasError("invalid-request", "Cannot use attestation policy: current text is not valid YAML", { cause: error });
  }
  return parsePolicy(data);
}

export async function loadPolicy(path: string): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new TfaasError("invalid-request", `Cannot read attestation policy ${path}: current file is not readable`, { cause: error });
  }
  return parsePolicyText(text);
}
