// Activations as functions with gradients: sn.relu, sn.leakyRelu, sn.sigmoid, sn.tanh, sn.relu6,
// sn.hardswish, sn.silu, sn.gelu, sn.elu, sn.softmax, sn.logSoftmax, on the same kernels as the
// layers of those names.
import { rt } from '../runtime/wasm.js';
import { Tensor, formatShape } from '../tensor.js';
import { OpCall, beginOp, dryResult, endOp, opInput } from './site.js';
import type { TensorLike } from './arith.js';
import { checkOptions, describe, oneOf } from '../options.js';
import { ACT_RELU, ACT_RELU6, activate, activationGrad } from '../layers/epilogue.js';
import type { Task } from '../runtime/threads.js';
import { sweep } from '../runtime/split.js';

/**
 * An elementwise op: y = f(x) in the site's block, and a backward computing dx from the saved
 * input (`fromInput`) or the op's own output; each pass a kernel call over a range of values
 * (sweep: over threads when large).
 */
function elementwise(call: OpCall, x: TensorLike, forward: (x: number, y: number, n: number) => Task,
  backward: (saved: number, dy: number, dx: number, n: number) => Task, fromInput: boolean, attrs: Record<string, unknown> = {}): Tensor {
  const t = opInput(call, 'x', 0, x);
  if (!call.site) return dryResult(call, t.shape, [t], attrs);
  const site = call.site;
  const { y, inputs: [xs] } = site.output('y', t.shape, 'forward()', [t]);
  const xp = xs.ptr, yp = y.ptr;
  sweep(y.size, 8, (o, n) => forward(xp + o, yp + o, n));
  const saved = fromInput ? t : y;
  return endOp(call, y, [t], fromInput ? [['its input', t]] : [], y, (dy) => {
    const dx = site.output('grad0', t.shape, 'backward()').y;
    const sp = saved.ptr, g = dy.ptr, d = dx.ptr;
    sweep(dx.size, 12, (o, n) => backward(sp + o, g + o, d + o, n));
    return [dx];
  });
}

/**
 * ReLU or ReLU6 as an op: from a BatchNorm's put-off output, fused (ts/layers/epilogue.ts), the
 * backward then reading the sign of the op's own output (the same mask as the input's, bit for
 * bit); else as elementwise() does.
 */
function clamp(call: OpCall, x: TensorLike, act: number, backward: (saved: number, dy: number, dx: number, n: number) => Task): Tensor {
  const t = opInput(call, 'x', 0, x);
  if (!call.site) return dryResult(call, t.shape, [t], {});
  const site = call.site;
  const { y, inputs: [xs] } = site.output('y', t.shape, 'forward()', [t]);
  const { fused, bad } = activate(xs, y, act);
  if (fused) call.fusedInto = fused.row;
  // Of finite values (the op passes a NaN on, for the next layer to refuse): finite.
  if (bad === 0) y.markFinite();
  const saved = fused ? y : t;
  return endOp(call, y, [t], fused ? [] : [['its input', t]], y, (dy) => {
    const dx = site.output('grad0', t.shape, 'backward()').y;
    // After a BatchNorm's put-off output, put off in turn for its backward (DeferredActGrad).
    activationGrad(fused, act, dy, dx, y, () => {
      const sp = saved.ptr, g = dy.ptr, d = dx.address;
      sweep(dx.size, 12, (o, n) => backward(sp + o, g + o, d + o, n));
    });
    return [dx];
  });
}

/**
 * The rectified linear unit max(x, 0), elementwise, as torch.relu (the ReLU layer as a function).
 *
 * @example
 * ```js
 * forward(x) { return sn.relu(this.bn1.forward(this.conv1.forward(x))); }
 * ```
 */
export function relu(x: TensorLike): Tensor {
  return clamp(beginOp('sn.relu'), x, ACT_RELU, (s, dy, dx, n) => ({ kernel: 'reluBackward', args: [s, dy, dx, n] }));
}

/** max(x, 0) + negativeSlope · min(x, 0), elementwise, as torch.nn.functional.leaky_relu (default slope 0.01). */
export function leakyRelu(x: TensorLike, negativeSlope = 0.01): Tensor {
  const call = beginOp('sn.leakyRelu');
  if (typeof negativeSlope !== 'number' || !Number.isFinite(negativeSlope)) {
    throw new Error(`sn.leakyRelu: negativeSlope must be a finite number, got ${describe(negativeSlope)}`);
  }
  return elementwise(call, x, (a, b, n) => ({ kernel: 'leakyReluForward', args: [a, b, n, negativeSlope] }),
    (s, dy, dx, n) => ({ kernel: 'leakyReluBackward', args: [s, dy, dx, n, negativeSlope] }), true, { negativeSlope });
}

/** The logistic function 1 / (1 + exp(−x)), elementwise, as torch.sigmoid. */
export function sigmoid(x: TensorLike): Tensor {
  return elementwise(beginOp('sn.sigmoid'), x, (a, b, n) => ({ kernel: 'sigmoidForward', args: [a, b, n] }),
    (s, dy, dx, n) => ({ kernel: 'sigmoidBackward', args: [s, dy, dx, n] }), false);
}

/** The hyperbolic tangent, elementwise, as torch.tanh. */
export function tanh(x: TensorLike): Tensor {
  return elementwise(beginOp('sn.tanh'), x, (a, b, n) => ({ kernel: 'tanhForward', args: [a, b, n] }),
    (s, dy, dx, n) => ({ kernel: 'tanhBackward', args: [s, dy, dx, n] }), false);
}

