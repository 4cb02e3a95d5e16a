/**
 * `deno task score --images a.npy [--reference b.npy] --identity model_ir_se50.pth --classifier
 *  050000_nets_ema.ckpt [--embeddings e.npy] [--logits l.npy] [--json scores.json] [--runtime ort|tfjs]`:
 * scores images with the paper's networks: images [N, 3, H, W] (PyTorch's layout, the generator's
 * range) at 256 or 1024 (pooled to 256 as the authors do); writes the IR-SE embeddings [N, 512], the
 * class head's logits [N, 4] (Gender, Glasses, Age, Expression) and, with a reference set, the
 * per-pair identity similarity as the authors compute FRS. Everything is checked before anything is
 * written; errors are one line with a non-zero exit, and outputs are written atomically.
 */
import "../backend.ts";
import { readNpy, writeNpy } from "../io/npy.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { readIrSeWeights } from "../world/real/irse.ts";
import { CLASSIFIER_ATTRIBUTES, readClassifierWeights } from "../world/real/stargan_d.ts";
import { type ImageBatch, scoreImages } from "../world/real/score.ts";
import { parseArgs } from "./args.ts";

const args = parseArgs(Deno.args, {
  usage:
    "deno task score --images a.npy [--reference b.npy] --identity model_ir_se50.pth --classifier 050000_nets_ema.ckpt [--embeddings e.npy] [--logits l.npy] [--json scores.json]",
  flags: { help: "this text" },
  options: {
    images: "images .npy, [N, 3, H, W] float32 in [-1, 1], H = W = 256 or 1024",
    reference: "reference images, same shape: per-pair identity similarity (FRS)",
    identity: "IR-SE50 identity network (model_ir_se50.pth)",
    classifier: "attribute classifier: ISF-GAN's nets (050000_nets_ema.ckpt), its discriminator",
    embeddings: "write the embeddings [N, 512] here (.npy)",
    logits: "write the logits [N, 4] here (.npy)",
    json: "write per-image logits, similarity and their means here",
    runtime: "ort (onnxruntime, default) or tfjs",
  },
});

async function readImages(path: string, what: string): Promise<ImageBatch> {
  const a = await readNpy(path);
  const s = a.shape;
  if (a.dtype !== "float32" || s.length !== 4 || s[1] !== 3 || s[2] !== s[3]) {
    throw new Error(
      `${what}: expected float images [N, 3, H, W] (NCHW, square), got ${a.dtype} [${
        s.join(", ")
      }]`,
    );
  }
  return { data: a.data as Float32Array, n: s[0], size: s[2] };
}

async function main(): Promise<void> {
  const o = args.options;
  if (!o.images) throw new Error("--images is required ([N, 3, H, W] .npy)");
  if (!o.identity) throw new Error("--identity is required (model_ir_se50.pth)");
  if (!o.classifier) throw new Error("--classifier is required (050000_nets_ema.ckpt)");
  if (!o.embeddings && !o.logits && !o.json) {
    throw new Error("give at least one of --embeddings, --logits, --json");
  }
  for (const k of ["embeddings", "logits"] as const) {
    if (o[k] && !o[k]!.endsWith(".npy")) {
      throw new Error(`--${k}: expected a .npy path, got "${o[k]}"`);
    }
  }
  const runtime = (o.runtime ?? "ort") as "ort" | "tfjs";
  if (!["ort", "tfjs"].includes(runtime)) {
    throw new Error(`--runtime: expected ort or tfjs, got "${o.runtime}"`);
  }
  const images = await readImages(o.images, "--images");
  const reference = o.reference ? await readImages(o.reference, "--reference") : null;
  const identity = await readIrSeWeights(o.identity);
  const classifier = await readClassifierWeights(o.classifier);
  const s = await scoreImages(images, { identity, classifier }, reference, { runtime });
  const n = images.n, M = s.numLogits;
  if (o.embeddings) {
    await writeNpy(o.embeddings, {
      dtype: "float32",
      shape: [n, s.embeddingDim],
      data: s.embeddings,
    });
  }
  if (o.logits) await writeNpy(o.logits, { dtype: "float32", shape: [n, M], data: s.logits });
  const names = M === 4
    ? [...CLASSIFIER_ATTRIBUTES]
    : Array.from({ length: M }, (_, i) => `logit_${i}`);
  const mean = (a: ArrayLike<number>) => Array.from(a).reduce((x, y) => x + y, 0) / a.length;
  if (o.json) {
    const rows = Array.from({ length: n }, (_, i) => ({
      logits: Object.fromEntries(names.map((a, m) => [a, s.logits[i * M + m]])),
      ...(s.similarity ? { identitySimilarity: s.similarity[i] } : {}),
    }));
    await writeFileAtomic(
      o.json,
      JSON.stringify(
        {
          images: o.images,
          reference: o.reference ?? null,
          positiveRate: Object.fromEntries(
            names.map((a) => [a, rows.filter((r) => r.logits[a] > 0).length / n]),
          ),
          ...(s.similarity ? { frs: mean(s.similarity) } : {}),
          rows,
        },
        null,
        2,
      ) + "\n",
    );
  }
  console.log(
    `scored ${n} images (${runtime})${
      s.similarity ? `: mean identity similarity (FRS) ${mean(s.similarity).toFixed(4)}` : ""
    } -> ${[o.embeddings, o.logits, o.json].filter(Boolean).join(", ")}`,
  );
}

try {
  await main();
} catch (err) {
  console.error(`error: ${(err as Error).message.split("\n").join(" ")}`);
  Deno.exit(1);
}
