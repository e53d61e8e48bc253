// One ONNX node (or a fused pattern of nodes) to one step of an imported model: a layer with
// its weights from the file's initializers, or a functional op. Each converter checks the
// node's attributes against what the layer does and refuses what it would compute otherwise.
import type { Module } from '../../module.js';
import type { Tensor } from '../../tensor.js';
import { Conv2d } from '../../layers/conv2d.js';
import { Linear } from '../../layers/linear.js';
import { MaxPool2d } from '../../layers/maxpool2d.js';
import { AvgPool2d } from '../../layers/avgpool2d.js';
import { AdaptiveAvgPool2d } from '../../layers/adaptive-avgpool2d.js';
import { BatchNorm1d, BatchNorm2d } from '../../layers/batchnorm.js';
import { ReLU } from '../../layers/relu.js';
import { ReLU6 } from '../../layers/relu6.js';
import { Sigmoid } from '../../layers/sigmoid.js';
import { Tanh } from '../../layers/tanh.js';
import { LeakyReLU } from '../../layers/leaky-relu.js';
import { ELU } from '../../layers/elu.js';
import { Hardswish } from '../../layers/hardswish.js';
import { SiLU } from '../../layers/silu.js';
import { GELU } from '../../layers/gelu.js';
import { Softmax, LogSoftmax } from '../../layers/softmax.js';
import { Flatten } from '../../layers/flatten.js';
import { Dropout } from '../../layers/dropout.js';
import * as F from '../../functional/index.js';
import { attr, BATCH, materialize, MAX_RANK, NodeError, numbers, type Const, type Int } from './import-const.js';
import type { DecodedNode } from './decode.js';

/** What a converter reads from the importer: constants, activation shapes, the opset and the mode. */
export interface ConvertContext {
  readonly opset: number;
  /** 'chain': every step must be a layer (a Sequential); 'graph': activations may be functional ops. */
  readonly mode: 'chain' | 'graph';
  /** The graph input's batch size as the file wrote it, when a number (torch.onnx.export writes 1 without dynamic axes). */
  readonly declaredBatch: number | null;
  /** A constant input of the node, or null when absent (an empty name or no such input). */
  constIn(n: DecodedNode, i: number): Const | null;
  /** Whether a value is an activation (computed from the input). */
  isAct(name: string): boolean;
  /** Whether a value is read by a node or is the graph's output. */
  isUsed(name: string): boolean;
  /** An activation's shape (its batch dimension a concrete stand-in). */
  shapeOf(name: string): number[];
  /** A float constant used as an operand of a functional op: a Parameter named after its initializer. */
  operand(c: Const, n: DecodedNode): Tensor | number | import('../../module.js').Parameter;
}

/** A step of the imported model: a layer on one input, or a functional op on several. */
export interface Step {
  node: DecodedNode;
  inputs: string[];
  output: string;
  layer: Module | null;
  run: ((xs: Tensor[]) => Tensor) | null;
  /** The layer's weights: [its state-dict name inside the layer, the initializer]. */
  weights: [string, Const][];
}

/** Signals that the chain cannot be a Sequential (a step needs a functional op): the importer builds a module graph instead. */
export class NotAChain extends Error {}

/** A converter: the node and its single activation input's name (or all of them for multi-input ops). */
type Converter = (c: ConvertContext, n: DecodedNode, acts: string[]) => Step;

const ints = (n: DecodedNode, name: string, fallback: number[]): number[] => {
  const a = attr(n, name);
  return a ? a.ints.slice() : fallback;
};
const intAttr = (n: DecodedNode, name: string, fallback: number): number => attr(n, name)?.i ?? fallback;
/**
 * A float attribute as the decimal it was written from: the file holds float32, so 1e-5 reads as
 * 9.999999747378752e-06; the shortest decimal that rounds to the same float32 is taken.
 */
const floatAttr = (n: DecodedNode, name: string, fallback: number): number => {
  const f = attr(n, name)?.f;
  if (f === undefined) return fallback;
  for (let p = 1; p < 9; p++) { const v = Number(f.toPrecision(p)); if (Math.fround(v) === f) return v; }
  return f;
};

