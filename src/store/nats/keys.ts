/**
 * Names as NATS tokens. KV keys, subjects and consumer names allow few characters and treat
 * "." as a separator, so a name is used as is only when it is plainly safe; anything else is
 * spelled `=` + hex of its UTF-8 bytes. Safe names never contain "=" or "_", so the two
 * spellings cannot collide and "_" can join tokens unambiguously (consumer names).
 */
const SAFE = /^[A-Za-z0-9-]{1,64}$/;

export function token(name: string): string {
  return SAFE.test(name) ? name : `=${Buffer.from(name, "utf8").toString("hex")}`;
}

export function untoken(encoded: string): string {
  return encoded.startsWith("=") ? Buffer.from(encoded.slice(1), "hex").toString("utf8") : encoded;
}
