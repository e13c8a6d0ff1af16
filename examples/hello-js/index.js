// hello-js: a JavaScript function (engine chosen by the com.tfaas.engine annotation in stack.yml).
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const body = await request.text();
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body));
    const sha256 = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
    console.log(`hello-js: ${request.method} ${url.pathname}, ${body.length} characters`);
    return Response.json({
      greeting: `Hello, ${url.searchParams.get("name") ?? env.GREETING_SUBJECT ?? "world"}!`,
      method: request.method,
      path: url.pathname,
      sha256,
    });
  },
};
