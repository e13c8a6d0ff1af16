/**
 * Upload-time check of JavaScript artifacts: the source must be UTF-8, parse as an ES module, and
 * import nothing (a function is one self-contained module; `tfaas build` bundles). esbuild does
 * the parsing, so a syntax error is reported with its line and (1-based) column. The engines
 * compile the module again when a worker prepares it; this check does not run any code.
 */
import { buildSync, type BuildFailure } from "esbuild";
import { TfaasError } from "../../shared/errors.js";

export function checkJavaScriptModule(bytes: Uint8Array): void {
  let source: string;
  try {
    source = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    throw new TfaasError("invalid-artifact", "Cannot accept artifact: JavaScript source is not valid UTF-8", { cause: error });
  }
  let imports: Array<{ path: string; kind: string }>;
  try {
    const result = buildSync({
      stdin: { contents: source, sourcefile: "function.js", loader: "js" },
      bundle: true,
      // Nothing is resolved: static imports are listed in the metafile and refused below;
      // dynamic import() and require() simply fail inside the sandbox at run time.
      external: ["*"],
      metafile: true,
      write: false,
      format: "esm",
      platform: "neutral",
      logLevel: "silent",
    });
    imports = Object.values(result.metafile.inputs).flatMap((input) => input.imports);
  } catch (error) {
    const first = (error as Partial<BuildFailure>).errors?.[0];
    if (first === undefined) throw new TfaasError("internal", "Cannot check JavaScript artifact: the parser failed", { cause: error });
    const where = first.location ? ` at line ${first.location.line}, column ${first.location.column + 1}` : "";
    throw new TfaasError("invalid-artifact", `Cannot accept artifact: invalid JavaScript module${where}: ${first.text}`);
  }
  const imported = imports.find((entry) => entry.kind === "import-statement");
  if (imported !== undefined) {
    throw new TfaasError(
      "invalid-artifact",
      `Cannot accept artifact: the module imports ${JSON.stringify(imported.path)}; a function is one module without imports (bundle it with tfaas build)`,
    );
  }
}
