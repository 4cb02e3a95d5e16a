/**
 * PyTorch files (.pt / .pth / .ckpt, as `torch.save` writes them), read without Python:
 *
 * 1. the zip format (torch >= 1.6): `<archive>/data.pkl` holds the pickled object, whose
 *    persistent ids `("storage", storage_type, key, location, numel)` name the raw little-endian
 *    storages `<archive>/data/<key>`. The archive's folder name is arbitrary (`archive/`, the file
 *    stem, ...); data.pkl is found by its suffix.
 * 2. the legacy stream (torch <= 1.5, or `_use_new_zipfile_serialization=False`): the pickles
 *    magic number, protocol version 1001, sys_info, the object (persistent ids
 *    `("storage", storage_type, root_key, location, numel, view_metadata)`), the list of storage
 *    keys, then per key an int64 element count and the storage's bytes.
 *
 * The pickles run in the safe machine of pickle.ts, with a closed allow-list of the globals that
 * state_dicts and training checkpoints use (`collections.OrderedDict`, torch's tensor and
 * parameter rebuilders, the typed storages and dtypes, `argparse.Namespace`); any other global
 * is refused before anything else happens, and nothing is ever evaluated.
 *
 * The zip is read here from its central directory rather than with fflate's unzip, because
 * `unzipSync` copies every entry out of a file that can be ~400 MB (rosinality's
 * `stylegan2-ffhq-config-f.pt`), and torch stores its entries uncompressed (64-byte aligned): a
 * stored entry is a view into the file's bytes, and fflate's `inflateSync` serves only the rare
 * deflated entry (a re-zipped file). CRC-32s are checked for the entries read.
 *
 * Tensors come out as `TorchTensor`s, materialised contiguous in C order from (storage, offset,
 * size, stride), so views, transposes and shared storages are right. A contiguous float32 (or
 * int, uint8, bool) tensor whose bytes are aligned is a view into the file's bytes, so tensors
 * sharing one storage may share memory; other tensors are copied, and float16 / bfloat16 /
 * float64 are converted to float32. Every problem is a one-line `TorchFileError` naming the file.
 */
import { inflateSync } from "fflate";
import {
  type GlobalHandler,
  isDict,
  PickleError,
  PickleGlobal,
  setKey,
  unpickle,
} from "./pickle.ts";
import type { RawTensor, SafeDType, SafeTensorsFile } from "./safetensors.ts";

export class TorchFileError extends Error {
  override name = "TorchFileError";
  constructor(message: string) {
    super(message.replace(/\s*[\r\n]+\s*/g, " "));
  }
}

export type TorchDType =
  | "float32"
  | "float16"
  | "bfloat16"
  | "float64"
  | "int64"
  | "int32"
  | "int16"
  | "int8"
  | "uint8"
  | "bool";

export type TorchData =
  | Float32Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

/**
 * A tensor from a PyTorch file: its dtype as stored, its shape, and its values contiguous in C
 * order (Float32Array for every floating dtype; BigInt64Array for int64; Uint8Array for uint8
 * and bool).
 */
export class TorchTensor {
  constructor(
    readonly dtype: TorchDType,
    readonly shape: number[],
    readonly data: TorchData,
  ) {}

  get numel(): number {
    return this.data.length;
  }
}

const DTYPE_INFO: Record<TorchDType, { bytes: number; safe: SafeDType }> = {
  float32: { bytes: 4, safe: "F32" },
  float16: { bytes: 2, safe: "F32" },
  bfloat16: { bytes: 2, safe: "F32" },
  float64: { bytes: 8, safe: "F32" },
  int64: { bytes: 8, safe: "I64" },
  int32: { bytes: 4, safe: "I32" },
  int16: { bytes: 2, safe: "I16" },
  int8: { bytes: 1, safe: "I8" },
  uint8: { bytes: 1, safe: "U8" },
  bool: { bytes: 1, safe: "BOOL" },
};

/** torch.<Name>Storage -> dtype. */
const STORAGE_DTYPES: Record<string, TorchDType> = {
  FloatStorage: "float32",
  HalfStorage: "float16",
  BFloat16Storage: "bfloat16",
  DoubleStorage: "float64",
  LongStorage: "int64",
  IntStorage: "int32",
  ShortStorage: "int16",
  CharStorage: "int8",
  ByteStorage: "uint8",
  BoolStorage: "bool",
  UntypedStorage: "uint8",
};

