// Losses, each fused with its gradient: one pass returns the summed loss (f64, unreduced by
// the batch) and writes dL/dinput already multiplied by gradScale (1/count for a mean,
// 1 for a sum), so the caller only scales the returned sum. Labels are int32 and were
// validated by the caller.
import { expf, logAtLeastOne } from "./math";
import { madd } from "./simd";

/**
 * Softmax cross-entropy over logits [N, C] with label smoothing as PyTorch defines it: the
 * target distribution is q = (1 − s)·onehot(label) + s/C, the row loss −Σ q·log softmax(x),
 * and its gradient softmax(x) − q. Rows whose label is ignoreIndex add nothing and get a
 * zero gradient.
 */
export function crossEntropyForward(
  logits: usize, labels: usize, grad: usize, N: i32, C: i32,
  smoothing: f32, ignoreIndex: i32, gradScale: f32,
): f64 {
  const rowBytes = <usize>C << 2;
  const uniform: f64 = <f64>smoothing / C;
  const onTarget: f64 = 1 - <f64>smoothing;
  let total: f64 = 0;
  for (let n = 0; n < N; n++) {
    const x = logits + <usize>n * rowBytes;
    const g = grad + <usize>n * rowBytes;
    const label = load<i32>(labels + (<usize>n << 2));
    if (label == ignoreIndex) { memory.fill(g, 0, rowBytes); continue; }
    let m = load<f32>(x);
    for (let c = 1; c < C; c++) m = max(m, load<f32>(x + (<usize>c << 2)));
    // exp(x − m) goes into the gradient row first and is scaled there afterwards.
    let sumExp: f64 = 0, sumShifted: f64 = 0;
    for (let c = 0; c < C; c++) {
      const shifted = load<f32>(x + (<usize>c << 2)) - m;
      const e = expf(shifted);
      store<f32>(g + (<usize>c << 2), e);
      sumExp += e;
      sumShifted += shifted;
    }
    const logSum = logAtLeastOne(sumExp);
    const logpTarget = <f64>(load<f32>(x + (<usize>label << 2)) - m) - logSum;
    const sumLogp = sumShifted - C * logSum;
    total -= onTarget * logpTarget + uniform * sumLogp;
    const pScale = <f32>(gradScale / sumExp);
    const qScaled = <f32>(gradScale * uniform);
    for (let c = 0; c < C; c++) {
      const p = g + (<usize>c << 2);
      store<f32>(p, load<f32>(p) * pScale - qScaled);
    }
    const t = g + (<usize>label << 2);
    store<f32>(t, load<f32>(t) - <f32>(gradScale * onTarget));
  }
  return total;
}

/** Negative log-likelihood of log-probabilities [N, C]: −Σ logp[n, label]; gradient −1 at the label. */
export function nllForward(
  logp: usize, labels: usize, grad: usize, N: i32, C: i32, ignoreIndex: i32, gradScale: f32,
): f64 {
  const rowBytes = <usize>C << 2;
  memory.fill(grad, 0, <usize>N * rowBytes);
  let total: f64 = 0;
  for (let n = 0; n < N; n++) {
    const label = load<i32>(labels + (<usize>n << 2));
    if (label == ignoreIndex) continue;
    const offset = <usize>n * rowBytes + (<usize>label << 2);
    total -= load<f32>(logp + offset);
    store<f32>(grad + offset, -gradScale);
  }
  return total;
}

/** Σ (y − t)²; grad = gradScale · 2(y − t). Squares are summed in f32 lanes per block, blocks in f64. */
export function mseForward(y: usize, t: usize, grad: usize, n: i32, gradScale: f32): f64 {
  const twice = f32x4.splat(2 * gradScale);
  let total: f64 = 0;
  let i = 0;
  while (i + 4 <= n) {
    const blockEnd = min(n, i + 1024);
    let acc = f32x4.splat(0);
    for (; i + 4 <= blockEnd; i += 4) {
      const o = <usize>i << 2;
      const d = f32x4.sub(v128.load(y + o), v128.load(t + o));
      acc = madd(d, d, acc);
      v128.store(grad + o, f32x4.mul(d, twice));
    }
    total += <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1) +
             <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const d = load<f32>(y + o) - load<f32>(t + o);
    total += <f64>d * d;
    store<f32>(grad + o, d * (2 * gradScale));
  }
  return total;
}

/**
 * Binary cross-entropy on logits: max(x, 0) − x·t + log(1 + e^−|x|), stable for any x;
 * grad = gradScale · (sigmoid(x) − t).
 *
 * With posWeight (an f32 per class, `classes` of them, class = index mod classes: the last
 * dimension, as PyTorch broadcasts pos_weight), the positive term is weighted as in PyTorch:
 * loss = −[pw·t·log σ(x) + (1 − t)·log(1 − σ(x))] = pw·t·softplus(−x) + (1 − t)·softplus(x),
 * grad = gradScale · (σ(x)·(pw·t + 1 − t) − pw·t). posWeight 0 means none (pw = 1).
 */
export function bceWithLogitsForward(x: usize, t: usize, grad: usize, n: i32, gradScale: f32, posWeight: usize, classes: i32): f64 {
  let total: f64 = 0;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o), target = load<f32>(t + o);
    const e = expf(-Mathf.abs(v));
    const sig: f32 = v >= 0 ? 1 / (1 + e) : e / (1 + e);
    if (posWeight == 0) {
      total += <f64>max<f32>(v, 0) - <f64>v * target + Math.log1p(e);
      store<f32>(grad + o, (sig - target) * gradScale);
      continue;
    }
    const pw = load<f32>(posWeight + (<usize>(i % classes) << 2));
    // softplus(±x) = max(±x, 0) + log(1 + e^−|x|), each without cancellation.
    const log1pE = Math.log1p(e);
    const softplusPos = <f64>max<f32>(v, 0) + log1pE, softplusNeg = <f64>max<f32>(-v, 0) + log1pE;
    total += <f64>pw * target * softplusNeg + (1 - <f64>target) * softplusPos;
    const weighted = pw * target;
    store<f32>(grad + o, (sig * (weighted + (1 - target)) - weighted) * gradScale);
  }
  return total;
}
