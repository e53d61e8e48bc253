// Weight initialisation as torch.nn.init does it, drawing from the seedable RNG (sn.manualSeed).
import { normal, uniform } from './random.js';
import { Parameter } from './module.js';
import { Tensor, formatShape } from './tensor.js';
import { checkOptions, checkValue, describe, finite, oneOf } from './options.js';

type Target = Tensor | Parameter;
const NONLINEARITIES = ['linear', 'conv2d', 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu'] as const;
export type Nonlinearity = typeof NONLINEARITIES[number];
export interface KaimingOptions {
  /** The negative slope of the leaky_relu that follows (default 0). */
  a?: number;
  /** Preserve the variance of the forward pass ('fan_in', default) or of the backward pass. */
  mode?: 'fan_in' | 'fan_out';
  /** Default 'leaky_relu', as PyTorch. */
  nonlinearity?: Nonlinearity;
}

const nonlinearityRule = oneOf(...NONLINEARITIES);
const kaimingSpec = { a: finite(), mode: oneOf('fan_in', 'fan_out'), nonlinearity: nonlinearityRule };

/** torch.nn.init.calculate_gain. */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  checkValue('init.calculateGain', 'nonlinearity', nonlinearity, nonlinearityRule);
  if (param !== undefined) checkValue('init.calculateGain', 'param', param, finite());
  switch (nonlinearity) {
    case 'linear': case 'conv2d': case 'sigmoid': return 1;
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leaky_relu': { const a = param ?? 0.01; return Math.sqrt(2 / (1 + a * a)); }
    case 'selu': return 3 / 4;
  }
}

/** fan_in and fan_out of a weight shaped [out, in, ...kernel], as PyTorch computes them. */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`init: a shape must be an array of non-negative integers, got ${describe(shape)}`);
  }
  if (shape.length < 2) throw new Error(`init: fan in and fan out need a tensor with at least 2 dimensions, got ${formatShape(shape)}`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

/** The float32 tensor to fill, or an Error naming the init function and what it got. */
function checkTarget(where: string, target: unknown): Tensor {
  const t = target instanceof Parameter ? target.data : target;
  if (!(t instanceof Tensor)) throw new Error(`${where}: the tensor to fill must be a Parameter (e.g. layer.weight) or a Tensor, got ${describe(target)}`);
  if (t.dtype !== 'float32') throw new Error(`${where}: the tensor to fill must be float32, got ${t.dtype}`);
  return t;
}

function fillWith(target: Target, draw: () => number): void {
  const t = target instanceof Parameter ? target.data : target;
  const values = new Float32Array(t.size);
  for (let i = 0; i < values.length; i++) values[i] = draw();
  t.view().set(values);
}

function shapeOf(target: Target): readonly number[] {
  return target instanceof Parameter ? target.shape : target.shape;
}

/** U(a, b), a ≤ b. */
export function uniform_(t: Target, a = 0, b = 1): void {
  checkTarget('init.uniform_', t);
  checkValue('init.uniform_', 'a', a, finite());
  checkValue('init.uniform_', 'b', b, finite({ min: a }));
  fillWith(t, () => uniform(a, b));
}

/** N(mean, std²), std ≥ 0. */
export function normal_(t: Target, mean = 0, std = 1): void {
  checkTarget('init.normal_', t);
  checkValue('init.normal_', 'mean', mean, finite());
  checkValue('init.normal_', 'std', std, finite({ min: 0 }));
  fillWith(t, () => normal(mean, std));
}

/** Every value set to `value`. */
export function constant_(t: Target, value: number): void {
  checkTarget('init.constant_', t);
  checkValue('init.constant_', 'value', value, finite());
  fillWith(t, () => value);
}

function kaimingStd(shape: readonly number[], o: KaimingOptions): number {
  const { fanIn, fanOut } = fans(shape);
  const a = o.a ?? 0;
  const gain = calculateGain(o.nonlinearity ?? 'leaky_relu', a);
  return gain / Math.sqrt((o.mode ?? 'fan_in') === 'fan_in' ? fanIn : fanOut);
}

/** He uniform: U(-b, b) with b = gain·sqrt(3 / fan). Defaults as PyTorch: a=0, fan_in, leaky_relu. */
export function kaimingUniform(t: Target, options: KaimingOptions = {}): void {
  checkTarget('init.kaimingUniform', t);
  checkOptions('init.kaimingUniform', options, kaimingSpec);
  const bound = Math.sqrt(3) * kaimingStd(shapeOf(t), options);
  uniform_(t, -bound, bound);
}

/** He normal: N(0, gain² / fan). */
export function kaimingNormal(t: Target, options: KaimingOptions = {}): void {
  checkTarget('init.kaimingNormal', t);
  checkOptions('init.kaimingNormal', options, kaimingSpec);
  normal_(t, 0, kaimingStd(shapeOf(t), options));
}

/** Glorot uniform: U(-b, b) with b = gain·sqrt(6 / (fan_in + fan_out)). */
export function xavierUniform(t: Target, gain = 1): void {
  checkTarget('init.xavierUniform', t);
  checkValue('init.xavierUniform', 'gain', gain, finite());
  const { fanIn, fanOut } = fans(shapeOf(t));
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  uniform_(t, -bound, bound);
}

/** Glorot normal: N(0, gain² · 2 / (fan_in + fan_out)). */
export function xavierNormal(t: Target, gain = 1): void {
  checkTarget('init.xavierNormal', t);
  checkValue('init.xavierNormal', 'gain', gain, finite());
  const { fanIn, fanOut } = fans(shapeOf(t));
  normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}

/**
 * PyTorch's default for Linear and Conv2d: weight kaiming_uniform(a=√5), i.e. U(±1/√fan_in),
 * and bias U(±1/√fan_in).
 */
export function defaultLayerInit(weight: Parameter, bias: Parameter | null): void {
  kaimingUniform(weight, { a: Math.sqrt(5) });
  if (bias) {
    const bound = 1 / Math.sqrt(fans(weight.shape).fanIn);
    uniform_(bias, -bound, bound);
  }
}
