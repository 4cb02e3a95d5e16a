/**
 * Chooses the tfjs backend once, when `lib/` is first imported.
 *
 * Order: `IDSTYLE_BACKEND` if set (tensorflow | webgpu | wasm | cpu); else tfjs-node-gpu or
 * tfjs-node when the user has added one to the import map and its native binding loads; else
 * webgpu when Deno sees a real (non-fallback) GPU adapter; else wasm (SIMD, one thread in Deno).
 * The choice is printed once, to stderr.
 *
 * tfjs-node cannot be installed where only the npm registry is reachable (its install script
 * downloads libtensorflow from another host), so it is never a dependency of this project:
 * `deno add npm:@tensorflow/tfjs-node-gpu@4.22.0 && deno approve-scripts` where the network allows.
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { installWasmPatches } from "./kernels/wasm_patches.ts";

export type BackendName = "tensorflow" | "webgpu" | "wasm" | "cpu";

export interface BackendInfo {
  /** The tfjs backend in use. */
  name: BackendName;
  /** Why it was chosen. */
  reason: string;
}

const KNOWN: readonly BackendName[] = ["tensorflow", "webgpu", "wasm", "cpu"];

async function tryNodeBinding(): Promise<string | null> {
  for (const spec of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      import.meta.resolve(spec); // throws unless the user mapped it
    } catch {
      continue;
    }
    try {
      await import(spec);
      if (await tf.setBackend("tensorflow")) return spec;
    } catch (err) {
      console.error(`[idstyle] ${spec} is mapped but did not load: ${String(err).split("\n")[0]}`);
    }
  }
  return null;
}

async function tryWebGpu(): Promise<string | null> {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return null;
  const adapter = await Promise.race([
    gpu.requestAdapter().catch(() => null),
    new Promise<null>((r) => setTimeout(() => r(null), 3000)),
  ]) as { isFallbackAdapter?: boolean; info?: { isFallbackAdapter?: boolean } } | null;
  if (!adapter) return null;
  if (adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter) return null;
  await import("@tensorflow/tfjs-backend-webgpu");
  return (await tf.setBackend("webgpu")) ? "GPU adapter found" : null;
}

async function choose(): Promise<BackendInfo> {
  const forced = Deno.env.get("IDSTYLE_BACKEND");
  if (forced) {
    if (!KNOWN.includes(forced as BackendName)) {
      throw new Error(
        `IDSTYLE_BACKEND: expected one of ${KNOWN.join(", ")}, got "${forced}"`,
      );
    }
    const name = forced as BackendName;
    if (name === "tensorflow") {
      if (!(await tryNodeBinding())) {
        throw new Error(
          "IDSTYLE_BACKEND=tensorflow: tfjs-node(-gpu) is not mapped or not loadable",
        );
      }
    } else if (name === "webgpu") {
      if (!(await tryWebGpu())) throw new Error("IDSTYLE_BACKEND=webgpu: no usable GPU adapter");
    } else if (!(await tf.setBackend(name))) {
      throw new Error(`IDSTYLE_BACKEND=${name}: tfjs could not initialise it`);
    }
    return { name, reason: "IDSTYLE_BACKEND" };
  }
  const node = await tryNodeBinding();
  if (node) return { name: "tensorflow", reason: `${node} loaded` };
  const gpu = await tryWebGpu();
  if (gpu) return { name: "webgpu", reason: gpu };
  if (await tf.setBackend("wasm")) return { name: "wasm", reason: "default" };
  await tf.setBackend("cpu");
  return { name: "cpu", reason: "wasm failed to initialise" };
}

/** The backend chosen at import; `await`ed once by the module graph. */
export const backend: BackendInfo = await choose();
await tf.ready();
installWasmPatches({ matMulGradient: backend.name === "wasm" || backend.name === "cpu" });
if (!Deno.env.get("IDSTYLE_QUIET")) {
  const extra = backend.name === "wasm"
    ? `, simd ${tf.env().getBool("WASM_HAS_SIMD_SUPPORT")}, threads ${
      tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT")
    }`
    : "";
  console.error(`[idstyle] tfjs backend: ${backend.name} (${backend.reason}${extra})`);
}

export { tf };
