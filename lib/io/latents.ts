/**
 * Latent files (.npy) in the three layouts the field uses, read into W+ and written back in the
 * layout they came in:
 *
 *   "wplus"     [N, L, D]      this project's
 *   "styleflow" [N, 1, L, D]   the ID-Style authors' `data/test_latents.npy` and StyleFlow's
 *                              `latents.npy` (a singleton axis)
 *   "w"         [N, D]         one w per face, repeated on every row
 */
import { decodeNpy, type NpyArray, readNpy, writeNpy } from "./npy.ts";
import { InputError } from "../util/validate.ts";

export type LatentLayout = "wplus" | "styleflow" | "w";

export interface LatentFile {
  /** W+ values, [N, L, D] in C order (W repeated). */
  data: Float32Array;
  n: number;
  layout: LatentLayout;
}

export interface LatentShape {
  /** Rows of W+ the consumer needs (18 for a 1024 generator, 16 at 512). */
  numLatents: number;
  /** Width of w (512). */
  latentDim: number;
}

const DEFAULT: LatentShape = { numLatents: 18, latentDim: 512 };

/** Interprets an array as latents; `what` names the argument in errors (e.g. "--in"). */
export function latentsFromArray(arr: NpyArray, what: string, want = DEFAULT): LatentFile {
  const { numLatents: L, latentDim: D } = want;
  const s = arr.shape;
  const expected =
    `W+ [N, ${L}, ${D}], [N, 1, ${L}, ${D}] (the authors' and StyleFlow's layout) or W [N, ${D}]`;
  if (arr.dtype !== "float32") {
    throw new InputError(`${what}: expected float latents, got ${arr.dtype}`);
  }
  let layout: LatentLayout;
  if (s.length === 3 && s[2] === D) layout = "wplus";
  else if (s.length === 4 && s[1] === 1 && s[3] === D) layout = "styleflow";
  else if (s.length === 2 && s[1] === D) layout = "w";
  else throw new InputError(`${what}: expected ${expected}, got [${s.join(", ")}]`);
  const rows = layout === "w" ? L : s[layout === "wplus" ? 1 : 2];
  if (rows !== L) {
    throw new InputError(
      `${what}: the latents have ${rows} rows, but this generator takes ${L} (expected ${expected}, got [${
        s.join(", ")
      }])`,
    );
  }
  const n = s[0];
  const src = arr.data as Float32Array;
  const bad = src.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new InputError(
      `${what}: value ${bad} (latent ${Math.floor(bad / (src.length / n))}) is ${src[bad]}`,
    );
  }
  if (layout !== "w") return { data: src, n, layout };
  const data = new Float32Array(n * L * D);
  for (let i = 0; i < n; i++) {
    const w = src.subarray(i * D, (i + 1) * D);
    for (let r = 0; r < L; r++) data.set(w, (i * L + r) * D);
  }
  return { data, n, layout };
}

export async function readLatents(path: string, what: string, want = DEFAULT): Promise<LatentFile> {
  return latentsFromArray(await readNpy(path), what, want);
}

export function decodeLatents(bytes: Uint8Array, what: string, want = DEFAULT): LatentFile {
  return latentsFromArray(decodeNpy(bytes, what), what, want);
}

/**
 * Writes W+ [N, L, D] values in `layout`; "w" is written as W+ (an edit changes rows
 * differently), so only "styleflow" changes the shape.
 */
export async function writeLatents(
  path: string,
  data: Float32Array,
  n: number,
  layout: LatentLayout,
  want = DEFAULT,
): Promise<void> {
  const { numLatents: L, latentDim: D } = want;
  if (data.length !== n * L * D) {
    throw new InputError(`writeLatents: ${data.length} values do not fill [${n}, ${L}, ${D}]`);
  }
  const shape = layout === "styleflow" ? [n, 1, L, D] : [n, L, D];
  await writeNpy(path, { dtype: "float32", shape, data });
}