/** Storage types torch has but this reader does not (a clear error instead of a refusal). */
const UNSUPPORTED_STORAGES = [
  "ComplexFloatStorage",
  "ComplexDoubleStorage",
  "QInt8Storage",
  "QUInt8Storage",
  "QInt32Storage",
  "QUInt4x2Storage",
  "QUInt2x4Storage",
];

/** torch.<dtype> globals (as `_rebuild_tensor_v3` and some checkpoints name them). */
const DTYPE_GLOBALS: Record<string, TorchDType | null> = {
  float32: "float32",
  float: "float32",
  float16: "float16",
  half: "float16",
  bfloat16: "bfloat16",
  float64: "float64",
  double: "float64",
  int64: "int64",
  long: "int64",
  int32: "int32",
  int: "int32",
  int16: "int16",
  short: "int16",
  int8: "int8",
  uint8: "uint8",
  bool: "bool",
  complex64: null,
  complex128: null,
  cfloat: null,
  cdouble: null,
};

/** Tensor kinds torch can pickle that this reader does not support. */
const UNSUPPORTED_REBUILDS: Record<string, string> = {
  "torch._utils._rebuild_qtensor": "a quantized tensor",
  "torch._utils._rebuild_sparse_tensor": "a sparse tensor",
  "torch._utils._rebuild_sparse_csr_tensor": "a sparse CSR tensor",
  "torch._utils._rebuild_meta_tensor_no_storage": "a meta tensor (no data)",
  "torch._utils._rebuild_wrapper_subclass": "a tensor subclass",
  "torch._utils._rebuild_device_tensor_from_numpy": "a tensor saved through numpy",
  "torch._utils._rebuild_nested_tensor": "a nested tensor",
  "torch._tensor._rebuild_from_type_v2": "a tensor subclass",
  "torch._tensor._rebuild_from_type": "a tensor subclass",
};

const ALLOWED_SUMMARY =
  "only collections.OrderedDict, argparse.Namespace, torch.Size, torch.device, torch's tensor and " +
  "parameter rebuilders (torch._utils._rebuild_tensor, _rebuild_tensor_v2, _rebuild_tensor_v3, " +
  "_rebuild_parameter, _rebuild_parameter_with_state), the typed storages (torch.FloatStorage, " +
  "HalfStorage, BFloat16Storage, DoubleStorage, LongStorage, IntStorage, ShortStorage, " +
  "CharStorage, ByteStorage, BoolStorage) and the torch dtypes are allowed";

/** A storage: its element dtype and bytes (`pending` while a legacy file's data is unread). */
class Storage {
  private views = new Map<TorchDType, ArrayLike<number | bigint>>();
  constructor(
    readonly key: string,
    readonly dtype: TorchDType,
    readonly bytes: Uint8Array,
    readonly pending = false,
  ) {}

  /** The storage's elements as `dtype` (a view when aligned, else an aligned copy). */
  elements(dtype: TorchDType): ArrayLike<number | bigint> {
    let v = this.views.get(dtype);
    if (!v) {
      const size = DTYPE_INFO[dtype].bytes;
      const count = Math.floor(this.bytes.length / size);
      const src = this.bytes.byteOffset % size === 0
        ? this.bytes
        : this.bytes.slice(0, count * size);
      const { buffer, byteOffset } = src;
      switch (dtype) {
        case "float32":
          v = new Float32Array(buffer, byteOffset, count);
          break;
        case "float16":
        case "bfloat16":
          v = new Uint16Array(buffer, byteOffset, count);
          break;
        case "float64":
          v = new Float64Array(buffer, byteOffset, count);
          break;
        case "int64":
          v = new BigInt64Array(buffer, byteOffset, count);
          break;
        case "int32":
          v = new Int32Array(buffer, byteOffset, count);
          break;
        case "int16":
          v = new Int16Array(buffer, byteOffset, count);
          break;
        case "int8":
          v = new Int8Array(buffer, byteOffset, count);
          break;
        case "uint8":
        case "bool":
          v = new Uint8Array(buffer, byteOffset, count);
          break;
      }
      this.views.set(dtype, v);
    }
    return v;
  }
}

type Typed = ArrayLike<number | bigint> & {
  subarray(begin: number, end: number): Typed;
  [i: number]: number | bigint;
};

function newTyped(dtype: TorchDType, n: number): Typed {
  switch (dtype) {
    case "float32":
      return new Float32Array(n) as unknown as Typed;
    case "float16":
    case "bfloat16":
      return new Uint16Array(n) as unknown as Typed;
    case "float64":
      return new Float64Array(n) as unknown as Typed;
    case "int64":
      return new BigInt64Array(n) as unknown as Typed;
    case "int32":
      return new Int32Array(n) as unknown as Typed;
    case "int16":
      return new Int16Array(n) as unknown as Typed;
    case "int8":
      return new Int8Array(n) as unknown as Typed;
    default:
      return new Uint8Array(n) as unknown as Typed;
  }
}

