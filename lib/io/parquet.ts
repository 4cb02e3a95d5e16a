/** Atomic parquet writes: polars writes a temporary file beside the target, then it is renamed. */
import type pl from "nodejs-polars";

export async function writeParquetAtomic(path: string, df: pl.DataFrame): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}-${Math.random().toString(36).slice(2, 10)}`;
  try {
    df.writeParquet(tmp);
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}
