// The model zoo's PyTorch fixtures (tests/fixtures/zoo/*.json, written by
// scripts/fixtures/torchvision_zoo.py with Debian's python3-torch and python3-torchvision; npm test
// never runs Python) and the formula that rebuilds their weights and inputs.
//
// No weights are stored (ResNet-18 is 45 MB, VGG-11 over 500 MB): every state-dict tensor, the
// input and the labels come from a formula of (key, element index) that this file computes bit for
// bit as scripts/fixtures/zoo_formula.py does (integer arithmetic, then one exact conversion to
// float32; see that file for the definition).
//
// A fixture <model>.json holds:
//   pytorch          how the script built the model in PyTorch
//   simdnet          { builder, options }: the zoo model to build, e.g. builder 'mobilenetV2' and
//                    options { numClasses: 10, widthMult: 0.5 } for sn.models.mobilenetV2(options)
//   numParameters    PyTorch's parameter count
//   stateDict        [{ name, shape, spec: [m, c, e], digest, buffer?, dtype? }] in PyTorch's order;
//                    values = formulaValues(name, numel, spec); dtype 'int64' (num_batches_tracked) is 0
//   dropout          the paths of the Dropout modules
//   input, labels    { key, shape, spec } and { key, numClasses, values }
//   modes.train / modes.eval:
//     logits [N][classes], loss (CrossEntropyLoss, mean), gradNorm (of all gradients together),
//     grads[name]    { norm, values (at sampleIndices('sample:' + name, numel, 4)), sketch (4 numbers) }
//                    or { zero: true, norm } where the exact gradient is 0 (a conv bias under a
//                    training-mode BatchNorm, say): what float32 gives there is rounding noise
//     buffers[name]  (train only) { norm, values } of running_mean / running_var after the forward
//   float32Torch     how far PyTorch's own float32 runs are from the reference
// The reference is computed in float64 from the float32 weights and input, and rounded to 8
// significant digits (logits, loss) or 6 (the rest).
//
// How a zoo test uses one (the tolerances are the issue's):
//   const fx = readFixture('resnet20');
//   const model = sn.models[fx.simdnet.builder](fx.simdnet.options);
//   for (const mode of ['train', 'eval']) {
//     const { stateDict, input, labels } = toSimdnet(sn, fx);            // fresh state for each mode
//     model.loadStateDict(stateDict, { strict: true });
//     model.train(mode === 'train');
//     for (const path of fx.dropout) findModule(model, path).eval();     // "train" runs Dropout as identity
//     const logits = model.forward(input);
//     const loss = new sn.CrossEntropyLoss().forward(logits, labels);
//     loss.backward();
//     assertParity(fx, mode, { logits: logits.toArray(), loss: loss.value,
//       grads: model.namedParameters().map(([name, p]) => [name, p.grad.toArray()]),
//       buffers: model.namedBuffers().map(([name, b]) => [name, b.toArray()]) });
//   }
// (or `runParity(sn, model, fx)`, which does all of that.) Each mode starts from the formula's state
// dict: the training forward updates the running statistics, and the fixture's eval mode did not
// see that update.
//
// Per parameter gradient the criterion is ‖a − b‖ / ‖b‖ ≤ 5e-3. The fixture has ‖b‖, four values
// and four sketches b·r_k (r_k a ±1 vector from the formula), so gradientError() returns the largest
// of: |‖a‖ − ‖b‖| / ‖b‖ and max |a_i − b_i| / ‖b‖ (both at most the true error), and
// sqrt(mean_k ((a − b)·r_k)²) / ‖b‖ (an estimate of it: E[((a − b)·r)²] = ‖a − b‖²). A wrong gradient
// (error ~1) hides from four sketches with a chance of about 1e-9; a right one (error ~1e-5)
// cannot look wrong. An exactly zero gradient passes when ‖a‖ ≤ 1e-5 of the norm of all the
// model's gradients.
//
// Gradients of ReLU nets are discontinuous: an element within rounding of a kink (ReLU, ReLU6, a
// max-pool tie) that another float32 implementation puts on the other side moves a small deep
// net's gradients by up to a few percent (on the first input tried for ResNet-56, 3 of 40 float32
// runs of PyTorch went past 5e-3 in train mode, 14 of 40 past 1e-3 in eval mode). The script
// picked each fixture's input so that 48 float32 runs of PyTorch (plain, channels-last, weights
// and input moved by about an ulp) all stay within a fifth of the tolerances; sixty further such
// runs of each model then stayed below 3e-5 (with 16 runs, one in ten or twenty still went past
// 5e-3). A right implementation that still misses would show one layer's gradient and those below
// it off by ~1e-2 while the logits agree: regenerate that model's fixture with
// `--first-input K` (the next candidate after the fixture's input key) rather than loosen the test.
import { readFileSync, readdirSync } from 'node:fs';

