/** `tfaas new`, `build` and `deploy`: from source to a running function, driven by stack.yml or flags. */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { Option } from "commander";
import { TfaasError } from "../../shared/errors.js";
import { buildFunction, isFunctionLang } from "../build.js";
import type { FunctionLang } from "../build.js";
import type { ArtifactContentType, GatewayClient } from "../client.js";
import { addGatewayOption, connect } from "../connect.js";
import type { GatewayFlags } from "../connect.js";
import { classifyImage, functionFromFlags, selectFunctions, toFunctionDeployment, withFlagOverrides } from "../deployment.js";
import type { DeployFlags } from "../deployment.js";
import { resolveGatewayUrl } from "../gateway-url.js";
import type { CliIo } from "../io.js";
import { collect } from "../parse-flags.js";
import { errorLine } from "../report.js";
import { shortDigest } from "../output.js";
import { sealForBroker, type EncryptFlags } from "./kbs.js";
import { scaffoldFunction } from "../scaffold.js";
import { loadStack } from "../stack.js";
import type { Stack, StackFunction } from "../stack.js";

const LANGS = ["assemblyscript", "c", "js", "ts"] as const satisfies readonly FunctionLang[];
const DEFAULT_STACK_FILE = "stack.yml";

interface NewFlags extends GatewayFlags {
  lang: FunctionLang;
  dir: string;
}

interface StackFlags {
  yaml?: string;
  filter?: string;
}

interface DeployCommandFlags extends StackFlags, GatewayFlags, DeployFlags, EncryptFlags {}

export function registerProject(program: Command, io: CliIo): void {
  addGatewayOption(
    program
      .command("new")
      .description("create a function from a template: <dir>/<name>/ and an entry in <dir>/stack.yml")
      .argument("<name>", "function name (lower-case letters, digits and '-')")
      .addOption(new Option("--lang <lang>", "language of the template").choices(LANGS).makeOptionMandatory())
      .option("--dir <dir>", "directory that holds stack.yml", "."),
    false,
    "gateway URL to write into stack.yml's provider.gateway",
  ).action(async (name: string, flags: NewFlags) => {
    const gateway = resolveGatewayUrl({ flag: flags.gateway, env: io.env });
    const result = await scaffoldFunction({ name, lang: flags.lang, dir: resolve(io.cwd, flags.dir), gateway });
    for (const file of result.created) io.stdout.write(`Created ${file}\n`);
    io.stdout.write(`Stack file: ${result.stackFile}\nNext: tfaas deploy -f ${result.stackFile} --filter ${name}\n`);
  });

  stackOptions(
    program
      .command("build")
      .description("compile the functions of a stack file that have lang and handler to WebAssembly (progress on stderr)"),
  ).action(async (flags: StackFlags) => {
    const stack = await loadStack(resolve(io.cwd, flags.yaml ?? DEFAULT_STACK_FILE));
    const selected = selectFunctions(stack.functions, flags.filter, stack.path);
    const buildable = selected.filter((fn) => fn.lang !== undefined && fn.handler !== undefined);
    for (const fn of selected) if (!buildable.includes(fn)) io.stderr.write(`Skipping ${fn.name}: no lang and handler to build from\n`);
    if (buildable.length === 0) throw new TfaasError("invalid-request", `Cannot build: no selected function in ${stack.path} has lang and handler`);
    for (const fn of buildable) {
      const built = await build(fn, stack, io);
      io.stdout.write(`Built ${fn.name}: ${built.outputPath} (${built.bytes} bytes)\n`);
    }
  });

  addGatewayOption(
    stackOptions(
      program
        .command("deploy")
        .description("deploy the functions of a stack file (building and uploading code as needed), or one function given by --name and --image"),
    )
      .option("--name <name>", "function name, to deploy from flags instead of a stack file")
      .option("--image <image>", "sha256:<hex> digest of an uploaded artifact, or a .wasm/.js file to upload")
      .option("--namespace <namespace>", "namespace to deploy into")
      .option("-e, --env <key=value>", "environment variable (repeatable)", collect)
      .option("-l, --label <key=value>", "label (repeatable)", collect)
      .option("--annotation <key=value>", "annotation (repeatable)", collect)
      .option("--secret <name>", "secret the function may read (repeatable)", collect)
      .option("--memory-limit <quantity>", "memory limit, e.g. 128Mi")
      .option("--encrypt", "seal the code on this machine; the platform stores only ciphertext and the plaintext digest (needs --kbs and --kbs-policy)")
      .option("--kbs <url>", "with --encrypt: the URL workers reach your key broker at (tfaas kbs serve)")
      .option("--kbs-dir <dir>", "with --encrypt: your key broker's directory (default: <config dir>/kbs)")
      .option("--kbs-policy <file>", "with --encrypt: which workers may receive the key (attestation policy, YAML or JSON)"),
    true,
  ).action(async (flags: DeployCommandFlags) => {
    const fromFlags = flags.name !== undefined || flags.image !== undefined;
    if (fromFlags && (flags.yaml !== undefined || flags.filter !== undefined)) {
      throw new TfaasError("invalid-request", "Cannot deploy: --name/--image describe one function and exclude -f and --filter; use one way");
    }
    const stack = fromFlags ? undefined : await loadStack(resolve(io.cwd, flags.yaml ?? DEFAULT_STACK_FILE));
    const targets = stack === undefined ? [functionFromFlags(flags)] : selectFunctions(stack.functions, flags.filter, stack.path).map((fn) => withFlagOverrides(fn, flags));
    const client = await connect(io, flags, stack?.gateway);
    const failed: string[] = [];
    for (const fn of targets) {
      try {
        await deploy(client, fn, stack, io, flags);
      } catch (error) {
        if (targets.length === 1) throw error;
        failed.push(fn.name);
        io.stderr.write(errorLine(error));
      }
    }
    if (failed.length > 0) throw new TfaasError("function-failed", `Cannot deploy: ${failed.length} of ${targets.length} functions failed (${failed.join(", ")})`);
  });
}

