/**
 * Safetensors, .npy and editor checkpoints: round trips, every corrupt-file error, and numpy as an
 * independent reader and writer of both formats.
 */
import {
  assert,
  assertClose,
  assertEquals,
  assertRejects,
  assertThrows,
  maxAbsDiff,
  numpyPython,
  runPython,
  tf,
  values,
} from "./_util.ts";
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  toFloat32,
  writeSafetensors,
} from "../lib/io/safetensors.ts";
import { writeFileAtomic } from "../lib/io/atomic.ts";
import { decodeNpy, encodeNpy, readNpy, writeNpy } from "../lib/io/npy.ts";
import {
  checkpointConfig,
  editorStateDict,
  loadEditor,
  loadEditorWeights,
  saveEditor,
} from "../lib/io/checkpoint.ts";
import { IDStyleEditor } from "../lib/model/editor.ts";
import { makeConfig } from "../lib/model/config.ts";

const py = await numpyPython();
const needNumpy = { ignore: py === null && !Deno.env.get("CI") };
if (py === null) console.error("numpy cross-checks ignored: install Debian's python3-numpy");

function sample() {
  return encodeSafetensors(
    {
      "b.weight": { dtype: "F32", shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
      "a.bias": { dtype: "F32", shape: [2], data: new Float32Array([-1, 0.5]) },
      "c.index": { dtype: "I32", shape: [3], data: new Int32Array([7, -8, 9]) },
    },
    { note: "hello" },
  );
}

Deno.test("safetensors round trip, header alignment and sorted layout", () => {
  const bytes = sample();
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assertEquals((8 + n) % 8, 0);
  const f = decodeSafetensors(bytes);
  assertEquals(f.metadata, { note: "hello" });
  assertEquals([...f.tensors.keys()].sort(), ["a.bias", "b.weight", "c.index"]);
  assertEquals(Array.from(toFloat32(f.tensors.get("b.weight")!)), [1, 2, 3, 4, 5, 6]);
  assertEquals(f.tensors.get("b.weight")!.shape, [2, 3]);
});

Deno.test("safetensors: every corrupt or truncated file gives an error that says what is wrong", () => {
  const good = sample();
  const n = Number(new DataView(good.buffer).getBigUint64(0, true));
  const withHeader = (json: string) => {
    const h = new TextEncoder().encode(json);
    const out = new Uint8Array(8 + h.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
    out.set(h, 8);
    return out;
  };
  assertThrows(() => decodeSafetensors(good.slice(0, 5), "f"), "f: truncated file", "too short");
  assertThrows(
    () => decodeSafetensors(good.slice(0, 8 + n - 3), "f"),
    "truncated file",
    "header says",
  );
  assertThrows(
    () => decodeSafetensors(good.slice(0, good.length - 4), "f"),
    "truncated file",
    "tensor",
  );
  const huge = good.slice();
  new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
  assertThrows(() => decodeSafetensors(huge, "f"), "corrupt header length");
  assertThrows(() => decodeSafetensors(withHeader("{not json"), "f"), "corrupt header", "JSON");
  assertThrows(() => decodeSafetensors(withHeader("[1,2]"), "f"), "expected a JSON object");
  assertThrows(
    () =>
      decodeSafetensors(withHeader('{"x":{"dtype":"Q8","shape":[1],"data_offsets":[0,1]}}'), "f"),
    'tensor "x"',
    "unsupported dtype",
  );
  assertThrows(
    () =>
      decodeSafetensors(withHeader('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}'), "f"),
    'tensor "x"',
    "needs 8",
  );
  assertThrows(
    () =>
      decodeSafetensors(withHeader('{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}'), "f"),
    "corrupt shape",
  );
  const twoOverlap = new Uint8Array([
    ...withHeader(
      '{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"y":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}',
    ),
    ...new Uint8Array(6),
  ]);
  assertThrows(() => decodeSafetensors(twoOverlap, "f"), "overlaps");
  const hole = new Uint8Array([
    ...withHeader('{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}'),
    ...new Uint8Array(8),
  ]);
  assertThrows(() => decodeSafetensors(hole, "f"), "hole");
  const trailing = new Uint8Array([...good, 1, 2, 3]);
  assertThrows(() => decodeSafetensors(trailing, "f"), "bytes after the last tensor");
});

Deno.test("safetensors: missing file", async () => {
  await assertRejects(() => readSafetensors("/nonexistent/x.safetensors"), "no such file");
});

Deno.test({
  name: "safetensors: numpy reads what we write and we read what numpy writes",
  ...needNumpy,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const ours = `${dir}/ours.safetensors`;
    await writeSafetensors(ours, {
      "x.y": { dtype: "F32", shape: [2, 2], data: new Float32Array([1.5, -2, 3, 4]) },
    }, { k: "v" });
    // An independent reader: struct + json + numpy, following the format's specification.
    const readBack = await runPython(
      py!,
      `
import json, struct, sys, numpy as np
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8+n])
e = h['x.y']; s, t = e['data_offsets']
a = np.frombuffer(b[8+n+s:8+n+t], dtype='<f4').reshape(e['shape'])
print(json.dumps({'meta': h['__metadata__'], 'vals': a.tolist()}))
`,
      [ours],
    );
    assertEquals(JSON.parse(readBack), { meta: { k: "v" }, vals: [[1.5, -2], [3, 4]] });
    const theirs = `${dir}/theirs.safetensors`;
    await runPython(
      py!,
      `
import json, struct, sys, numpy as np
a = np.arange(6, dtype='<f4').reshape(2, 3) / 4
c = np.array([1, 2], dtype='<f2')
hd = {'a': {'dtype': 'F32', 'shape': [2, 3], 'data_offsets': [0, 24]}, 'c': {'dtype': 'F16', 'shape': [2], 'data_offsets': [24, 28]}}
j = json.dumps(hd).encode(); j += b' ' * ((8 - (8 + len(j)) % 8) % 8)
open(sys.argv[1], 'wb').write(struct.pack('<Q', len(j)) + j + a.tobytes() + c.tobytes())
`,
      [theirs],
    );
    const f = await readSafetensors(theirs);
    assertClose(toFloat32(f.tensors.get("a")!), [0, 0.25, 0.5, 0.75, 1, 1.25], 0);
    assertClose(toFloat32(f.tensors.get("c")!), [1, 2], 0);
  },
});

Deno.test({
  name: ".npy: numpy round trips in both directions (float32, float64, int32)",
  ...needNumpy,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const ours = `${dir}/ours.npy`;
    const data = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 0.5 - 3);
    await writeNpy(ours, { dtype: "float32", shape: [2, 3, 4], data });
    const summary = await runPython(
      py!,
      `
import sys, json, numpy as np
a = np.load(sys.argv[1]); print(json.dumps([a.dtype.str, list(a.shape), float(a[1, 2, 3]), float(a.sum())]))
`,
      [ours],
    );
    assertEquals(JSON.parse(summary), [
      "<f4",
      [2, 3, 4],
      data[23],
      data.reduce((a, b) => a + b, 0),
    ]);
    await runPython(
      py!,
      `
import sys, numpy as np
np.save(sys.argv[1] + '/f64.npy', np.linspace(-1, 1, 10).reshape(2, 5))
np.save(sys.argv[1] + '/i32.npy', np.arange(7, dtype=np.int32))
np.save(sys.argv[1] + '/vec.npy', np.ones(3, dtype=np.float32))
np.save(sys.argv[1] + '/fortran.npy', np.asfortranarray(np.ones((2, 3), dtype=np.float32)))
`,
      [dir],
    );
    const f64 = await readNpy(`${dir}/f64.npy`);
    assertEquals([f64.dtype, f64.shape], ["float32", [2, 5]]);
    assertClose(f64.data, Array.from({ length: 10 }, (_, i) => -1 + (2 * i) / 9), 1e-7);
    const i32 = await readNpy(`${dir}/i32.npy`);
    assertEquals([i32.dtype, Array.from(i32.data)], ["int32", [0, 1, 2, 3, 4, 5, 6]]);
    assertEquals((await readNpy(`${dir}/vec.npy`)).shape, [3]);
    await assertRejects(() => readNpy(`${dir}/fortran.npy`), "Fortran");
  },
});

