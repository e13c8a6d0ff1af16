// Echo in AssemblyScript: the request body (stdin) comes back as the response body
// (stdout), and one line per call goes to the function's log (stderr).
const chunk = new ArrayBuffer(64 * 1024);
let total = 0;
let length = process.stdin.read(chunk);
while (length > 0) {
  total += length;
  // Only a short read needs a copy; a full chunk is written as it is.
  process.stdout.write(length == chunk.byteLength ? chunk : chunk.slice(0, length));
  length = process.stdin.read(chunk);
}

const env = process.env;
const method = env.has("Http_Method") ? env.get("Http_Method") : "GET";
const path = env.has("Http_Path") ? env.get("Http_Path") : "/";
process.stderr.write(`echo-as: ${method} ${path}, echoed ${total} bytes\n`);
