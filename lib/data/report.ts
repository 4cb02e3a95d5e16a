/**
 * data/synthface/README.md, computed from the files on disk and the world: counts, base rates
 * (classifier and oracle labels), their agreement, each file's SHA-256, and the world's measured
 * properties (label correlations, entanglement of naive vs ideal directions, with FRS when the
 * identity network is loaded).
 */
import pl from "nodejs-polars";
import { writeFileAtomic } from "../io/atomic.ts";
import { DATASET_FILES, type DatasetConfig } from "./dataset.ts";
import type { SynthFace } from "../world/synthface/world.ts";
import { ATTRIBUTES, FACTORS } from "../world/synthface/spec.ts";
import { correlations, entanglement } from "../world/synthface/properties.ts";
import { readNpy } from "../io/npy.ts";
import { sha256File } from "../io/hash.ts";

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export async function writeDatasetReadme(
  dir: string,
  world: SynthFace,
  cfg: DatasetConfig,
  opts: { entanglementSamples?: number } = {},
): Promise<string> {
  const frames = {
    train: pl.readParquet(`${dir}/train_mix.parquet`),
    test: pl.readParquet(`${dir}/test_mix.parquet`),
  };
  const mean = (df: pl.DataFrame, c: string) => df.getColumn(c).mean() as number;
  const rateRows: string[] = [];
  const agreement: Record<string, number> = {};
  for (const [name, df] of Object.entries(frames)) {
    for (const kind of ["label", "oracle"]) {
      rateRows.push(
        `| ${name} samples (${kind === "label" ? "classifier" : "oracle"}) | ${
          ATTRIBUTES.map((a) => pct(mean(df, `${kind}_${a}`))).join(" | ")
        } |`,
      );
    }
    let same = 0;
    for (const a of ATTRIBUTES) {
      const l = df.getColumn(`label_${a}`).toArray() as number[],
        o = df.getColumn(`oracle_${a}`).toArray() as number[];
      for (let i = 0; i < l.length; i++) same += l[i] === o[i] ? 1 : 0;
    }
    agreement[name] = same / (df.height * ATTRIBUTES.length);
  }
  // Correlations on the training latents' oracle factors (W mode).
  const lat = pl.readParquet(`${dir}/train_latents.parquet`);
  const n = lat.height, F = FACTORS.length;
  const values = new Float32Array(n * F);
  FACTORS.forEach((f, j) =>
    (lat.getColumn(`factor_${f.name}`).toArray() as number[]).forEach((
      v,
      i,
    ) => (values[i * F + j] = v))
  );
  const corr = correlations(values);
  const phiRows = ATTRIBUTES.map((a, i) =>
    `| ${a} | ${corr.labels[i].map((v) => v.toFixed(2)).join(" | ")} |`
  );
  // Entanglement on the test latents (W mode).
  const testW = (await readNpy(`${dir}/test_w.npy`)).data as Float32Array;
  const k = Math.min(opts.entanglementSamples ?? 1000, testW.length / 512);
  let withFrs = true;
  try {
    world.net("identity");
  } catch {
    withFrs = false;
  }
  const ent = entanglement(world, testW.slice(0, k * 512), { withFrs });
  const entRows = ent.map((r) =>
    `| ${r.attribute} | ${r.direction} | ${r.step.toFixed(2)} | ${pct(r.flipRate)} | ${
      r.oracleIdentity.toFixed(3)
    } | ${r.frs === null ? "-" : r.frs.toFixed(3)} | ${
      Object.entries(r.otherFlips).map(([b, v]) => `${b} ${pct(v)}`).join(", ")
    } |`
  );
  const sums = await Promise.all(
    DATASET_FILES.map(async (f) => `| \`${f}\` | \`${await sha256File(`${dir}/${f}`)}\` |`),
  );
  const text = `# synthface dataset

Written by \`deno task data\` (lib/data/dataset.ts, this README by lib/data/report.ts) from fixed
seeds; regenerating it on the wasm backend reproduces these files bit for bit (the checksums below).

![32 random faces with their oracle labels: M(ale) G(lasses) O(ld) S(mile)](faces.png)

- ${
    cfg.numTrain.toLocaleString("en-US")
  } training latents w (seed ${cfg.trainSeed}); each kept and mixed ${cfg.trainMixes} times (ISF-GAN's style mixing, seed ${cfg.mixSeed}): ${
    frames.train.height.toLocaleString("en-US")
  } training samples.
- ${
    cfg.numTest.toLocaleString("en-US")
  } test latents (seed ${cfg.testSeed}), each mixed ${cfg.testMixes} time (seed ${cfg.testMixSeed}): ${
    frames.test.height.toLocaleString("en-US")
  } test samples.
- Labels: the training attribute classifier's (probability > 0.5), beside the oracle's (factor > 0.5).
  They agree on ${pct(agreement.train)} of the training labels and ${
    pct(agreement.test)
  } of the test labels.
- A mix copies rows start..end-1 of the reference's W+ into the source's; \`reference = -1\` marks an original.

## Base rates

| samples | ${ATTRIBUTES.join(" | ")} |
| --- | ${ATTRIBUTES.map(() => "---").join(" | ")} |
${rateRows.join("\n")}

## Correlations between attribute labels (phi, ${
    n.toLocaleString("en-US")
  } training latents, oracle)

| | ${ATTRIBUTES.join(" | ")} |
| --- | ${ATTRIBUTES.map(() => "---").join(" | ")} |
${phiRows.join("\n")}

## Entanglement of naive edit directions

Every one of ${k} test latents (W mode) is moved along a direction in W, towards the other side of
an attribute, by the smallest step (on a grid) that flips the attribute for 90% of them. The naive
direction is the class-mean difference of w; the ideal one is the attribute's read direction made
orthogonal to every other factor's (known by construction). Oracle identity: cosine of the
standardised identity-factor vectors before and after; FRS: cosine of the identity network's
embeddings of the two renders.

| attribute | direction | step in W | flip rate | oracle identity | FRS | other attributes flipped |
| --- | --- | --- | --- | --- | --- | --- |
${entRows.join("\n")}

## Files and SHA-256

| file | sha256 |
| --- | --- |
${sums.join("\n")}
`;
  await writeFileAtomic(`${dir}/README.md`, text);
  return text;
}
