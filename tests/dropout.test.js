// Dropout: mask statistics, exact scaling, mask reuse in backward, seeding, eval identity.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import { rng, freshSeed, randn } from './helpers.js';

await sn.ready();

/** Random values none of which is zero, so a zero in the output means "dropped". */
function nonZero(n, rand) { return Float32Array.from(randn(n, rand), (v) => (v >= 0 ? v + 0.5 : v - 0.5)); }

for (const p of [0.1, 0.5, 0.9, 0.333]) {
  test(`Dropout(p=${p}) drops a fraction p, scales the rest exactly by 1/(1-p), backward reuses the mask`, () => {
    const seed = freshSeed(), rand = rng(seed);
    sn.manualSeed(seed);
    const n = 100003; // odd: the scalar tail runs too
    const x = nonZero(n, rand), dy = nonZero(n, rand);
    const layer = new sn.Dropout(p);
    const y = layer.forward(sn.tensor(x, [n])).toArray();
    const dx = layer.backward(sn.tensor(dy, [n])).toArray();
    const scale = Math.fround(1 / (1 - p));
    const droppedPerLane = [0, 0, 0, 0];
    let dropped = 0;
    for (let i = 0; i < n; i++) {
      if (y[i] === 0) {
        dropped++; droppedPerLane[i % 4]++;
        assert.is(dx[i], 0, `seed ${seed}: index ${i} dropped forward but not backward`);
      } else {
        assert.is(y[i], Math.fround(x[i] * scale), `seed ${seed}: index ${i} kept value`);
        assert.is(dx[i], Math.fround(dy[i] * scale), `seed ${seed}: index ${i} kept gradient`);
      }
    }
    const sigma = Math.sqrt(p * (1 - p) / n);
    assert.ok(Math.abs(dropped / n - p) < 5 * sigma, `seed ${seed}: dropped ${dropped / n}, expected ${p}`);
    // Each SIMD lane on its own must drop a fraction p too.
    for (let l = 0; l < 4; l++) {
      const frac = droppedPerLane[l] / (n / 4);
      assert.ok(Math.abs(frac - p) < 10 * sigma, `seed ${seed}: lane ${l} dropped ${frac}`);
    }
  });
}

test('Dropout masks: same seed → same mask, consecutive calls → different masks, independent of size', () => {
  const seed = freshSeed(), rand = rng(seed);
  const x = nonZero(1003, rand);
  const mask = (y) => Array.from(y, (v) => (v === 0 ? 0 : 1));
  sn.manualSeed(seed);
  const layer = new sn.Dropout(0.5);
  const a = mask(layer.forward(sn.tensor(x, [1003])).toArray());
  const b = mask(layer.forward(sn.tensor(x, [1003])).toArray());
  sn.manualSeed(seed);
  const again = mask(new sn.Dropout(0.5).forward(sn.tensor(x, [1003])).toArray());
  assert.equal(again, a, `seed ${seed}: manualSeed did not repeat the mask`);
  const differing = a.filter((v, i) => v !== b[i]).length;
  assert.ok(differing > 300, `seed ${seed}: consecutive masks differ in only ${differing} of 1003 places`);
  // Element i's fate depends on (seed, i) only: a shorter tensor gets the prefix of the mask,
  // whether i falls in a SIMD block or in the scalar tail.
  sn.manualSeed(seed);
  const shorter = mask(new sn.Dropout(0.5).forward(sn.tensor(x.subarray(0, 1001), [1001])).toArray());
  assert.equal(shorter, a.slice(0, 1001), `seed ${seed}: the mask depends on the tensor size`);
});

test('Dropout in eval mode, and with p = 0, is the identity forward and backward', () => {
  const seed = freshSeed(), rand = rng(seed);
  const x = nonZero(37, rand), dy = nonZero(37, rand);
  for (const layer of [new sn.Dropout(0.7).eval(), new sn.Dropout(0)]) {
    assert.equal([...layer.forward(sn.tensor(x, [37])).toArray()], [...x], `${layer} forward`);
    assert.equal([...layer.backward(sn.tensor(dy, [37])).toArray()], [...dy], `${layer} backward`);
  }
});

test('Dropout(p=1) zeroes everything, forward and backward', () => {
  const seed = freshSeed(), rand = rng(seed);
  const layer = new sn.Dropout(1);
  assert.ok(layer.forward(sn.tensor(nonZero(9, rand), [3, 3])).toArray().every((v) => v === 0));
  assert.ok(layer.backward(sn.tensor(nonZero(9, rand), [3, 3])).toArray().every((v) => v === 0));
});

test('Dropout in Sequential: eval passes the previous output through; train backward matches the mask', () => {
  const seed = freshSeed(), rand = rng(seed);
  sn.manualSeed(seed);
  const lin = new sn.Linear(6, 5), drop = new sn.Dropout(0.4);
  const model = new sn.Sequential(lin, drop);
  const x = sn.tensor(nonZero(18, rand), [3, 6]);
  model.eval();
  const yEval = model.forward(x).toArray();
  const yLin = lin.forward(x).toArray();
  assert.equal([...yEval], [...yLin], `seed ${seed}`);
  model.train();
  const y = model.forward(x).toArray();
  const dy = nonZero(15, rand);
  model.backward(sn.tensor(dy, [3, 5]));
  // dL/db = Σ_rows dy ⊙ mask / (1 − p): the bias gradient sees only the kept entries.
  const scale = Math.fround(1 / 0.6), db = new Float64Array(5);
  for (let i = 0; i < 15; i++) if (y[i] !== 0) db[i % 5] += Math.fround(dy[i] * scale);
  const got = lin.bias.grad.toArray();
  for (let o = 0; o < 5; o++) assert.ok(Math.abs(got[o] - db[o]) < 1e-5, `seed ${seed}: db[${o}] ${got[o]} vs ${db[o]}`);
});

test('Dropout refuses p outside [0, 1] and names itself as PyTorch', () => {
  for (const p of [-0.1, 1.5, NaN, '0.5']) {
    assert.throws(() => new sn.Dropout(p), /Dropout: p must be a probability between 0 and 1, got/);
  }
  assert.is(String(new sn.Dropout()), 'Dropout(p=0.5, inplace=False)');
  assert.is(String(new sn.Dropout(0.25)), 'Dropout(p=0.25, inplace=False)');
  assert.equal(new sn.Dropout().outputShape([2, 3, 4]), [2, 3, 4]);
});

test.run();
