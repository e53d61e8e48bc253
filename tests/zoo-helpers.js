// What the model-zoo tests share with each other and with their child process (tests/zoo-child.js,
// which runs VGG-11 so that its 1 GB of wasm memory goes away with the process): counts, exact
// state-dict comparisons, torchvision's initialisation written out as statistical checks, and how
// the child is started and its answer read.
//
// Initialisation, as torchvision 0.14 (and the CIFAR ResNets' usual PyTorch code) does it, with
// fan_in = size(1)·kH·kW and fan_out = size(0)·kH·kW as torch.nn.init computes them (a depthwise
// convolution's fan_out is not divided by its groups):
//   ResNet-18/34   Conv2d kaiming_normal_(fan_out, relu): N(0, 2 / fan_out); fc PyTorch's Linear
//                  default: weight and bias U(±1 / sqrt(fan_in))
//   MobileNetV2    Conv2d kaiming_normal_(fan_out): N(0, 2 / fan_out); Linear N(0, 0.01²), bias 0
//   VGG-11         Conv2d N(0, 2 / fan_out), bias 0; Linear N(0, 0.01²), bias 0
//   CIFAR ResNets  Conv2d and Linear kaiming_normal_ (fan_in): N(0, 2 / fan_in); Linear bias U(±1 / 8)
//   every BatchNorm2d: weight 1, bias 0, running_mean 0, running_var 1, num_batches_tracked 0.
//
// The statistical bounds (see initReport): a tensor of n values drawn as expected has a sample
// standard deviation s with |ln(s / σ)| of about 1 / sqrt(2n) (normal) or 0.45 / sqrt(n)
// (uniform), one standard error. Each tensor of 100 values or more must meet |ln(s / σ)| ≤
// min(ln 2 / 4, 6 standard errors): σ off by √2 is ln 2 / 2 away, twice the bound, so a √2 error
// in any one such tensor fails (at 128 values, the smallest in the models checked, the wrong σ
// lands 2.8 standard errors past the bound), while a right tensor of 600 values or more fails
// with a chance below 1e-8 (smaller ones about 0.5%: the seeds are fixed, so what passes once
// passes every time). Smaller tensors (a 10-class bias) say too little about σ either way. Every
// tensor's mean must be within 6 σ / sqrt(n) of 0. All normal tensors of a model together: the
// second moment of w / σ within 6 sqrt(2 / N) of 1, and the fourth within 6 sqrt(96 / N) of 3 (a
// uniform law of the same σ gives 1.8, a normal truncated at 2σ 2.4). A uniform tensor: every
// |w| ≤ bound, and (n ≥ 100) the largest above bound · (1 − 20 / n), which a smaller bound fails
// with a chance of e^-20.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { rt } from 'simdnet/internal';
import { findModule } from './zoo-fixtures.js';

const prod = (a) => a.reduce((x, y) => x * y, 1);

/** The number of parameter values (what torchvision's tables count). */
export const numParameters = (model) => model.parameters().reduce((n, p) => n + p.data.size, 0);

/** The number of state-dict values, parameters and buffers (num_batches_tracked one each). */
export const stateValues = (model) => Object.values(model.stateDict()).reduce((n, t) => n + t.size, 0);

/** [name, shape] of every state-dict entry, in order. */
export const stateLayout = (model) => Object.entries(model.stateDict()).map(([name, t]) => [name, t.shape]);

/**
 * The bits of a state-dict tensor: a Uint32Array over its float32 values (a view, not a copy:
 * valid until the wasm memory next grows), or a BigInt64Array.
 */
export function bitsOf(t) {
  if (t.dtype === 'int64') return t.toInt64Array();
  const v = t.view();
  return new Uint32Array(v.buffer, v.byteOffset, v.length);
}

/**
 * The first difference between two state dicts ({ name: Tensor }), bit for bit, names and order
 * included; null when they are the same.
 */
export function stateDifference(a, b) {
  const na = Object.keys(a), nb = Object.keys(b);
  if (na.join() !== nb.join()) return `names differ: ${na.length} against ${nb.length}, first at ${na.findIndex((n, i) => n !== nb[i])}`;
  for (const name of na) {
    if (a[name].shape.join() !== b[name].shape.join()) return `${name}: shape [${a[name].shape}] against [${b[name].shape}]`;
    if (a[name].dtype !== b[name].dtype) return `${name}: dtype ${a[name].dtype} against ${b[name].dtype}`;
    const x = bitsOf(a[name]), y = bitsOf(b[name]);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return `${name}[${i}]: bits ${x[i]} against ${y[i]}`;
  }
  return null;
}

