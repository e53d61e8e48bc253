// Optimizer updates, one call per parameter tensor, fused into a single pass with PyTorch's
// formulas (torch.optim.SGD / Adam / AdamW, single-tensor path). p, g and the state buffers hold
// n floats each; 16-byte alignment is not needed (v128 loads may be unaligned).
import { flushSubnormal, flushSubnormalScalar, madd } from "./simd";

/**
 * SGD: d = g + wd·p; with momentum: buf = d on the first step, else momentum·buf + (1−dampening)·d,
 * and d = d + momentum·buf (nesterov) or d = buf; then p −= lr·d. `buf` is unused without momentum.
 */
export function sgdStep(
  p: usize, g: usize, buf: usize, n: i32,
  lr: f32, momentum: f32, dampening: f32, weightDecay: f32, nesterov: i32, firstStep: i32,
): void {
  const vlr = f32x4.splat(-lr), vwd = f32x4.splat(weightDecay);
  const vmom = f32x4.splat(momentum), vkeep = f32x4.splat(1 - dampening);
  const useMomentum = momentum != 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const pv = v128.load(p + o);
    let d = madd(vwd, pv, v128.load(g + o));
    if (useMomentum) {
      const b = flushSubnormal(firstStep ? d : madd(vmom, v128.load(buf + o), f32x4.mul(vkeep, d)));
      v128.store(buf + o, b);
      d = nesterov ? madd(vmom, b, d) : b;
    }
    v128.store(p + o, madd(vlr, d, pv));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const pv = load<f32>(p + o);
    let d = load<f32>(g + o) + weightDecay * pv;
    if (useMomentum) {
      const b = flushSubnormalScalar(firstStep ? d : momentum * load<f32>(buf + o) + (1 - dampening) * d);
      store<f32>(buf + o, b);
      d = nesterov ? d + momentum * b : b;
    }
    store<f32>(p + o, pv - lr * d);
  }
}

/**
 * Adam / AdamW. decoupled = 0 (Adam): d = g + wd·p. decoupled = 1 (AdamW): p *= 1 − lr·wd, d = g.
 * m = β1·m + (1−β1)·d; v = β2·v + (1−β2)·d²; with amsgrad vmax = max(vmax, v) is used for v;
 * p −= stepSize · m / (sqrt(v) / sqrtBc2 + eps), where stepSize = lr / (1 − β1^t) and
 * sqrtBc2 = sqrt(1 − β2^t) come from the caller. `vmax` is unused without amsgrad.
 */
export function adamStep(
  p: usize, g: usize, m: usize, v: usize, vmax: usize, n: i32,
  lr: f32, beta1: f32, beta2: f32, eps: f32, weightDecay: f32, decoupled: i32, amsgrad: i32,
  stepSize: f32, sqrtBc2: f32,
): void {
  const shrink: f32 = decoupled ? 1 - lr * weightDecay : 1;
  const coupledWd: f32 = decoupled ? 0 : weightDecay;
  const vshrink = f32x4.splat(shrink), vwd = f32x4.splat(coupledWd);
  const vb1 = f32x4.splat(beta1), vb2 = f32x4.splat(beta2);
  const v1b1 = f32x4.splat(1 - beta1), v1b2 = f32x4.splat(1 - beta2);
  const veps = f32x4.splat(eps), vbc2 = f32x4.splat(sqrtBc2), vstep = f32x4.splat(-stepSize);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    let pv = v128.load(p + o);
    const d = madd(vwd, pv, v128.load(g + o));
    pv = f32x4.mul(pv, vshrink);
    const mv = flushSubnormal(madd(vb1, v128.load(m + o), f32x4.mul(v1b1, d)));
    let vv = flushSubnormal(madd(vb2, v128.load(v + o), f32x4.mul(v1b2, f32x4.mul(d, d))));
    v128.store(m + o, mv);
    v128.store(v + o, vv);
    if (amsgrad) {
      vv = f32x4.max(v128.load(vmax + o), vv);
      v128.store(vmax + o, vv);
    }
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vv), vbc2), veps);
    v128.store(p + o, madd(vstep, f32x4.div(mv, denom), pv));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    let pv = load<f32>(p + o);
    const d = load<f32>(g + o) + coupledWd * pv;
    pv *= shrink;
    const mv = flushSubnormalScalar(beta1 * load<f32>(m + o) + (1 - beta1) * d);
    let vv = flushSubnormalScalar(beta2 * load<f32>(v + o) + (1 - beta2) * d * d);
    store<f32>(m + o, mv);
    store<f32>(v + o, vv);
    if (amsgrad) {
      vv = max(load<f32>(vmax + o), vv);
      store<f32>(vmax + o, vv);
    }
    const denom = sqrt<f32>(vv) / sqrtBc2 + eps;
    store<f32>(p + o, pv - stepSize * (mv / denom));
  }
}