export const FORMULA_VERSION = 1;
export const FIXTURE_DIR = new URL('./fixtures/zoo/', import.meta.url);
/** The issue's tolerances (relative errors), and the bound for gradients that are exactly 0. */
export const TOLERANCE = Object.freeze({ logits: 5e-4, loss: 5e-4, buffers: 5e-4, grads: 5e-3, zeroGrads: 1e-5 });
export const SAMPLES = 4;
export const SKETCHES = 4;

const encoder = new TextEncoder();

/** FNV-1a, 32 bits, over the key's UTF-8 bytes. */
export function fnv1a(key) {
  let h = 0x811c9dc5;
  for (const b of encoder.encode(key)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h >>> 0;
}

/** lowbias32: a bijection of the 32-bit integers. */
export function mix32(x) {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** bits(key, i) = mix32(fnv1a(key) ^ mix32(i)), from the key's seed. */
const bitsAt = (seed, i) => mix32(seed ^ mix32(i));

function checkSpec(spec, what) {
  if (!Array.isArray(spec) || spec.length !== 3 || !spec.every(Number.isInteger)) {
    throw new Error(`${what}: spec must be [m, c, e], three integers, got ${JSON.stringify(spec)}`);
  }
  const [m, c, e] = spec;
  if (!(c >= 0 && c < 256 && Math.abs(m) <= 2 ** 24 && Math.abs(e) <= 64)) {
    throw new Error(`${what}: spec [${spec}] is out of range (0 <= c < 256, |m| <= 2^24, |e| <= 64)`);
  }
}

/** 2^k exactly (Math.pow need not be exact), for |k| <= 80. */
function pow2(k) {
  let p = 1;
  for (let i = 0; i < Math.abs(k); i++) p *= 2;
  return k < 0 ? 1 / p : p;
}

function checkCount(n, what) {
  if (!Number.isSafeInteger(n) || n < 0 || n > 2 ** 32) throw new Error(`${what}: the element count must be an integer in [0, 2^32], got ${n}`);
}

/** The float32 values of a tensor of numel elements: float32((m·65536 + s_i·c) / 2^(16+e)). */
export function formulaValues(key, numel, spec) {
  checkSpec(spec, `formulaValues('${key}')`);
  checkCount(numel, `formulaValues('${key}')`);
  const [m, c, e] = spec;
  const seed = fnv1a(key), scale = pow2(-(16 + e)), base = m * 65536;
  const out = new Float32Array(numel);
  for (let i = 0; i < numel; i++) out[i] = (base + (2 * (bitsAt(seed, i) >>> 16) - 65535) * c) * scale;
  return out;
}

/** One value of formulaValues(key, …, spec), at index i. */
export function formulaValueAt(key, i, spec) {
  checkSpec(spec, `formulaValueAt('${key}')`);
  const [m, c, e] = spec;
  return Math.fround((m * 65536 + (2 * (bitsAt(fnv1a(key), i) >>> 16) - 65535) * c) * pow2(-(16 + e)));
}

/** Class labels: bits(key, n) mod numClasses. */
export function formulaLabels(key, count, numClasses) {
  const seed = fnv1a(key);
  return Int32Array.from({ length: count }, (_, n) => bitsAt(seed, n) % numClasses);
}

/** The element indices the fixtures sample: bits(key, k) mod numel, k < count. */
export function sampleIndices(key, numel, count = SAMPLES) {
  if (numel === 0) return [];
  const seed = fnv1a(key);
  return Array.from({ length: count }, (_, k) => bitsAt(seed, k) % numel);
}

/** The dot products (float64) of values with the ±1 vectors r_k[i] = bit 31 − k of bits(key, i), k < 4. */
export function sketch(key, values) {
  const seed = fnv1a(key);
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (let i = 0; i < values.length; i++) {
    const b = bitsAt(seed, i), v = values[i];
    s0 += ((b >>> 30) & 2) * v - v;
    s1 += ((b >>> 29) & 2) * v - v;
    s2 += ((b >>> 28) & 2) * v - v;
    s3 += ((b >>> 27) & 2) * v - v;
  }
  return Float64Array.of(s0, s1, s2, s3);
}

/** A 32-bit digest of float32 values: the sum of mix32(bits(v_i) ^ mix32(i)) mod 2^32. */
export function digest(values) {
  const f = values instanceof Float32Array ? values : Float32Array.from(values);
  const u = new Uint32Array(f.buffer, f.byteOffset, f.length);
  let total = 0;
  for (let i = 0; i < u.length; i++) total = (total + mix32(u[i] ^ mix32(i))) >>> 0;
  return total;
}

const numel = (shape) => shape.reduce((a, b) => a * b, 1);

/** The fixtures present, by model name (resnet18, mobilenet_v2_0.5, …). */
export function fixtureNames() {
  return readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

/**
 * Reads and checks tests/fixtures/zoo/<name>.json (or a path or URL given as `file`): the format,
 * the formula version, the state-dict list, both modes. Throws an Error naming the file and field.
 */
export function readFixture(name, file = new URL(`${name}.json`, FIXTURE_DIR)) {
  const where = typeof file === 'string' ? file : file.pathname;
  let fx;
  try {
    fx = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`readFixture: cannot read ${where}: ${err.message}`);
  }
  const fail = (field, expected) => { throw new Error(`readFixture: ${where}: ${field} must be ${expected}`); };
  const isShape = (s) => Array.isArray(s) && s.every((d) => Number.isSafeInteger(d) && d >= 0);
  const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
  const isNums = (a, n) => Array.isArray(a) && (n === undefined || a.length === n) && a.every(isNum);
  if (fx?.format !== 'simdnet zoo fixture') fail('format', "'simdnet zoo fixture'");
  if (fx.formulaVersion !== FORMULA_VERSION) fail('formulaVersion', String(FORMULA_VERSION));
  if (fx.model !== name) fail('model', `'${name}' (the file's name)`);
  if (typeof fx.simdnet?.builder !== 'string' || typeof fx.simdnet.options !== 'object') fail('simdnet', '{ builder, options }');
  if (!Number.isSafeInteger(fx.numParameters)) fail('numParameters', 'an integer');
  if (!Array.isArray(fx.dropout) || !fx.dropout.every((p) => typeof p === 'string')) fail('dropout', 'an array of module paths');
  if (typeof fx.input?.key !== 'string' || !isShape(fx.input.shape) || fx.input.shape.length !== 4) fail('input', '{ key, shape [N, C, H, W], spec }');
  checkSpec(fx.input.spec, `readFixture: ${where}: input`);
  const N = fx.input.shape[0], classes = fx.labels?.numClasses;
  if (typeof fx.labels?.key !== 'string' || !Number.isSafeInteger(classes) || !isNums(fx.labels.values, N)) fail('labels', `{ key, numClasses, values (${N}) }`);
  if (!Array.isArray(fx.stateDict) || !fx.stateDict.length) fail('stateDict', 'a non-empty array');
  const names = new Set();
  fx.stateDict.forEach((e, i) => {
    const at = `stateDict[${i}]`;
    if (typeof e?.name !== 'string' || names.has(e.name)) fail(`${at}.name`, 'a string, not repeated');
    names.add(e.name);
    if (!isShape(e.shape)) fail(`${at}.shape (${e.name})`, 'an array of dimensions');
    checkSpec(e.spec, `readFixture: ${where}: ${at} (${e.name})`);
    const int64 = e.dtype === 'int64';
    if (e.dtype !== undefined && !int64) fail(`${at}.dtype (${e.name})`, "'int64' or absent (float32)");
    if (!int64 && !(Number.isSafeInteger(e.digest) && e.digest >= 0 && e.digest < 2 ** 32)) fail(`${at}.digest (${e.name})`, 'a 32-bit integer');
    if (int64 && e.buffer !== true) fail(`${at}.buffer (${e.name})`, 'true for an int64 entry');
  });
  const params = fx.stateDict.filter((e) => !e.buffer);
  for (const mode of ['train', 'eval']) {
    const m = fx.modes?.[mode], at = `modes.${mode}`;
    if (!m) fail(at, 'present');
    if (!Array.isArray(m.logits) || m.logits.length !== N || !m.logits.every((row) => isNums(row, classes))) fail(`${at}.logits`, `[${N}][${classes}] numbers`);
    if (!isNum(m.loss) || !isNum(m.gradNorm)) fail(`${at}.loss and gradNorm`, 'numbers');
    const gradNames = Object.keys(m.grads ?? {});
    if (gradNames.join() !== params.map((e) => e.name).join()) fail(`${at}.grads`, 'one entry per parameter, in state-dict order');
    for (const e of params) {
      const g = m.grads[e.name];
      const ok = g.zero === true ? isNum(g.norm) : isNum(g.norm) && isNums(g.values, SAMPLES) && isNums(g.sketch, SKETCHES);
      if (!ok) fail(`${at}.grads['${e.name}']`, `{ norm, values (${SAMPLES}), sketch (${SKETCHES}) } or { zero: true, norm }`);
    }
  }
  const floatBuffers = fx.stateDict.filter((e) => e.buffer && e.dtype !== 'int64').map((e) => e.name);
  if (Object.keys(fx.modes.train.buffers ?? {}).join() !== floatBuffers.join()) fail('modes.train.buffers', 'one entry per float buffer, in state-dict order');
  return fx;
}

/** The state dict as [name, { shape, data }] in order: Float32Array, or BigInt64Array for int64. */
export function fixtureStateDict(fx) {
  return fx.stateDict.map((e) => {
    const n = numel(e.shape), values = formulaValues(e.name, n, e.spec);
    const data = e.dtype === 'int64' ? BigInt64Array.from(values, (v) => BigInt(v)) : values;
    return [e.name, { shape: e.shape, data }];
  });
}

/** The input batch: { shape, data: Float32Array }. */
export function fixtureInput(fx) {
  return { shape: fx.input.shape, data: formulaValues(fx.input.key, numel(fx.input.shape), fx.input.spec) };
}

/** The labels (checked against the values the fixture recorded). */
export function fixtureLabels(fx) {
  const labels = formulaLabels(fx.labels.key, fx.input.shape[0], fx.labels.numClasses);
  if (labels.join() !== fx.labels.values.join()) throw new Error(`fixtureLabels(${fx.model}): the formula gives ${labels}, the fixture ${fx.labels.values}`);
  return labels;
}

/** The state dict, input and labels as simdnet values: { stateDict: { name: Tensor }, input: Tensor, labels: Int32Array }. */
export function toSimdnet(sn, fx) {
  const stateDict = {};
  for (const [name, { shape, data }] of fixtureStateDict(fx)) stateDict[name] = sn.tensor(data, shape);
  const input = fixtureInput(fx);
  return { stateDict, input: sn.tensor(input.data, input.shape), labels: fixtureLabels(fx) };
}

/** The module at a state-dict path ('layer2.1.conv1', 'classifier.0') through children(). */
export function findModule(model, path) {
  let m = model;
  for (const part of path.split('.')) {
    const child = m.children().find(([name]) => name === part);
    if (!child) throw new Error(`findModule: no module '${part}' in '${path}'`);
    m = child[1];
  }
  return m;
}

const norm = (a) => Math.sqrt(a.reduce((s, v) => s + v * v, 0));

/** ‖a − b‖ / ‖b‖ in float64. */
export function relativeError(actual, expected) {
  if (actual.length !== expected.length) throw new Error(`relativeError: ${actual.length} values against ${expected.length}`);
  let d = 0, e = 0;
  for (let i = 0; i < expected.length; i++) { d += (actual[i] - expected[i]) ** 2; e += expected[i] ** 2; }
  return Math.sqrt(d / e);
}

/**
 * The error of one parameter's gradient (all its values, flat, row-major) against a fixture mode:
 * { error, tolerance, how }. See the header for what `error` is.
 */
export function gradientError(fx, mode, name, actual) {
  const m = fx.modes[mode], g = m.grads[name];
  if (!g) throw new Error(`gradientError: ${fx.model} has no parameter '${name}'`);
  const entry = fx.stateDict.find((e) => e.name === name);
  if (actual.length !== numel(entry.shape)) throw new Error(`gradientError: '${name}' has ${numel(entry.shape)} values in ${fx.model}, got ${actual.length}`);
  if (g.zero) return { error: norm(actual) / m.gradNorm, tolerance: TOLERANCE.zeroGrads, how: '‖a‖ / ‖all gradients‖ (exactly 0 in float64)' };
  const idx = sampleIndices('sample:' + name, actual.length);
  const byNorm = Math.abs(norm(actual) - g.norm) / g.norm;
  const byValue = Math.max(...idx.map((i, k) => Math.abs(actual[i] - g.values[k]))) / g.norm;
  const s = sketch('sketch:' + name, actual);
  const bySketch = Math.sqrt(g.sketch.reduce((acc, v, k) => acc + (s[k] - v) ** 2, 0) / SKETCHES) / g.norm;
  return { error: Math.max(byNorm, byValue, bySketch), tolerance: TOLERANCE.grads, how: `norm ${byNorm.toExponential(1)}, values ${byValue.toExponential(1)}, sketches ${bySketch.toExponential(1)}` };
}

/**
 * Every comparison of a run against a fixture mode: [{ what, error, tolerance, how? }]. `run` has
 * logits (flat), loss (a number), grads and (train mode) buffers as [name, values] lists. Names
 * missing on either side are errors of Infinity.
 */
export function parityReport(fx, mode, run) {
  const m = fx.modes[mode], rows = [];
  rows.push({ what: 'logits', error: relativeError(run.logits, m.logits.flat()), tolerance: TOLERANCE.logits });
  rows.push({ what: 'loss', error: Math.abs(run.loss - m.loss) / Math.abs(m.loss), tolerance: TOLERANCE.loss });
  const grads = new Map(run.grads);
  for (const name of Object.keys(m.grads)) {
    rows.push(grads.has(name) ? { what: `grad ${name}`, ...gradientError(fx, mode, name, grads.get(name)) } : { what: `grad ${name} (missing)`, error: Infinity, tolerance: 0 });
  }
  for (const name of grads.keys()) if (!(name in m.grads)) rows.push({ what: `grad ${name} (not in the fixture)`, error: Infinity, tolerance: 0 });
  if (mode === 'train' && run.buffers) {
    const buffers = new Map(run.buffers);
    for (const [name, b] of Object.entries(m.buffers)) {
      const v = buffers.get(name);
      if (!v) { rows.push({ what: `buffer ${name} (missing)`, error: Infinity, tolerance: 0 }); continue; }
      const idx = sampleIndices('sample:' + name, v.length);
      const byNorm = Math.abs(norm(v) - b.norm) / b.norm;
      const byValue = Math.max(...idx.map((i, k) => Math.abs(v[i] - b.values[k]))) / b.norm;
      rows.push({ what: `buffer ${name} after the training forward`, error: Math.max(byNorm, byValue), tolerance: TOLERANCE.buffers });
    }
  }
  return rows;
}

/** Throws listing every comparison beyond its tolerance (at most 20), else returns the report. */
export function assertParity(fx, mode, run) {
  const rows = parityReport(fx, mode, run);
  const bad = rows.filter((r) => !(r.error <= r.tolerance));
  if (bad.length) {
    const lines = bad.slice(0, 20).map((r) => `  ${r.what}: ${r.error.toExponential(2)} > ${r.tolerance}${r.how ? ` (${r.how})` : ''}`);
    throw new Error(`${fx.model}, ${mode} mode: ${bad.length} of ${rows.length} comparisons beyond tolerance:\n${lines.join('\n')}`);
  }
  return rows;
}

/**
 * Loads the fixture's state dict into `model` (strict) for each mode, runs the input forward and the
 * cross-entropy backward, and asserts parity in train and eval mode; returns both reports.
 * Options for models of half a gigabyte (VGG): `between` runs after each step that leaves the
 * state dict or a copy of the gradients behind (a garbage collection), and `gradients: 'view'`
 * reads the gradients in place rather than copying them.
 */
export function runParity(sn, model, fx, { between = () => {}, gradients = 'copy' } = {}) {
  const reports = {};
  for (const mode of ['train', 'eval']) {
    const { input, labels } = loadFixtureState(sn, model, fx);
    between();
    model.train(mode === 'train');
    for (const path of fx.dropout) findModule(model, path).train(false);
    model.zeroGrad();
    const logits = model.forward(input);
    const loss = new sn.CrossEntropyLoss().forward(logits, labels);
    const run = { logits: logits.toArray(), loss: loss.value };
    loss.backward();
    run.grads = model.namedParameters().map(([name, p]) => [name, gradients === 'view' ? p.grad.view() : p.grad.toArray()]);
    run.buffers = model.namedBuffers().map(([name, b]) => [name, b.toArray()]);
    reports[mode] = assertParity(fx, mode, run);
    between();
  }
  return reports;
}

/**
 * Loads the formula's state dict into `model` (strict) and returns the input and labels: a
 * function of its own, so that nothing in runParity's frame keeps the state dict alive.
 */
function loadFixtureState(sn, model, fx) {
  const { stateDict, input, labels } = toSimdnet(sn, fx);
  model.loadStateDict(stateDict, { strict: true });
  return { input, labels };
}