/** Which family of initialisation a builder's models follow. */
const FAMILY = { resnet18: 'resnet', resnet34: 'resnet', mobilenetV2: 'mobilenet', vgg11: 'vgg', resnet20: 'cifar', resnet32: 'cifar', resnet56: 'cifar' };

/**
 * How torchvision (or the CIFAR ResNets' code) initialises the state-dict entry `name` of shape
 * `shape` in a model of `builder`: { kind: 'normal', std } | { kind: 'uniform', bound } |
 * { kind: 'constant', value }.
 */
export function expectedInit(sn, builder, model, name, shape) {
  const family = FAMILY[builder];
  if (!family) throw new Error(`expectedInit: unknown builder ${builder}`);
  const dot = name.lastIndexOf('.'), leaf = name.slice(dot + 1);
  const owner = findModule(model, name.slice(0, dot));
  const fanIn = shape.length >= 2 ? shape[1] * prod(shape.slice(2)) : NaN;
  const fanOut = shape.length >= 2 ? shape[0] * prod(shape.slice(2)) : NaN;
  if (owner instanceof sn.BatchNorm2d) {
    const value = { weight: 1, bias: 0, running_mean: 0, running_var: 1, num_batches_tracked: 0 }[leaf];
    if (value !== undefined) return { kind: 'constant', value };
  } else if (owner instanceof sn.Conv2d) {
    if (leaf === 'weight') return { kind: 'normal', std: Math.sqrt(2 / (family === 'cifar' ? fanIn : fanOut)) };
    if (leaf === 'bias' && family === 'vgg') return { kind: 'constant', value: 0 };
  } else if (owner instanceof sn.Linear) {
    const inFeatures = owner.weight.data.shape[1];
    if (family === 'resnet') return { kind: 'uniform', bound: 1 / Math.sqrt(inFeatures) };
    if (family === 'cifar') return leaf === 'weight' ? { kind: 'normal', std: Math.sqrt(2 / fanIn) } : { kind: 'uniform', bound: 1 / Math.sqrt(inFeatures) };
    return leaf === 'weight' ? { kind: 'normal', std: 0.01 } : { kind: 'constant', value: 0 };
  }
  throw new Error(`expectedInit: ${builder} has no rule for ${name} (${owner.constructor.name})`);
}

/** The bound on |ln(s / σ)| for n values: min(ln 2 / 4, 6 standard errors). */
export const stdBound = (n, kind) => Math.min(Math.LN2 / 4, 6 * (kind === 'normal' ? Math.SQRT1_2 : 0.45) / Math.sqrt(n));

/**
 * Checks every state-dict tensor of `model` (built by sn.models[builder]) against torchvision's
 * initialisation with the bounds of the header. `transform(name, values)` may change a copy of the
 * values first (to show that a wrong initialisation fails). Returns { failures: [message],
 * tensors, normal: { values, secondMoment, fourthMoment } }.
 */