let HALF: Float32Array | null = null;

/** float16 bit patterns -> float32 values, all 65536 of them. */
function halfTable(): Float32Array {
  if (!HALF) {
    HALF = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) {
      const s = h & 0x8000 ? -1 : 1;
      const e = (h >> 10) & 0x1f;
      const f = h & 0x3ff;
      HALF[h] = e === 0
        ? s * 2 ** -14 * (f / 1024)
        : e === 31
        ? (f ? NaN : s * Infinity)
        : s * 2 ** (e - 15) * (1 + f / 1024);
    }
  }
  return HALF;
}

/** Native elements -> the TorchTensor's data (floating dtypes widened to float32). */
function toData(dtype: TorchDType, v: Typed): TorchData {
  switch (dtype) {
    case "float16": {
      const t = halfTable(), h = v as unknown as Uint16Array;
      const out = new Float32Array(h.length);
      for (let i = 0; i < h.length; i++) out[i] = t[h[i]];
      return out;
    }
    case "bfloat16": {
      const h = v as unknown as Uint16Array;
      const u = new Uint32Array(h.length);
      for (let i = 0; i < h.length; i++) u[i] = h[i] << 16;
      return new Float32Array(u.buffer);
    }
    case "float64":
      return Float32Array.from(v as unknown as Float64Array);
    default:
      return v as unknown as TorchData;
  }
}

function isIntList(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((d) => typeof d === "number" && Number.isInteger(d) && d >= 0);
}

const MAX_ELEMENTS = 2 ** 31 - 1;

/** A tensor from (storage, offset, size, stride), checked against the storage and copied to C order. */
function materialise(
  source: string,
  st: Storage,
  dtype: TorchDType,
  offset: unknown,
  size: unknown,
  stride: unknown,
): TorchTensor {
  if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0) {
    throw new TorchFileError(`${source}: corrupt file: bad tensor storage offset ${offset}`);
  }
  if (!isIntList(size) || !isIntList(stride) || size.length !== stride.length) {
    throw new TorchFileError(
      `${source}: corrupt file: bad tensor size ${JSON.stringify(size)} / stride ${
        JSON.stringify(stride)
      }`,
    );
  }
  const shape = [...size];
  const numel = shape.reduce((a, b) => a * b, 1);
  const desc = () =>
    `a ${dtype} tensor of shape [${shape.join(", ")}] at offset ${offset} with stride [${
      stride.join(", ")
    }]`;
  if (numel > MAX_ELEMENTS) {
    throw new TorchFileError(`${source}: ${desc()} has too many elements (${numel})`);
  }
  const src = st.elements(dtype) as Typed;
  const have = src.length;
  let last = offset;
  for (let d = 0; d < shape.length; d++) last += (shape[d] - 1) * stride[d];
  if (numel > 0 && last >= have) {
    throw new TorchFileError(
      `${source}: corrupt file: ${desc()} reaches element ${last} of storage ${
        JSON.stringify(st.key)
      }, which holds ${have} ${dtype} elements`,
    );
  }
  // Contiguous in C order (dimensions of size 1 may have any stride)?
  let contiguous = true;
  for (let d = shape.length - 1, want = 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== want) contiguous = false;
    want *= shape[d];
  }
  let native: Typed;
  if (numel === 0) native = newTyped(dtype, 0);
  else if (contiguous) native = src.subarray(offset, offset + numel);
  else {
    native = newTyped(dtype, numel);
    const nd = shape.length;
    const inner = shape[nd - 1], innerStride = stride[nd - 1];
    const idx = new Array(nd).fill(0);
    let base = offset;
    for (let o = 0; o < numel; o += inner) {
      for (let j = 0, s = base; j < inner; j++, s += innerStride) native[o + j] = src[s];
      for (let d = nd - 2; d >= 0; d--) {
        idx[d]++;
        base += stride[d];
        if (idx[d] < shape[d]) break;
        base -= stride[d] * shape[d];
        idx[d] = 0;
      }
    }
  }
  return new TorchTensor(dtype, shape, toData(dtype, native));
}

function storageName(g: PickleGlobal): string {
  return g.name.replace(/^torch\.(cuda\.)?/, "");
}

interface Context {
  source: string;
  /** Resolves a persistent id to a storage. */
  storage(pid: unknown): Storage;
}