Deno.test(".npy: bad files", () => {
  assertThrows(() => decodeNpy(new Uint8Array([1, 2, 3]), "x.npy"), "x.npy", "bad magic");
  const good = encodeNpy({ dtype: "float32", shape: [4], data: new Float32Array(4) });
  assertThrows(() => decodeNpy(good.slice(0, good.length - 2), "x.npy"), "truncated data");
});

Deno.test("editor checkpoint round trip keeps every parameter and the config", async () => {
  const dir = await Deno.makeTempDir();
  const cfg = makeConfig("official");
  const a = new IDStyleEditor(cfg.model);
  a.params().forEach((p) =>
    p.trainable && p.variable.assign(tf.randomNormal(p.variable.shape as number[], 0, 0.1))
  );
  await saveEditor(`${dir}/e.safetensors`, a, { config: cfg });
  const { editor: b, config } = await loadEditor(`${dir}/e.safetensors`);
  assertEquals(config, cfg);
  a.params().forEach((p, i) =>
    assertEquals(maxAbsDiff(values(p.variable), values(b.params()[i].variable)), 0, p.name)
  );
  // Stored in PyTorch layout: iaip.fc.1.weight is [512, 1024], the transpose of ours.
  const f = await readSafetensors(`${dir}/e.safetensors`);
  const fc1 = f.tensors.get("iaip.fc.1.weight")!;
  assertEquals(fc1.shape, [512, 1024]);
  const ours = values(a.params().find((p) => p.name === "iaip.fc.1.weight")!.variable);
  const theirs = toFloat32(fc1);
  assertEquals(theirs[3 * 1024 + 7], ours[7 * 512 + 3]); // torch[out=3, in=7] == ours[in=7, out=3]
  a.dispose();
  b.dispose();
});

