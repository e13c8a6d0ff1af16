/**
 * The process surface a command touches (streams, environment, working directory), passed in
 * rather than read from globals so the whole CLI can run in-process, e.g. in end-to-end tests.
 */
import { once } from "node:events";

export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

export function processIo(): CliIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

/** All of stdin, or nothing when stdin is an interactive terminal (nobody is piping data in). */
export async function readStdin(io: CliIo): Promise<Buffer<ArrayBuffer>> {
  if (io.stdin.isTTY === true) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/** Writes a chunk and waits when the stream asks to slow down, so large outputs are not buffered in memory. */
export async function writeChunk(stream: NodeJS.WritableStream, chunk: Uint8Array | string): Promise<void> {
  if (!stream.write(chunk)) await once(stream, "drain");
}
