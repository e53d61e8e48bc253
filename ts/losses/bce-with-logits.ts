// BCEWithLogitsLoss: binary cross-entropy on logits, sigmoid fused in for numerical stability:
// max(x, 0) − x·t + log(1 + e^−|x|); dL/dx = sigmoid(x) − t (over numel for the mean). With
// posWeight, as PyTorch's pos_weight: −[pw·t·log σ(x) + (1 − t)·log(1 − σ(x))], pw per class.
import { Block, f32, rt } from '../runtime/index.js';
import { Tensor, formatShape } from '../tensor.js';
import { Reduction } from './loss.js';
import { ElementwiseLoss } from './elementwise-loss.js';
import { reductionRule } from './labels.js';
import { Rule, describe } from '../options.js';

/** The options of BCEWithLogitsLoss; the defaults are PyTorch's. */
export interface BCEWithLogitsLossOptions {
  /** 'mean' (default) over all elements, or 'sum'. */
  reduction?: Reduction;
  /**
   * Weight of the positive term, one per class (PyTorch's pos_weight): as many values as the
   * input's last dimension (or one for all), each finite and ≥ 0. A value above 1 trades
   * precision for recall on that class, e.g. negatives/positives for an imbalanced one.
   */
  posWeight?: Tensor | ArrayLike<number>;
}

const posWeightRule: Rule = {
  expected: 'a Tensor or an array of numbers (one per class)',
  test: (v) => (v instanceof Tensor && v.dtype === 'float32') || Array.isArray(v) ||
    (ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array)),
};

/**
 * Binary cross-entropy on logits, as torch.nn.BCEWithLogitsLoss, with the sigmoid fused in for
 * numerical stability: for each element, −[pw·t·log σ(x) + (1 − t)·log(1 − σ(x))] with pw the
 * posWeight of its class (1 without); the mean over all elements, or the sum. For binary and
 * multi-label classification (targets in [0, 1], one column per label).
 *
 * Shape:
 * - input: logits of any shape, classes in the last dimension (e.g. [N, K])
 * - target: the same shape, float32 values in [0, 1]
 * - value: a number
 *
 * @example
 * ```js
 * const lossFn = new sn.BCEWithLogitsLoss({ posWeight: [3] });   // positives weigh 3 times
 * const loss = lossFn.forward(model.forward(x), sn.tensor(targets, [N, 1]));
 * loss.backward();
 * ```
 */
export class BCEWithLogitsLoss extends ElementwiseLoss {
  /** The positive-term weights (a copy), or null for none. */
  readonly posWeight: Float32Array | null;
  private weightBlock: Block | null = null;

  /**
   * Binary cross-entropy (torch.nn.BCEWithLogitsLoss) of logits against float32 targets in [0, 1]
   * of the same shape, sigmoid fused. Options: reduction 'mean' (or 'sum'), posWeight (one weight
   * per class in the last dimension; none by default).
   *
   * @param options reduction ('mean'), posWeight (none); see {@link BCEWithLogitsLossOptions}.
   */
  constructor(options: BCEWithLogitsLossOptions = {}) {
    super('BCEWithLogitsLoss', options, { reduction: reductionRule, posWeight: posWeightRule });
    this.posWeight = options.posWeight === undefined ? null : copyPosWeight(options.posWeight);
  }

  override toString(): string { return 'BCEWithLogitsLoss'; }

  /** @internal */
  protected override checkShape(shape: readonly number[]): void {
    const w = this.posWeight;
    if (!w || w.length === 1) return;
    const classes = shape.at(-1);
    if (w.length !== classes) {
      throw new Error(`${this}: posWeight has ${w.length} values, but the input of shape ${formatShape(shape)} has ` +
        `${classes === undefined ? 'no class dimension' : `${classes} classes in its last dimension`} (give ${classes ?? 1} or 1)`);
    }
  }

  /** @internal */
  protected override run(x: number, t: number, grad: number, n: number, gradScale: number): number {
    const w = this.posWeight;
    return rt().kernels.bceWithLogitsForward(x, t, grad, n, gradScale, w ? this.weights(w) : 0, w ? w.length : 1);
  }

  /** posWeight in wasm memory, copied once. */
  private weights(w: Float32Array): number {
    if (!this.weightBlock) {
      this.weightBlock = new Block(w.length * 4);
      f32(this.weightBlock.ptr, w.length).set(w);
    }
    return this.weightBlock.ptr;
  }

  override dispose(): void { super.dispose(); this.weightBlock?.free(); this.weightBlock = null; }
}

/** The weights as float32, each checked: an Error names the first that is not finite and ≥ 0. */
function copyPosWeight(v: Tensor | ArrayLike<number>): Float32Array {
  const values: ArrayLike<unknown> = v instanceof Tensor ? v.toArray() : v;
  if (values.length === 0) throw new Error('BCEWithLogitsLoss: posWeight is empty; give one value per class');
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const w = values[i];
    if (typeof w !== 'number' || !Number.isFinite(Math.fround(w)) || w < 0) {
      throw new Error(`BCEWithLogitsLoss: posWeight[${i}] is ${describe(w)}; every value must be a finite float32 number ≥ 0`);
    }
    out[i] = w;
  }
  return out;
}
