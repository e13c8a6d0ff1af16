/** HTTP basic auth for /system/* and the dashboard, compared in constant time. */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

export interface Credentials {
  user: string;
  password: string;
}

const digest = (text: string) => createHash("sha256").update(text).digest();

export function createBasicAuth(credentials: Credentials): (req: IncomingMessage) => boolean {
  // Comparing fixed-length digests keeps the time independent of where (and whether) the lengths differ.
  const expected = digest(`${credentials.user}:${credentials.password}`);
  return (req) => {
    const header = req.headers.authorization ?? "";
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    const presented = match ? Buffer.from(match[1]!, "base64").toString("utf8") : "";
    return timingSafeEqual(digest(presented), expected) && match !== null;
  };
}

export const AUTH_CHALLENGE = 'Basic realm="Restricted"';
