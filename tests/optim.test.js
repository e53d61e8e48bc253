import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as sn from 'simdnet';
import * as internal from 'simdnet/internal';
const { rt } = internal;
import { rng, freshSeed, randn, assertClose } from './helpers.js';

await sn.ready();

// ---- float64 references of torch.optim's single-tensor formulas ----

/** One SGD step on plain arrays; state = { buf } per parameter, step = steps already taken. */
function refSgd(p, g, state, o, step) {
  const { lr, momentum = 0, dampening = 0, nesterov = false, weightDecay = 0 } = o;
  for (let i = 0; i < p.length; i++) {
    let d = g[i] + weightDecay * p[i];
    if (momentum !== 0) {
      state.buf[i] = step === 0 ? d : momentum * state.buf[i] + (1 - dampening) * d;
      d = nesterov ? d + momentum * state.buf[i] : state.buf[i];
    }
    p[i] -= lr * d;
  }
}

/** One Adam / AdamW step; t counts from 1. */
function refAdam(p, g, state, o, t, decoupled) {
  const { lr = 1e-3, betas: [b1, b2] = [0.9, 0.999], eps = 1e-8, amsgrad = false } = o;
  const weightDecay = o.weightDecay ?? (decoupled ? 0.01 : 0);
  const bc1 = 1 - b1 ** t, bc2 = 1 - b2 ** t;
  for (let i = 0; i < p.length; i++) {
    let d = g[i];
    if (decoupled) p[i] *= 1 - lr * weightDecay;
    else d += weightDecay * p[i];
    state.m[i] = b1 * state.m[i] + (1 - b1) * d;
    state.v[i] = b2 * state.v[i] + (1 - b2) * d * d;
    let v = state.v[i];
    if (amsgrad) v = state.vmax[i] = Math.max(state.vmax[i], v);
    p[i] -= (lr / bc1) * state.m[i] / (Math.sqrt(v) / Math.sqrt(bc2) + eps);
  }
}

const f32round = (a) => Float64Array.from(a, Math.fround);

const SIZES = [[1], [7], [3, 11], [33], [2, 2, 3, 5]];

function makeParams(rand) {
  return SIZES.map((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return new sn.Parameter(shape, Float32Array.from(randn(n, rand)));
  });
}

/**
 * Runs `steps` steps of the optimizer and of the reference side by side, with fresh random
 * gradients each step, comparing every parameter after every step. `lrs` optionally sets lr per step.
 */
function compare({ make, reference, options, steps = 6, lrs, seed }) {
  const rand = rng(seed);
  const params = makeParams(rand);
  const opt = make(params, options);
  const ref = params.map((p) => f32round(p.data.toArray()));
  const state = ref.map((r) => ({ buf: new Float64Array(r.length), m: new Float64Array(r.length), v: new Float64Array(r.length), vmax: new Float64Array(r.length) }));
  const refOptions = { ...options };
  for (let step = 0; step < steps; step++) {
    if (lrs) { opt.lr = lrs[step]; refOptions.lr = lrs[step]; }
    params.forEach((p, k) => {
      const g = f32round(randn(p.size, rand, 2));
      p.grad.view().set(g);
      reference(ref[k], g, state[k], refOptions, step);
    });
    opt.step();
    assert.is(opt.stepCount, step + 1);
    params.forEach((p, k) => {
      const scale = 1e-5 * Math.max(1, options.lr ?? 1e-3) * (step + 1);
      assertClose(p.data.toArray(), ref[k], { rtol: 2e-5, atol: scale, what: `seed ${seed}: ${opt} step ${step + 1}, param ${k} of size ${p.size}` });
    });
  }
  opt.dispose();
  for (const p of params) p.dispose();
}

// ---- SGD ----

const sgdOptions = [
  { lr: 0.1 },
  { lr: 0.05, weightDecay: 0.01 },
  { lr: 0.1, momentum: 0.9 },
  { lr: 0.1, momentum: 0.8, dampening: 0.3 },
  { lr: 0.1, momentum: 0.9, nesterov: true },
  { lr: 0.07, momentum: 0.5, dampening: 0.1, weightDecay: 0.05 },
  { lr: 0.07, momentum: 0.9, nesterov: true, weightDecay: 0.1 },
  { lr: 0 },
];

for (const options of sgdOptions) {
  test(`SGD ${JSON.stringify(options)} matches the float64 formulas over several steps`, () => {
    compare({ make: (p, o) => new sn.SGD(p, o), reference: refSgd, options, seed: freshSeed() });
  });
}

