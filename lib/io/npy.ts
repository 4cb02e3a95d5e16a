/**
 * NumPy .npy files (format versions 1.0-3.0), so that latents move between this project and
 * Python. Reads little-endian float32 / float64 (narrowed to float32) / int32 arrays in C order;
 * writes float32 or int32, version 1.0, atomically.
 */
import { writeFileAtomic } from "./atomic.ts";

export class NpyError extends Error {
  override name = "NpyError";
}

export interface NpyArray {
  dtype: "float32" | "int32";
  shape: number[];
  data: Float32Array | Int32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function decodeNpy(bytes: Uint8Array, source = "<buffer>"): NpyArray {
  const fail = (what: string): never => {
    throw new NpyError(`${source}: ${what}`);
  };
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) {
    fail("not a .npy file (bad magic string)");
  }
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number, start: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail("truncated header");
    headerLen = dv.getUint32(8, true);
    start = 12;
  } else {
    return fail(`unsupported .npy version ${major}.${bytes[7]}`);
  }
  if (start + headerLen > bytes.length) fail("truncated header");
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(start, start + headerLen),
  );
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    fail(`corrupt header ${JSON.stringify(header)}`);
  }
  if (fortran === "True") {
    fail("Fortran-ordered arrays are not supported; save with np.ascontiguousarray");
  }
  const shape = shapeText!.split(",").map((s) => s.trim()).filter((s) => s.length).map(Number);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`corrupt shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLen;
  const itemSize: Record<string, number> = { "<f4": 4, "<f8": 8, "<i4": 4, "|i4": 4 };
  const size = itemSize[descr!];
  if (!size) {
    fail(
      `unsupported dtype '${descr}'; expected float32 ('<f4'), float64 ('<f8') or int32 ('<i4')`,
    );
  }
  if (bytes.length - dataStart < count * size) {
    fail(
      `truncated data: shape (${shape.join(", ")}) needs ${count * size} bytes, ${
        bytes.length - dataStart
      } present`,
    );
  }
  const raw = bytes.slice(dataStart, dataStart + count * size).buffer;
  if (descr === "<f4") return { dtype: "float32", shape, data: new Float32Array(raw) };
  if (descr === "<f8") {
    return { dtype: "float32", shape, data: Float32Array.from(new Float64Array(raw)) };
  }
  return { dtype: "int32", shape, data: new Int32Array(raw) };
}

export function encodeNpy(arr: NpyArray): Uint8Array {
  const count = arr.shape.reduce((a, b) => a * b, 1);
  if (arr.data.length !== count) {
    throw new NpyError(
      `encodeNpy: ${arr.data.length} values do not fill shape (${arr.shape.join(", ")})`,
    );
  }
  const descr = arr.dtype === "float32" ? "<f4" : "<i4";
  const shape = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(", ")})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + header.length + arr.data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(
    new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength),
    10 + header.length,
  );
  return out;
}

export async function readNpy(path: string): Promise<NpyArray> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new NpyError(`${path}: no such file`);
    throw err;
  }
  return decodeNpy(bytes, path);
}

export async function writeNpy(path: string, arr: NpyArray): Promise<void> {
  await writeFileAtomic(path, encodeNpy(arr));
}