/** min(max(x, 0), 6), elementwise, as torch.nn.functional.relu6 (MobileNetV2's activation). */
export function relu6(x: TensorLike): Tensor {
  return clamp(beginOp('sn.relu6'), x, ACT_RELU6, (s, dy, dx, n) => ({ kernel: 'relu6Backward', args: [s, dy, dx, n] }));
}

/** x · relu6(x + 3) / 6, elementwise, as torch.nn.functional.hardswish (MobileNetV3's activation). */
export function hardswish(x: TensorLike): Tensor {
  return elementwise(beginOp('sn.hardswish'), x, (a, b, n) => ({ kernel: 'hardswishForward', args: [a, b, n] }),
    (s, dy, dx, n) => ({ kernel: 'hardswishBackward', args: [s, dy, dx, n] }), true);
}

/** x · sigmoid(x), elementwise, as torch.nn.functional.silu (also called swish). */
export function silu(x: TensorLike): Tensor {
  return elementwise(beginOp('sn.silu'), x, (a, b, n) => ({ kernel: 'siluForward', args: [a, b, n] }),
    (s, dy, dx, n) => ({ kernel: 'siluBackward', args: [s, dy, dx, n] }), true);
}

/**
 * x · Φ(x), elementwise, as torch.nn.functional.gelu: exact (Φ the standard normal CDF) by
 * default, or PyTorch's tanh approximation with `{ approximate: 'tanh' }` (see the GELU layer).
 */
export function gelu(x: TensorLike, options: { approximate?: 'none' | 'tanh' } = {}): Tensor {
  const call = beginOp('sn.gelu');
  checkOptions('sn.gelu', options, { approximate: oneOf('none', 'tanh') });
  if (options.approximate === 'tanh') {
    return elementwise(call, x, (a, b, n) => ({ kernel: 'geluTanhForward', args: [a, b, n] }),
      (s, dy, dx, n) => ({ kernel: 'geluTanhBackward', args: [s, dy, dx, n] }), true, { approximate: 'tanh' });
  }
  return elementwise(call, x, (a, b, n) => ({ kernel: 'geluForward', args: [a, b, n] }),
    (s, dy, dx, n) => ({ kernel: 'geluBackward', args: [s, dy, dx, n] }), true);
}

/** x for x > 0, alpha · (e^x − 1) otherwise, elementwise, as torch.nn.functional.elu (default alpha 1). */
export function elu(x: TensorLike, alpha = 1): Tensor {
  const call = beginOp('sn.elu');
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw new Error(`sn.elu: alpha must be a finite number, got ${describe(alpha)}`);
  return elementwise(call, x, (a, b, n) => ({ kernel: 'eluForward', args: [a, b, n, alpha] }),
    (s, dy, dx, n) => ({ kernel: 'eluBackward', args: [s, dy, dx, n, alpha] }), true, { alpha });
}

/** Softmax or log-softmax along `dim`, viewing x as [outer, C, inner] around it. */
function softmaxAlong(op: string, x: TensorLike, dim: number, log: boolean): Tensor {
  const call = beginOp(op);
  const t = opInput(call, 'x', 0, x);
  const s = t.shape, rank = s.length;
  if (!Number.isSafeInteger(dim) || dim < -rank || dim >= rank) {
    throw new Error(`${op}: dim ${describe(dim)} is out of range for a tensor of shape ${formatShape(s)} (expected an integer in [${-rank}, ${rank - 1}]; dim has no default, as in PyTorch)`);
  }
  if (!call.site) return dryResult(call, s, [t], { dim: dim < 0 ? dim + rank : dim });
  const site = call.site;
  const d = dim < 0 ? dim + rank : dim;
  const outer = s.slice(0, d).reduce((a, b) => a * b, 1), C = s[d], inner = s.slice(d + 1).reduce((a, b) => a * b, 1);
  const { y, inputs: [xs] } = site.output('y', s, 'forward()', [t]);
  const k = rt().kernels;
  if (log) k.logSoftmaxForward(xs.ptr, y.ptr, outer, C, inner); else k.softmaxForward(xs.ptr, y.ptr, outer, C, inner);
  return endOp(call, y, [t], [], y, (dy) => {
    const dx = site.output('grad0', s, 'backward()').y;
    if (log) k.logSoftmaxBackward(y.ptr, dy.ptr, dx.ptr, outer, C, inner); else k.softmaxBackward(y.ptr, dy.ptr, dx.ptr, outer, C, inner);
    return [dx];
  });
}

/**
 * exp(x) / Σ exp(x) along dimension `dim` (required, as in PyTorch), computed stably, as
 * torch.softmax: values in [0, 1] that sum to 1 along dim.
 *
 * @example
 * ```js
 * const probs = sn.noGrad(() => sn.softmax(model.forward(x), 1));
 * ```
 */
export function softmax(x: TensorLike, dim: number): Tensor { return softmaxAlong('sn.softmax', x, dim, false); }

/** x − log Σ exp(x) along dimension `dim` (required, as in PyTorch), computed stably, as torch.log_softmax. */
export function logSoftmax(x: TensorLike, dim: number): Tensor { return softmaxAlong('sn.logSoftmax', x, dim, true); }