test('SGD picks up a changed lr at the next step', () => {
  const options = { lr: 0.1, momentum: 0.9 };
  compare({ make: (p, o) => new sn.SGD(p, o), reference: refSgd, options, lrs: [0.1, 0.1, 0.01, 0.5, 0, 0.2], seed: freshSeed() });
});

// ---- Adam / AdamW ----

const adamOptions = [
  {},
  { lr: 0.01 },
  { lr: 0.01, betas: [0.8, 0.99], eps: 1e-6 },
  { lr: 0.01, weightDecay: 0.1 },
  { lr: 0.01, amsgrad: true },
  { lr: 0.02, betas: [0.5, 0.9], weightDecay: 0.05, amsgrad: true },
  { lr: 0.01, betas: [0, 0] },
];

const refAdamCoupled = (p, g, s, o, step) => refAdam(p, g, s, o, step + 1, false);
const refAdamW = (p, g, s, o, step) => refAdam(p, g, s, o, step + 1, true);

for (const options of adamOptions) {
  test(`Adam ${JSON.stringify(options)} matches the float64 formulas over several steps`, () => {
    compare({ make: (p, o) => new sn.Adam(p, o), reference: refAdamCoupled, options, seed: freshSeed() });
  });
  test(`AdamW ${JSON.stringify(options)} matches the float64 formulas over several steps`, () => {
    compare({ make: (p, o) => new sn.AdamW(p, o), reference: refAdamW, options, seed: freshSeed() });
  });
}

test('AdamW with a large weight decay shrinks the weights as decoupled decay does', () => {
  compare({ make: (p, o) => new sn.AdamW(p, o), reference: refAdamW, options: { lr: 0.1, weightDecay: 2 }, seed: freshSeed() });
});

test('Adam and AdamW pick up a changed lr at the next step', () => {
  const lrs = [0.01, 0.001, 0.05, 0, 0.02, 0.02];
  compare({ make: (p, o) => new sn.Adam(p, o), reference: refAdamCoupled, options: { lr: 0.01, weightDecay: 0.1 }, lrs, seed: freshSeed() });
  compare({ make: (p, o) => new sn.AdamW(p, o), reference: refAdamW, options: { lr: 0.01, amsgrad: true }, lrs, seed: freshSeed() });
});

// ---- common behaviour ----

test('zeroGrad zeroes every gradient', () => {
  const seed = freshSeed(), rand = rng(seed);
  const params = makeParams(rand);
  for (const opt of [new sn.SGD(params, { lr: 0.1 }), new sn.Adam(params), new sn.AdamW(params)]) {
    for (const p of params) p.grad.view().set(randn(p.size, rand));
    opt.zeroGrad();
    for (const p of params) assert.ok(p.grad.toArray().every((v) => v === 0), `seed ${seed}: ${opt} left a gradient non-zero`);
    opt.dispose();
  }
});

test('defaults and descriptions follow PyTorch', () => {
  const params = makeParams(rng(freshSeed()));
  const adam = new sn.Adam(params);
  assert.is(adam.lr, 1e-3);
  assert.equal([...adam.betas], [0.9, 0.999]);
  assert.is(adam.eps, 1e-8);
  assert.is(adam.weightDecay, 0);
  assert.is(adam.amsgrad, false);
  assert.is(new sn.AdamW(params).weightDecay, 0.01);
  assert.is(new sn.AdamW(params, { weightDecay: 0 }).weightDecay, 0);
  const sgd = new sn.SGD(params, { lr: 0.1 });
  assert.is(sgd.momentum, 0);
  assert.is(sgd.stepCount, 0);
  assert.is(String(sgd), 'SGD(lr=0.1, momentum=0, dampening=0, nesterov=false, weight_decay=0)');
  assert.match(String(new sn.AdamW(params)), /^AdamW\(lr=0.001, betas=\(0.9, 0.999\), eps=1e-8, weight_decay=0.01, amsgrad=false\)$/);
  sgd.lr = 0.5;
  assert.is(sgd.lr, 0.5);
});

test('optimizer state is allocated at construction, not per step', () => {
  const params = makeParams(rng(freshSeed()));
  const opts = [new sn.SGD(params, { lr: 0.1, momentum: 0.9 }), new sn.Adam(params, { amsgrad: true }), new sn.AdamW(params)];
  const used = rt().heap.bytesInUse;
  for (let i = 0; i < 5; i++) for (const opt of opts) opt.step();
  assert.is(rt().heap.bytesInUse, used);
});