function layerStep(n: DecodedNode, x: string, layer: Module, weights: [string, Const][] = []): Step {
  return { node: n, inputs: [x], output: n.outputs[0], layer, run: null, weights };
}

function opStep(c: ConvertContext, n: DecodedNode, inputs: string[], run: (xs: Tensor[]) => Tensor): Step {
  if (c.mode === 'chain') throw new NotAChain();
  return { node: n, inputs, output: n.outputs[0], layer: null, run, weights: [] };
}

/** An activation: its layer in a chain, its functional op in a graph. */
function activation(c: ConvertContext, n: DecodedNode, x: string, layer: () => Module, fn: (t: Tensor) => Tensor): Step {
  if (c.mode === 'chain') return layerStep(n, x, layer());
  return { node: n, inputs: [x], output: n.outputs[0], layer: null, run: (xs) => fn(xs[0]), weights: [] };
}

function floatConst(c: ConvertContext, n: DecodedNode, i: number, what: string, rank: number): Const {
  const k = c.constIn(n, i);
  if (!k || !(k.floats || k.transposeOf)) throw new NodeError(`its ${what} (input ${i}) must be a float initializer or constant`);
  if (k.dims.length !== rank) throw new NodeError(`its ${what} has shape [${k.dims.join(', ')}], expected ${rank} dimensions`);
  return k;
}

function pair(v: number[], what: string, n = 2): number[] {
  if (v.length !== n) throw new NodeError(`${what} [${v.join(', ')}] must have ${n} values (2-D images only)`);
  return v;
}

function checkAutoPad(n: DecodedNode): string {
  const a = attr(n, 'auto_pad')?.s ?? 'NOTSET';
  if (!['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER', ''].includes(a)) throw new NodeError(`auto_pad ${JSON.stringify(a)} is not an ONNX value`);
  return a || 'NOTSET';
}

/**
 * Conv padding: symmetric pads as [h, w]; asymmetric ones only where they are simdnet's 'same'
 * (stride 1, the odd extra row or column after), as toOnnx writes it. Others are refused.
 */
function convPadding(n: DecodedNode, k: number[], strides: number[], dil: number[]): [number, number] | 'same' {
  const auto = checkAutoPad(n);
  const total = [dil[0] * (k[0] - 1), dil[1] * (k[1] - 1)];
  const sameOk = strides[0] === 1 && strides[1] === 1;
  if (auto === 'VALID') return [0, 0];
  if (auto === 'SAME_UPPER' || (auto === 'SAME_LOWER' && total.every((t) => t % 2 === 0))) {
    if (!sameOk) throw new NodeError(`auto_pad ${auto} with strides [${strides.join(', ')}] is not supported (stride 1 is)`);
    return 'same';
  }
  if (auto === 'SAME_LOWER') throw new NodeError('auto_pad SAME_LOWER with an odd padding puts the extra row before, which simdnet does not');
  const p = pair(ints(n, 'pads', [0, 0, 0, 0]), 'pads', 4);
  if (p.some((v) => v < 0)) throw new NodeError(`negative pads [${p.join(', ')}]`);
  if (p[0] === p[2] && p[1] === p[3]) return [p[0], p[1]];
  if (sameOk && p[0] === total[0] >> 1 && p[1] === total[1] >> 1 && p[2] === total[0] - p[0] && p[3] === total[1] - p[1]) return 'same';
  throw new NodeError(`asymmetric pads [${p.join(', ')}] (top, left, bottom, right) are not supported: Conv2d pads both sides alike`);
}

