// Whole-buffer helpers: countNonFinite, fill, addInto.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rt } from 'simdnet/internal';
import { rng, freshSeed, randn, toWasm, freeAll } from './helpers.js';

await sn.ready();
const k = () => rt().kernels;

test('countNonFinite counts every NaN and ±Infinity, in SIMD blocks and in the tail', () => {
  const seed = freshSeed(), rand = rng(seed);
  for (const n of [0, 1, 3, 4, 5, 17, 64, 1001]) {
    const values = Array.from(randn(n, rand, 1e30));
    for (let i = 0; i < n; i++) {
      const r = rand();
      if (r < 0.1) values[i] = NaN; else if (r < 0.15) values[i] = Infinity; else if (r < 0.2) values[i] = -Infinity;
    }
    if (n >= 4) values[1] = values[2] = NaN; // two bad values in one block
    const expected = values.filter((v) => !Number.isFinite(Math.fround(v))).length;
    const buf = toWasm(values);
    assert.is(k().countNonFinite(buf.ptr, n), expected, `seed ${seed}, n ${n}`);
    freeAll(buf);
  }
  const big = toWasm([3.4e38, -3.4e38, 1e-45, -0, 0]);
  assert.is(k().countNonFinite(big.ptr, 5), 0, 'the largest finite floats, a denormal and ±0 are finite');
  freeAll(big);
});

test('fill and addInto cover SIMD blocks and tails', () => {
  const seed = freshSeed(), rand = rng(seed);
  for (const n of [1, 4, 7, 33]) {
    const a = randn(n, rand), b = randn(n, rand);
    const y = toWasm(a), x = toWasm(b);
    k().addInto(y.ptr, x.ptr, n);
    assert.equal([...y.view()], Array.from(a, (v, i) => Math.fround(Math.fround(v) + Math.fround(b[i]))), `addInto n ${n}`);
    k().fill(y.ptr, n, 2.5);
    assert.ok(y.view().every((v) => v === 2.5), `fill n ${n}`);
    freeAll(y, x);
  }
});

test.run();