/** The allow-list: every global a torch state_dict or training checkpoint uses. */
function torchGlobals(ctx: Context): Map<string, GlobalHandler> {
  const { source } = ctx;
  const fail = (what: string): never => {
    throw new TorchFileError(`${source}: ${what}`);
  };
  const pendingOr = (st: unknown, make: (s: Storage) => TorchTensor): TorchTensor | null => {
    if (!(st instanceof Storage)) {
      return fail(`corrupt file: a tensor is rebuilt from ${typeof st}, not from a storage`);
    }
    return st.pending ? null : make(st);
  };
  const g = new Map<string, GlobalHandler>();
  const dict = (): Record<string, unknown> => ({});
  g.set("collections.OrderedDict", {
    call(args) {
      const d = dict();
      if (Array.isArray(args[0])) {
        for (const kv of args[0]) if (Array.isArray(kv) && kv.length === 2) setKey(d, kv[0], kv[1]);
      }
      return d;
    },
    build() {/* the state_dict's `_metadata` (versions of submodules): ignored */},
  });
  g.set("argparse.Namespace", {
    call: () => dict(),
    build(obj, state) {
      if (isDict(state)) {
        for (const [k, v] of Object.entries(state)) setKey(obj as Record<string, unknown>, k, v);
      }
    },
  });
  g.set("torch.Size", { call: (args) => Array.isArray(args[0]) ? [...args[0]] : [] });
  g.set("torch.device", { call: (args) => args.filter((a) => a !== null).join(":") });
  g.set("torch._utils._rebuild_tensor", {
    call: ([st, offset, size, stride]) =>
      pendingOr(st, (s) => materialise(source, s, s.dtype, offset, size, stride)),
  });
  g.set("torch._utils._rebuild_tensor_v2", {
    call: ([st, offset, size, stride]) =>
      pendingOr(st, (s) => materialise(source, s, s.dtype, offset, size, stride)),
  });
  g.set("torch._utils._rebuild_tensor_v3", {
    call: ([st, offset, size, stride, , , dtype]) => {
      const name = dtype instanceof PickleGlobal ? dtype.name.replace(/^torch\./, "") : "";
      const dt = DTYPE_GLOBALS[name];
      if (!dt) {
        return fail(
          `unsupported dtype ${
            dtype instanceof PickleGlobal ? dtype.name : typeof dtype
          } (supported: ${Object.keys(DTYPE_INFO).join(", ")})`,
        );
      }
      return pendingOr(st, (s) => materialise(source, s, dt, offset, size, stride));
    },
  });
  const parameter = (args: unknown[]) => {
    const data = args[0];
    if (data !== null && !(data instanceof TorchTensor)) {
      fail("corrupt file: a parameter wraps something other than a tensor");
    }
    return data;
  };
  g.set("torch._utils._rebuild_parameter", { call: parameter });
  g.set("torch._utils._rebuild_parameter_with_state", { call: parameter });
  for (const [name, what] of Object.entries(UNSUPPORTED_REBUILDS)) {
    g.set(name, { call: () => fail(`unsupported: the file holds ${what} (${name})`) });
  }
  for (const name of [...Object.keys(STORAGE_DTYPES), ...UNSUPPORTED_STORAGES]) {
    g.set(`torch.${name}`, {});
    if (name !== "UntypedStorage") g.set(`torch.cuda.${name}`, {});
  }
  for (const name of Object.keys(DTYPE_GLOBALS)) g.set(`torch.${name}`, {});
  return g;
}

/** The storage type of a persistent id, checked. */
function storageDType(source: string, t: unknown): TorchDType {
  if (!(t instanceof PickleGlobal)) {
    throw new TorchFileError(`${source}: corrupt file: a storage's type is not a storage class`);
  }
  const name = storageName(t);
  const dtype = STORAGE_DTYPES[name];
  if (!dtype) {
    throw new TorchFileError(
      `${source}: unsupported storage type ${t.name} (supported: ${
        Object.keys(STORAGE_DTYPES).map((s) => "torch." + s).join(", ")
      })`,
    );
  }
  return dtype;
}

function checkCount(source: string, v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new TorchFileError(`${source}: corrupt file: bad ${what} ${String(v)}`);
  }
  return v;
}

function persistentTuple(source: string, pid: unknown, len: number[]): unknown[] {
  if (!Array.isArray(pid) || !len.includes(pid.length) || pid[0] !== "storage") {
    if (Array.isArray(pid) && pid[0] === "module") {
      throw new TorchFileError(
        `${source}: unsupported: the file pickles a whole nn.Module (torch.save(model)); ` +
          "save and load its state_dict() instead",
      );
    }
    throw new TorchFileError(
      `${source}: corrupt file: a persistent id is not a ("storage", type, key, location, numel${
        len.includes(6) ? ", view" : ""
      }) tuple`,
    );
  }
  return pid;
}