const conv: Converter = (c, n, [x]) => {
  const w = floatConst(c, n, 1, 'weight', 4);
  const b = n.inputs[2] ? floatConst(c, n, 2, 'bias', 1) : null;
  const s = c.shapeOf(x);
  if (s.length !== 4) throw new NodeError(`its input has shape [${s.join(', ')}]: 2-D convolutions of [N, C, H, W] only`);
  const groups = intAttr(n, 'group', 1);
  const [O, I, KH, KW] = w.dims;
  const k = pair(ints(n, 'kernel_shape', [KH, KW]), 'kernel_shape');
  if (k[0] !== KH || k[1] !== KW) throw new NodeError(`kernel_shape [${k.join(', ')}] differs from the weight's [${KH}, ${KW}]`);
  if (!(groups >= 1) || I * groups !== s[1]) throw new NodeError(`the weight [${w.dims.join(', ')}] with group ${groups} needs ${I * groups} input channels, the input has ${s[1]}`);
  if (b && b.dims[0] !== O) throw new NodeError(`the bias has ${b.dims[0]} values for ${O} filters`);
  const stride = pair(ints(n, 'strides', [1, 1]), 'strides'), dilation = pair(ints(n, 'dilations', [1, 1]), 'dilations');
  const padding = convPadding(n, k, stride, dilation);
  const layer = new Conv2d(I * groups, O, [KH, KW], { stride: [stride[0], stride[1]], dilation: [dilation[0], dilation[1]], padding, groups, bias: !!b });
  return layerStep(n, x, layer, b ? [['weight', w], ['bias', b]] : [['weight', w]]);
};

/** Linear from a weight [out, in] (already in that layout) and an optional bias [out]. */
function linear(c: ConvertContext, n: DecodedNode, x: string, w: Const, b: Const | null): Step {
  const s = c.shapeOf(x);
  const [O, I] = w.dims;
  if (s[s.length - 1] !== I) throw new NodeError(`the weight takes ${I} features, the input has shape [${s.join(', ')}]`);
  if (b && (b.floats?.length ?? 0) !== O) throw new NodeError(`the bias has shape [${b.dims.join(', ')}], expected [${O}]`);
  const layer = new Linear(I, O, { bias: !!b });
  return layerStep(n, x, layer, b ? [['weight', w], ['bias', { ...b, dims: [O] }]] : [['weight', w]]);
}

/** A transposed copy of a 2-D constant (or the initializer a lazy Transpose read). */
function transposed(k: Const): Const {
  if (k.transposeOf) return k.transposeOf;
  return { ...materialize({ dims: [k.dims[1], k.dims[0]], floats: null, ints: null, transposeOf: k }), origin: k.origin };
}

const gemm: Converter = (c, n, [x]) => {
  if (floatAttr(n, 'alpha', 1) !== 1 || floatAttr(n, 'beta', 1) !== 1 || intAttr(n, 'transA', 0) !== 0) {
    throw new NodeError('alpha and beta other than 1, or transA, are not supported (torch.nn.Linear exports neither)');
  }
  if (c.shapeOf(x).length !== 2) throw new NodeError(`its input has shape [${c.shapeOf(x).join(', ')}], Gemm takes 2-D`);
  const b = floatConst(c, n, 1, 'weight', 2);
  const w = intAttr(n, 'transB', 0) ? (b.transposeOf ? materialize(b) : b) : transposed(b);
  const bias = n.inputs[2] ? c.constIn(n, 2) : null;
  if (n.inputs[2] && !bias?.floats) throw new NodeError('its bias C must be a float constant');
  if (bias && bias.dims.length > 1 && !(bias.dims.length === 2 && bias.dims[0] === 1)) throw new NodeError(`a bias of shape [${bias.dims.join(', ')}] is not per output feature`);
  return linear(c, n, x, w.origin ? w : { ...w, origin: b.origin }, bias);
};

const matmul: Converter = (c, n, [x]) => {
  const b = floatConst(c, n, 1, 'weight', 2);
  // '#Linear' is MatMul followed by Add of a bias, fused before conversion (its bias is input 2).
  const bias = n.inputs[2] ? floatConst(c, n, 2, 'bias', 1) : null;
  return linear(c, n, x, transposed(b), bias);
};

function poolKernel(n: DecodedNode, c: ConvertContext, x: string) {
  const s = c.shapeOf(x);
  if (s.length !== 4) throw new NodeError(`its input has shape [${s.join(', ')}]: 2-D pooling of [N, C, H, W] only`);
  const auto = checkAutoPad(n);
  if (auto !== 'NOTSET' && auto !== 'VALID') throw new NodeError(`auto_pad ${auto} is not supported (explicit pads are)`);
  const kernel = pair(ints(n, 'kernel_shape', []), 'kernel_shape');
  const stride = pair(ints(n, 'strides', [1, 1]), 'strides');
  const p = auto === 'VALID' ? [0, 0, 0, 0] : pair(ints(n, 'pads', [0, 0, 0, 0]), 'pads', 4);
  if (p[0] !== p[2] || p[1] !== p[3]) throw new NodeError(`asymmetric pads [${p.join(', ')}] are not supported`);
  // One number where both axes agree, as PyTorch users write pools (and as their repr shows).
  const size = (v: number[]): number | [number, number] => (v[0] === v[1] ? v[0] : [v[0], v[1]]);
  return { kernel: size(kernel), stride: size(stride), padding: size(p), ceilMode: intAttr(n, 'ceil_mode', 0) === 1 };
}

