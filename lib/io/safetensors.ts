/**
 * Safetensors (https://github.com/huggingface/safetensors), the field's interchange format:
 *
 *   [u64 little-endian N][N bytes of JSON header][byte buffer]
 *   header = { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": {str: str} }
 *
 * Offsets are relative to the byte buffer, which the tensors must cover exactly, without holes
 * or overlaps. Writes are atomic. Every way a file can be wrong gives a CheckpointError naming the
 * file and what is wrong. Half and bfloat16 tensors are widened to float32 on read.
 */
import { writeFileAtomic } from "./atomic.ts";

export class CheckpointError extends Error {
  override name = "CheckpointError";
}

export type SafeDType =
  | "F64"
  | "F32"
  | "F16"
  | "BF16"
  | "I64"
  | "I32"
  | "I16"
  | "I8"
  | "U8"
  | "BOOL";

const DTYPE_BYTES: Record<SafeDType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

const MAX_HEADER = 100_000_000;

/** A tensor as stored: dtype, shape and its little-endian bytes. */
export interface RawTensor {
  dtype: SafeDType;
  shape: number[];
  bytes: Uint8Array;
}

export interface SafeTensorsFile {
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

/** What `encode` accepts per tensor. */
export type TensorInput =
  | { dtype: "F32"; shape: number[]; data: Float32Array }
  | { dtype: "I32"; shape: number[]; data: Int32Array }
  | { dtype: "U8"; shape: number[]; data: Uint8Array };

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Serialises tensors (sorted by name, as the reference implementation) and string metadata. */
export function encodeSafetensors(
  tensors: Record<string, TensorInput>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    if (name === "__metadata__") {
      throw new CheckpointError(`tensor name "__metadata__" is reserved`);
    }
    if (t.data.length !== product(t.shape)) {
      throw new CheckpointError(
        `${name}: ${t.data.length} values do not fill shape [${t.shape.join(", ")}]`,
      );
    }
    const n = t.data.byteLength;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += " ";
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const d = tensors[name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    pos += d.byteLength;
  }
  return out;
}

/** Parses and checks a safetensors buffer; `source` names it in errors. */
export function decodeSafetensors(bytes: Uint8Array, source = "<buffer>"): SafeTensorsFile {
  const fail = (what: string): never => {
    throw new CheckpointError(`${source}: ${what}`);
  };
  if (bytes.length < 8) {
    fail(`truncated file: ${bytes.length} bytes, too short for the 8-byte header length`);
  }
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) {
    fail(`corrupt header length ${n} (over ${MAX_HEADER} bytes); not a safetensors file?`);
  }
  const headerLen = Number(n);
  if (8 + headerLen > bytes.length) {
    fail(
      `truncated file: the header says ${headerLen} bytes of JSON but ${
        bytes.length - 8
      } bytes follow`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)),
    );
  } catch (err) {
    fail(`corrupt header: not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    fail("corrupt header: expected a JSON object");
  }
  const buffer = bytes.subarray(8 + headerLen);
  const metadata: Record<string, string> = {};
  const entries: [string, RawTensor, number, number][] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof value !== "object" || value === null) {
        fail("corrupt header: __metadata__ must be an object");
      }
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`corrupt header: __metadata__.${k} must be a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const e = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== "object" || e === null) {
      fail(`corrupt header: entry "${name}" is not an object`);
    }
    const dtype = e.dtype as SafeDType;
    if (typeof dtype !== "string" || !(dtype in DTYPE_BYTES)) {
      fail(`tensor "${name}": unsupported dtype ${JSON.stringify(e.dtype)}`);
    }
    const shape = e.shape as number[];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(`tensor "${name}": corrupt shape ${JSON.stringify(e.shape)}`);
    }
    const off = e.data_offsets as number[];
    if (
      !Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) ||
      off[1] < off[0]
    ) {
      fail(`tensor "${name}": corrupt data_offsets ${JSON.stringify(e.data_offsets)}`);
    }
    const expected = product(shape) * DTYPE_BYTES[dtype];
    if (off[1] - off[0] !== expected) {
      fail(
        `tensor "${name}": data_offsets span ${off[1] - off[0]} bytes, but ${dtype} [${
          shape.join(", ")
        }] needs ${expected}`,
      );
    }
    if (off[1] > buffer.length) {
      fail(
        `truncated file: tensor "${name}" ends at byte ${
          off[1]
        } of the data, which holds ${buffer.length} bytes`,
      );
    }
    entries.push([name, { dtype, shape, bytes: buffer.subarray(off[0], off[1]) }, off[0], off[1]]);
  }
  // The tensors must tile the buffer exactly.
  const sorted = [...entries].sort((a, b) => a[2] - b[2]);
  let pos = 0;
  for (const [name, , begin, end] of sorted) {
    if (begin !== pos) {
      fail(
        begin < pos
          ? `corrupt data_offsets: tensor "${name}" overlaps the previous one`
          : `corrupt data_offsets: a hole before tensor "${name}"`,
      );
    }
    pos = end;
  }
  if (pos !== buffer.length) {
    fail(`corrupt file: ${buffer.length - pos} bytes after the last tensor`);
  }
  return { tensors: new Map(entries.map(([name, t]) => [name, t])), metadata };
}

/** The values of a floating tensor as float32 (F16 and BF16 widened, F64 narrowed). */
export function toFloat32(t: RawTensor, name = "tensor"): Float32Array {
  const copy = t.bytes.slice(); // aligned copy
  switch (t.dtype) {
    case "F32":
      return new Float32Array(copy.buffer);
    case "F64":
      return Float32Array.from(new Float64Array(copy.buffer));
    case "F16": {
      const h = new Uint16Array(copy.buffer);
      const out = new Float32Array(h.length);
      for (let i = 0; i < h.length; i++) out[i] = halfToFloat(h[i]);
      return out;
    }
    case "BF16": {
      const h = new Uint16Array(copy.buffer);
      const u = new Uint32Array(h.length);
      for (let i = 0; i < h.length; i++) u[i] = h[i] << 16;
      return new Float32Array(u.buffer);
    }
    default:
      throw new CheckpointError(`${name}: expected a floating dtype, got ${t.dtype}`);
  }
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * Math.pow(2, -14) * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * Math.pow(2, e - 15) * (1 + f / 1024);
}

export async function writeSafetensors(
  path: string,
  tensors: Record<string, TensorInput>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export async function readSafetensors(path: string): Promise<SafeTensorsFile> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new CheckpointError(`${path}: no such file`);
    throw err;
  }
  return decodeSafetensors(bytes, path);
}