Deno.test("a foreign official state_dict without our metadata loads as the official preset", () => {
  const src = new IDStyleEditor(makeConfig("official").model);
  const bytes = encodeSafetensors(editorStateDict(src)); // no metadata, as a converted .pt would be
  const file = decodeSafetensors(bytes, "converted.safetensors");
  const cfg = checkpointConfig(file, "converted.safetensors");
  assertEquals([cfg.model.inputLayerNorm, cfg.model.layerEmbedding, cfg.model.attributes], [
    true,
    "fixed",
    ["gender", "glasses", "age", "smile"],
  ]);
  const dst = new IDStyleEditor(cfg.model);
  loadEditorWeights(dst, file, "converted.safetensors");
  assertEquals(maxAbsDiff(values(src.params()[2].variable), values(dst.params()[2].variable)), 0);
  src.dispose();
  dst.dispose();
});

Deno.test("loading names exactly what is wrong: missing, wrong shape, wrong dtype, unexpected, NaN", () => {
  const e = new IDStyleEditor(makeConfig("official").model);
  const sd = editorStateDict(e);
  const load = (mut: (s: typeof sd) => void) => {
    const copy = { ...sd };
    mut(copy);
    return () => loadEditorWeights(e, decodeSafetensors(encodeSafetensors(copy), "ck"), "ck");
  };
  assertThrows(
    load((s) => delete s["iaip.l18.weight"]),
    "ck:",
    'missing tensor "iaip.l18.weight"',
    "[18, 18]",
  );
  assertThrows(
    load((
      s,
    ) => (s["iaip.fc.1.weight"] = {
      dtype: "F32",
      shape: [1024, 512],
      data: new Float32Array(1024 * 512),
    })),
    'tensor "iaip.fc.1.weight" has shape [1024, 512], expected [512, 1024]',
    "[out, in]",
  );
  assertThrows(
    load((s) => (s["iaip.fc.1.bias"] = { dtype: "I32", shape: [512], data: new Int32Array(512) })),
    'tensor "iaip.fc.1.bias" has dtype I32',
  );
  assertThrows(
    load((s) => (s["extra.thing"] = { dtype: "F32", shape: [1], data: new Float32Array(1) })),
    'unexpected tensor "extra.thing"',
  );
  const nan = new Float32Array(512);
  nan[3] = NaN;
  assertThrows(
    load((s) => (s["iaip.fc.1.bias"] = { dtype: "F32", shape: [512], data: nan })),
    "1 NaN or Inf",
  );
  // A paper-preset file loaded into an official editor: LayerNorm tensors missing.
  const paper = new IDStyleEditor(makeConfig("paper").model);
  const err = assertThrows(
    () =>
      loadEditorWeights(
        e,
        decodeSafetensors(encodeSafetensors(editorStateDict(paper)), "paper.st"),
        "paper.st",
      ),
    'missing tensor "iaip.fc.0.weight"',
  );
  assert(err.message.includes('missing tensor "iaip.fc.0.bias"'), "every problem is listed");
  e.dispose();
  paper.dispose();
});

Deno.test("atomic write: a failed write leaves the old file intact and no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/e.safetensors`;
  await writeSafetensors(path, { a: { dtype: "F32", shape: [1], data: new Float32Array([1]) } });
  await assertRejects(
    () => writeSafetensors(path, { a: { dtype: "F32", shape: [2], data: new Float32Array([1]) } }),
    "do not fill shape",
  );
  assertEquals(Array.from(toFloat32((await readSafetensors(path)).tensors.get("a")!)), [1]);
  // A failure after the temporary file is written (the rename onto a directory fails) cleans up.
  Deno.mkdirSync(`${dir}/taken`);
  await assertRejects(() => writeFileAtomic(`${dir}/taken`, "data"));
  const entries = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assertEquals(entries, ["e.safetensors", "taken"]);
});
