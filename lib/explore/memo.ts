/**
 * A baseline editor that remembers its single edits, for the explorer. A chained edit moves its
 * input by |s| times the editor's edit of it (strength.ts), and that edit depends on the input and
 * the sign only, so while a slider moves, every step before it and its own edit repeat: they are
 * answered from here and only the steps after the moving slider are computed. For StyleFlow each
 * answer saves a whole solve (the render for the source condition, the forward and the reverse
 * flow); moving the last slider away from 0 costs only the frame's render and scores.
 *
 * Keyed by the input's content (a 64-bit FNV-1a hash of its float bits, with its shape), the
 * attribute and the sign; one latent per call (the explorer's), every other call goes to the
 * editor. Least recently used entries are dropped beyond `capacity`. Results are the editor's own
 * (remembered, not approximated; tested). ISF-GAN draws new noise on every call, so through the
 * memo the same settings give the same image, as a slider should.
 */
import * as tf from "@tensorflow/tfjs";
import type { AttributeEditor } from "../eval/evaluate.ts";

/** 64-bit FNV-1a of a float array's bits, as 16 hex digits. */
export function hashFloats(v: Float32Array): string {
  const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  // offset basis 0xcbf29ce484222325 in two 32-bit halves (no BigInt per byte):
  // h = (h ^ b) * prime mod 2^64
  let hi = 0xcbf29ce4, lo = 0x84222325;
  for (let i = 0; i < bytes.length; i++) {
    lo = (lo ^ bytes[i]) >>> 0; // ^ gives a signed 32-bit int
    // prime 0x100000001b3: (hi, lo) * (0x100, 0x1b3)
    const lo1b3 = lo * 0x1b3;
    const carry = Math.floor(lo1b3 / 0x100000000);
    const newLo = lo1b3 >>> 0;
    hi = (hi * 0x1b3 + lo * 0x100 + carry) >>> 0;
    lo = newLo;
  }
  return hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
}

export class EditMemo implements AttributeEditor {
  private readonly memo = new Map<string, tf.Tensor3D>();

  constructor(readonly editor: AttributeEditor, readonly capacity = 256) {
    if (!(Number.isInteger(capacity) && capacity > 0)) {
      throw new RangeError(`capacity: expected a positive integer, got ${capacity}`);
    }
  }

  get name(): string {
    return this.editor.name;
  }

  /** How many edits are remembered (for tests and the benchmark). */
  get size(): number {
    return this.memo.size;
  }

  editAttribute(wPlus: tf.Tensor3D, m: number, directions: number[]): tf.Tensor3D {
    if (directions.length !== 1 || wPlus.shape[0] !== 1) {
      return this.editor.editAttribute(wPlus, m, directions);
    }
    const key = `${wPlus.shape}/${hashFloats(wPlus.dataSync() as Float32Array)}/${m}:${
      Math.sign(directions[0])
    }`;
    let e = this.memo.get(key);
    if (e) {
      this.memo.delete(key); // re-inserted below: most recently used last
    } else {
      // kept: the call may run inside a caller's tf.tidy, which would dispose it on exit
      e = tf.keep(this.editor.editAttribute(wPlus, m, directions));
      if (this.memo.size >= this.capacity) {
        const [oldest, t] = this.memo.entries().next().value!;
        this.memo.delete(oldest);
        t.dispose();
      }
    }
    this.memo.set(key, e);
    return tf.clone(e);
  }

  dispose(): void {
    tf.dispose([...this.memo.values()]);
    this.memo.clear();
  }
}
