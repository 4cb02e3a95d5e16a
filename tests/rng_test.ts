/** The seeded generator's saved state: a restored generator continues the original's sequence. */
import { assertEquals, assertThrows } from "./_util.ts";
import { Rng } from "../lib/util/rng.ts";

Deno.test("Rng: setState(getState()) continues the sequence, a pending Box-Muller normal included", () => {
  const a = new Rng(42);
  a.uniforms(5);
  a.normal(); // leaves the second normal of the pair pending
  const b = new Rng(7);
  b.setState(a.getState());
  assertEquals(Array.from(b.normals(3)), Array.from(a.normals(3)));
  assertEquals([b.int(0, 99), b.nextU32()], [a.int(0, 99), a.nextU32()]);
  // The state is a copy: drawing from a does not move b.
  const s = b.getState();
  a.uniforms(10);
  assertEquals(b.getState(), s);
});

Deno.test("Rng.setState: a malformed state is refused with what was expected", () => {
  assertThrows(
    () => new Rng(1).setState({ s: [1, 2, 3], spareNormal: null }),
    "state",
    "four integers",
  );
});
