// The model zoo's PyTorch fixtures: the JavaScript formula gives Python's values bit for bit, the
// state-dict lists agree with the parameter counts and (for the CIFAR ResNets) with the documented
// module structure, the reader refuses broken files, and a torch.nn.Sequential made of today's
// layers matches PyTorch through the whole pipeline within the issue's tolerances.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sn from 'simdnet';
import {
  FIXTURE_DIR, TOLERANCE, fixtureNames, readFixture, formulaValues, formulaValueAt, formulaLabels, sampleIndices,
  sketch, digest, fixtureStateDict, fixtureInput, fixtureLabels, toSimdnet, findModule, relativeError,
  gradientError, parityReport, assertParity, runParity, fnv1a, mix32,
} from './zoo-fixtures.js';

await sn.ready();

const ZOO = ['mobilenet_v2', 'mobilenet_v2_0.5', 'resnet18', 'resnet20', 'resnet32', 'resnet34', 'resnet56', 'sequential_cnn', 'vgg11', 'vgg11_bn'];
const numel = (shape) => shape.reduce((a, b) => a * b, 1);
const fixtures = Object.fromEntries(ZOO.map((name) => [name, readFixture(name)]));

test('the fixtures present are the zoo, each read and checked, under 1 MB together', () => {
  assert.equal(fixtureNames(), ZOO);
  let bytes = 0;
  for (const name of ZOO) bytes += readFileSync(new URL(`${name}.json`, FIXTURE_DIR)).length;
  assert.ok(bytes < 1e6, `${bytes} bytes`);
});

test('the hash pieces are the reference algorithms', () => {
  // FNV-1a 32-bit test vectors from the FNV authors' list; lowbias32 maps 0 to 0 and is a bijection.
  assert.is(fnv1a(''), 0x811c9dc5);
  assert.is(fnv1a('a'), 0xe40c292c);
  assert.is(fnv1a('foobar'), 0xbf9cf968);
  assert.is(mix32(0), 0);
  assert.ok(new Set(Array.from({ length: 4096 }, (_, i) => mix32(i))).size === 4096, 'mix32 is not injective on 0..4095');
});

test("the formula reproduces Python's sampled values, indices and sketches bit for bit", () => {
  let checked = 0;
  for (const fx of Object.values(fixtures)) {
    assert.ok(fx.formulaCheck.length >= 4, fx.model);
    for (const c of fx.formulaCheck) {
      const what = `${fx.model} ${c.key}`;
      assert.equal(sampleIndices('sample:' + c.key, c.numel), c.samples, `${what}: sample indices`);
      // VGG's largest tensor has 103M values: those are checked one by one, the rest whole.
      const all = c.numel <= 2 ** 22 ? formulaValues(c.key, c.numel, c.spec) : null;
      c.samples.forEach((i, k) => {
        if (all) assert.is(all[i], c.values[k], `${what}[${i}] (formulaValues)`);
        assert.is(formulaValueAt(c.key, i, c.spec), c.values[k], `${what}[${i}] (formulaValueAt)`);
        checked++;
      });
      if (!all) continue;
      // Python sums in another order: the sketches agree to rounding.
      const s = sketch('sketch:' + c.key, all);
      c.sketch.forEach((v, k) => assert.ok(Math.abs(s[k] - v) <= 1e-9 * Math.max(1, Math.abs(v)), `${what}: sketch ${k}: ${s[k]} vs ${v}`));
    }
  }
  assert.ok(checked >= 200, `${checked} values`);
});

test("every tensor's digest matches Python's (whole state dicts of the small models, tensors up to 2^16 values of the large)", () => {
  let values = 0;
  for (const fx of Object.values(fixtures)) {
    const whole = fx.numParameters < 3e6;
    for (const e of fx.stateDict) {
      const n = numel(e.shape);
      if (e.dtype === 'int64' || (!whole && n > 2 ** 16)) continue;
      assert.is(digest(formulaValues(e.name, n, e.spec)), e.digest, `${fx.model} ${e.name}`);
      values += n;
    }
  }
  assert.ok(values > 5e6, `${values} values`);
  // A digest notices one value one ulp off.
  const v = formulaValues('conv1.weight', 432, [0, 241, 9]), d = digest(v);
  v[200] = Math.fround(v[200] * (1 + 2 ** -23));
  assert.is.not(digest(v), d);
});

