/**
 * Importing the world or the editor directly (not lib/mod.ts) still chooses the backend, so a
 * script never runs on tfjs's own default (the pure-JS cpu backend, 10-50x slower here).
 */
import { assertEquals } from "./_util.ts";

const root = new URL("../", import.meta.url).pathname;

for (const module of ["lib/world/synthface/world.ts", "lib/model/editor.ts"]) {
  Deno.test(`importing only ${module} selects the default backend`, async () => {
    const code = `import * as tf from "@tensorflow/tfjs"; await import("${root}${module}"); ` +
      `console.log(tf.getBackend());`;
    const env = { ...Deno.env.toObject() };
    delete env.IDSTYLE_BACKEND;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--config", `${root}deno.json`, code],
      cwd: root,
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    // wasm is the default on these machines; webgpu or tensorflow where a GPU or binding exists.
    assertEquals(["wasm", "webgpu", "tensorflow"].includes(text), true, `backend "${text}"`);
  });
}