export function initReport(sn, builder, model, transform = null) {
  const failures = [];
  let tensors = 0, N = 0, sum2 = 0, sum4 = 0;
  for (const [name, t] of Object.entries(model.stateDict())) {
    const e = expectedInit(sn, builder, model, name, t.shape);
    let v = t.dtype === 'int64' ? Float64Array.from(t.toInt64Array(), Number) : t.toArray();
    if (transform) v = transform(name, v) ?? v;
    const n = v.length;
    tensors++;
    if (e.kind === 'constant') {
      const i = v.findIndex((x) => x !== e.value);
      if (i >= 0) failures.push(`${name}: expected every value ${e.value}, got ${v[i]} at ${i}`);
      continue;
    }
    let s1 = 0, s2 = 0, s4 = 0, max = 0;
    const sigma = e.kind === 'normal' ? e.std : e.bound / Math.sqrt(3);
    for (let i = 0; i < n; i++) {
      const z = v[i] / sigma, z2 = z * z;
      s1 += z; s2 += z2; s4 += z2 * z2;
      max = Math.max(max, Math.abs(v[i]));
    }
    const logRatio = 0.5 * Math.log(s2 / n), bound = stdBound(n, e.kind);
    const what = e.kind === 'normal' ? `N(0, ${e.std.toPrecision(4)}²)` : `U(±${e.bound.toPrecision(4)})`;
    if (n >= 100 && !(Math.abs(logRatio) <= bound)) failures.push(`${name}: ${what}: std ratio ${Math.exp(logRatio).toFixed(4)} (|ln| bound ${bound.toFixed(4)}, ${n} values)`);
    if (!(Math.abs(s1 / n) <= 6 / Math.sqrt(n))) failures.push(`${name}: ${what}: mean ${(s1 / n * sigma).toExponential(2)} beyond 6σ/√n`);
    if (e.kind === 'uniform') {
      if (!(max <= e.bound)) failures.push(`${name}: ${what}: a value ${max} beyond the bound`);
      if (n >= 100 && !(max > e.bound * (1 - 20 / n))) failures.push(`${name}: ${what}: the largest |value| ${max} is well inside the bound`);
    } else {
      N += n; sum2 += s2; sum4 += s4;
    }
  }
  const normal = { values: N, secondMoment: sum2 / N, fourthMoment: sum4 / N };
  if (N > 0) {
    if (!(Math.abs(normal.secondMoment - 1) <= 6 * Math.sqrt(2 / N))) failures.push(`all normal tensors: E[(w/σ)²] = ${normal.secondMoment.toFixed(4)}, expected 1 ± ${(6 * Math.sqrt(2 / N)).toFixed(4)}`);
    if (!(Math.abs(normal.fourthMoment - 3) <= 6 * Math.sqrt(96 / N))) failures.push(`all normal tensors: E[(w/σ)⁴] = ${normal.fourthMoment.toFixed(3)}, expected 3 ± ${(6 * Math.sqrt(96 / N)).toFixed(3)} (normal)`);
  }
  return { failures, tensors, normal };
}

const CHILD = fileURLToPath(new URL('./zoo-child.js', import.meta.url));

/**
 * Runs tests/zoo-child.js on `jobs` in a process of its own; resolves to its results (one per
 * job), rejects with an Error holding the child's message when it fails in any way (a failed check,
 * a crash, a signal, output that is not its answer).
 */
export function runChild(jobs) {
  return new Promise((resolve, reject) => {
    // Ended with this process (uvu exiting on a failure elsewhere), not left to run on alone.
    const stop = () => proc.kill();
    const proc = execFile(process.execPath, ['--expose-gc', CHILD, JSON.stringify(jobs)], { maxBuffer: 16 << 20, env: process.env }, (err, stdout, stderr) => {
      process.off('exit', stop);
      const tail = (s) => s.trim().split('\n').slice(-12).join('\n');
      if (err) {
        reject(new Error(`zoo child failed (${err.signal ? `signal ${err.signal}` : `exit code ${err.code}`}):\n${tail(stderr) || tail(stdout)}`));
        return;
      }
      const line = stdout.trim().split('\n').at(-1) ?? '';
      let answer;
      try { answer = JSON.parse(line); } catch { answer = null; }
      if (!answer || !Array.isArray(answer.results) || answer.results.length !== jobs.length) {
        reject(new Error(`zoo child: no answer for ${jobs.length} jobs in its output:\n${tail(stdout)}\n${tail(stderr)}`));
        return;
      }
      resolve(answer.results);
    });
    process.once('exit', stop);
  });
}

/**
 * How many weight and buffer values a model file naming `record` ({ model, options }) must hold,
 * as sn.load works it out before building anything: read from the Error for a file holding one.
 */
export function neededValues(sn, record) {
  const bytes = sn.io.encodeSafetensors({ x: sn.tensor([0], [1]) }, { format: 'pt', 'simdnet.zoo': JSON.stringify(record) });
  try {
    sn.io.modelFromSafetensors(bytes, 'count.safetensors');
  } catch (err) {
    const m = /^count\.safetensors: sn\.models\.\w+\(.*\) needs (\d+) weight and buffer values, the file holds 1;/.exec(err.message);
    if (m) return Number(m[1]);
    throw err;
  }
  throw new Error(`neededValues: a file of one value naming ${JSON.stringify(record)} was accepted`);
}

/** Runs f, which must throw; returns the message, and asserts no wasm memory was taken or grown. */
export function refusedWithoutMemory(f, what) {
  const inUse = rt().heap.bytesInUse, reserved = rt().heap.bytesReserved;
  let message = null;
  try { f(); } catch (err) { message = err.message; }
  assert.ok(message !== null, `${what}: not refused`);
  assert.is(rt().heap.bytesInUse, inUse, `${what}: wasm memory taken`);
  assert.is(rt().heap.bytesReserved, reserved, `${what}: wasm memory grown`);
  return message;
}
