// Weight initialisation as torch.nn.init does it, drawing from the seedable RNG (sn.manualSeed).
import { normal, uniform } from './random.js';
import { Parameter } from './module.js';
import { Tensor, formatShape } from './tensor.js';

type Target = Tensor | Parameter;
export type Nonlinearity = 'linear' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';
export interface KaimingOptions { a?: number; mode?: 'fan_in' | 'fan_out'; nonlinearity?: Nonlinearity; }

/** torch.nn.init.calculate_gain. */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
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
  if (shape.length < 2) throw new Error(`init: fan in and fan out need a tensor with at least 2 dimensions, got ${formatShape(shape)}`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
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

export function uniform_(t: Target, a = 0, b = 1): void { fillWith(t, () => uniform(a, b)); }
export function normal_(t: Target, mean = 0, std = 1): void { fillWith(t, () => normal(mean, std)); }
export function constant_(t: Target, value: number): void { fillWith(t, () => value); }

function kaimingStd(shape: readonly number[], o: KaimingOptions): number {
  const { fanIn, fanOut } = fans(shape);
  const a = o.a ?? 0;
  const gain = calculateGain(o.nonlinearity ?? 'leaky_relu', a);
  return gain / Math.sqrt((o.mode ?? 'fan_in') === 'fan_in' ? fanIn : fanOut);
}

/** He uniform: U(-b, b) with b = gain·sqrt(3 / fan). Defaults as PyTorch: a=0, fan_in, leaky_relu. */
export function kaimingUniform(t: Target, options: KaimingOptions = {}): void {
  const bound = Math.sqrt(3) * kaimingStd(shapeOf(t), options);
  uniform_(t, -bound, bound);
}

/** He normal: N(0, gain² / fan). */
export function kaimingNormal(t: Target, options: KaimingOptions = {}): void {
  normal_(t, 0, kaimingStd(shapeOf(t), options));
}

/** Glorot uniform: U(-b, b) with b = gain·sqrt(6 / (fan_in + fan_out)). */
export function xavierUniform(t: Target, gain = 1): void {
  const { fanIn, fanOut } = fans(shapeOf(t));
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  uniform_(t, -bound, bound);
}

/** Glorot normal: N(0, gain² · 2 / (fan_in + fan_out)). */
export function xavierNormal(t: Target, gain = 1): void {
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