const maxPool: Converter = (c, n, [x]) => {
  const k = poolKernel(n, c, x);
  if (intAttr(n, 'storage_order', 0) !== 0) throw new NodeError('storage_order 1 (column major) is not supported');
  const d = pair(ints(n, 'dilations', [1, 1]), 'dilations');
  return layerStep(n, x, new MaxPool2d(k.kernel, { stride: k.stride, padding: k.padding, ceilMode: k.ceilMode, dilation: d[0] === d[1] ? d[0] : [d[0], d[1]] }));
};

const avgPool: Converter = (c, n, [x]) => {
  const k = poolKernel(n, c, x);
  return layerStep(n, x, new AvgPool2d(k.kernel, { stride: k.stride, padding: k.padding, ceilMode: k.ceilMode, countIncludePad: intAttr(n, 'count_include_pad', 0) === 1 }));
};

const globalAvgPool: Converter = (c, n, [x]) => {
  if (c.shapeOf(x).length !== 4) throw new NodeError(`its input has shape [${c.shapeOf(x).join(', ')}]: [N, C, H, W] only`);
  return layerStep(n, x, new AdaptiveAvgPool2d(1));
};

/** simdnet's toOnnx writes a BatchNorm without affine parameters with constant ones and zeros under these names. */
const isFill = (k: Const, suffix: string, v: number) => !!k.origin?.endsWith(suffix) && !!k.floats?.every((f) => f === v);

const batchNorm: Converter = (c, n, [x]) => {
  const s = c.shapeOf(x);
  if (s.length < 2 || s.length > 4) throw new NodeError(`its input has shape [${s.join(', ')}]: BatchNorm1d or BatchNorm2d inputs only`);
  const C = s[1];
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => floatConst(c, n, i, ['scale', 'B', 'mean', 'var'][i - 1], 1));
  for (const k of [scale, bias, mean, variance]) if (k.dims[0] !== C) throw new NodeError(`a parameter of shape [${k.dims.join(', ')}] for ${C} channels`);
  for (const o of n.outputs.slice(1)) if (o && c.isUsed(o)) throw new NodeError('its running-statistics outputs (training mode) are used, which a layer cannot give');
  const momentum = 1 - floatAttr(n, 'momentum', 0.9);
  const affine = !(isFill(scale, '.onnx_scale', 1) && isFill(bias, '.onnx_bias', 0));
  const opts = { eps: floatAttr(n, 'epsilon', 1e-5), momentum: Math.round(momentum * 1e6) / 1e6, affine };
  const layer = s.length === 4 ? new BatchNorm2d(C, opts) : new BatchNorm1d(C, opts);
  const w: [string, Const][] = [['running_mean', mean], ['running_var', variance]];
  return layerStep(n, x, layer, affine ? [['weight', scale], ['bias', bias], ...w] : w);
};

/** Softmax's axis; before opset 13 the input was coerced to 2-D at the axis, the same only when the axis is the last. */
function softmaxDim(c: ConvertContext, n: DecodedNode, x: string): number {
  const rank = c.shapeOf(x).length;
  const a = intAttr(n, 'axis', c.opset >= 13 ? -1 : 1);
  const axis = a < 0 ? a + rank : a;
  if (axis < 1 || axis >= rank) throw new NodeError(`axis ${a} of a rank-${rank} input: along the batch or out of range`);
  if (c.opset < 13 && axis !== rank - 1 && c.shapeOf(x).slice(axis + 1).some((d) => d !== 1)) {
    throw new NodeError(`before opset 13, axis ${a} normalises over all dimensions from ${axis} on together, which is not supported`);
  }
  return axis;
}

