// Base of the losses that compare a prediction with a target of the same shape, value by value.
import { Block, f32, reuseBlock, rt } from '../runtime/index.js';
import { Tensor, formatShape, checkTensor } from '../tensor.js';
import { Loss, LossValue, Reduction } from './loss.js';
import { reductionRule } from './labels.js';
import { Spec, checkOptions } from '../options.js';

/** The base of the losses that compare a prediction with a target of the same shape, value by value. */
export abstract class ElementwiseLoss extends Loss {
  /** 'mean' (over all elements) or 'sum'. */
  readonly reduction: Reduction;
  private targetBlock: Block | null = null;

  /** @internal `spec` lists the loss's options (by default only `reduction`), checked here. */
  constructor(name: string, options: { reduction?: Reduction }, spec: Spec = { reduction: reductionRule }) {
    super();
    checkOptions(name, options, spec);
    this.reduction = options.reduction ?? 'mean';
  }

  /** @internal Σ loss(y, t) over n values of shape `shape`; writes grad = gradScale · dloss/dy. */
  protected abstract run(y: number, t: number, grad: number, n: number, gradScale: number, shape: readonly number[]): number;

  /** @internal Throws when a loss's own options do not fit an input of this shape; checked before anything runs. */
  protected checkShape(_shape: readonly number[]): void {}

  /** The loss of y against a target of the same shape: a mean over all elements, or the sum. */
  forward(y: Tensor, target: Tensor): LossValue {
    checkTensor(`${this}`, 'the input', y);
    checkTensor(`${this}`, 'the target', target);
    if (y.shape.length !== target.shape.length || y.shape.some((d, i) => d !== target.shape[i])) {
      throw new Error(`${this}: the target shape ${formatShape(target.shape)} differs from the input shape ${formatShape(y.shape)}`);
    }
    if (target.dtype !== 'float32') throw new Error(`${this}: expected a float32 target, got ${target.dtype}`);
    this.checkShape(y.shape);
    const t = this.stageTarget(target);
    const x = this.stagePrediction(y);
    const scale = this.reduction === 'sum' ? 1 : 1 / y.size;
    const grad = this.gradient(y.shape);
    const total = this.run(x.ptr, t.ptr, grad.ptr, y.size, scale, y.shape);
    return new LossValue(y.size === 0 && this.reduction === 'mean' ? NaN : total * scale, y, grad);
  }

  private stageTarget(target: Tensor): Tensor {
    let t = target;
    if (target.onDevice) {
      // Used in place, even when it is this loss's own last gradient: the kernels read and write index by index.
      target.assertLive(`${this} target`);
    } else {
      this.targetBlock = reuseBlock(this.targetBlock, target.size * 4, `${this} target ${formatShape(target.shape)}`);
      t = new Tensor(target.shape, this.targetBlock);
      f32(t.ptr, t.size).set(target.view());
    }
    const bad = rt().kernels.countNonFinite(t.ptr, t.size);
    if (bad > 0) throw new Error(`${this}: ${bad} of ${t.size} target values are NaN or infinite (shape ${formatShape(target.shape)})`);
    return t;
  }

  override dispose(): void { super.dispose(); this.targetBlock?.free(); this.targetBlock = null; }
}
