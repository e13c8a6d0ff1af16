/**
 * WASI preview 1 over virtual capabilities. Each invocation gets its own `Preview1` (fresh file
 * descriptor table, stdin position, output buffers), so nothing carries over between calls.
 * What the guest can reach: its args and environ, clocks, randomness, stdin (the request
 * body), stdout/stderr (collected by the caller's sinks) and a read-only tree of secrets.
 * Everything else (sockets, writes to files, signals) answers with an errno; no call throws into
 * the guest except `proc_exit` and a sink stopping the instance (both caught by the runtime).
 *
 * Guarantee boundary: this isolates the guest from host files, network and environment. It does
 * not hide timing: clocks have nanosecond resolution as WASI programs expect.
 */
import { randomFillSync } from "node:crypto";
import {
  Clock,
  DIRECTORY_RIGHTS,
  Errno,
  EventType,
  Fdflags,
  FILE_RIGHTS,
  Filetype,
  INHERITABLE_RIGHTS,
  Oflags,
  PREOPEN_TYPE_DIR,
  type Preview1Function,
  Rights,
  SUBSCRIPTION_CLOCK_ABSTIME,
  Whence,
  WRITE_RIGHTS,
} from "./abi.js";
import { Fault, GuestMemory } from "./guest-memory.js";
import { createSecretsTree, resolvePath, type VfsDirectory, type VfsFile, type VfsNode } from "./vfs.js";

/** Thrown by `proc_exit`: unwinds the guest; the runtime catches it and reads the code. */
export class ProcExit {
  constructor(readonly code: number) {}
}

export interface Preview1Capabilities {
  args: readonly string[];
  /** Exactly the guest's environment, in order. */
  env: ReadonlyMap<string, string>;
  stdin: Uint8Array;
  /** Receives each chunk written to fd 1; may throw to stop the instance. */
  stdout: (chunk: Uint8Array) => void;
  /** Receives each chunk written to fd 2; may throw to stop the instance. */
  stderr: (chunk: Uint8Array) => void;
  secrets: ReadonlyMap<string, Uint8Array>;
}

type OpenFile =
  | { kind: "input"; flags: number; data: Uint8Array; position: number }
  | { kind: "output"; flags: number; sink: (chunk: Uint8Array) => void }
  | { kind: "file"; flags: number; file: VfsFile; position: number }
  | { kind: "directory"; flags: number; directory: VfsDirectory; preopen: string | undefined };

const MAX_OPEN_FILES = 1024;
const FDSTAT_SIZE = 24;
const FILESTAT_SIZE = 64;
const DIRENT_SIZE = 24;
const SUBSCRIPTION_SIZE = 48;
const EVENT_SIZE = 32;
const IOVEC_SIZE = 8;
/** Flags that only make sense for writing; a read-only file system refuses them. */
const WRITE_FDFLAGS = Fdflags.append | Fdflags.dsync | Fdflags.sync;

const utf8 = new TextEncoder();
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function nowNs(clock: number): bigint {
  return clock === Clock.realtime ? BigInt(Date.now()) * 1_000_000n : process.hrtime.bigint();
}

/** NUL-terminated strings packed back to back, as args_get/environ_get hand them out. */
function packStrings(strings: readonly string[]): { buffer: Uint8Array; offsets: number[] } {
  const encoded = strings.map((value) => utf8.encode(`${value}\0`));
  const buffer = new Uint8Array(encoded.reduce((sum, part) => sum + part.length, 0));
  const offsets: number[] = [];
  let offset = 0;
  for (const part of encoded) {
    offsets.push(offset);
    buffer.set(part, offset);
    offset += part.length;
  }
  return { buffer, offsets };
}

export class Preview1 {
  readonly memory = new GuestMemory();
  /** Bytes that crossed the WASI boundary: read by the guest (stdin, files) and written (stdout, stderr). */
  readonly io = { bytesIn: 0, bytesOut: 0 };
  readonly imports: Record<Preview1Function, (...args: never[]) => number>;
  readonly #caps: Preview1Capabilities;
  readonly #files = new Map<number, OpenFile>();