test('invalid options throw Errors naming the optimizer and the value', () => {
  const params = makeParams(rng(freshSeed()));
  const cases = [
    [() => new sn.SGD(params, { lr: -0.1 }), /SGD: lr .* got -0.1/],
    [() => new sn.SGD(params, { lr: NaN }), /SGD: lr .* got NaN/],
    [() => new sn.SGD(params, {}), /SGD: options.lr is required/],
    [() => new sn.SGD(params), /SGD: options.lr is required/],
    [() => new sn.SGD(params, { lr: 0.1, momentum: -0.5 }), /SGD: momentum .* got -0.5/],
    [() => new sn.SGD(params, { lr: 0.1, weightDecay: -1 }), /SGD: weightDecay .* got -1/],
    [() => new sn.SGD(params, { lr: 0.1, nesterov: true }), /SGD: nesterov .* momentum 0/],
    [() => new sn.SGD(params, { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), /SGD: nesterov .* dampening 0.1/],
    [() => new sn.SGD([], { lr: 0.1 }), /SGD: got an empty parameter list/],
    [() => new sn.SGD(undefined, { lr: 0.1 }), /SGD: params must be/],
    [() => new sn.SGD([params[0], 3], { lr: 0.1 }), /SGD: params\[1\] is not a Parameter, got 3/],
    [() => new sn.SGD([params[0], params[0]], { lr: 0.1 }), /SGD: .*more than once/],
    [() => new sn.Adam(params, { lr: -1 }), /Adam: lr .* got -1/],
    [() => new sn.Adam(params, { betas: [1, 0.999] }), /Adam: betas\[0\] .* got 1/],
    [() => new sn.Adam(params, { betas: [0.9, -0.1] }), /Adam: betas\[1\] .* got -0.1/],
    [() => new sn.Adam(params, { betas: 0.9 }), /Adam: betas must be a pair/],
    [() => new sn.Adam(params, { eps: -1e-8 }), /Adam: eps .* got -1e-8/],
    [() => new sn.Adam(params, { weightDecay: -0.1 }), /Adam: weightDecay .* got -0.1/],
    [() => new sn.Adam([]), /Adam: got an empty parameter list/],
    [() => new sn.AdamW(params, { betas: [0.9, 1.5] }), /AdamW: betas\[1\] .* got 1.5/],
    [() => new sn.AdamW(params, { weightDecay: -0.01 }), /AdamW: weightDecay .* got -0.01/],
  ];
  for (const [make, message] of cases) assert.throws(make, (e) => e instanceof Error && message.test(e.message), String(message));
  const sgd = new sn.SGD(params, { lr: 0.1 });
  assert.throws(() => { sgd.lr = -1; }, /SGD: lr .* got -1/);
  assert.is(sgd.lr, 0.1);
});

test('a parameter generator is accepted as PyTorch accepts model.parameters()', () => {
  const params = makeParams(rng(freshSeed()));
  const opt = new sn.SGD(params.values(), { lr: 0.1 });
  assert.is(opt.params.length, params.length);
});

test('optimizer state that decays below the smallest normal float is flushed to zero, never left subnormal', () => {
  const { rt, Block, f32 } = internal;
  const k = rt().kernels;
  const n = 11, MIN = 1.17549435e-38;
  const buf = (values) => { const b = new Block(n * 4); f32(b.ptr, n).set(values); return b; };
  const start = Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * MIN * (1 + i / 4));
  const p = buf(new Array(n).fill(0.5)), g = buf(new Array(n).fill(0)), m = buf(start), v = buf(start.map(Math.abs)), mom = buf(start);
  const isSubnormal = (x) => x !== 0 && Math.abs(x) < MIN;
  for (let step = 0; step < 40; step++) {
    k.adamStep(p.ptr, g.ptr, m.ptr, v.ptr, 0, n, 1e-3, 0.9, 0.999, 1e-8, 0, 0, 0, 1e-3, 1);
    k.sgdStep(p.ptr, g.ptr, mom.ptr, n, 0.1, 0.9, 0, 0, 0, 0);
    for (const [name, b] of [['exp_avg', m], ['exp_avg_sq', v], ['momentum', mom]]) {
      const values = f32(b.ptr, n);
      assert.ok(!values.some(isSubnormal), `step ${step}: ${name} holds a subnormal: ${[...values]}`);
    }
  }
  assert.ok(f32(m.ptr, n).every((x) => x === 0) && f32(mom.ptr, n).every((x) => x === 0), 'decayed state ends at zero');
  assert.ok(f32(p.ptr, n).every((x) => x === 0.5), 'and the weights did not move');
  for (const b of [p, g, m, v, mom]) b.free();
});

test.run();