function clipBounds(c: ConvertContext, n: DecodedNode): [number, number] {
  if (c.opset < 11) return [floatAttr(n, 'min', -Infinity), floatAttr(n, 'max', Infinity)];
  const bound = (i: number, fallback: number) => {
    if (!n.inputs[i]) return fallback;
    const k = c.constIn(n, i);
    if (!k) throw new NodeError(`its bound (input ${i}) must be a constant`);
    const v = numbers(k, 'a Clip bound');
    if (v.length !== 1) throw new NodeError('a Clip bound must be a scalar');
    return v[0];
  };
  return [bound(1, -Infinity), bound(2, Infinity)];
}

const clip: Converter = (c, n, [x]) => {
  const [lo, hi] = clipBounds(c, n);
  if (lo === 0 && hi === 6) return activation(c, n, x, () => new ReLU6(), F.relu6);
  if (lo === 0 && hi >= 3.4e38) return activation(c, n, x, () => new ReLU(), F.relu);
  throw new NodeError(`Clip(${lo}, ${hi}) is not supported: Clip(0, 6) is ReLU6 and Clip(0, ∞) ReLU`);
};

/** Reshape's target after the batch dimension, or null when the target is not [batch, ...]. */
function reshapeTarget(c: ConvertContext, n: DecodedNode, x: string, shape: Int[]): number[] | null {
  const s = c.shapeOf(x);
  const rest = s.slice(1).reduce((a, b) => a * b, 1);
  const first = shape[0];
  const tail = shape.slice(1).map((d, i) => (d === 0 && intAttr(n, 'allowzero', 0) === 0 ? s[i + 1] : d));
  if (tail.some((d) => d === BATCH)) return null;
  const t = tail as number[];
  const known = t.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  if (t.filter((d) => d === -1).length > 1 || t.some((d) => d < -1)) return null;
  const resolved = t.map((d) => (d === -1 ? rest / known : d));
  if (!resolved.every((d) => Number.isInteger(d) && d >= 0) || resolved.reduce((a, b) => a * b, 1) !== rest) return null;
  const batchLike = first === BATCH || first === 0 || (first === -1 && !t.includes(-1)) || (typeof first === 'number' && first === c.declaredBatch);
  return batchLike ? resolved : null;
}

const reshape: Converter = (c, n, [x]) => {
  const k = c.constIn(n, 1);
  if (!k || !k.ints) throw new NodeError('its shape (input 1) must be a constant integer tensor (or computable at import)');
  if (k.ints.length > MAX_RANK) throw new NodeError(`its target shape has ${k.ints.length} dimensions, at most ${MAX_RANK} are supported`);
  const target = reshapeTarget(c, n, x, k.ints);
  if (!target) throw new NodeError(`the target shape [${k.ints.join(', ')}] of an input of shape [N, ${c.shapeOf(x).slice(1).join(', ')}] does not keep the batch dimension first`);
  if (target.length === 1) return layerStep(n, x, new Flatten());
  return opStep(c, n, [x], (xs) => F.reshape(xs[0], [-1, ...target]));
};

const flatten: Converter = (c, n, [x]) => {
  const rank = c.shapeOf(x).length;
  const a = intAttr(n, 'axis', 1);
  if ((a < 0 ? a + rank : a) !== 1) throw new NodeError(`axis ${a} merges the batch dimension with others (axis 1 is supported)`);
  return layerStep(n, x, new Flatten());
};

const dropout: Converter = (c, n, [x]) => {
  if (n.outputs[1] && c.isUsed(n.outputs[1])) throw new NodeError('its mask output is used');
  let p = floatAttr(n, 'ratio', 0.5);
  if (c.opset >= 12 && n.inputs[1]) {
    const k = c.constIn(n, 1);
    if (!k) throw new NodeError('its ratio must be a constant');
    p = numbers(k, 'ratio')[0];
  }
  return layerStep(n, x, new Dropout(p));
};

/** Add and Mul: two activations, or an activation and a constant (a number, or a Parameter named after its initializer). */
function arith(fn: typeof F.add, c: ConvertContext, n: DecodedNode, acts: string[]): Step {
  if (n.inputs.length !== 2) throw new NodeError(`${n.opType} takes 2 inputs, this one ${n.inputs.length}`);
  const operands = n.inputs.map((name, i) => (c.isAct(name) ? name : c.operand(c.constIn(n, i)!, n)));
  return opStep(c, n, acts, (xs) => {
    let k = 0;
    const [a, b] = operands.map((o) => (typeof o === 'string' ? xs[k++] : o));
    return fn(a as Tensor, b as Tensor);
  });
}