function runPickle(bytes: Uint8Array, start: number, ctx: Context) {
  return unpickle(bytes, start, {
    source: ctx.source,
    globals: torchGlobals(ctx),
    persistentLoad: (pid) => ctx.storage(pid),
    allowedWhat: "a PyTorch tensor or container",
    refusalHint: ALLOWED_SUMMARY,
  });
}

// ---------------------------------------------------------------------------------------------
// Zip

interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

let CRC_TABLE: Uint32Array | null = null;

function crc32(b: Uint8Array): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256 * 4);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[i] = c >>> 0;
    }
    for (let i = 0; i < 256; i++) {
      for (let t = 1; t < 4; t++) {
        const p = CRC_TABLE[(t - 1) * 256 + i];
        CRC_TABLE[t * 256 + i] = (p >>> 8) ^ CRC_TABLE[p & 0xff];
      }
    }
  }
  const T = CRC_TABLE;
  let c = 0xffffffff;
  let i = 0;
  const n4 = b.length - (b.length % 4);
  for (; i < n4; i += 4) {
    c ^= b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
    c = T[768 + (c & 0xff)] ^ T[512 + ((c >>> 8) & 0xff)] ^ T[256 + ((c >>> 16) & 0xff)] ^
      T[c >>> 24];
  }
  for (; i < b.length; i++) c = T[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function readZipDirectory(bytes: Uint8Array, source: string): Map<string, ZipEntry> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const corrupt = (what: string): never => {
    throw new TorchFileError(`${source}: truncated or corrupt zip (torch.save format): ${what}`);
  };
  // End of central directory: 22 bytes + a comment of up to 65535.
  let eocd = -1;
  for (let p = bytes.length - 22; p >= Math.max(0, bytes.length - 22 - 65535); p--) {
    if (dv.getUint32(p, true) === 0x06054b50) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) corrupt("no end-of-central-directory record (was the file cut short?)");
  let count = dv.getUint16(eocd + 10, true);
  let cdSize = dv.getUint32(eocd + 12, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || dv.getUint32(loc, true) !== 0x07064b50) corrupt("missing zip64 locator");
    const z = Number(dv.getBigUint64(loc + 8, true));
    if (z + 56 > bytes.length || dv.getUint32(z, true) !== 0x06064b50) {
      corrupt("bad zip64 end-of-central-directory record");
    }
    count = Number(dv.getBigUint64(z + 32, true));
    cdSize = Number(dv.getBigUint64(z + 40, true));
    cdOffset = Number(dv.getBigUint64(z + 48, true));
  }
  if (cdOffset + cdSize > bytes.length) corrupt("the central directory runs past the end");
  const entries = new Map<string, ZipEntry>();
  const dec = new TextDecoder();
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > bytes.length || dv.getUint32(p, true) !== 0x02014b50) {
      corrupt(`central directory entry ${i} is damaged`);
    }
    const flags = dv.getUint16(p + 8, true);
    const method = dv.getUint16(p + 10, true);
    const crc = dv.getUint32(p + 16, true);
    let compressedSize = dv.getUint32(p + 20, true);
    let size = dv.getUint32(p + 24, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    let localOffset = dv.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen > bytes.length) corrupt(`central directory entry ${i} is cut`);
    const name = dec.decode(bytes.subarray(p + 46, p + 46 + nameLen));
    // Zip64 extended information: the 64-bit values of the fields that are 0xFFFFFFFF.
    for (let e = p + 46 + nameLen; e + 4 <= p + 46 + nameLen + extraLen;) {
      const id = dv.getUint16(e, true), len = dv.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        const next = () => {
          if (q + 8 > e + 4 + len) corrupt(`zip64 field of "${name}" is short`);
          const v = Number(dv.getBigUint64(q, true));
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localOffset === 0xffffffff) localOffset = next();
      }
      e += 4 + len;
    }
    entries.set(name, { name, method, flags, crc, compressedSize, size, localOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

function zipEntryBytes(bytes: Uint8Array, e: ZipEntry, source: string): Uint8Array {
  const corrupt = (what: string): never => {
    throw new TorchFileError(
      `${source}: truncated or corrupt zip entry ${JSON.stringify(e.name)}: ${what}`,
    );
  };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = e.localOffset;
  if (h + 30 > bytes.length || dv.getUint32(h, true) !== 0x04034b50) corrupt("bad local header");
  const start = h + 30 + dv.getUint16(h + 26, true) + dv.getUint16(h + 28, true);
  if (start + e.compressedSize > bytes.length) {
    corrupt(`its ${e.compressedSize} bytes run past the end of the file (cut short?)`);
  }
  if (e.flags & 1) corrupt("encrypted entries are not supported");
  const raw = bytes.subarray(start, start + e.compressedSize);
  let data: Uint8Array;
  if (e.method === 0) data = raw;
  else if (e.method === 8) {
    try {
      data = inflateSync(raw, { out: new Uint8Array(e.size) });
    } catch (err) {
      return corrupt(`cannot inflate (${(err as Error).message})`);
    }
  } else return corrupt(`unsupported compression method ${e.method}`);
  if (data.length !== e.size) corrupt(`holds ${data.length} bytes, the directory says ${e.size}`);
  if (crc32(data) !== e.crc) corrupt("CRC-32 mismatch (the file is damaged)");
  return data;
}

function decodeZip(bytes: Uint8Array, source: string): unknown {
  const entries = readZipDirectory(bytes, source);
  const pkls = [...entries.keys()].filter((n) => n === "data.pkl" || n.endsWith("/data.pkl"))
    .sort((a, b) => a.split("/").length - b.split("/").length);
  if (!pkls.length) {
    throw new TorchFileError(
      `${source}: not a PyTorch file: a zip without data.pkl (entries: ${
        [...entries.keys()].slice(0, 5).join(", ")
      }${entries.size > 5 ? ", ..." : ""})`,
    );
  }
  const prefix = pkls[0].slice(0, -"data.pkl".length);
  if (
    entries.has(`${prefix}constants.pkl`) ||
    [...entries.keys()].some((n) => n.startsWith(`${prefix}code/`))
  ) {
    throw new TorchFileError(
      `${source}: unsupported: a TorchScript archive (torch.jit.save), not a torch.save file`,
    );
  }
  const order = entries.get(`${prefix}byteorder`);
  if (order) {
    const s = new TextDecoder().decode(zipEntryBytes(bytes, order, source)).trim();
    if (s !== "little") {
      throw new TorchFileError(`${source}: unsupported byte order ${JSON.stringify(s)}`);
    }
  }
  const pkl = zipEntryBytes(bytes, entries.get(pkls[0])!, source);
  const storages = new Map<string, Storage>();
  const ctx: Context = {
    source,
    storage(pid) {
      const [, type, key, , numel] = persistentTuple(source, pid, [5]);
      if (typeof key !== "string") {
        throw new TorchFileError(`${source}: corrupt file: a storage key is not a string`);
      }
      const dtype = storageDType(source, type);
      const n = checkCount(source, numel, `element count of storage ${JSON.stringify(key)}`);
      let st = storages.get(key);
      if (!st) {
        const name = `${prefix}data/${key}`;
        const e = entries.get(name);
        if (!e) {
          throw new TorchFileError(
            `${source}: truncated or corrupt file: the zip has no entry ${
              JSON.stringify(name)
            } for storage ${JSON.stringify(key)}`,
          );
        }
        const data = zipEntryBytes(bytes, e, source);
        const want = n * DTYPE_INFO[dtype].bytes;
        if (data.length < want) {
          throw new TorchFileError(
            `${source}: truncated or corrupt file: storage ${
              JSON.stringify(key)
            } holds ${data.length} bytes, but the pickle says ${n} ${dtype} elements (${want} bytes)`,
          );
        }
        st = new Storage(key, dtype, data.subarray(0, want));
        storages.set(key, st);
      }
      return st;
    },
  };
  const { value } = runPickle(pkl, 0, ctx);
  return value;
}

// ---------------------------------------------------------------------------------------------
// Legacy stream

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

function isLegacy(bytes: Uint8Array): boolean {
  if (bytes[0] !== 0x80) return false;
  try {
    const { value } = unpickle(bytes, 0, { source: "", globals: new Map() });
    return value === LEGACY_MAGIC;
  } catch {
    return false;
  }
}

function decodeLegacy(bytes: Uint8Array, source: string): unknown {
  const plain = { source, globals: new Map<string, GlobalHandler>() };
  let r = unpickle(bytes, 0, plain); // magic
  r = unpickle(bytes, r.end, plain);
  if (r.value !== LEGACY_PROTOCOL) {
    throw new TorchFileError(
      `${source}: unsupported legacy protocol version ${
        String(r.value)
      } (expected ${LEGACY_PROTOCOL})`,
    );
  }
  r = unpickle(bytes, r.end, plain);
  const info = r.value as Record<string, unknown>;
  if (!isDict(info)) throw new TorchFileError(`${source}: corrupt file: sys_info is not a dict`);
  if (info.little_endian === false) {
    throw new TorchFileError(`${source}: unsupported: written on a big-endian machine`);
  }
  const objectStart = r.end;

  // Pass 1: learn each root storage's type and size (the data follows the object pickle).
  const roots = new Map<string, { dtype: TorchDType; numel: number }>();
  const legacyPid = (pid: unknown) => {
    const [, type, key, , numel, view] = persistentTuple(source, pid, [6]);
    if (typeof key !== "string") {
      throw new TorchFileError(`${source}: corrupt file: a storage key is not a string`);
    }
    const dtype = storageDType(source, type);
    const n = checkCount(source, numel, `element count of storage ${JSON.stringify(key)}`);
    return { key, dtype, numel: n, view };
  };
  const scan = runPickle(bytes, objectStart, {
    source,
    storage(pid) {
      const { key, dtype, numel } = legacyPid(pid);
      if (!roots.has(key)) roots.set(key, { dtype, numel });
      return new Storage(key, dtype, new Uint8Array(0), true);
    },
  });
  const keysResult = unpickle(bytes, scan.end, plain);
  const keys = keysResult.value;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) {
    throw new TorchFileError(
      `${source}: corrupt file: the storage key list is not a list of strings`,
    );
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Map<string, Storage>();
  let pos = keysResult.end;
  for (const key of keys as string[]) {
    const root = roots.get(key);
    if (!root) {
      throw new TorchFileError(
        `${source}: corrupt file: storage ${JSON.stringify(key)} is listed but never used`,
      );
    }
    if (pos + 8 > bytes.length) {
      throw new TorchFileError(
        `${source}: truncated file: the data of storage ${
          JSON.stringify(key)
        } (at byte ${pos}) is missing`,
      );
    }
    const count = dv.getBigInt64(pos, true);
    if (count !== BigInt(root.numel)) {
      throw new TorchFileError(
        `${source}: corrupt file: storage ${
          JSON.stringify(key)
        } records ${count} elements, the pickle says ${root.numel}`,
      );
    }
    const nbytes = root.numel * DTYPE_INFO[root.dtype].bytes;
    pos += 8;
    if (pos + nbytes > bytes.length) {
      throw new TorchFileError(
        `${source}: truncated file: storage ${
          JSON.stringify(key)
        } needs ${nbytes} bytes at byte ${pos}, but only ${bytes.length - pos} remain`,
      );
    }
    data.set(key, new Storage(key, root.dtype, bytes.subarray(pos, pos + nbytes)));
    pos += nbytes;
  }
  // Pass 2: the object, with its storages.
  const views = new Map<string, Storage>();
  const { value } = runPickle(bytes, objectStart, {
    source,
    storage(pid) {
      const { key, view } = legacyPid(pid);
      const root = data.get(key);
      if (!root) {
        throw new TorchFileError(
          `${source}: truncated or corrupt file: storage ${JSON.stringify(key)} has no data`,
        );
      }
      if (view === null || view === undefined) return root;
      if (!Array.isArray(view) || view.length !== 3 || typeof view[0] !== "string") {
        throw new TorchFileError(
          `${source}: corrupt file: bad storage view of ${JSON.stringify(key)}`,
        );
      }
      const [viewKey, offset, size] = view as [string, unknown, unknown];
      let st = views.get(viewKey);
      if (!st) {
        const o = checkCount(source, offset, "storage view offset");
        const s = checkCount(source, size, "storage view size");
        const el = DTYPE_INFO[root.dtype].bytes;
        if ((o + s) * el > root.bytes.length) {
          throw new TorchFileError(
            `${source}: corrupt file: storage view ${JSON.stringify(viewKey)} runs past storage ${
              JSON.stringify(key)
            }`,
          );
        }
        st = new Storage(viewKey, root.dtype, root.bytes.subarray(o * el, (o + s) * el));
        views.set(viewKey, st);
      }
      return st;
    },
  });
  return value;
}

// ---------------------------------------------------------------------------------------------
// Entry points

/** Decodes a PyTorch file's bytes; `source` names it in errors. */
export function decodeTorch(bytes: Uint8Array, source: string): unknown {
  try {
    if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b) {
      if ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6)) {
        return decodeZip(bytes, source);
      }
    }
    if (isLegacy(bytes)) return decodeLegacy(bytes, source);
    if (bytes.length > 262 && new TextDecoder().decode(bytes.subarray(257, 262)) === "ustar") {
      throw new TorchFileError(
        `${source}: unsupported: torch's old tar format (torch < 0.4); resave it with a newer torch`,
      );
    }
    throw new TorchFileError(
      `${source}: not a PyTorch file (neither torch.save's zip format nor its legacy format${
        bytes.length === 0 ? "; the file is empty" : ""
      })`,
    );
  } catch (err) {
    if (err instanceof TorchFileError) throw err;
    if (err instanceof PickleError) throw new TorchFileError(err.message);
    throw new TorchFileError(`${source}: corrupt file (${(err as Error)?.message ?? String(err)})`);
  }
}

