/** Test support: where the shared real TEE evidence lives (../shared/tee-evidence beside the checkout), and whether it is there. */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const TEE_SAMPLES = fileURLToPath(new URL("../../../../shared/tee-evidence", import.meta.url));
export const teeSamplesPresent = existsSync(`${TEE_SAMPLES}/sev-snp/attestation.bin`) && existsSync(`${TEE_SAMPLES}/tdx/tdx_prod_quote_SPR_E4.dat`);
