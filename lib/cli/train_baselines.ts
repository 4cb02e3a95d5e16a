/**
 * `deno task train-baselines [--only interfacegan,isfgan,styleflow] [--quick] [--styleflow-steps N]
 * [--isfgan-out F.safetensors] [--isfgan-steps N] [--isfgan-max-steps N]`:
 * trains the baselines of Table 1 in the synthface world and writes them with their training
 * metrics to checkpoints/baselines/: InterFaceGAN (linear SVM boundaries; seconds), ISF-GAN (its
 * mapping network with the StarGAN-v2 discriminator, isfgan_config.ts; 75-95 minutes, to
 * checkpoints/baselines/isfgan.safetensors unless --isfgan-out says otherwise, resumable from
 * checkpoints/runs/<out name>/) and, when asked for, StyleFlow (its conditional
 * CNF; 800 steps about 12 minutes, resumable from checkpoints/runs/styleflow/).
 *
 * `deno task train-baselines --world real [--real-config F.json] [--samples N] [--out DIR]`:
 * InterFaceGAN's boundaries in the real world: N w sampled from the mapping network (default
 * 10,000), scored by the training classifier's logits on their renders (cached and resumed), into
 * DIR (default checkpoints/runs/baselines-real/). ISF-GAN's training is synthface only here.
 */
import { backend } from "../backend.ts";
import pl from "nodejs-polars";
import { writeFileAtomic } from "../io/atomic.ts";
import { DATASET_DIR, loadDataset } from "../data/dataset.ts";
import { loadSynthFace } from "../world/synthface/world.ts";
import { INTERFACEGAN, InterFaceGANEditor, trainBoundaries } from "../baselines/interfacegan.ts";
import {
  ISFGAN,
  ISFGAN_CHANGES,
  ISFGAN_QUICK,
  IsfGanEditor,
  isfR1Weight,
  trainIsfGan,
} from "../baselines/isfgan.ts";
import { BASELINES_DIR } from "../baselines/paths.ts";
import { trainStyleFlowBaseline } from "../baselines/styleflow_train.ts";
import { parseArgs } from "./args.ts";
import { RUNS_DIR } from "../train/run_dir.ts";
import { loadWorldChoice, WORLD_OPTIONS, worldKind } from "./world_args.ts";
import { classifierLogits, sampledLatents } from "../data/world_dataset.ts";

const args = parseArgs(Deno.args, {
  usage:
    "deno task train-baselines [--only interfacegan,isfgan,styleflow] [--quick] [--styleflow-steps N] [--isfgan-out F.safetensors --isfgan-steps N --isfgan-max-steps N] [--world real --real-config F.json --samples N --out DIR]",
  flags: {
    quick: "a few ISF-GAN and StyleFlow steps (smoke run), written as <name>-quick.*",
    "as-shipped":
      "with --quick: write under the shipped names (for a chain under IDSTYLE_ARTIFACTS)",
    help: "this text",
  },
  options: {
    only: "comma-separated baselines (default: both)",
    ...WORLD_OPTIONS,
    samples: "with --world real: sampled latents scored for InterFaceGAN (default 10000)",
    out: "with --world real: output directory (default checkpoints/runs/baselines-real)",
    "styleflow-steps":
      "StyleFlow's training steps at batch 5 (default 800; its code's 3 epochs: 6000)",
    "isfgan-out":
      "ISF-GAN's checkpoint (default checkpoints/baselines/isfgan.safetensors; its .metrics.json beside it)",
    "isfgan-state":
      "ISF-GAN's resumable state (default checkpoints/runs/<out name>/state.safetensors)",
    "isfgan-steps": "ISF-GAN's minimum steps (default 1100)",
    "isfgan-max-steps":
      "ISF-GAN's most steps while the class head is below 90% (default 1400; the cosine's length)",
  },
});
if (worldKind(args.options, args.fail) === "real") {
  await realInterFaceGAN();
  Deno.exit(0);
}
// Quick results go beside the shipped ones, unless asked to stand in for them.
const suffix = args.flags.quick && !args.flags["as-shipped"] ? "-quick" : "";
const only = args.options.only?.split(",") ?? ["interfacegan", "isfgan"];
for (const b of only) {
  if (!["interfacegan", "isfgan", "styleflow"].includes(b)) {
    args.fail(`--only: unknown baseline "${b}"; expected interfacegan, isfgan, styleflow`);
  }
}
await Deno.mkdir(BASELINES_DIR, { recursive: true });
const world = await loadSynthFace({ evaluators: ["classifier"] });
const dataset = await loadDataset();

