// Weight initialisation as torch.nn.init does it, drawing from the seedable RNG (sn.manualSeed).
import { fillNormal, fillUniform } from './random.js';
import { Parameter } from './module.js';
import { Tensor, formatShape } from './tensor.js';
import { checkOptions, checkValue, describe, finite, oneOf } from './options.js';

type Target = Tensor | Parameter;
/** The activations calculateGain knows, by PyTorch's names. */
export type Nonlinearity = 'linear' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';
const NONLINEARITIES: readonly Nonlinearity[] = ['linear', 'conv2d', 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu'];
/** The options of kaimingUniform and kaimingNormal; the defaults are PyTorch's. */
export interface KaimingOptions {
  /** The negative slope of the leaky_relu that follows (default 0). */
  a?: number;
  /** Preserve the variance of the forward pass ('fan_in', default) or of the backward pass. */
  mode?: 'fan_in' | 'fan_out';
  /** The nonlinearity that follows the layer, which sets the gain (see calculateGain). Default 'leaky_relu', as PyTorch. */
  nonlinearity?: Nonlinearity;
}

const nonlinearityRule = oneOf(...NONLINEARITIES);
const kaimingSpec = { a: finite(), mode: oneOf('fan_in', 'fan_out'), nonlinearity: nonlinearityRule };

/**
 * The recommended gain for a nonlinearity, as torch.nn.init.calculate_gain: 1 for linear, conv2d
 * and sigmoid, 5/3 for tanh, √2 for relu, √(2 / (1 + a²)) for leaky_relu with slope a = `param`
 * (default 0.01), 3/4 for selu.
 */
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

/**
 * fan_in and fan_out of a weight shaped [out, in, ...kernel], as PyTorch computes them:
 * in·∏kernel and out·∏kernel (e.g. [6, 1, 5, 5] → 25 and 150).
 */
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

/** Fills the target's values in place with `fill` (which allocates no wasm memory, so the view stays valid). */
function fillFrom(target: Target, fill: (values: Float32Array) => void): void {
  fill((target instanceof Parameter ? target.data : target).view());
}

function shapeOf(target: Target): readonly number[] {
  return target instanceof Parameter ? target.shape : target.shape;
}

/**
 * Fills a parameter (its data) or a float32 tensor with values drawn from U(a, b), a ≤ b, from
 * the global generator (sn.manualSeed), as torch.nn.init.uniform_. Default U(0, 1).
 */
export function uniform_(t: Tensor | Parameter, a = 0, b = 1): void {
  checkTarget('init.uniform_', t);
  checkValue('init.uniform_', 'a', a, finite());
  checkValue('init.uniform_', 'b', b, finite({ min: a }));
  fillFrom(t, (values) => fillUniform(values, a, b));
}

/** Fills a parameter or float32 tensor with values drawn from N(mean, std²), std ≥ 0, as torch.nn.init.normal_. Default N(0, 1). */
export function normal_(t: Tensor | Parameter, mean = 0, std = 1): void {
  checkTarget('init.normal_', t);
  checkValue('init.normal_', 'mean', mean, finite());
  checkValue('init.normal_', 'std', std, finite({ min: 0 }));
  fillFrom(t, (values) => fillNormal(values, mean, std));
}

/** Sets every value of a parameter or float32 tensor to `value`, as torch.nn.init.constant_. */
export function constant_(t: Tensor | Parameter, value: number): void {
  checkTarget('init.constant_', t);
  checkValue('init.constant_', 'value', value, finite());
  fillFrom(t, (values) => values.fill(value));
}

function kaimingStd(shape: readonly number[], o: KaimingOptions): number {
  const { fanIn, fanOut } = fans(shape);
  const a = o.a ?? 0;
  const gain = calculateGain(o.nonlinearity ?? 'leaky_relu', a);
  return gain / Math.sqrt((o.mode ?? 'fan_in') === 'fan_in' ? fanIn : fanOut);
}

/**
 * He (Kaiming) uniform initialisation, as torch.nn.init.kaiming_uniform_: U(−b, b) with
 * b = gain·√(3 / fan), gain = calculateGain(nonlinearity, a) and fan = fan_in or fan_out of the
 * weight's shape. Defaults as PyTorch: a = 0, 'fan_in', 'leaky_relu' (so gain √2).
 *
 * @example
 * ```js
 * const conv = new sn.Conv2d(3, 16, 3);
 * sn.init.kaimingUniform(conv.weight, { nonlinearity: 'relu' });
 * sn.init.constant_(conv.bias, 0);
 * ```
 */
export function kaimingUniform(t: Tensor | Parameter, options: KaimingOptions = {}): void {
  checkTarget('init.kaimingUniform', t);
  checkOptions('init.kaimingUniform', options, kaimingSpec);
  const bound = Math.sqrt(3) * kaimingStd(shapeOf(t), options);
  uniform_(t, -bound, bound);
}

/** He (Kaiming) normal initialisation, as torch.nn.init.kaiming_normal_: N(0, gain² / fan); options as kaimingUniform. */
export function kaimingNormal(t: Tensor | Parameter, options: KaimingOptions = {}): void {
  checkTarget('init.kaimingNormal', t);
  checkOptions('init.kaimingNormal', options, kaimingSpec);
  normal_(t, 0, kaimingStd(shapeOf(t), options));
}

/** Glorot (Xavier) uniform initialisation, as torch.nn.init.xavier_uniform_: U(−b, b) with b = gain·√(6 / (fan_in + fan_out)). */
export function xavierUniform(t: Tensor | Parameter, gain = 1): void {
  checkTarget('init.xavierUniform', t);
  checkValue('init.xavierUniform', 'gain', gain, finite());
  const { fanIn, fanOut } = fans(shapeOf(t));
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  uniform_(t, -bound, bound);
}

/** Glorot (Xavier) normal initialisation, as torch.nn.init.xavier_normal_: N(0, gain² · 2 / (fan_in + fan_out)). */
export function xavierNormal(t: Tensor | Parameter, gain = 1): void {
  checkTarget('init.xavierNormal', t);
  checkValue('init.xavierNormal', 'gain', gain, finite());
  const { fanIn, fanOut } = fans(shapeOf(t));
  normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}

/**
 * PyTorch's default initialisation of Linear and Conv2d, which their constructors apply: the
 * weight kaiming_uniform(a=√5), i.e. U(±1/√fan_in), and the bias U(±1/√fan_in).
 */
export function defaultLayerInit(weight: Parameter, bias: Parameter | null): void {
  kaimingUniform(weight, { a: Math.sqrt(5) });
  if (bias) {
    const bound = 1 / Math.sqrt(fans(weight.shape).fanIn);
    uniform_(bias, -bound, bound);
  }
}
