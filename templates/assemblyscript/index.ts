// An echo function: the request body arrives on stdin and whatever is written to
// stdout becomes the response body. Request metadata is in process.env
// (REQUEST_METHOD, PATH_INFO, QUERY_STRING, Http_Method, Http_Path, ...).
const chunk = new ArrayBuffer(64 * 1024);
let length = process.stdin.read(chunk);
while (length > 0) {
  // Only a short read needs a copy; a full chunk is written as it is.
  process.stdout.write(length == chunk.byteLength ? chunk : chunk.slice(0, length));
  length = process.stdin.read(chunk);
}
