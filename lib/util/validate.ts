/**
 * Checks at module boundaries. Every error names the argument, what was expected and what was
 * given, so that a user never has to decode a tfjs-internal message.
 */
import * as tf from "@tensorflow/tfjs";

/** Bad input from the caller (shape, value, range). */
export class InputError extends Error {
  override name = "InputError";
}

export function formatShape(shape: readonly (number | null | string)[]): string {
  return `[${shape.map((d) => (d === null ? "?" : String(d))).join(", ")}]`;
}

/**
 * Asserts that `value` is a tensor whose shape matches `expected`, where `null` matches any size
 * and a string names a free dimension that must agree across calls through `dims`.
 */
export function assertShape(
  name: string,
  value: unknown,
  expected: readonly (number | null | string)[],
  dims: Record<string, number> = {},
): void {
  if (!(value instanceof tf.Tensor)) {
    throw new InputError(
      `${name}: expected a tensor of shape ${formatShape(expected)}, got ${describe(value)}`,
    );
  }
  const shape = value.shape;
  const bad = () =>
    new InputError(
      `${name}: expected shape ${formatShape(expected)}${describeDims(dims)}, got ${
        formatShape(shape)
      }`,
    );
  if (shape.length !== expected.length) throw bad();
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    if (e === null) continue;
    if (typeof e === "number") {
      if (shape[i] !== e) throw bad();
    } else if (e in dims) {
      if (shape[i] !== dims[e]) throw bad();
    } else {
      dims[e] = shape[i];
    }
  }
}

function describeDims(dims: Record<string, number>): string {
  const entries = Object.entries(dims);
  return entries.length ? ` with ${entries.map(([k, v]) => `${k}=${v}`).join(", ")}` : "";
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return typeof value;
}

/** Asserts a float tensor has no NaN or Inf; reads the tensor back (one small sync). */
export function assertFinite(name: string, t: tf.Tensor): void {
  if (t.dtype !== "float32") {
    throw new InputError(`${name}: expected dtype float32, got ${t.dtype}`);
  }
  const bad = tf.tidy(() => tf.logicalNot(tf.isFinite(t)).sum().dataSync()[0]);
  if (bad > 0) {
    throw new InputError(`${name}: expected finite values, got ${bad} NaN or Inf entries`);
  }
}

/** Asserts every entry of `t` is one of `allowed` (for example the attribute codes -1, 0, 1). */
export function assertValuesIn(name: string, t: tf.Tensor, allowed: readonly number[]): void {
  const data = t.dataSync();
  for (let i = 0; i < data.length; i++) {
    if (!allowed.includes(data[i])) {
      throw new InputError(
        `${name}: expected values in {${allowed.join(", ")}}, got ${data[i]} at flat index ${i}`,
      );
    }
  }
}

/** Asserts an integer option lies in [lo, hi]. */
export function assertIntInRange(name: string, v: unknown, lo: number, hi: number): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
    throw new InputError(`${name}: expected an integer in ${lo}..${hi}, got ${String(v)}`);
  }
}

/** Asserts a number option is finite and strictly positive. */
export function assertPositive(name: string, v: unknown): void {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new InputError(`${name}: expected a finite number > 0, got ${String(v)}`);
  }
}
