/**
 * The response half of the ABI: turning what a function wrote to stdout into an HTTP response.
 * `stdio`: stdout is the body. `wagi`: stdout starts with CGI response headers (RFC 3875 §6),
 * then a blank line, then the body.
 */
import type { ResponseAbi } from "../index.js";
import { TfaasError } from "../../shared/errors.js";

export interface ResponseParts {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

const LF = 0x0a;
const CR = 0x0d;
const latin1 = new TextDecoder("latin1");

function malformed(detail: string): TfaasError {
  return new TfaasError("function-failed", `Cannot parse the function's wagi response: ${detail}`);
}

export function buildResponse(abi: ResponseAbi, stdout: Uint8Array): ResponseParts {
  return abi === "wagi" ? parseWagiResponse(stdout) : { status: 200, headers: {}, body: stdout };
}

/**
 * Header names are lower-cased; repeated headers are joined with ", ". `Status` sets the status
 * (its reason phrase is dropped); `Location` without `Status` means 302.
 */
export function parseWagiResponse(stdout: Uint8Array): ResponseParts {
  const headers: Record<string, string> = {};
  let status: number | undefined;
  let lineStart = 0;
  let lineNumber = 0;
  for (;;) {
    const lineEnd = stdout.indexOf(LF, lineStart);
    if (lineEnd === -1) {
      throw malformed(lineNumber === 0 ? "no header block (stdout has no line break)" : "no blank line ends the header block");
    }
    lineNumber++;
    const contentEnd = lineEnd > lineStart && stdout[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
    const bodyStart = lineEnd + 1;
    if (contentEnd === lineStart) {
      if (lineNumber === 1) throw malformed("no header block (stdout starts with a blank line)");
      const location = headers["location"];
      return { status: status ?? (location !== undefined ? 302 : 200), headers, body: stdout.subarray(bodyStart) };
    }
    const line = latin1.decode(stdout.subarray(lineStart, contentEnd));
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon).trim().toLowerCase() : "";
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) throw malformed(`header line ${lineNumber} is not "Name: value"`);
    const value = line.slice(colon + 1).trim();
    if (name === "status") {
      const match = /^([1-5][0-9]{2})(?:\s.*)?$/.exec(value);
      if (match === null) throw malformed(`Status on line ${lineNumber} is not a 3-digit code from 100 to 599`);
      status = Number(match[1]);
    } else {
      const previous = headers[name];
      headers[name] = previous === undefined ? value : `${previous}, ${value}`;
    }
    lineStart = bodyStart;
  }
}
