/**
 * The live explorer (lib/explore/): strengths (0 returns the input exactly; s gives s times the
 * strength-1 edit; ID-Style's edit is linear in its attr code, so the scaled edit is the model run
 * with attr = s), the endpoint (a frame for good parameters, a 400 naming the bad one, over a real
 * socket too), and the page's controls.
 */
import { assert, assertEquals, maxAbsDiff, tf } from "./_util.ts";
import { loadSynthFace } from "../lib/world/synthface/world.ts";
import { loadDataset } from "../lib/data/dataset.ts";
import { loadEditor } from "../lib/io/checkpoint.ts";
import { SHIPPED_CHECKPOINTS } from "../lib/train/shipped.ts";
import { loadBaseline } from "../lib/baselines/load.ts";
import { type ExplorerEditor, strengthEdit } from "../lib/explore/strength.ts";
import { type ExplorerFrame, ExplorerSession } from "../lib/explore/session.ts";
import { handle, serveExplorer } from "../lib/explore/server.ts";
import { EditMemo, hashFloats } from "../lib/explore/memo.ts";
import type { AttributeEditor } from "../lib/eval/evaluate.ts";
import { createExplorer, debounceLatest, explorerOutput, framePng } from "../lib/explore/show.ts";

const world = await loadSynthFace();
const A = world.attributes;

Deno.test("strengths: 0 returns the input exactly, s gives s times the strength-1 edit", async () => {
  const { editor } = await loadEditor(SHIPPED_CHECKPOINTS.official);
  const igan = await loadBaseline("interfacegan", world);
  const editors: Record<string, ExplorerEditor> = {
    idstyle: { kind: "idstyle", editor },
    interfacegan: { kind: "baseline", editor: igan.editor },
  };
  const w = tf.tidy(() => world.toWPlus(world.mapping(world.sampleZ(3, 11))));
  const wv = w.dataSync();
  for (const [name, e] of Object.entries(editors)) {
    const zero = strengthEdit(e, w, [0, 0, 0, 0], A);
    assertEquals(maxAbsDiff(zero.dataSync(), wv), 0, `${name}: strength 0`);
    zero.dispose();
    for (const m of [0, 3]) {
      const one = [0, 0, 0, 0], s = [0, 0, 0, 0];
      one[m] = 1;
      const d1 = tf.tidy(() => tf.sub(strengthEdit(e, w, one, A), w).dataSync());
      for (const k of [0.5, -1.5, 2]) {
        s[m] = k;
        const dk = tf.tidy(() => tf.sub(strengthEdit(e, w, s, A), w).dataSync());
        if (k > 0) {
          const want = Float32Array.from(d1, (x) => k * x);
          assert(maxAbsDiff(dk, want) < 1e-4, `${name} ${A[m]} s=${k}: ${maxAbsDiff(dk, want)}`);
        } else {
          let norm = 0;
          for (const x of dk) norm += x * x;
          assert(norm > 1e-6, `${name} ${A[m]} s=${k} edits`);
        }
      }
    }
  }
  // ID-Style: the scaled edit is the model with attr_m = s (its coefficients are linear in attr)
  const attr = (v: number[]) => tf.tensor2d([v, v, v], [3, 4]);
  const out1 = editor.forward(w, attr([0, 0.7, 0, 0]));
  const ref = strengthEdit(editors.idstyle, w, [0, 0.7, 0, 0], A);
  const viaModel = tf.tidy(() => tf.add(w, tf.sum(out1.deltas, 1)).dataSync());
  assert(
    maxAbsDiff(viaModel, ref.dataSync()) < 1e-4,
    `attr = 0.7: ${maxAbsDiff(viaModel, ref.dataSync())}`,
  );
  ref.dispose();
  w.dispose();
});

Deno.test("edit memo: the editor's own results, each single edit computed once", async () => {
  // the hash against BigInt FNV-1a
  const v = Float32Array.from([0.5, -1, 3.25, 1e-7, 42]);
  let h = 0xcbf29ce484222325n;
  for (const b of new Uint8Array(v.buffer)) {
    h = ((h ^ BigInt(b)) * 0x100000001b3n) & (2n ** 64n - 1n);
  }
  assertEquals(hashFloats(v), h.toString(16).padStart(16, "0"));
  const igan = await loadBaseline("interfacegan", world);
  let calls = 0;
  const counting: AttributeEditor = {
    name: "counting",
    editAttribute: (w, m, d) => (calls++, igan.editor.editAttribute(w, m, d)),
  };
  const w = tf.tidy(() => world.toWPlus(world.mapping(world.sampleZ(1, 5))));
  const memo = new EditMemo(counting, 4);
  const direct: ExplorerEditor = { kind: "baseline", editor: igan.editor };
  const viaMemo: ExplorerEditor = { kind: "baseline", editor: memo };
  const run = (s: number[]) => {
    const a = strengthEdit(direct, w, s, A), b = strengthEdit(viaMemo, w, s, A);
    assertEquals(maxAbsDiff(a.dataSync(), b.dataSync()), 0, `strengths ${s}`);
    tf.dispose([a, b]);
  };
  // one slider moving: its edit of the face is computed once
  for (const g of [1.2, 0.4, 2]) run([0, g, 0, 0]);
  assertEquals(calls, 1);
  // the last slider moving behind a fixed one: both steps once; the sign is part of the key
  for (const sm of [-1, -0.3, -2]) run([0.5, 0, 0, sm]);
  assertEquals(calls, 3);
  run([0.5, 0, 0, 1]);
  assertEquals(calls, 4);
  // the first slider moving: the step after it is recomputed (its input changed)
  run([0.7, 0, 0, 1]);
  assertEquals(calls, 5);
  // capacity 4: the least recently used entry (glasses +) went; asking again recomputes it
  assertEquals(memo.size, 4);
  run([0, 1, 0, 0]);
  assertEquals(calls, 6);
  // a batch goes to the editor unmemoised
  const two = tf.concat([w, w]) as tf.Tensor3D;
  tf.dispose(memo.editAttribute(two, 1, [1, 1]));
  assertEquals(calls, 7);
  memo.dispose();
  tf.dispose([w, two]);
});