test('inputs, labels and the state dict come out as the fixture describes', () => {
  for (const fx of Object.values(fixtures)) {
    const input = fixtureInput(fx);
    assert.is(input.data.length, numel(fx.input.shape));
    assert.equal([...fixtureLabels(fx)], fx.labels.values);
    assert.equal([...formulaLabels('labels', 2, 10)], fx.labels.values, `${fx.model}: labels`);
    // Inputs have variance about 1 (uniform within ±sqrt(3)).
    const ms = input.data.reduce((s, v) => s + v * v, 0) / input.data.length;
    assert.ok(ms > 0.9 && ms < 1.1, `${fx.model}: input mean square ${ms}`);
  }
  const fx = fixtures.resnet20, sd = fixtureStateDict(fx);
  assert.equal(sd.map(([name]) => name), fx.stateDict.map((e) => e.name));
  const [, tracked] = sd.find(([name]) => name === 'bn1.num_batches_tracked');
  assert.ok(tracked.data instanceof BigInt64Array && tracked.data[0] === 0n && tracked.shape.length === 0);
  const [, rv] = sd.find(([name]) => name === 'bn1.running_var');
  assert.ok(rv.data.every((v) => v > 0.5 && v < 1.5), 'running_var in (0.5, 1.5)');
});

/** torchvision's documented parameter counts at 1000 classes, and the last Linear's in_features. */
const TORCHVISION = {
  resnet18: [11_689_512, 512], resnet34: [21_797_672, 512], mobilenet_v2: [3_504_872, 1280],
  vgg11: [132_863_336, 4096], vgg11_bn: [132_868_840, 4096],
  // Not in torchvision's tables: torchvision 0.14's mobilenet_v2(width_mult=0.5) has this many.
  'mobilenet_v2_0.5': [1_968_680, 1280],
};

test('the state-dict lists agree with the parameter counts (and torchvision\'s documented ones)', () => {
  for (const fx of Object.values(fixtures)) {
    const params = fx.stateDict.filter((e) => !e.buffer);
    assert.is(params.reduce((s, e) => s + numel(e.shape), 0), fx.numParameters, fx.model);
    // Buffers are BatchNorm's running statistics and counter only, five entries a BatchNorm.
    for (const e of fx.stateDict.filter((x) => x.buffer)) assert.match(e.name, /\.(running_mean|running_var|num_batches_tracked)$/, fx.model);
    for (const e of fx.stateDict.filter((x) => x.name.endsWith('.running_mean'))) {
      const p = e.name.slice(0, -'running_mean'.length), C = e.shape[0];
      for (const [leaf, shape] of [['weight', [C]], ['bias', [C]], ['running_var', [C]], ['num_batches_tracked', []]]) {
        assert.equal(fx.stateDict.find((x) => x.name === p + leaf)?.shape, shape, `${fx.model} ${p}${leaf}`);
      }
    }
    // Conv and Linear weights: c / 2^e is the largest fraction with c in [128, 256) at most
    // sqrt(6 / fan_in) (variance 2 / fan_in), as zoo_formula.spec_for_bound(6, 1, fan_in) makes it.
    for (const e of fx.stateDict.filter((x) => x.shape.length >= 2)) {
      const [m, c, ex] = e.spec, bound = Math.sqrt(6 / numel(e.shape.slice(1)));
      assert.ok(m === 0 && c >= 128 && c < 256 && c / 2 ** ex <= bound && (c + 1) / 2 ** ex > bound, `${fx.model} ${e.name}: spec ${e.spec}`);
    }
    const tv = TORCHVISION[fx.model];
    if (tv) assert.is(fx.numParameters, tv[0] - (tv[1] + 1) * (1000 - 10), `${fx.model}: torchvision's count with 10 classes`);
    assert.is(fx.modes.train.logits[0].length, 10);
  }
});

/** The CIFAR ResNet's state dict as scripts/fixtures/torchvision_zoo.py documents it (option B). */
function cifarResNetStateDict(n, numClasses = 10) {
  const out = [];
  const bn = (p, c) => out.push([`${p}.weight`, [c]], [`${p}.bias`, [c]], [`${p}.running_mean`, [c]], [`${p}.running_var`, [c]], [`${p}.num_batches_tracked`, []]);
  out.push(['conv1.weight', [16, 3, 3, 3]]);
  bn('bn1', 16);
  let inC = 16;
  [16, 32, 64].forEach((planes, s) => {
    for (let b = 0; b < n; b++) {
      const p = `layer${s + 1}.${b}`, stride = s > 0 && b === 0 ? 2 : 1;
      out.push([`${p}.conv1.weight`, [planes, inC, 3, 3]]);
      bn(`${p}.bn1`, planes);
      out.push([`${p}.conv2.weight`, [planes, planes, 3, 3]]);
      bn(`${p}.bn2`, planes);
      if (stride !== 1 || inC !== planes) {
        out.push([`${p}.shortcut.0.weight`, [planes, inC, 1, 1]]);
        bn(`${p}.shortcut.1`, planes);
      }
      inC = planes;
    }
  });
  out.push(['linear.weight', [numClasses, 64]], ['linear.bias', [numClasses]]);
  return out;
}

