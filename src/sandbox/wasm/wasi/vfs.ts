/**
 * The guest's whole file system: a read-only in-memory tree holding nothing but
 * `/var/openfaas/secrets/<name>` for the secrets the invocation was given. It never touches the
 * host file system. Path resolution is capability-style: a path is relative to the directory
 * it is resolved from and may not climb above it, so `..` cannot escape a preopen.
 */
import { SECRETS_MOUNT } from "../../../shared/constants.js";
import { Errno } from "./abi.js";

const MOUNT_PARTS = SECRETS_MOUNT.split("/").filter((part) => part !== "");

export interface VfsDirectory {
  readonly type: "directory";
  readonly inode: bigint;
  readonly parent: VfsDirectory | undefined;
  readonly entries: Map<string, VfsNode>;
}

export interface VfsFile {
  readonly type: "file";
  readonly inode: bigint;
  readonly data: Uint8Array;
}

export type VfsNode = VfsDirectory | VfsFile;

/** The root directory ("/") of a tree exposing `secrets` under the OpenFaaS secrets mount. */
export function createSecretsTree(secrets: ReadonlyMap<string, Uint8Array>): VfsDirectory {
  let nextInode = 1n;
  const directory = (parent: VfsDirectory | undefined): VfsDirectory => ({
    type: "directory",
    inode: nextInode++,
    parent,
    entries: new Map(),
  });
  const root = directory(undefined);
  let mount = root;
  for (const name of MOUNT_PARTS) {
    const child = directory(mount);
    mount.entries.set(name, child);
    mount = child;
  }
  for (const [name, data] of secrets) {
    mount.entries.set(name, { type: "file", inode: nextInode++, data });
  }
  return root;
}

/**
 * Resolves `path` relative to `start`. Returns the node or a WASI errno: NOENT for what does not
 * exist (and for ""), NOTDIR when a file is used as a directory, NOTCAPABLE for absolute paths and for `..`
 * climbing above `start`.
 */
export function resolvePath(start: VfsDirectory, path: string): VfsNode | number {
  if (path === "") return Errno.noent;
  if (path.startsWith("/")) return Errno.notcapable;
  const trail: VfsDirectory[] = [start];
  let node: VfsNode = start;
  for (const part of path.split("/")) {
    if (part === "" || part === ".") {
      if (node.type !== "directory") return Errno.notdir;
      continue;
    }
    if (node.type !== "directory") return Errno.notdir;
    if (part === "..") {
      if (trail.length === 1) return Errno.notcapable;
      trail.pop();
      node = trail[trail.length - 1] as VfsDirectory;
      continue;
    }
    const child: VfsNode | undefined = node.entries.get(part);
    if (child === undefined) return Errno.noent;
    if (child.type === "directory") trail.push(child);
    node = child;
  }
  return node;
}