Deno.test("explorer endpoint: a frame, clear errors for bad parameters, and a real socket", async () => {
  const dataset = await loadDataset();
  const ex = await createExplorer({
    world,
    dataset,
    methods: ["idstyle-official", "interfacegan"],
  });
  try {
    const get = async (qs: string) => {
      const r = handle(ex.server.session, new Request(`http://x/frame?${qs}`));
      return { status: r.status, body: await r.json() };
    };
    const ok = await get("face=test:3&method=idstyle-official&smile=1.5&topk=150&intensity=2");
    assertEquals(ok.status, 200);
    assert(ok.body.edited.startsWith("data:image/png;base64,"));
    assert(ok.body.edited !== ok.body.original, "the edit changed the image");
    assertEquals(Object.keys(ok.body.oracleAfter), [...A]);
    assert(
      ok.body.oracleIdentity > 0.5 && ok.body.oracleIdentity <= 1,
      String(ok.body.oracleIdentity),
    );
    const same = await get("face=test:3&method=interfacegan");
    assertEquals(same.status, 200);
    assert(Math.abs(same.body.frs - 1) < 1e-4, `strength 0 keeps the face: FRS ${same.body.frs}`);
    for (
      const [qs, frag] of [
        ["face=test:3&smile=3", "smile: expected a strength in [-2, 2]"],
        ["face=test:99999", "test index 99999 out of range"],
        ["face=nobody", "face: expected"],
        ["method=stylegan", "method: expected one of idstyle-official, interfacegan"],
        ["topk=0", "topk: expected an integer in 1..512"],
        ["intensity=-1", "intensity: expected"],
        ["beard=1", 'unknown parameter "beard"'],
      ]
    ) {
      const r = await get(qs);
      assertEquals(r.status, 400, qs);
      assert(r.body.error.includes(frag), `${qs}: ${r.body.error}`);
    }
    assertEquals(handle(ex.server.session, new Request("http://x/nothing")).status, 404);
    // over the socket, as the page's script asks; every served frame reaches onFrame
    const served: ExplorerFrame[] = [];
    ex.server.onFrame = (frame) => served.push(frame);
    const r = await fetch(`${ex.server.url}/frame?face=test:1&gender=-1`);
    assertEquals(r.status, 200);
    assertEquals(r.headers.get("access-control-allow-origin"), "*");
    const f = await r.json();
    assertEquals(f.params.strengths, [-1, 0, 0, 0]);
    assert(framePng(f).length > 10_000);
    assertEquals(served.length, 1);
    assertEquals(served[0].edited, f.edited);
    // the output saved after that frame: its images, its settings, the first frame's element id
    const saved = explorerOutput(ex, served[0]);
    const html = saved.data["text/html"];
    assert(html.includes(f.edited) && !html.includes(ex.frame.edited), "the last frame's image");
    assert(/data-attr="gender"[^>]*value="-1"/.test(html), "the gender slider at -1");
    assert(html.includes('value="test:1" selected'), "face test:1 selected");
    assertEquals(html.match(/id="([^"]+)"/)![1], ex.html.match(/id="([^"]+)"/)![1]);
    assert(saved.data["image/png"] !== explorerOutput(ex, ex.frame).data["image/png"]);
    // the page: a slider per attribute, the selectors, the endpoint, the static fallback line
    for (const a of A) assert(ex.html.includes(`data-attr="${a}"`), a);
    for (const k of ["face", "method", "topk", "intensity", "status"]) {
      assert(ex.html.includes(`data-k="${k}"`), k);
    }
    assert(ex.html.includes(ex.server.url) && ex.html.includes("need a running kernel"));
  } finally {
    await ex.server.close();
  }
});

Deno.test("explorer session: given latents and seeds", async () => {
  const { editor } = await loadEditor(SHIPPED_CHECKPOINTS.paper);
  const given = tf.tidy(() => world.toWPlus(world.mapping(world.sampleZ(2, 5))));
  const s = new ExplorerSession(world, { p: { kind: "idstyle", editor } }, { given });
  const f = s.frame(s.parse(new URLSearchParams("face=given:1&age=1")));
  assertEquals(f.params.face, "given:1");
  const g = s.frame(s.parse(new URLSearchParams("face=seed:42&glasses=-2")));
  assert(g.edited.length > 1000);
  let msg = "";
  try {
    s.parse(new URLSearchParams("face=given:2"));
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(msg.includes("given index 2 out of range 0..1"), msg);
  s.dispose();
  given.dispose();
  const srv = serveExplorer(new ExplorerSession(world, { p: { kind: "idstyle", editor } }, {}));
  assertEquals(await (await fetch(`${srv.url}/health`)).text(), "ok");
  await srv.close();
});

Deno.test("debounceLatest: one call with the latest value once the calls stop", async () => {
  const got: number[] = [];
  const f = debounceLatest(40, (x: number) => got.push(x));
  for (const x of [1, 2, 3]) {
    f(x);
    await new Promise((r) => setTimeout(r, 5));
  }
  assertEquals(got, []);
  await new Promise((r) => setTimeout(r, 80));
  assertEquals(got, [3]);
  f(4);
  await new Promise((r) => setTimeout(r, 80));
  assertEquals(got, [3, 4]);
});