test('the CIFAR ResNets have exactly the documented module structure', () => {
  // He et al.'s option A counts (269,722 / 464,154 / 853,018) plus option B's two projections
  // (16·32 + 32·64 weights and their BatchNorms' 2·32 + 2·64).
  const optionB = 16 * 32 + 32 * 64 + 2 * 32 + 2 * 64;
  for (const [name, n, optionA] of [['resnet20', 3, 269_722], ['resnet32', 5, 464_154], ['resnet56', 9, 853_018]]) {
    const fx = fixtures[name];
    assert.equal(fx.stateDict.map((e) => [e.name, e.shape]), cifarResNetStateDict(n), name);
    assert.is(fx.numParameters, optionA + optionB, name);
    assert.equal(fx.simdnet, { builder: name, options: { numClasses: 10 } });
  }
});

test('the reader refuses a broken fixture, naming the file and the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zoo-fixture-'));
  try {
    const original = JSON.parse(readFileSync(new URL('resnet20.json', FIXTURE_DIR), 'utf8'));
    const cases = [
      [(f) => { f.format = 'other'; }, /format/],
      [(f) => { f.formulaVersion = 2; }, /formulaVersion must be 1/],
      [(f) => { f.stateDict[3].shape = [16, -1]; }, /stateDict\[3\]\.shape \(bn1\.running_mean\)/],
      [(f) => { f.stateDict[0].spec = [0, 300, 9]; }, /stateDict\[0\] \(conv1\.weight\).*out of range/],
      [(f) => { f.stateDict[1].name = 'conv1.weight'; }, /stateDict\[1\]\.name/],
      [(f) => { delete f.modes.eval.grads['linear.bias']; }, /modes\.eval\.grads/],
      [(f) => { f.modes.train.grads['conv1.weight'].sketch.pop(); }, /modes\.train\.grads\['conv1\.weight'\]/],
      [(f) => { f.modes.train.logits[1] = [1, 2]; }, /modes\.train\.logits/],
      [(f) => { f.labels.values = [7]; }, /labels/],
      [(f) => { delete f.modes.train.buffers['bn1.running_var']; }, /modes\.train\.buffers/],
    ];
    for (const [i, [edit, message]] of cases.entries()) {
      const f = structuredClone(original);
      edit(f);
      const file = join(dir, `case${i}.json`);
      writeFileSync(file, JSON.stringify(f));
      assert.throws(() => readFixture('resnet20', file), (err) => message.test(err.message) && err.message.includes(file), `case ${i}`);
    }
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ "format": ');
    assert.throws(() => readFixture('resnet20', bad), (err) => err.message.includes(bad) && /cannot read/.test(err.message));
    assert.throws(() => readFixture('resnet99'), /cannot read .*resnet99\.json/);
    assert.throws(() => formulaValues('x', 4, [0, 1, 2, 3]), /spec must be \[m, c, e\]/);
    assert.throws(() => formulaValues('x', 2 ** 33, [0, 1, 0]), /element count/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** fixtures.sequential_cnn's torch.nn.Sequential, in today's layers. */
const sequentialCnn = () => new sn.Sequential(
  new sn.Conv2d(3, 16, 3, { padding: 1 }), new sn.BatchNorm2d(16), new sn.ReLU(), new sn.MaxPool2d(2),
  new sn.Conv2d(16, 32, 3, { padding: 1, bias: false }), new sn.BatchNorm2d(32), new sn.ReLU(), new sn.MaxPool2d(2),
  new sn.AdaptiveAvgPool2d([3, 3]), new sn.Flatten(), new sn.Linear(288, 32), new sn.ReLU(), new sn.Dropout(0.5),
  new sn.Linear(32, 10));

test('a Sequential of today\'s layers matches PyTorch through the fixture pipeline, in train and eval mode', () => {
  const fx = fixtures.sequential_cnn, model = sequentialCnn();
  try {
    const reports = runParity(sn, model, fx);
    for (const mode of ['train', 'eval']) {
      const rows = reports[mode];
      assert.is(rows.filter((r) => r.what.startsWith('grad ')).length, 11, mode);
      assert.ok(rows.every((r) => r.error <= r.tolerance / 10), `${mode}: ${rows.map((r) => `${r.what} ${r.error.toExponential(1)}`).join(', ')}`);
    }
    // The conv bias under a training-mode BatchNorm has an exactly zero gradient: marked, and passed as such.
    assert.ok(fx.modes.train.grads['0.bias'].zero && !fx.modes.eval.grads['0.bias'].zero);
    assert.ok(reports.train.find((r) => r.what === 'grad 0.bias').tolerance === TOLERANCE.zeroGrads);
    assert.ok(reports.train.some((r) => r.what === 'buffer 5.running_var after the training forward'));
    assert.is(findModule(model, '12').training, false, 'Dropout ran as identity');
  } finally {
    model.dispose();
  }
});

test('the comparisons catch what is wrong: swapped modes, a scaled, shuffled or transposed gradient, a missing name', () => {
  const fx = fixtures.sequential_cnn, model = sequentialCnn();
  try {
    const { stateDict, input, labels } = toSimdnet(sn, fx);
    model.loadStateDict(stateDict, { strict: true });
    model.eval();
    const logits = model.forward(input);
    const loss = new sn.CrossEntropyLoss().forward(logits, labels);
    const run = { logits: logits.toArray(), loss: loss.value };
    loss.backward();
    run.grads = model.namedParameters().map(([name, p]) => [name, p.grad.toArray()]);
    assertParity(fx, 'eval', run);
    // Eval-mode results against the train-mode reference: logits and gradients differ.
    const swapped = parityReport(fx, 'train', run).filter((r) => r.error > r.tolerance).map((r) => r.what);
    assert.ok(swapped.includes('logits') && swapped.filter((w) => w.startsWith('grad')).length >= 5, swapped.join());
    assert.throws(() => assertParity(fx, 'train', run), /sequential_cnn, train mode: \d+ of \d+ comparisons beyond tolerance/);

    const g = new Map(run.grads).get('10.weight');          // [32, 288]
    const err = (a) => gradientError(fx, 'eval', '10.weight', a).error;
    assert.ok(err(g) < 1e-4);
    assert.ok(err(g.map((v) => v * 1.01)) > TOLERANCE.grads, 'scaled by 1.01');
    // The same values in another order keep the norm: the sampled values and sketches notice.
    const shuffled = g.slice();
    for (let i = shuffled.length - 1, s = 7; i > 0; i--) { s = (s * 1103515245 + 12345) >>> 0; const j = s % (i + 1); [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]]; }
    assert.ok(err(shuffled) > 0.1, 'shuffled');
    const transposed = new Float32Array(g.length);
    for (let r = 0; r < 32; r++) for (let c = 0; c < 288; c++) transposed[c * 32 + r] = g[r * 288 + c];
    assert.ok(err(transposed) > 0.1, 'transposed');
    // One value in 9216 wrong by the gradient's norm: the sketches see it (a norm check alone barely would).
    const spike = g.slice();
    spike[5000] += Math.sqrt(g.reduce((s, v) => s + v * v, 0)) * 0.05;
    assert.ok(err(spike) > TOLERANCE.grads, 'one spiked value');
    assert.throws(() => gradientError(fx, 'eval', '10.weight', g.subarray(1)), /'10\.weight' has 9216 values/);

    const missing = { ...run, grads: run.grads.filter(([name]) => name !== '13.bias') };
    assert.ok(parityReport(fx, 'eval', missing).some((r) => r.what === 'grad 13.bias (missing)' && r.error === Infinity));
    const extra = { ...run, grads: [...run.grads, ['14.weight', new Float32Array(4)]] };
    assert.ok(parityReport(fx, 'eval', extra).some((r) => r.what.startsWith('grad 14.weight (not in')));
    assert.is(relativeError([1, 2, 2], [1, 2, 2]), 0);
    assert.ok(Math.abs(relativeError([1, 2, 4], [1, 2, 2]) - 2 / 3) < 1e-15);
  } finally {
    model.dispose();
  }
});

test('the fixtures record PyTorch float32 within a fifth of the tolerances, and logits of order 1', () => {
  for (const fx of Object.values(fixtures)) {
    for (const mode of ['train', 'eval']) {
      const f = fx.float32Torch[mode];
      assert.ok(f.runs >= 16 && f.logits <= TOLERANCE.logits / 5 && f.grads <= TOLERANCE.grads / 5 && f.zeroGrads <= TOLERANCE.zeroGrads / 10, `${fx.model} ${mode}: ${JSON.stringify(f)}`);
      const logits = fx.modes[mode].logits.flat(), rms = Math.sqrt(logits.reduce((s, v) => s + v * v, 0) / logits.length);
      assert.ok(rms > 0.05 && rms < 20, `${fx.model} ${mode}: logits rms ${rms}`);
      assert.ok(fx.modes[mode].loss > 0.1 && fx.modes[mode].loss < 20, `${fx.model} ${mode}: loss ${fx.modes[mode].loss}`);
    }
  }
});

test.run();