function stackOptions(command: Command): Command {
  return command
    .option("-f, --yaml <file>", `stack file (default: ${DEFAULT_STACK_FILE})`)
    .option("--filter <name>", "only the functions with this name; '*' matches any characters");
}

async function build(fn: StackFunction, stack: Stack, io: CliIo): ReturnType<typeof buildFunction> {
  const lang = fn.lang ?? "";
  if (!isFunctionLang(lang)) {
    throw new TfaasError("invalid-request", `Cannot build ${fn.name}: functions.${fn.name}.lang is ${JSON.stringify(lang)}; expected one of ${LANGS.join(", ")}`);
  }
  return buildFunction({ name: fn.name, lang, handler: fn.handler ?? "", stackDir: stack.dir, onProgress: (line) => io.stderr.write(`${line}\n`) });
}

/** Builds or reads the function's code as needed, uploads it, and creates or updates the function. */
async function deploy(client: GatewayClient, fn: StackFunction, stack: Stack | undefined, io: CliIo, flags: EncryptFlags): Promise<void> {
  const code = await locateCode(fn, stack, io);
  if (flags.encrypt === true && code.kind === "digest") throw new TfaasError("invalid-request", `Cannot deploy ${fn.name} with --encrypt: its image is an uploaded digest; give the code file (or lang and handler) so it is sealed here`);
  io.stdout.write(`Deploying: ${fn.name} … `);
  try {
    let target = fn;
    let digest: string;
    if (code.kind === "digest") digest = code.digest;
    else if (flags.encrypt === true) {
      const sealed = await sealForBroker(io, await readCode(code), code.contentType === "application/wasm" ? "wasm" : "javascript", flags);
      digest = (await client.uploadArtifact(sealed.envelope, "application/vnd.tfaas.sealed-artifact")).digest;
      target = { ...fn, annotations: { ...fn.annotations, ...sealed.annotations } };
      io.stdout.write(`sealed (measurement ${shortDigest(sealed.measurement)}) … `);
    } else digest = (await client.uploadArtifact(await readCode(code), code.contentType)).digest;
    const outcome = await client.deployFunction(toFunctionDeployment(target, digest));
    io.stdout.write(`done, ${shortDigest(digest)} (${outcome})\nURL: ${client.url}/function/${fn.name}\n`);
  } catch (error) {
    io.stdout.write("failed\n");
    throw error;
  }
}

type CodeLocation = { kind: "digest"; digest: string } | { kind: "file"; path: string; field: string; contentType: ArtifactContentType };

/** Where the function's code comes from: an uploaded artifact, a file named by `image`, or a fresh build. */
async function locateCode(fn: StackFunction, stack: Stack | undefined, io: CliIo): Promise<CodeLocation> {
  const field = stack === undefined ? "--image" : `functions.${fn.name}.image`;
  if (fn.image !== undefined) {
    const source = classifyImage(fn.image, field);
    if (source.kind === "digest") return source;
    return { kind: "file", path: resolve(stack?.dir ?? io.cwd, source.path), field, contentType: source.contentType };
  }
  if (stack !== undefined && fn.lang !== undefined && fn.handler !== undefined) {
    const built = await build(fn, stack, io);
    return { kind: "file", path: built.outputPath, field: "the build output", contentType: built.contentType };
  }
  throw new TfaasError("invalid-request", `Cannot deploy function ${fn.name}: functions.${fn.name} has no image, and no lang and handler to build one`);
}

async function readCode(code: { path: string; field: string }): Promise<Buffer<ArrayBuffer>> {
  try {
    return await readFile(code.path);
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (cause as Error).message;
    throw new TfaasError("invalid-request", `Cannot read ${code.field} ${code.path}: ${reason}`, { cause });
  }
}