  constructor(caps: Preview1Capabilities) {
    this.#caps = caps;
    this.#files.set(0, { kind: "input", flags: 0, data: caps.stdin, position: 0 });
    this.#files.set(1, { kind: "output", flags: 0, sink: caps.stdout });
    this.#files.set(2, { kind: "output", flags: 0, sink: caps.stderr });
    this.#files.set(3, { kind: "directory", flags: 0, directory: createSecretsTree(caps.secrets), preopen: "/" });
    this.imports = this.#createImports();
  }

  #createImports(): Record<Preview1Function, (...args: never[]) => number> {
    const memory = this.memory;
    const files = this.#files;
    const caps = this.#caps;
    const io = this.io;
    let packedArgs: ReturnType<typeof packStrings> | undefined;
    let packedEnv: ReturnType<typeof packStrings> | undefined;
    const args = () => (packedArgs ??= packStrings(caps.args));
    const environ = () => (packedEnv ??= packStrings([...caps.env].map(([key, value]) => `${key}=${value}`)));

    const writeStrings = (packed: ReturnType<typeof packStrings>, pointers: number, buffer: number): number => {
      memory.write(buffer, packed.buffer);
      const base = buffer >>> 0;
      packed.offsets.forEach((offset, index) => memory.setU32(pointers + index * 4, base + offset));
      return Errno.success;
    };
    const writeSizes = (packed: ReturnType<typeof packStrings>, countPointer: number, sizePointer: number): number => {
      memory.setU32(countPointer, packed.offsets.length);
      memory.setU32(sizePointer, packed.buffer.length);
      return Errno.success;
    };

    const directoryAt = (fd: number): VfsDirectory | number => {
      const open = files.get(fd);
      if (open === undefined) return Errno.badf;
      return open.kind === "directory" ? open.directory : Errno.notdir;
    };
    const resolveAt = (fd: number, pathPointer: number, pathLength: number): VfsNode | number => {
      const directory = directoryAt(fd);
      if (typeof directory === "number") return directory;
      return resolvePath(directory, memory.string(pathPointer, pathLength));
    };
    /** Any call that would modify the tree: it is read-only. */
    const refusePathChange = (fd: number): number => {
      const directory = directoryAt(fd);
      return typeof directory === "number" ? directory : Errno.rofs;
    };
    const refuseFdChange = (fd: number): number => {
      const open = files.get(fd);
      if (open === undefined) return Errno.badf;
      return open.kind === "file" || open.kind === "directory" ? Errno.rofs : Errno.inval;
    };
    const refuseSocket = (fd: number): number => (files.has(fd) ? Errno.notsock : Errno.badf);

    const writeFilestat = (pointer: number, node: VfsNode | undefined): void => {
      memory.zero(pointer, FILESTAT_SIZE);
      if (node === undefined) {
        memory.setU8(pointer + 16, Filetype.unknown);
        return;
      }
      memory.setU64(pointer + 8, node.inode);
      memory.setU8(pointer + 16, node.type === "file" ? Filetype.regularFile : Filetype.directory);
      memory.setU64(pointer + 24, 1n);
      memory.setU64(pointer + 32, node.type === "file" ? BigInt(node.data.length) : 0n);
    };
    const nodeOf = (open: OpenFile): VfsNode | undefined =>
      open.kind === "file" ? open.file : open.kind === "directory" ? open.directory : undefined;