const concat: Converter = (c, n, acts) => {
  if (acts.length !== n.inputs.length) throw new NodeError('Concat of activations with constants is not supported');
  const rank = c.shapeOf(acts[0]).length;
  const a = intAttr(n, 'axis', 0);
  const axis = a < 0 ? a + rank : a;
  if (axis === 0) throw new NodeError('Concat along the batch dimension is not supported');
  return opStep(c, n, acts, (xs) => F.cat(xs, axis));
};

const reduceMean: Converter = (c, n, [x]) => {
  const rank = c.shapeOf(x).length;
  let axes = ints(n, 'axes', []);
  if (c.opset >= 18 && n.inputs[1]) {
    const k = c.constIn(n, 1);
    if (!k) throw new NodeError('its axes must be a constant');
    axes = numbers(k, 'axes');
  }
  if (axes.length === 0) throw new NodeError('a mean over every dimension (the batch too) is not supported');
  const dims = axes.map((d) => (d < 0 ? d + rank : d));
  if (dims.includes(0)) throw new NodeError('a mean over the batch dimension is not supported');
  const keep = intAttr(n, 'keepdims', 1) === 1;
  return opStep(c, n, [x], (xs) => F.mean(xs[0], dims, keep));
};

/** The converters by op type ('#' marks patterns fused from several nodes). */
export const CONVERTERS: Readonly<Record<string, Converter>> = {
  Conv: conv, Gemm: gemm, MatMul: matmul, '#Linear': matmul,
  MaxPool: maxPool, AveragePool: avgPool, GlobalAveragePool: globalAvgPool, BatchNormalization: batchNorm,
  Relu: (c, n, [x]) => activation(c, n, x, () => new ReLU(), F.relu),
  Sigmoid: (c, n, [x]) => activation(c, n, x, () => new Sigmoid(), F.sigmoid),
  Tanh: (c, n, [x]) => activation(c, n, x, () => new Tanh(), F.tanh),
  HardSwish: (c, n, [x]) => activation(c, n, x, () => new Hardswish(), F.hardswish),
  '#Hardswish': (c, n, [x]) => activation(c, n, x, () => new Hardswish(), F.hardswish),
  '#SiLU': (c, n, [x]) => activation(c, n, x, () => new SiLU(), F.silu),
  '#GELU': (c, n, [x]) => activation(c, n, x, () => new GELU(), (t) => F.gelu(t)),
  LeakyRelu: (c, n, [x]) => { const a = floatAttr(n, 'alpha', 0.01); return activation(c, n, x, () => new LeakyReLU(a), (t) => F.leakyRelu(t, a)); },
  Elu: (c, n, [x]) => { const a = floatAttr(n, 'alpha', 1); return activation(c, n, x, () => new ELU(a), (t) => F.elu(t, a)); },
  Softmax: (c, n, [x]) => { const d = softmaxDim(c, n, x); return activation(c, n, x, () => new Softmax(d), (t) => F.softmax(t, d)); },
  LogSoftmax: (c, n, [x]) => { const d = softmaxDim(c, n, x); return activation(c, n, x, () => new LogSoftmax(d), (t) => F.logSoftmax(t, d)); },
  Clip: clip, Flatten: flatten, Reshape: reshape, Dropout: dropout,
  Add: (c, n, acts) => arith(F.add, c, n, acts), Mul: (c, n, acts) => arith(F.mul, c, n, acts), Concat: concat, ReduceMean: reduceMean,
};

/** The op types that become layers only (a chain of them is a Sequential). */
export const CHAIN_OPS = new Set(['Conv', 'Gemm', 'MatMul', '#Linear', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'BatchNormalization',
  'Relu', 'Sigmoid', 'Tanh', 'HardSwish', '#Hardswish', '#SiLU', '#GELU', 'LeakyRelu', 'Elu', 'Softmax', 'LogSoftmax', 'Clip',
  'Flatten', 'Reshape', 'Dropout', 'Identity']);
