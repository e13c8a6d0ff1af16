import { describe, expect, it } from "vitest";
import { Errno } from "./abi.js";
import { createSecretsTree, resolvePath, type VfsDirectory } from "./vfs.js";

const secret = new TextEncoder().encode("value");
const root = createSecretsTree(new Map([["db-password", secret]]));

describe("secrets tree", () => {
  it("holds only /var/openfaas/secrets/<name>", () => {
    expect([...root.entries.keys()]).toEqual(["var"]);
    const node = resolvePath(root, "var/openfaas/secrets/db-password");
    expect(node).toMatchObject({ type: "file", data: secret });
  });

  it("gives every node its own inode and directories their parent", () => {
    const secrets = resolvePath(root, "var/openfaas/secrets") as VfsDirectory;
    const openfaas = resolvePath(root, "var/openfaas") as VfsDirectory;
    expect(secrets.parent).toBe(openfaas);
    expect(root.parent).toBeUndefined();
    const inodes = [root, openfaas, secrets, secrets.entries.get("db-password")].map((node) => node?.inode);
    expect(new Set(inodes).size).toBe(4);
  });

  it("is empty below the mount without secrets", () => {
    expect((resolvePath(createSecretsTree(new Map()), "var/openfaas/secrets") as VfsDirectory).entries.size).toBe(0);
  });
});

describe("resolvePath", () => {
  it("follows '.', '..' and repeated slashes inside the tree", () => {
    expect(resolvePath(root, "./var//openfaas/../openfaas/secrets/./db-password")).toMatchObject({ type: "file" });
    expect(resolvePath(root, ".")).toBe(root);
    expect(resolvePath(root, "var/..")).toBe(root);
  });

  it("answers ENOENT for what does not exist", () => {
    expect(resolvePath(root, "etc/passwd")).toBe(Errno.noent);
    expect(resolvePath(root, "var/openfaas/secrets/other")).toBe(Errno.noent);
    expect(resolvePath(root, "")).toBe(Errno.noent);
  });

  it("answers ENOTDIR when a file is used as a directory", () => {
    expect(resolvePath(root, "var/openfaas/secrets/db-password/")).toBe(Errno.notdir);
    expect(resolvePath(root, "var/openfaas/secrets/db-password/x")).toBe(Errno.notdir);
  });

  it("never climbs above the directory it starts from", () => {
    expect(resolvePath(root, "..")).toBe(Errno.notcapable);
    expect(resolvePath(root, "var/../../etc/passwd")).toBe(Errno.notcapable);
    expect(resolvePath(root, "/etc/passwd")).toBe(Errno.notcapable);
    const secrets = resolvePath(root, "var/openfaas/secrets") as VfsDirectory;
    expect(resolvePath(secrets, "db-password")).toMatchObject({ type: "file" });
    expect(resolvePath(secrets, "../secrets/db-password")).toBe(Errno.notcapable);
  });
});
