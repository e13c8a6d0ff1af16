// A TFaaS TypeScript function: the default export's fetch(request, env) answers each call.
// `tfaas build` bundles it (with anything it imports) into one ES module with esbuild.
type Env = Record<string, string>;

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const name = (await request.text()).trim() || "world";
    console.log(`greeting ${name}`);
    return new Response(`Hello, ${name}!\n`, { headers: { "content-type": "text/plain; charset=utf-8" } });
  },
};
