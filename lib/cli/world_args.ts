/**
 * `--world synthface|real` and `--real-config F.json` for the commands that run in either world:
 * the embedded synthface world (the default) or the real StyleGAN2 pipeline from the user's files
 * (lib/world/real/config.ts says what the JSON names).
 */
import { loadSynthFace, type SynthFace } from "../world/synthface/world.ts";
import { loadStyleGAN2World, type StyleGAN2World } from "../world/real/world.ts";
import { DEFAULT_REAL_CONFIG } from "../world/real/config.ts";
import { loadEditor } from "../io/checkpoint.ts";
import type { IDStyleEditor } from "../model/editor.ts";

export const WORLD_OPTIONS = {
  world: "synthface (default, embedded) or real (StyleGAN2 and the authors' networks)",
  "real-config": `with --world real: the JSON naming your files (default ${DEFAULT_REAL_CONFIG})`,
} as const;

export type WorldChoice =
  | { kind: "synthface"; world: SynthFace }
  | { kind: "real"; world: StyleGAN2World; configPath: string };

export function worldKind(
  options: { world?: string; "real-config"?: string },
  fail: (msg: string) => never,
): "synthface" | "real" {
  const kind = options.world ?? "synthface";
  if (kind !== "synthface" && kind !== "real") {
    fail(`--world: expected synthface or real, got "${kind}"`);
  }
  if (kind === "synthface" && options["real-config"]) fail("--real-config needs --world real");
  return kind as "synthface" | "real";
}

export async function loadWorldChoice(
  options: { world?: string; "real-config"?: string },
  fail: (msg: string) => never,
  synthOpts: Parameters<typeof loadSynthFace>[0] = {},
): Promise<WorldChoice> {
  if (worldKind(options, fail) === "synthface") {
    return { kind: "synthface", world: await loadSynthFace(synthOpts) };
  }
  const configPath = options["real-config"] ?? DEFAULT_REAL_CONFIG;
  return { kind: "real", world: await loadStyleGAN2World(configPath), configPath };
}

/** `--world real` with `--checkpoint`: the real world and the editor, or a one-line failure. */
export async function loadRealWithEditor(
  options: { world?: string; "real-config"?: string; checkpoint?: string },
  fail: (msg: string) => never,
): Promise<{ world: StyleGAN2World; editor: IDStyleEditor }> {
  if (!options.checkpoint) fail("--checkpoint is required with --world real");
  try {
    const world = await loadStyleGAN2World(options["real-config"] ?? DEFAULT_REAL_CONFIG);
    return { world, editor: (await loadEditor(options.checkpoint!)).editor };
  } catch (err) {
    return fail((err as Error).message.split("\n").join(" "));
  }
}