/** Reads a PyTorch file (.pt / .pth / .ckpt, zip or legacy format). */
export async function readTorch(path: string): Promise<unknown> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new TorchFileError(`${path}: no such file`);
    throw new TorchFileError(`${path}: cannot read (${(err as Error).message})`);
  }
  return decodeTorch(bytes, path);
}

/**
 * Every tensor in `obj` by its dotted path: nested dicts (and lists, by index) are flattened
 * with "." (`{g_ema: {"style.1.weight": T}}` -> "g_ema.style.1.weight").
 */
export function tensorsOf(obj: unknown, prefix = ""): Map<string, TorchTensor> {
  const out = new Map<string, TorchTensor>();
  // Depth first without recursion (a pickle can nest as deep as it is long); the containers on
  // the current path are skipped when met again (a pickle can also hold cycles).
  interface Frame {
    container: object;
    entries: [string, unknown][];
    i: number;
    name: string;
  }
  const open = new Set<object>();
  const stack: Frame[] = [];
  const enter = (v: unknown, name: string) => {
    if (v instanceof TorchTensor) {
      out.set(name, v);
      return;
    }
    if (typeof v !== "object" || v === null || open.has(v)) return;
    let entries: [string, unknown][];
    if (Array.isArray(v)) entries = v.map((x, i) => [String(i), x]);
    else if (isDict(v)) entries = Object.entries(v);
    else return;
    open.add(v);
    stack.push({ container: v, entries, i: 0, name });
  };
  enter(obj, prefix);
  while (stack.length) {
    const f = stack[stack.length - 1];
    if (f.i === f.entries.length) {
      open.delete(f.container);
      stack.pop();
      continue;
    }
    const [k, x] = f.entries[f.i++];
    enter(x, f.name ? `${f.name}.${k}` : k);
  }
  return out;
}