    /** Copies from `data` at `position` into the guest's iovecs; returns bytes copied. */
    const scatter = (data: Uint8Array, position: number, iovs: number, count: number): number => {
      let copied = 0;
      for (let index = 0; index < count; index++) {
        const base = iovs + index * IOVEC_SIZE;
        const target = memory.bytes(memory.u32(base), memory.u32(base + 4));
        const chunk = data.subarray(position + copied, position + copied + target.length);
        target.set(chunk);
        copied += chunk.length;
        if (chunk.length < target.length) break;
      }
      return copied;
    };
    const readInto = (fd: number, iovs: number, count: number, at: number | undefined, resultPointer: number): number => {
      const open = files.get(fd);
      if (open === undefined) return Errno.badf;
      if (open.kind === "directory") return Errno.isdir;
      if (open.kind === "output") return Errno.badf;
      if (at !== undefined && open.kind === "input") return Errno.spipe;
      const data = open.kind === "input" ? open.data : open.file.data;
      const copied = scatter(data, at ?? open.position, iovs, count);
      if (at === undefined) open.position += copied;
      io.bytesIn += copied;
      memory.setU32(resultPointer, copied);
      return Errno.success;
    };

    const allocateFd = (open: OpenFile): number | undefined => {
      if (files.size >= MAX_OPEN_FILES) return undefined;
      let fd = 0;
      while (files.has(fd)) fd++;
      files.set(fd, open);
      return fd;
    };

    const pollOneoff = (input: number, output: number, count: number, countPointer: number): number => {
      const subscriptions = count >>> 0;
      if (subscriptions === 0) return Errno.inval;
      memory.bytes(input, subscriptions * SUBSCRIPTION_SIZE);
      memory.bytes(output, subscriptions * EVENT_SIZE);
      const events: { userdata: bigint; error: number; type: number; nbytes: bigint }[] = [];
      const clocks: { userdata: bigint; waitNs: bigint }[] = [];
      for (let index = 0; index < subscriptions; index++) {
        const base = input + index * SUBSCRIPTION_SIZE;
        const userdata = memory.u64(base);
        const type = memory.u8(base + 8);
        if (type === EventType.clock) {
          const clock = memory.u32(base + 16);
          if (clock > Clock.threadCputime) {
            events.push({ userdata, error: Errno.inval, type, nbytes: 0n });
            continue;
          }
          const timeout = memory.u64(base + 24);
          const absolute = (memory.u16(base + 40) & SUBSCRIPTION_CLOCK_ABSTIME) !== 0;
          clocks.push({ userdata, waitNs: absolute ? timeout - nowNs(clock) : timeout });
        } else if (type === EventType.fdRead || type === EventType.fdWrite) {
          const open = files.get(memory.u32(base + 16));
          const ready =
            open === undefined
              ? undefined
              : type === EventType.fdWrite
                ? open.kind === "output"
                : open.kind === "input" || open.kind === "file";
          const remaining =
            open?.kind === "input" ? open.data.length - open.position : open?.kind === "file" ? open.file.data.length - open.position : 0;
          events.push({
            userdata,
            error: ready === undefined ? Errno.badf : ready ? Errno.success : Errno.badf,
            type,
            nbytes: BigInt(Math.max(remaining, 0)),
          });
        } else {
          events.push({ userdata, error: Errno.inval, type, nbytes: 0n });
        }
      }
      if (clocks.length > 0) {
        const shortest = clocks.reduce((min, clock) => (clock.waitNs < min ? clock.waitNs : min), clocks[0]!.waitNs);
        // Sleep only when nothing is ready yet; the gateway's exec_timeout bounds how long.
        if (events.length === 0 && shortest > 0n) Atomics.wait(sleeper, 0, 0, Number(shortest) / 1e6);
        const due = events.length === 0 ? shortest : 0n;
        for (const clock of clocks) {
          if (clock.waitNs <= due) events.push({ userdata: clock.userdata, error: Errno.success, type: EventType.clock, nbytes: 0n });
        }
      }
      events.forEach((event, index) => {
        const base = output + index * EVENT_SIZE;
        memory.zero(base, EVENT_SIZE);
        memory.setU64(base, event.userdata);
        memory.setU16(base + 8, event.error);
        memory.setU8(base + 10, event.type);
        memory.setU64(base + 16, event.nbytes);
      });
      memory.setU32(countPointer, events.length);
      return Errno.success;
    };

