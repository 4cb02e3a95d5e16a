/**
 * Where the project's artifacts live: checkpoints/, data/ and out/ under one root, the repository
 * by default. IDSTYLE_ARTIFACTS=DIR moves all three (absolute, or relative to the working
 * directory), so that a whole chain can run beside the shipped files without touching them
 * (`deno task reproduce --quick` does this); the code stays where it is.
 */

/** The repository root (with a trailing slash). */
export const REPO_ROOT = new URL("../", import.meta.url).pathname;

function artifactsRoot(): string {
  let env: string | undefined;
  try {
    env = Deno.env.get("IDSTYLE_ARTIFACTS");
  } catch {
    env = undefined; // no --allow-env: the repository
  }
  if (!env) return REPO_ROOT;
  const abs = env.startsWith("/") ? env : `${Deno.cwd()}/${env}`;
  return abs.endsWith("/") ? abs : `${abs}/`;
}

/** The artifacts root (with a trailing slash): the repository, or IDSTYLE_ARTIFACTS. */
export const ARTIFACTS_ROOT = artifactsRoot();

/** A path under the artifacts root, e.g. artifactPath("checkpoints/baselines/"). */
export function artifactPath(relative: string): string {
  return ARTIFACTS_ROOT + relative.replace(/^\//, "");
}
