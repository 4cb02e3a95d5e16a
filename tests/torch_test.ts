/**
 * PyTorch files without Python: the real fixtures written by PyTorch 1.13 (zip and legacy
 * formats), files that Python's own pickle + zipfile write in torch's layouts (checked against
 * numpy), the pickle machine's refusal of every global outside the allow-list, and one-line
 * errors for every corrupt or truncated file.
 */
import { unzipSync, zipSync } from "fflate";
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
  maxAbsDiff,
  numpyPython,
  runPython,
  values,
} from "./_util.ts";
import {
  decodeTorch,
  readTorch,
  stateDictAt,
  tensorsOf,
  TorchFileError,
  TorchTensor,
  toSafetensorsFile,
} from "../lib/io/torch.ts";
import { type GlobalHandler, PickleError, unpickle } from "../lib/io/pickle.ts";
import { checkpointConfig, loadEditorWeights } from "../lib/io/checkpoint.ts";
import { IDStyleEditor } from "../lib/model/editor.ts";

const REAL = new URL("./fixtures/real/", import.meta.url).pathname;
const OFFICIAL = REAL + "idstyle_official.ckpt";
const LEGACY = REAL + "idstyle_official.legacy.ckpt";
const STYLEGAN = REAL + "stylegan2_1024.pt";

const py = await numpyPython();
const needNumpy = { ignore: py === null && !Deno.env.get("CI") };
if (py === null) console.error("torch-layout cross-checks ignored: install Debian's python3-numpy");

/** Checks that `fn` throws a one-line TorchFileError naming `source` and every fragment. */
function assertTorchError(fn: () => unknown, source: string, ...fragments: string[]): Error {
  const err = assertThrows(fn, source, ...fragments);
  assert(
    err instanceof TorchFileError,
    `expected a TorchFileError, got ${err.name}: ${err.message}`,
  );
  assertEquals(err.name, "TorchFileError");
  assert(!err.message.includes("\n"), `not one line: ${JSON.stringify(err.message)}`);
  assert(err.message.startsWith(source + ": "), `does not start with the file: ${err.message}`);
  return err;
}

const enc = new TextEncoder();

