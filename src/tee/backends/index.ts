/** Choosing a backend from configuration. */
import type { TeeBackend } from "../backend.js";
import { createSimBackend, type SimBackendOptions } from "../sim/backend.js";
import { createConfigfsTsmBackend, type ConfigfsTsmOptions } from "./configfs-tsm.js";
import { createGramineBackend, type GramineOptions } from "./gramine.js";

export type TeeBackendOptions =
  | ({ type: "sim" } & SimBackendOptions)
  | ConfigfsTsmOptions
  | ({ type: "sgx" } & GramineOptions);

export async function createTeeBackend(options: TeeBackendOptions): Promise<TeeBackend> {
  switch (options.type) {
    case "sim":
      return createSimBackend(options);
    case "sev-snp":
    case "tdx":
      return createConfigfsTsmBackend(options);
    case "sgx":
      return createGramineBackend(options);
  }
}