    const calls: Record<Preview1Function, (...args: never[]) => number> = {
      args_get: (pointers: number, buffer: number) => writeStrings(args(), pointers, buffer),
      args_sizes_get: (count: number, size: number) => writeSizes(args(), count, size),
      environ_get: (pointers: number, buffer: number) => writeStrings(environ(), pointers, buffer),
      environ_sizes_get: (count: number, size: number) => writeSizes(environ(), count, size),

      clock_res_get: (clock: number, result: number) => {
        if (clock < 0 || clock > Clock.threadCputime) return Errno.inval;
        memory.setU64(result, clock === Clock.realtime ? 1_000_000n : 1n);
        return Errno.success;
      },
      clock_time_get: (clock: number, _precision: bigint, result: number) => {
        if (clock < 0 || clock > Clock.threadCputime) return Errno.inval;
        memory.setU64(result, nowNs(clock));
        return Errno.success;
      },

      fd_advise: (fd: number) => {
        const open = files.get(fd);
        if (open === undefined) return Errno.badf;
        return open.kind === "file" ? Errno.success : open.kind === "directory" ? Errno.isdir : Errno.spipe;
      },
      fd_allocate: (fd: number) => refuseFdChange(fd),
      fd_close: (fd: number) => (files.delete(fd) ? Errno.success : Errno.badf),
      fd_datasync: (fd: number) => (files.has(fd) ? Errno.success : Errno.badf),
      fd_sync: (fd: number) => (files.has(fd) ? Errno.success : Errno.badf),

      fd_fdstat_get: (fd: number, result: number) => {
        const open = files.get(fd);
        if (open === undefined) return Errno.badf;
        memory.zero(result, FDSTAT_SIZE);
        const [filetype, base, inheriting] =
          open.kind === "input"
            ? [Filetype.unknown, Rights.fdRead | Rights.pollFdReadwrite, 0n]
            : open.kind === "output"
              ? [Filetype.unknown, Rights.fdWrite | Rights.pollFdReadwrite, 0n]
              : open.kind === "file"
                ? [Filetype.regularFile, FILE_RIGHTS, 0n]
                : [Filetype.directory, DIRECTORY_RIGHTS, INHERITABLE_RIGHTS];
        memory.setU8(result, filetype);
        memory.setU16(result + 2, open.flags);
        memory.setU64(result + 8, base);
        memory.setU64(result + 16, inheriting);
        return Errno.success;
      },
      fd_fdstat_set_flags: (fd: number, flags: number) => {
        const open = files.get(fd);
        if (open === undefined) return Errno.badf;
        // Non-blocking is harmless: reads and writes never block here. Anything else changes semantics.
        if ((flags & ~Fdflags.nonblock) !== 0) return Errno.notsup;
        open.flags = flags;
        return Errno.success;
      },
      fd_fdstat_set_rights: (fd: number) => (files.has(fd) ? Errno.notsup : Errno.badf),

      fd_filestat_get: (fd: number, result: number) => {
        const open = files.get(fd);
        if (open === undefined) return Errno.badf;
        writeFilestat(result, nodeOf(open));
        return Errno.success;
      },
      fd_filestat_set_size: (fd: number) => refuseFdChange(fd),
      fd_filestat_set_times: (fd: number) => refuseFdChange(fd),

      fd_pread: (fd: number, iovs: number, count: number, offset: bigint, result: number) =>
        offset < 0n || offset > BigInt(Number.MAX_SAFE_INTEGER) ? Errno.inval : readInto(fd, iovs, count, Number(offset), result),
      fd_read: (fd: number, iovs: number, count: number, result: number) => readInto(fd, iovs, count, undefined, result),
      fd_pwrite: (fd: number) => {
        const open = files.get(fd);
        if (open === undefined) return Errno.badf;
        return open.kind === "directory" ? Errno.isdir : open.kind === "file" ? Errno.badf : Errno.spipe;
      },
      fd_write: (fd: number, iovs: number, count: number, result: number) => {
        const open = files.get(fd);
        if (open === undefined) return Errno.badf;
        if (open.kind !== "output") return open.kind === "directory" ? Errno.isdir : Errno.badf;
        let written = 0;
        for (let index = 0; index < count >>> 0; index++) {
          const base = iovs + index * IOVEC_SIZE;
          const chunk = memory.bytes(memory.u32(base), memory.u32(base + 4));
          io.bytesOut += chunk.length;
          if (chunk.length > 0) open.sink(chunk);
          written += chunk.length;
        }
        memory.setU32(result, written);
        return Errno.success;
      },

      fd_prestat_get: (fd: number, result: number) => {
        const open = files.get(fd);
        if (open?.kind !== "directory" || open.preopen === undefined) return Errno.badf;
        memory.setU32(result, PREOPEN_TYPE_DIR);
        memory.setU32(result + 4, utf8.encode(open.preopen).length);
        return Errno.success;
      },
      fd_prestat_dir_name: (fd: number, pointer: number, length: number) => {
        const open = files.get(fd);
        if (open?.kind !== "directory" || open.preopen === undefined) return Errno.badf;
        const name = utf8.encode(open.preopen);
        if (length >>> 0 < name.length) return Errno.nametoolong;
        memory.write(pointer, name);
        return Errno.success;
      },

      fd_readdir: (fd: number, buffer: number, length: number, cookie: bigint, result: number) => {
        const open = files.get(fd);
        if (open === undefined) return Errno.badf;
        if (open.kind !== "directory") return Errno.notdir;
        const directory = open.directory;
        const entries: [string, bigint, number][] = [
          [".", directory.inode, Filetype.directory],
          ["..", (directory.parent ?? directory).inode, Filetype.directory],
          ...[...directory.entries].map(([name, node]): [string, bigint, number] => [
            name,
            node.inode,
            node.type === "file" ? Filetype.regularFile : Filetype.directory,
          ]),
        ];
        const target = memory.bytes(buffer, length);
        let used = 0;
        const start = BigInt.asUintN(64, cookie);
        for (let index = start > BigInt(entries.length) ? entries.length : Number(start); index < entries.length; index++) {
          if (used >= target.length) break;
          const [name, inode, filetype] = entries[index] as [string, bigint, number];
          const encodedName = utf8.encode(name);
          const record = new Uint8Array(DIRENT_SIZE + encodedName.length);
          const view = new DataView(record.buffer);
          view.setBigUint64(0, BigInt(index + 1), true);
          view.setBigUint64(8, inode, true);
          view.setUint32(16, encodedName.length, true);
          view.setUint8(20, filetype);
          record.set(encodedName, DIRENT_SIZE);
          // A record that does not fit is cut; a full buffer tells the guest to call again.
          const fitting = record.subarray(0, target.length - used);
          target.set(fitting, used);
          used += fitting.length;
        }
        memory.setU32(result, used);
        return Errno.success;
      },

      fd_renumber: (from: number, to: number) => {
        const open = files.get(from);
        if (open === undefined || !files.has(to)) return Errno.badf;
        files.set(to, open);
        if (from !== to) files.delete(from);
        return Errno.success;
      },

      fd_seek: (fd: number, offset: bigint, whence: number, result: number) => {
        const open = files.get(fd);
        if (open === undefined) return Errno.badf;
        if (open.kind === "directory") return Errno.isdir;
        if (open.kind !== "file") return Errno.spipe;
        const origin =
          whence === Whence.set ? 0n : whence === Whence.current ? BigInt(open.position) : whence === Whence.end ? BigInt(open.file.data.length) : -1n;
        if (origin < 0n) return Errno.inval;
        const position = origin + BigInt.asIntN(64, offset);
        if (position < 0n || position > BigInt(Number.MAX_SAFE_INTEGER)) return Errno.inval;
        memory.setU64(result, position);
        open.position = Number(position);
        return Errno.success;
      },
      fd_tell: (fd: number, result: number) => {
        const open = files.get(fd);
        if (open === undefined) return Errno.badf;
        if (open.kind === "directory") return Errno.isdir;
        if (open.kind !== "file") return Errno.spipe;
        memory.setU64(result, BigInt(open.position));
        return Errno.success;
      },

      path_create_directory: (fd: number) => refusePathChange(fd),
      path_filestat_set_times: (fd: number) => refusePathChange(fd),
      path_link: (fd: number) => refusePathChange(fd),
      path_remove_directory: (fd: number) => refusePathChange(fd),
      path_rename: (fd: number) => refusePathChange(fd),
      path_symlink: (_old: number, _oldLength: number, fd: number) => refusePathChange(fd),
      path_unlink_file: (fd: number) => refusePathChange(fd),

      path_filestat_get: (fd: number, _flags: number, path: number, pathLength: number, result: number) => {
        const node = resolveAt(fd, path, pathLength);
        if (typeof node === "number") return node;
        writeFilestat(result, node);
        return Errno.success;
      },
      path_readlink: (fd: number, path: number, pathLength: number) => {
        const node = resolveAt(fd, path, pathLength);
        // There are no symbolic links: whatever exists is not one.
        return typeof node === "number" ? node : Errno.inval;
      },
      path_open: (
        fd: number,
        _dirflags: number,
        path: number,
        pathLength: number,
        oflags: number,
        rightsBase: bigint,
        _rightsInheriting: bigint,
        fdflags: number,
        result: number,
      ) => {
        const directory = directoryAt(fd);
        if (typeof directory === "number") return directory;
        if ((oflags & (Oflags.creat | Oflags.trunc)) !== 0 || (BigInt(rightsBase) & WRITE_RIGHTS) !== 0n || (fdflags & WRITE_FDFLAGS) !== 0) {
          return Errno.rofs;
        }
        const node = resolvePath(directory, memory.string(path, pathLength));
        if (typeof node === "number") return node;
        if ((oflags & Oflags.directory) !== 0 && node.type !== "directory") return Errno.notdir;
        memory.bytes(result, 4);
        const flags = fdflags & Fdflags.nonblock;
        const opened = allocateFd(
          node.type === "file"
            ? { kind: "file", flags, file: node, position: 0 }
            : { kind: "directory", flags, directory: node, preopen: undefined },
        );
        if (opened === undefined) return Errno.mfile;
        memory.setU32(result, opened);
        return Errno.success;
      },

      poll_oneoff: pollOneoff,
      proc_exit: (code: number) => {
        throw new ProcExit(code >>> 0);
      },
      proc_raise: () => Errno.nosys,
      sched_yield: () => Errno.success,
      random_get: (pointer: number, length: number) => {
        randomFillSync(memory.bytes(pointer, length));
        return Errno.success;
      },

      sock_accept: (fd: number) => refuseSocket(fd),
      sock_recv: (fd: number) => refuseSocket(fd),
      sock_send: (fd: number) => refuseSocket(fd),
      sock_shutdown: (fd: number) => refuseSocket(fd),
    };

    for (const name of Object.keys(calls) as Preview1Function[]) calls[name] = guard(calls[name]);
    return calls;
  }
}

/**
 * Turns faults into errnos so no guest-controlled argument throws into the host: EFAULT for
 * pointers outside memory, EINVAL for arguments of the wrong type (a module importing a function
 * with a mismatched signature). ProcExit and sink exceptions pass through on purpose.
 */
function guard(call: (...args: never[]) => number): (...args: never[]) => number {
  return (...args) => {
    try {
      return call(...args);
    } catch (error) {
      if (error instanceof Fault) return Errno.fault;
      if (error instanceof TypeError || error instanceof RangeError) return Errno.inval;
      throw error;
    }
  };
}