function concat(...parts: (Uint8Array | number[] | string)[]): Uint8Array {
  const bufs = parts.map((p) =>
    typeof p === "string" ? enc.encode(p) : p instanceof Uint8Array ? p : Uint8Array.from(p)
  );
  const out = new Uint8Array(bufs.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of bufs) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

/** BINUNICODE and SHORT_BINUNICODE strings. */
function binunicode(s: string): Uint8Array {
  const b = enc.encode(s);
  const n = new Uint8Array(4);
  new DataView(n.buffer).setUint32(0, b.length, true);
  return concat([0x58], n, b);
}
function shortUnicode(s: string): Uint8Array {
  const b = enc.encode(s);
  return concat([0x8c, b.length], b);
}

/** A torch-like zip around a pickle (and storages), entries stored as torch stores them. */
function torchZip(pkl: Uint8Array, storages: Record<string, Uint8Array> = {}, archive = "archive") {
  const files: Record<string, [Uint8Array, { level: 0 }]> = {
    [`${archive}/data.pkl`]: [pkl, { level: 0 }],
  };
  for (const [k, v] of Object.entries(storages)) files[`${archive}/data/${k}`] = [v, { level: 0 }];
  files[`${archive}/version`] = [enc.encode("3\n"), { level: 0 }];
  return zipSync(files);
}

/** Replaces the (first) occurrence of `from` by `to` in bytes. */
function patch(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const f = enc.encode(from);
  for (let i = 0; i + f.length <= bytes.length; i++) {
    if (f.every((b, j) => bytes[i + j] === b)) {
      return concat(bytes.subarray(0, i), to, bytes.subarray(i + f.length));
    }
  }
  throw new Error(`patch: ${JSON.stringify(from)} not found`);
}

/** The official zip's entries, to take apart and rebuild. */
function officialEntries(): Record<string, Uint8Array> {
  return unzipSync(Deno.readFileSync(OFFICIAL));
}
function rezip(entries: Record<string, Uint8Array>): Uint8Array {
  const files: Record<string, [Uint8Array, { level: 0 }]> = {};
  for (const [k, v] of Object.entries(entries)) files[k] = [v, { level: 0 }];
  return zipSync(files);
}

// ---------------------------------------------------------------------------------------------
// The real files

Deno.test("torch: the official ID-Style state_dict decodes the same from the zip and legacy formats", async () => {
  const zip = tensorsOf(await readTorch(OFFICIAL));
  const legacy = tensorsOf(await readTorch(LEGACY));
  assertEquals([...zip.keys()], [...legacy.keys()]);
  const shapes = Object.fromEntries([...zip].map(([k, t]) => [k, t.shape]));
  assertEquals(shapes, {
    "iaip.gender_shared": [1, 512],
    "iaip.glasses_shared": [1, 512],
    "iaip.age_shared": [1, 512],
    "iaip.smile_shared": [1, 512],
    "iaip.fc.0.weight": [1024],
    "iaip.fc.0.bias": [1024],
    "iaip.fc.1.weight": [512, 1024],
    "iaip.fc.1.bias": [512],
    "iaip.l18.weight": [18, 18],
    "iaip.l18.bias": [18],
    "iaip.l1024.0.weight": [512, 512],
    "iaip.l1024.0.bias": [512],
    "embedding_attr.weight": [4, 18],
  });
  for (const [k, t] of zip) {
    const l = legacy.get(k)!;
    assertEquals([t.dtype, l.dtype], ["float32", "float32"], k);
    assertEquals(l.shape, t.shape, k);
    assert(t.data instanceof Float32Array && l.data instanceof Float32Array);
    assertEquals(t.data.length, t.shape.reduce((a, b) => a * b, 1), k);
    assertEquals(maxAbsDiff(t.data, l.data), 0, k);
    assert(t.data.some((v) => v !== 0), `${k} is all zeros`);
  }
});

Deno.test("torch: rosinality's stylegan2_1024.pt, {g_ema, latent_avg}, without copies of aligned tensors", () => {
  const bytes = Deno.readFileSync(STYLEGAN);
  const obj = decodeTorch(bytes, STYLEGAN) as Record<string, unknown>;
  assertEquals(Object.keys(obj), ["g_ema", "latent_avg"]);
  const all = tensorsOf(obj);
  const g = stateDictAt(obj, "g_ema", STYLEGAN);
  assertEquals(all.size, g.size + 1);
  const want: Record<string, number[]> = {
    "style.1.weight": [512, 512],
    "style.8.bias": [512],
    "input.input": [1, 32, 4, 4],
    "conv1.conv.weight": [1, 32, 32, 3, 3],
    "to_rgb1.conv.modulation.weight": [32, 512],
    "noises.noise_0": [1, 1, 4, 4],
    "noises.noise_16": [1, 1, 1024, 1024],
  };
  for (const [k, s] of Object.entries(want)) {
    assertEquals(g.get(k)?.shape, s, k);
    assert(all.get("g_ema." + k) === g.get(k), `g_ema.${k}`);
  }
  assertEquals(all.get("latent_avg")!.shape, [512]);
  assertEquals([...g.keys()].filter((k) => k.startsWith("noises.")).length, 17);
  for (const [k, t] of all) {
    assertEquals(t.dtype, "float32", k);
    assert((t.data as Float32Array).every(Number.isFinite), `${k} holds NaN or Inf`);
    // torch aligns its stored entries, so every tensor is a view into the file's bytes.
    assert(t.data.buffer === bytes.buffer, `${k} was copied`);
  }
});

Deno.test("torch: an official .ckpt loads into the editor through toSafetensorsFile", async () => {
  const file = toSafetensorsFile(stateDictAt(await readTorch(OFFICIAL), undefined, OFFICIAL));
  assertEquals(file.metadata, {});
  assertEquals(file.tensors.get("iaip.fc.1.weight")!.dtype, "F32");
  const cfg = checkpointConfig(file, OFFICIAL);
  assertEquals(cfg.model.inputLayerNorm, true);
  const editor = new IDStyleEditor(cfg.model);
  try {
    loadEditorWeights(editor, file, OFFICIAL);
    const p = editor.params().find((q) => q.name === "iaip.gender_shared")!;
    const torch = tensorsOf(await readTorch(LEGACY)).get("iaip.gender_shared")!;
    assertEquals(maxAbsDiff(values(p.variable), torch.data as Float32Array), 0);
  } finally {
    editor.dispose();
  }
});

Deno.test("torch: stateDictAt names the file and the keys it holds when the key is absent", async () => {
  const obj = await readTorch(STYLEGAN);
  assertTorchError(
    () => stateDictAt(obj, "generator", STYLEGAN),
    STYLEGAN,
    'has no key "generator"',
    '"g_ema", "latent_avg"',
  );
  assertTorchError(
    () => stateDictAt(new TorchTensor("float32", [1], new Float32Array(1)), "x", "t.pt"),
    "t.pt",
    "a tensor",
  );
  assertEquals(stateDictAt(obj, "g_ema.noises", STYLEGAN).size, 17); // a dotted path reaches deeper
});

Deno.test("torch: tensorsOf survives cycles and deep nesting, and keeps tied tensors under both names", () => {
  const t = new TorchTensor("float32", [2], new Float32Array([1, 2]));
  const cyclic: unknown[] = [];
  cyclic.push(cyclic, t, { again: cyclic, tied: t });
  assertEquals([...tensorsOf(cyclic, "c").keys()], ["c.1", "c.2.tied"]);
  let deep: unknown = { leaf: t };
  for (let i = 0; i < 100_000; i++) deep = [deep];
  const names = [...tensorsOf(deep).keys()];
  assertEquals(names.length, 1);
  assert(names[0].endsWith("0.0.leaf"));
  assertEquals([...tensorsOf(t, "only").keys()], ["only"]);
});

// ---------------------------------------------------------------------------------------------
// Files written by Python's pickle and zipfile in torch's layouts, checked against numpy

const MIMIC = String.raw`
import argparse, collections, io, json, pickle, sys, types, zipfile
import numpy as np

out = sys.argv[1]
torch = types.ModuleType("torch")
tu = types.ModuleType("torch._utils")
torch._utils = tu
sys.modules["torch"] = torch
sys.modules["torch._utils"] = tu


def fake(mod, name):  # a stand-in that pickles by reference as mod.name
    def f(*a):
        raise RuntimeError("never called")
    f.__module__ = mod.__name__
    f.__qualname__ = f.__name__ = name
    setattr(mod, name, f)
    return f


rebuild_v2 = fake(tu, "_rebuild_tensor_v2")
rebuild_param = fake(tu, "_rebuild_parameter")
STYPE = {"float32": "FloatStorage", "float16": "HalfStorage", "float64": "DoubleStorage",
         "int64": "LongStorage", "int32": "IntStorage", "int16": "ShortStorage",
         "int8": "CharStorage", "uint8": "ByteStorage", "bool": "BoolStorage",
         "bfloat16": "BFloat16Storage", "complex64": "ComplexFloatStorage"}
for n in STYPE.values():
    c = type(n, (), {})
    c.__module__ = "torch"
    setattr(torch, n, c)


class Storage:
    def __init__(self, key, arr, dtype=None):
        self.key, self.arr = key, arr
        self.dtype = dtype or str(arr.dtype)
        self.raw = arr.tobytes()
        self.numel = arr.size


class View:  # a legacy storage view: root[offset:offset + size]
    def __init__(self, root, key, offset, size):
        self.root, self.key, self.offset, self.size = root, key, offset, size


class Tensor:
    def __init__(self, st, offset, size, stride):
        self.st, self.offset, self.size, self.stride = st, offset, tuple(size), tuple(stride)

    def __reduce__(self):
        return (rebuild_v2, (self.st, self.offset, self.size, self.stride, False,
                             collections.OrderedDict()))


class Param:
    def __init__(self, t):
        self.t = t

    def __reduce__(self):
        return (rebuild_param, (self.t, True, collections.OrderedDict()))


def expect(st, offset, size, stride, values=None):
    flat = st.arr.reshape(-1) if values is None else values
    a = np.lib.stride_tricks.as_strided(
        flat[offset:], shape=size, strides=[s * flat.itemsize for s in stride]).copy()
    if st.dtype == "int64":
        vals = [str(int(v)) for v in a.reshape(-1)]
    else:
        vals = [float(v) if np.isfinite(v) else str(float(v))
                for v in a.astype(np.float32).reshape(-1)]
    return {"dtype": st.dtype, "shape": list(size), "values": vals}


A = Storage("0", np.arange(24, dtype=np.float32) * 0.5 - 3)
H = Storage("1", np.array([0.5, -2.0, 65504, 6e-8, -0.0, np.inf, 1 / 3, 1e-4, -7.25, 100.0],
                          dtype=np.float16))
L = Storage("2", np.array([-1, 2**40, 2**62 + 1, 7], dtype=np.int64))
D = Storage("3", np.array([1 / 3, -1e10, 2.5], dtype=np.float64))
I = Storage("4", np.array([1, -2, 3, -4], dtype=np.int32))
U = Storage("5", np.array([0, 255, 7], dtype=np.uint8))
B = Storage("6", np.array([True, False, True], dtype=np.bool_))
C = Storage("7", np.array([-128, 127, 0], dtype=np.int8))
S = Storage("8", np.array([-32768, 32767, 5], dtype=np.int16))
f32 = np.array([1.5, -2.25, 3.0e38, 1e-3, 0.0, -np.inf], dtype=np.float32)
bf_bits = (f32.view(np.uint32) >> 16).astype(np.uint16)
BF = Storage("9", bf_bits, "bfloat16")
bf_values = (bf_bits.astype(np.uint32) << 16).view(np.float32)

model = collections.OrderedDict()
exp = {}


def put(name, st, offset, size, stride, values=None, param=False):
    t = Tensor(st, offset, size, stride)
    model[name] = Param(t) if param else t
    exp["model." + name] = expect(st, offset, size, stride, values)


put("w", A, 0, (3, 4), (4, 1))
put("wt", A, 0, (4, 3), (1, 4))           # a transpose of the same storage
put("slice", A, 5, (2, 3), (4, 1))        # an offset slice
put("perm", A, 1, (2, 3, 3), (1, 6, 2))   # a 3-D strided view
put("scalar", A, 3, (), ())
put("expanded", A, 2, (2, 3), (0, 1))     # stride 0 (expand)
put("empty", A, 0, (0, 3), (3, 1))
put("param", A, 12, (12,), (1,), param=True)
put("half", H, 0, (2, 5), (5, 1))
put("half_t", H, 0, (5, 2), (1, 5))
put("bf16", BF, 0, (6,), (1,), values=bf_values)
put("f64", D, 0, (3,), (1,))
put("steps", L, 0, (2, 2), (1, 2))
put("i32", I, 0, (2, 2), (1, 2))
put("u8", U, 0, (3,), (1,))
put("mask", B, 0, (3,), (1,))
put("i8", C, 0, (3,), (1,))
put("i16", S, 0, (3,), (1,))
model._metadata = collections.OrderedDict([("", {"version": 1})])

exp["nested.inner.t"] = expect(A, 20, (2, 2), (2, 1))
obj = {
    "model": model,
    "nested": {"inner": {"t": Tensor(A, 20, (2, 2), (2, 1))}},
    "meta": {"epoch": 7, "name": "run", "lr": 0.5, "betas": (0.9, 0.99), "big": 2**70,
             "none": None, "flag": True, 5: "int key", "__proto__": "safe"},
    "args": argparse.Namespace(size=1024, lr=0.002, name="ffhq"),
}
storages = [A, H, L, D, I, U, B, C, S, BF]


class ZipPickler(pickle.Pickler):
    def persistent_id(self, o):
        if isinstance(o, Storage):
            return ("storage", getattr(torch, STYPE[o.dtype]), o.key, "cpu", o.numel)
        return None


def write_zip(path, archive, protocol, compression, obj, storages):
    buf = io.BytesIO()
    ZipPickler(buf, protocol=protocol).dump(obj)
    with zipfile.ZipFile(path, "w", compression) as z:
        z.writestr(archive + "/data.pkl", buf.getvalue())
        for st in storages:
            z.writestr(archive + "/data/" + st.key, st.raw)
        z.writestr(archive + "/version", "3\n")


write_zip(out + "/mimic.pt", "archive", 2, zipfile.ZIP_STORED, obj, storages)
write_zip(out + "/mimic_p4_deflated.pt", "100000", 4, zipfile.ZIP_DEFLATED, obj, storages)
write_zip(out + "/short_storage.pt", "archive", 2, zipfile.ZIP_STORED,
          {"t": Tensor(A, 20, (2, 3), (3, 1))}, [A])
Z = Storage("0", np.zeros(4, dtype=np.complex64), "complex64")
write_zip(out + "/complex.pt", "archive", 2, zipfile.ZIP_STORED,
          {"z": Tensor(Z, 0, (4,), (1,))}, [Z])

# The zip64 records (central directory extras, zip64 end record) that files over 4 GB need.
zipfile.ZIP64_LIMIT = 0
zipfile.ZIP_FILECOUNT_LIMIT = 0
write_zip(out + "/mimic_zip64.pt", "archive", 2, zipfile.ZIP_STORED, obj, storages)

# Legacy: "slice" goes through a storage view (root A, elements 4..12), offset 1 in the view.
model["slice"] = Tensor(View(A, "view0", 4, 8), 1, (2, 3), (4, 1))


class LegacyPickler(pickle.Pickler):
    def persistent_id(self, o):
        if isinstance(o, Storage):
            return ("storage", getattr(torch, STYPE[o.dtype]), o.key, "cpu", o.numel, None)
        if isinstance(o, View):
            r = o.root
            return ("storage", getattr(torch, STYPE[r.dtype]), r.key, "cpu", r.numel,
                    (o.key, o.offset, o.size))
        return None


with open(out + "/mimic.legacy.pt", "wb") as f:
    pickle.dump(0x1950a86a20f9469cfc6c, f, protocol=2)
    pickle.dump(1001, f, protocol=2)
    pickle.dump({"protocol_version": 1001, "little_endian": True,
                 "type_sizes": {"short": 2, "int": 4, "long": 8}}, f, protocol=2)
    LegacyPickler(f, protocol=2).dump(obj)
    keys = [st.key for st in reversed(storages)]  # any order: the list says which
    pickle.dump(keys, f, protocol=2)
    by_key = {st.key: st for st in storages}
    for k in keys:
        f.write(np.int64(by_key[k].numel).tobytes())
        f.write(by_key[k].raw)

with open(out + "/expect.json", "w") as f:
    json.dump(exp, f)
`;

interface Expected {
  dtype: string;
  shape: number[];
  values: (number | string)[];
}

let mimicDir: string | null = null;
async function mimic(): Promise<string> {
  if (!mimicDir) {
    const dir = await Deno.makeTempDir({ prefix: "torch_test_" });
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    await runPython(py!, MIMIC, [dir]);
    mimicDir = dir;
  }
  return mimicDir;
}

/** A tensor's values as the expectations write them (int64 as decimal strings, Inf as "inf"). */
function asExpected(t: TorchTensor): (number | string)[] {
  return Array.from(
    t.data as ArrayLike<number | bigint>,
    (v) =>
      typeof v === "bigint"
        ? String(v)
        : Number.isFinite(v)
        ? v
        : v === Infinity
        ? "inf"
        : v === -Infinity
        ? "-inf"
        : "nan",
  );
}

for (const file of ["mimic.pt", "mimic_p4_deflated.pt", "mimic_zip64.pt", "mimic.legacy.pt"]) {
  Deno.test({
    name: `torch: ${file} (Python's pickle in torch's layout) matches numpy`,
    ...needNumpy,
    fn: async () => {
      const dir = await mimic();
      const expected = JSON.parse(
        await Deno.readTextFile(`${dir}/expect.json`),
      ) as Record<string, Expected>;
      const path = `${dir}/${file}`;
      const bytes = await Deno.readFile(path);
      if (file.includes("zip64")) {
        // Mark the classic end record's fields as "see the zip64 record", as a > 4 GB file has.
        const dv = new DataView(bytes.buffer, bytes.length - 22);
        assertEquals(dv.getUint32(0, true), 0x06054b50);
        dv.setUint16(8, 0xffff, true);
        dv.setUint16(10, 0xffff, true);
        dv.setUint32(12, 0xffffffff, true);
        dv.setUint32(16, 0xffffffff, true);
      }
      const obj = decodeTorch(bytes, path) as Record<string, Record<string, unknown>>;
      const tensors = tensorsOf(obj);
      assertEquals([...tensors.keys()].sort(), Object.keys(expected).sort());
      for (const [name, e] of Object.entries(expected)) {
        const t = tensors.get(name)!;
        assertEquals(t.dtype, e.dtype, name);
        assertEquals(t.shape, e.shape, name);
        const floating = ["float32", "float16", "bfloat16", "float64"].includes(t.dtype);
        if (floating) assert(t.data instanceof Float32Array, `${name}: not float32`);
        assertEquals(asExpected(t), e.values, name);
      }
      assert(tensors.get("model.steps")!.data instanceof BigInt64Array);
      assert(tensors.get("model.mask")!.data instanceof Uint8Array);
      assert((tensors.get("model.steps")!.data as BigInt64Array)[1] === 2n ** 62n + 1n);
      assertEquals(tensors.get("model.half")!.data[3], 5.960464477539063e-8); // a subnormal
      // The Python values around the tensors.
      const meta = obj.meta;
      assertEquals(Object.keys(meta).sort(), [
        "5",
        "__proto__",
        "betas",
        "big",
        "epoch",
        "flag",
        "lr",
        "name",
        "none",
      ]);
      assertEquals([meta.epoch, meta.name, meta.lr, meta.betas, meta.none, meta.flag, meta["5"]], [
        7,
        "run",
        0.5,
        [0.9, 0.99],
        null,
        true,
        "int key",
      ]);
      assert(meta.big === 2n ** 70n, `big: ${meta.big}`);
      assertEquals(Object.getPrototypeOf(meta), Object.prototype); // "__proto__" stayed a key
      assertEquals(meta["__proto__"], "safe");
      assertEquals(obj.args, { size: 1024, lr: 0.002, name: "ffhq" }); // argparse.Namespace
      assert(!("_metadata" in obj.model), "the state_dict's _metadata became a key");
      const st = toSafetensorsFile(tensors);
      assertEquals(
        ["model.w", "model.half", "model.steps", "model.i32", "model.u8", "model.mask", "model.i8"]
          .map((k) => st.tensors.get(k)!.dtype),
        ["F32", "F32", "I64", "I32", "U8", "BOOL", "I8"],
      );
      assertEquals(st.tensors.get("model.steps")!.bytes.length, 32);
    },
  });
}

Deno.test({
  name: "torch: Python-written files with a too-short storage or a complex storage are refused",
  ...needNumpy,
  fn: async () => {
    const dir = await mimic();
    const short = `${dir}/short_storage.pt`;
    assertTorchError(
      () => decodeTorch(Deno.readFileSync(short), short),
      short,
      "shape [2, 3] at offset 20 with stride [3, 1]",
      'storage "0", which holds 24 float32 elements',
    );
    const complex = `${dir}/complex.pt`;
    assertTorchError(
      () => decodeTorch(Deno.readFileSync(complex), complex),
      complex,
      "unsupported storage type torch.ComplexFloatStorage",
    );
  },
});

// ---------------------------------------------------------------------------------------------
// Security

Deno.test("torch: a pickle naming os.system, builtins.eval, posix.system or subprocess.Popen is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "torch_sec_" });
  const marker = `${dir}/pwned`;
  const cmd = `touch ${marker}`;
  try {
    // GLOBAL os.system, called by REDUCE.
    const viaGlobal = concat([0x80, 0x02], "cos\nsystem\n", binunicode(cmd), [0x85, 0x52, 0x2e]);
    // STACK_GLOBAL builtins.eval (protocol 4).
    const viaStack = concat(
      [0x80, 0x04],
      shortUnicode("builtins"),
      [0x94],
      shortUnicode("eval"),
      [0x94, 0x93, 0x94],
      shortUnicode(`__import__('os').system('${cmd}')`),
      [0x85, 0x52, 0x2e],
    );
    const cases: [Uint8Array, string][] = [
      [torchZip(viaGlobal), "os.system"],
      [torchZip(viaStack, {}, "100000"), "builtins.eval"],
    ];
    // Inside a real state_dict: the first global of the official file swapped.
    const entries = officialEntries();
    entries["idstyle_official/data.pkl"] = patch(
      entries["idstyle_official/data.pkl"],
      "torch._utils\n_rebuild_tensor_v2\n",
      "posix\nsystem\n",
    );
    cases.push([rezip(entries), "posix.system"]);
    // And in the legacy format.
    cases.push([
      patch(Deno.readFileSync(LEGACY), "collections\nOrderedDict\n", "subprocess\nPopen\n"),
      "subprocess.Popen",
    ]);
    for (const [bytes, global] of cases) {
      const file = `${dir}/evil.pt`;
      await Deno.writeFile(file, bytes);
      const err = await assertRejects(
        () => readTorch(file),
        `${file}: refuses to load: the pickle names the global "${global}"`,
        "which is not a PyTorch tensor or container; only collections.OrderedDict",
      );
      assert(err instanceof TorchFileError);
      assert(!err.message.includes("\n"));
    }
    let exists = true;
    try {
      await Deno.stat(marker);
    } catch {
      exists = false;
    }
    assert(!exists, "a refused pickle ran its command");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pickle: only allowed globals are called; BUILD, opcodes and truncation are checked", () => {
  const globals = new Map<string, GlobalHandler>([
    ["m.pair", { call: (args) => ({ pair: args }) }],
  ]);
  const run = (b: Uint8Array) => unpickle(b, 0, { source: "p.pkl", globals }).value;
  // STACK_GLOBAL through the allow-list, MEMOIZE / BINGET, FRAME, LONG1 and BINFLOAT.
  const frameBody = concat(
    shortUnicode("m"),
    shortUnicode("pair"),
    [0x93, 0x94], // STACK_GLOBAL, MEMOIZE (memo 0)
    [0x4b, 0x01, 0x8a, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 1], // 1, 2**64
    [0x86, 0x52, 0x94], // TUPLE2, REDUCE, MEMOIZE (memo 1)
    [0x68, 0x01], // BINGET 1
    [0x47, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0], // 1.5
    [0x87, 0x2e], // TUPLE3, STOP
  );
  const frameLen = new Uint8Array(8);
  new DataView(frameLen.buffer).setBigUint64(0, BigInt(frameBody.length), true);
  const v = run(concat([0x80, 0x04, 0x95], frameLen, frameBody)) as unknown[];
  const made = v[0] as { pair: unknown[] };
  assert(made.pair[1] === 2n ** 64n && made.pair[0] === 1);
  assert(v[1] === made, "BINGET returns the memoised object itself");
  assertEquals(v[2], 1.5);
  // A "__proto__" key does not reach the prototype.
  const d = run(concat([0x80, 0x02, 0x7d], binunicode("__proto__"), [0x7d, 0x73, 0x2e]));
  assertEquals(Object.getPrototypeOf(d), Object.prototype);
  // Refusals and corruption, each naming the source.
  const bad = (b: Uint8Array, ...f: string[]) => {
    const err = assertThrows(() => run(b), "p.pkl: ", ...f);
    assert(err instanceof PickleError);
  };
  bad(concat([0x80, 0x02], "cnope\nthing\n", [0x2e]), 'the global "nope.thing"');
  bad(Uint8Array.from([0x80, 0x02, 0xff, 0x2e]), "unknown opcode 0xff at byte 2");
  bad(Uint8Array.from([0x80, 0x02, 0x4e, 0x7d, 0x62, 0x2e]), "BUILD on None");
  bad(Uint8Array.from([0x80, 0x02, 0x68, 0x05, 0x2e]), "memo entry 5 was never stored");
  bad(Uint8Array.from([0x80, 0x02, 0x69]), "unsupported opcode", "INST");
  bad(concat([0x80, 0x02], binunicode("abc").subarray(0, 6)), "truncated", "ends early");
  bad(Uint8Array.from([0x80, 0x02, 0x4e]), "ends early", "before its STOP");
  bad(Uint8Array.from([0x80, 0x02, 0x30, 0x2e]), "stack underflow");
});

// ---------------------------------------------------------------------------------------------
// Corrupt, truncated and foreign files

Deno.test("torch: every corrupt, truncated or foreign file is a one-line TorchFileError naming it", async () => {
  const zip = Deno.readFileSync(OFFICIAL);
  const legacy = Deno.readFileSync(LEGACY);
  const f = "bad.pt";
  // Cut short.
  assertTorchError(
    () => decodeTorch(zip.slice(0, zip.length >> 1), f),
    f,
    "truncated or corrupt zip",
  );
  assertTorchError(
    () => decodeTorch(zip.slice(0, zip.length - 30), f),
    f,
    "truncated or corrupt zip",
  );
  assertTorchError(
    () => decodeTorch(legacy.slice(0, legacy.length - 100), f),
    f,
    "truncated file: storage",
    "but only",
  );
  assertTorchError(() => decodeTorch(legacy.slice(0, 700), f), f, "truncated file", "ends early");
  assertTorchError(
    () => decodeTorch(legacy.slice(0, 1915), f),
    f,
    "truncated file: the data of storage",
  );
  // Not PyTorch files.
  let s = 12345;
  const noise = Uint8Array.from(
    { length: 4096 },
    () => (s = (s * 1103515245 + 12345) >>> 0) >>> 24,
  );
  assertTorchError(() => decodeTorch(noise, f), f, "not a PyTorch file");
  assertTorchError(() => decodeTorch(new Uint8Array(0), f), f, "not a PyTorch file", "empty");
  assertTorchError(
    () => decodeTorch(Uint8Array.from([0x80, 0x02, 0x4b, 0x07, 0x2e]), f),
    f,
    "not a PyTorch file",
  );
  assertTorchError(
    () => decodeTorch(zipSync({ "a/readme.txt": enc.encode("hi") }), f),
    f,
    "not a PyTorch file: a zip without data.pkl",
  );
  // A zip entry missing, a storage entry short, a damaged byte, an unsupported storage type.
  const missing = officialEntries();
  delete missing["idstyle_official/data/3"];
  assertTorchError(
    () => decodeTorch(rezip(missing), f),
    f,
    'the zip has no entry "idstyle_official/data/3" for storage "3"',
  );
  const short = officialEntries();
  short["idstyle_official/data/0"] = short["idstyle_official/data/0"].slice(0, 100);
  assertTorchError(() => decodeTorch(rezip(short), f), f, 'storage "0" holds 100 bytes', "float32");
  const damaged = zip.slice();
  damaged[zip.length >> 1] ^= 0x40;
  assertTorchError(() => decodeTorch(damaged, f), f, "CRC-32 mismatch");
  const complex = officialEntries();
  complex["idstyle_official/data.pkl"] = patch(
    complex["idstyle_official/data.pkl"],
    "torch\nFloatStorage\n",
    "torch\nComplexFloatStorage\n",
  );
  assertTorchError(
    () => decodeTorch(rezip(complex), f),
    f,
    "unsupported storage type torch.ComplexFloatStorage",
  );
  // A legacy storage whose recorded element count disagrees with the pickle.
  const count = legacy.slice();
  count[1912] ^= 1;
  assertTorchError(() => decodeTorch(count, f), f, "records 513 elements, the pickle says 512");
  // A legacy file's object pickle with a damaged opcode.
  const op = legacy.slice();
  op[168] = 0xfe; // BINPUT after the first REDUCE
  assertTorchError(() => decodeTorch(op, f), f, "unknown opcode 0xfe at byte 168");
  // A missing file.
  const err = await assertRejects(() => readTorch(REAL + "nope.pt"), "nope.pt: no such file");
  assert(err instanceof TorchFileError);
});
