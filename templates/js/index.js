// A TFaaS JavaScript function: the default export's fetch(request, env) answers each call.
// env holds the function's environment variables and its secrets by name.
export default {
  async fetch(request, env) {
    const name = (await request.text()).trim() || "world";
    console.log(`greeting ${name}`);
    return new Response(`Hello, ${name}!\n`, { headers: { "content-type": "text/plain; charset=utf-8" } });
  },
};
