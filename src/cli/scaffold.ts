/**
 * `tfaas new`: copies a language template into `<dir>/<name>/` and registers the function in
 * `<dir>/stack.yml` (faas-cli's format), creating the file or extending it in place.
 */
import { constants } from "node:fs";
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Document, isMap, parseDocument, Scalar } from "yaml";
import { TfaasError } from "../shared/errors.js";
import { nameSchema } from "../shared/function.js";
import { isFunctionLang, type FunctionLang } from "./build.js";

// Templates ship at the package root; this module sits two levels below it both as source
// (src/cli/) and compiled (dist/cli/).
const TEMPLATES_DIR = fileURLToPath(new URL("../../templates/", import.meta.url));

const STACK_FILE_NAME = "stack.yml";

/**
 * Creates the function's folder and stack entry. `created` lists every file this call created
 * (the template's files, and stack.yml when it did not exist yet); `stackFile` is the stack
 * file that now names the function.
 */
export async function scaffoldFunction(options: { name: string; lang: FunctionLang; dir: string; gateway: string }): Promise<{ created: string[]; stackFile: string }> {
  const { name, lang, dir, gateway } = options;
  if (!nameSchema.safeParse(name).success) {
    throw new TfaasError("invalid-name", `Cannot create function: name must be a DNS-1123 label, current value is ${JSON.stringify(name)}`);
  }
  if (!isFunctionLang(lang)) {
    throw new TfaasError("invalid-request", `Cannot create ${name}: lang must be assemblyscript, c, js or ts, current value is ${JSON.stringify(lang)}`);
  }
  const functionDir = path.join(dir, name);
  if (await exists(functionDir)) {
    throw new TfaasError("conflict", `Cannot create ${name}: folder already exists, current value is ${functionDir}`);
  }
  const stackFile = path.join(dir, STACK_FILE_NAME);
  const existingStack = (await exists(stackFile)) ? await readFile(stackFile, "utf8") : undefined;
  // Everything that can refuse is checked before anything is written.
  const stack = existingStack === undefined ? newStack(gateway) : parseStack(existingStack, stackFile);
  addFunction(stack, name, lang, stackFile);

  const created = await copyTree(path.join(TEMPLATES_DIR, lang), functionDir);
  await writeFile(stackFile, stack.toString());
  if (existingStack === undefined) created.push(stackFile);
  return { created, stackFile };
}

function newStack(gateway: string): Document {
  // faas-cli writes `version: 1.0`; a plain number would come out as `1`.
  const version = new Scalar(1.0);
  version.minFractionDigits = 1;
  return new Document({ version, provider: { name: "tfaas", gateway }, functions: {} });
}

function parseStack(text: string, stackFile: string): Document {
  const document = parseDocument(text);
  const [firstError] = document.errors;
  if (firstError !== undefined) {
    throw new TfaasError("invalid-request", `Cannot read ${stackFile}: it is not valid YAML (${firstError.message.split("\n")[0]})`, { cause: firstError });
  }
  if (!isMap(document.contents) && document.contents !== null) {
    throw new TfaasError("invalid-request", `Cannot read ${stackFile}: the top level must be a mapping with version, provider and functions`);
  }
  return document;
}

function addFunction(stack: Document, name: string, lang: FunctionLang, stackFile: string): void {
  const functions = stack.get("functions");
  if (functions === undefined || functions === null) {
    stack.set("functions", stack.createNode({}));
  } else if (!isMap(functions)) {
    throw new TfaasError("invalid-request", `Cannot add ${name} to ${stackFile}: functions must be a mapping`);
  }
  if (stack.hasIn(["functions", name])) {
    throw new TfaasError("conflict", `Cannot add ${name} to ${stackFile}: a function of that name is already listed`);
  }
  stack.setIn(["functions", name], stack.createNode({ lang, handler: `./${name}` }));
}

/** Copies a folder recursively, never overwriting, and returns the files it wrote. */
async function copyTree(from: string, to: string): Promise<string[]> {
  await mkdir(to, { recursive: true });
  const written: string[] = [];
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) {
      written.push(...(await copyTree(source, target)));
    } else {
      await copyFile(source, target, constants.COPYFILE_EXCL);
      written.push(target);
    }
  }
  return written;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