/**
 * The tensors of `obj[key]` (a state_dict inside a checkpoint, e.g. "g_ema"; a dotted path
 * reaches deeper) or of `obj` itself when `key` is undefined.
 */
export function stateDictAt(
  obj: unknown,
  key: string | undefined,
  source: string,
): Map<string, TorchTensor> {
  if (key === undefined) return tensorsOf(obj);
  if (!isDict(obj)) {
    throw new TorchFileError(
      `${source}: has no key ${JSON.stringify(key)}: it holds ${
        obj instanceof TorchTensor ? "a tensor" : Array.isArray(obj) ? "a list" : typeof obj
      }, not a dict`,
    );
  }
  if (Object.hasOwn(obj, key)) return tensorsOf(obj[key]);
  // A dotted path: the tensors under it, through nested dicts or flat "a.b.c" names alike.
  const under = new Map<string, TorchTensor>();
  for (const [name, t] of tensorsOf(obj)) {
    if (name.startsWith(key + ".")) under.set(name.slice(key.length + 1), t);
  }
  if (under.size) return under;
  const keys = Object.keys(obj);
  throw new TorchFileError(
    `${source}: has no key ${JSON.stringify(key)}; its keys are ${
      keys.slice(0, 20).map((k) => JSON.stringify(k)).join(", ") || "(none)"
    }${keys.length > 20 ? `, ... (${keys.length} in all)` : ""}`,
  );
}

/** The tensors as a SafeTensorsFile (floating -> F32, int64 -> I64, ...; no metadata). */
export function toSafetensorsFile(tensors: Map<string, TorchTensor>): SafeTensorsFile {
  const out = new Map<string, RawTensor>();
  for (const [name, t] of tensors) {
    const d = t.data;
    out.set(name, {
      dtype: DTYPE_INFO[t.dtype].safe,
      shape: [...t.shape],
      bytes: new Uint8Array(d.buffer, d.byteOffset, d.byteLength),
    });
  }
  return { tensors: out, metadata: {} };
}
