/**
 * The real world's configuration: a small JSON file naming the user's files (paths relative to
 * the file), checked before anything is loaded:
 *
 *   {
 *     "generator":      "stylegan2-ffhq-config-f.pt",   rosinality's {g_ema, latent_avg}
 *     "identity":       "model_ir_se50.pth",            TreB1eN's IR-SE50 (L_id and FRS)
 *     "classifier":     "050000_nets_ema.ckpt",         ISF-GAN's nets; its discriminator's
 *                                                       class head is L_class
 *     "evalClassifier": "other_classifier.ckpt",        optional: scores the metrics; without it
 *                                                       the training classifier scores (the
 *                                                       paper's setting), and tables say so
 *     "latents":        "latents.npy",                  optional: StyleFlow's [N, 1, 18, 512]
 *     "attributes":     "attributes.npy",               optional: StyleFlow's [N, 8, 1]
 *     "editor":         "100000.ckpt"                   optional: the authors' ID-Style checkpoint
 *                                                       (or one of ours), for notebook 06 and demos
 *   }
 */
import { InputError } from "../../util/validate.ts";

export interface RealWorldConfig {
  generator: string;
  identity: string;
  classifier: string;
  evalClassifier?: string;
  latents?: string;
  attributes?: string;
  editor?: string;
}

/** Where `--real-config` looks by default, and notebook 06 through IDSTYLE_REAL_CONFIG. */
export const DEFAULT_REAL_CONFIG = "real/config.json";

const REQUIRED = ["generator", "identity", "classifier"] as const;
const OPTIONAL = ["evalClassifier", "latents", "attributes", "editor"] as const;

/** Reads and checks a config file; every path is resolved against the file's folder and must exist. */
export async function readRealConfig(path: string): Promise<RealWorldConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new InputError(
        `${path}: no such file (a real-world config names your files; see README)`,
      );
    }
    throw err;
  }
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    throw new InputError(`${path}: expected a JSON object with ${REQUIRED.join(", ")}`);
  }
  const known = new Set<string>([...REQUIRED, ...OPTIONAL]);
  const unknown = Object.keys(raw).filter((k) => !known.has(k));
  if (unknown.length) {
    throw new InputError(
      `${path}: unknown key(s) ${unknown.map((k) => `"${k}"`).join(", ")}; expected ${
        [...known].join(", ")
      }`,
    );
  }
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/") + 1) : "./";
  const out: Partial<RealWorldConfig> = {};
  for (const key of [...REQUIRED, ...OPTIONAL]) {
    const v = raw[key];
    if (v === undefined) {
      if ((REQUIRED as readonly string[]).includes(key)) {
        throw new InputError(`${path}: "${key}" is required (the ${describe(key)})`);
      }
      continue;
    }
    if (typeof v !== "string" || !v) throw new InputError(`${path}: "${key}" must be a file path`);
    const resolved = v.startsWith("/") ? v : dir + v;
    try {
      const st = await Deno.stat(resolved);
      if (!st.isFile) throw new Deno.errors.NotFound();
    } catch {
      throw new InputError(
        `${path}: "${key}" names ${resolved}, which does not exist (the ${describe(key)})`,
      );
    }
    out[key] = resolved;
  }
  if (!!out.latents !== !!out.attributes) {
    throw new InputError(
      `${path}: "latents" and "attributes" go together (StyleFlow's latents.npy and attributes.npy)`,
    );
  }
  return out as RealWorldConfig;
}

function describe(key: string): string {
  return {
    generator: "StyleGAN2 generator, e.g. stylegan2-ffhq-config-f.pt",
    identity: "IR-SE50 identity network, e.g. model_ir_se50.pth",
    classifier: "attribute classifier, e.g. ISF-GAN's 050000_nets_ema.ckpt",
    evalClassifier: "evaluation classifier",
    latents: "StyleFlow's latents.npy",
    attributes: "StyleFlow's attributes.npy",
    editor: "ID-Style checkpoint, e.g. the authors' 100000.ckpt",
  }[key] ?? key;
}

/** The fixture networks' config (random weights in the real formats; tests/fixtures/real/). */
export const FIXTURE_REAL_CONFIG =
  new URL("../../../tests/fixtures/real/world.json", import.meta.url)
    .pathname;

/** The authors' `data/test_latents.npy` ([8, 1, 18, 512]), copied with the fixtures. */
export const AUTHORS_TEST_LATENTS = new URL(
  "../../../tests/fixtures/real/authors_test_latents.npy",
  import.meta.url,
).pathname;

/** The authors' ID-Style model with random weights, saved as their solver saves it. */
export const FIXTURE_EDITOR = new URL(
  "../../../tests/fixtures/real/idstyle_official.ckpt",
  import.meta.url,
).pathname;

export interface FoundConfig {
  path: string;
  /** True when no real config exists and the fixture networks (random weights) stand in. */
  fixture: boolean;
  /** Where it came from, in words. */
  why: string;
}

/**
 * The real-world config a notebook uses: `IDSTYLE_REAL_CONFIG` if set (it must exist), else
 * `real/config.json` under `root` if present, else the fixture networks.
 */
export async function findRealConfig(root = "."): Promise<FoundConfig> {
  const env = Deno.env.get("IDSTYLE_REAL_CONFIG");
  if (env) {
    if (!(await Deno.stat(env).then((s) => s.isFile, () => false))) {
      throw new InputError(`IDSTYLE_REAL_CONFIG names ${env}, which does not exist`);
    }
    return { path: env, fixture: false, why: `IDSTYLE_REAL_CONFIG=${env}` };
  }
  const local = `${root}/${DEFAULT_REAL_CONFIG}`;
  if (await Deno.stat(local).then((s) => s.isFile, () => false)) {
    return { path: local, fixture: false, why: local };
  }
  return {
    path: FIXTURE_REAL_CONFIG,
    fixture: true,
    why:
      `no ${DEFAULT_REAL_CONFIG} and no IDSTYLE_REAL_CONFIG: the fixture networks (random weights)`,
  };
}