if (only.includes("interfacegan")) {
  // Scores: the training classifier's logits on the 10,000 original training latents (W).
  const df = pl.readParquet(`${DATASET_DIR}/train_mix.parquet`).filter(pl.col("reference").eq(-1))
    .sort("source");
  const M = world.attributes.length, N = df.height;
  const scores = new Float32Array(N * M);
  world.attributes.forEach((a, m) =>
    (df.getColumn(`prob_${a}`).toArray() as number[]).forEach((
      p,
      i,
    ) => (scores[i * M + m] = Math.log(Math.max(p, 1e-7) / Math.max(1 - p, 1e-7))))
  );
  const t0 = performance.now();
  const boundaries = await trainBoundaries(dataset.train.w, scores, world.attributes, INTERFACEGAN);
  const editor = new InterFaceGANEditor(boundaries);
  await editor.save(`${BASELINES_DIR}/interfacegan.safetensors`);
  const metrics = {
    method: "InterFaceGAN",
    config: INTERFACEGAN,
    seconds: (performance.now() - t0) / 1000,
    backend: backend.name,
    boundaries: boundaries.map(({ normal: _, ...b }) => b),
  };
  await writeFileAtomic(
    `${BASELINES_DIR}/interfacegan.metrics.json`,
    JSON.stringify(metrics, null, 2) + "\n",
  );
  console.log(
    `InterFaceGAN: validation accuracy ${
      boundaries.map((b) => `${b.attribute} ${(100 * b.validationAccuracy).toFixed(1)}%`).join(", ")
    }`,
  );
}
if (only.includes("isfgan")) {
  const quick = args.flags.quick;
  const base = quick ? ISFGAN_QUICK : ISFGAN;
  const int = (name: "isfgan-steps" | "isfgan-max-steps", fallback: number) => {
    const raw = args.options[name];
    const v = Number(raw ?? fallback);
    if (!(Number.isInteger(v) && v > 0)) {
      args.fail(`--${name}: expected a positive integer, got "${raw}"`);
    }
    return v;
  };
  const steps = int("isfgan-steps", base.steps);
  const cfg = { ...base, steps, maxSteps: Math.max(steps, int("isfgan-max-steps", base.maxSteps)) };
  const path = args.options["isfgan-out"] ??
    `${BASELINES_DIR}/isfgan${suffix}.safetensors`;
  if (!path.endsWith(".safetensors")) {
    args.fail(`--isfgan-out: expected a .safetensors path, got "${path}"`);
  }
  const name = path.replace(/^.*\//, "").replace(/\.safetensors$/, "");
  const statePath = args.options["isfgan-state"] ?? `checkpoints/runs/${name}/state.safetensors`;
  console.log(
    `ISF-GAN: ${cfg.steps} steps at batch ${cfg.batch}` +
      (cfg.untilClassAccuracy === null
        ? ""
        : `, then on (up to ${cfg.maxSteps}) until the class head reaches ${cfg.untilClassAccuracy} on every attribute`) +
      `; state ${statePath} (rerun the same command to resume) -> ${path}`,
  );
  const r = await trainIsfGan(world, dataset, cfg, {
    statePath,
    checkpointEvery: quick ? 1 : 100,
    onCheck: (c) =>
      console.log(
        `[isfgan] step ${c.step} (${(c.seconds / 60).toFixed(1)} min): class head ${
          Object.entries(c.classAccuracy).map(([a, v]) => `${a} ${v.toFixed(3)}`).join(", ")
        }` +
          (c.editAccuracy
            ? ` | EMA edits hit (training classifier) ${
              Object.entries(c.editAccuracy).map(([a, v]) => `${a} ${v.toFixed(2)}`).join(", ")
            }`
            : "") +
          (c.targetSensitivity
            ? ` | moves w by ${
              c.targetSensitivity.displacement.toFixed(3)
            }, a flipped target adds ${
              Object.entries(c.targetSensitivity.sensitivity).map(([a, v]) =>
                `${a} ${v.toFixed(4)}`
              ).join(", ")
            }`
            : ""),
      ),
  });
  const editor = new IsfGanEditor(r.mapping, world);
  await Deno.mkdir(path.replace(/\/[^/]*$/, ""), { recursive: true });
  await editor.save(path, { steps: String(r.steps), variant: "faithful" });
  const every = Math.max(1, Math.ceil(r.losses.length / 200));
  const curve = r.losses.filter((_, i) => i % every === 0 || i === r.losses.length - 1);
  const metrics = {
    method: "ISF-GAN",
    variant: "faithful",
    parameters: r.mapping.countParameters(),
    discriminatorParameters: r.discriminatorParameters,
    config: cfg,
    r1Weight: isfR1Weight(cfg),
    changes: ISFGAN_CHANGES,
    steps: r.steps,
    samplesSeen: r.steps * cfg.batch,
    classHeadReachedTargetAt: r.reachedAt,
    seconds: r.seconds,
    secondsPerStep: r.seconds / Math.max(1, r.steps),
    backend: backend.name,
    checks: r.checks,
    losses: curve,
  };
  await writeFileAtomic(
    path.replace(".safetensors", ".metrics.json"),
    JSON.stringify(metrics, null, 2) + "\n",
  );
  console.log(`ISF-GAN: ${r.steps} steps in ${(r.seconds / 60).toFixed(1)} min -> ${path}`);
}

if (only.includes("styleflow")) {
  const steps = Number(args.options["styleflow-steps"] ?? (args.flags.quick ? 20 : 800));
  if (!(Number.isInteger(steps) && steps > 0)) {
    args.fail(
      `--styleflow-steps: expected a positive integer, got "${args.options["styleflow-steps"]}"`,
    );
  }
  const { editor, metrics } = await trainStyleFlowBaseline(world, dataset, {
    train: { maxSteps: steps },
    run: {
      statePath: `${RUNS_DIR}styleflow${args.flags.quick ? "-quick" : ""}/state.safetensors`,
    },
  });
  const path = `${BASELINES_DIR}/styleflow${suffix}.safetensors`;
  await editor.save(path);
  await writeFileAtomic(
    path.replace(".safetensors", ".metrics.json"),
    JSON.stringify({ ...metrics, backend: backend.name }, null, 2) + "\n",
  );
  console.log(`StyleFlow: ${steps} steps -> ${path}`);
}

async function realInterFaceGAN(): Promise<void> {
  if (args.options.only && args.options.only !== "interfacegan") {
    args.fail(
      "--world real: only interfacegan trains in the real world here (ISF-GAN is synthface only)",
    );
  }
  const n = Number(args.options.samples ?? 10_000);
  if (!(Number.isInteger(n) && n >= 100)) {
    args.fail(`--samples: expected an integer >= 100, got "${args.options.samples}"`);
  }
  const out = (args.options.out ?? "checkpoints/runs/baselines-real").replace(/\/$/, "");
  const choice = await loadWorldChoice(args.options, args.fail).catch((err) =>
    args.fail((err as Error).message.split("\n").join(" "))
  );
  const world = choice.world;
  const latents = sampledLatents(world, n, INTERFACEGAN.seed);
  const provenance = await world.provenance?.() ?? {};
  const key = JSON.stringify({ provenance, n, seed: INTERFACEGAN.seed });
  const cacheDir = `${out}/cache`;
  await Deno.mkdir(cacheDir, { recursive: true });
  if ((await Deno.readTextFile(`${cacheDir}/key.json`).catch(() => null)) !== key) {
    await Deno.remove(`${cacheDir}/logits.npy`).catch(() => {});
    await writeFileAtomic(`${cacheDir}/key.json`, key);
  }
  const t0 = performance.now();
  const scores = await classifierLogits(world, latents, {
    cachePath: `${cacheDir}/logits.npy`,
    label: `score ${n} sampled latents (${world.name})`,
  });
  const boundaries = await trainBoundaries(
    latents.w,
    scores,
    world.attributes,
    INTERFACEGAN,
    world.latentDim,
  );
  const editor = new InterFaceGANEditor(boundaries);
  await editor.save(`${out}/interfacegan.safetensors`);
  const metrics = {
    method: "InterFaceGAN",
    world: world.name,
    ...provenance,
    samples: n,
    config: INTERFACEGAN,
    seconds: (performance.now() - t0) / 1000,
    backend: backend.name,
    boundaries: boundaries.map(({ normal: _, ...b }) => b),
  };
  await writeFileAtomic(
    `${out}/interfacegan.metrics.json`,
    JSON.stringify(metrics, null, 2) + "\n",
  );
  console.log(
    `InterFaceGAN (real world, ${n} samples): validation accuracy ${
      boundaries.map((b) => `${b.attribute} ${(100 * b.validationAccuracy).toFixed(1)}%`).join(", ")
    } -> ${out}/interfacegan.safetensors`,
  );
}
