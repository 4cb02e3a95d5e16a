/**
 * Resumable runs' state files: a safetensors file whose metadata entry `metaKey` holds JSON with a
 * `key` naming the options and data the run was made with. `openStateFile` finds it (null when
 * there is none), checks that it is a state of this kind and of this run, and returns its tensors
 * and metadata; a state of another kind or another run is refused, never silently reused.
 */
import { CheckpointError, readSafetensors, type SafeTensorsFile } from "./safetensors.ts";

export async function openStateFile(
  path: string,
  metaKey: string,
  key: string,
  what: string,
): Promise<{ file: SafeTensorsFile; meta: Record<string, unknown> } | null> {
  try {
    await Deno.stat(path);
  } catch {
    return null;
  }
  const file = await readSafetensors(path);
  const raw = file.metadata[metaKey];
  if (!raw) throw new CheckpointError(`${path}: not ${what}`);
  const meta = JSON.parse(raw) as Record<string, unknown>;
  if (meta.key !== key) {
    throw new CheckpointError(
      `${path}: saved by a run with other options or data; delete it to start afresh`,
    );
  }
  return { file, meta };
}
