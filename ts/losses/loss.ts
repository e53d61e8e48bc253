// Loss base: forward(y, target) computes the value and, fused, dL/dy into the loss's own
// buffer; LossValue.backward() back-propagates that gradient through the graph that made y.
import { Block, f32, reuseBlock, rt } from '../runtime/index.js';
import { Tensor, formatShape, shapeSize } from '../tensor.js';
import { backwardFrom } from '../autograd/graph.js';
import { endOfGraph } from '../autograd/state.js';

/**
 * What a loss's forward() returns: the loss `value`, and `backward()`, which back-propagates its
 * gradient through the model that made the prediction (as PyTorch's `loss.backward()`).
 *
 * @example
 * ```js
 * const loss = lossFn.forward(model.forward(x), labels);
 * loss.backward();            // fills every parameter's grad (and x.grad, if x requires it)
 * console.log(loss.value);    // a number (also what +loss gives)
 * ```
 */
export class LossValue {
  /** @internal Losses make these from their forward(). */
  constructor(
    /** The loss (a mean over the batch unless reduction says otherwise). */
    readonly value: number,
    private readonly y: Tensor,
    private readonly grad: Tensor,
  ) {}

  /**
   * Back-propagates the loss through whatever computed the prediction, as PyTorch's
   * `loss.backward()`: every layer and functional op recorded since (a model, the modules and ops
   * before it, a tensor used twice getting the sum of its gradients), adding to every parameter's
   * `grad` and to the `grad` of every tensor made with `{ requiresGrad: true }` that fed it (a
   * model's inputs, however many, or an operand of an op). No other input gradient is computed:
   * a model's first layer skips that work, as it does in PyTorch and in fit(). Everything is
   * checked first: when an activation it needs was overwritten since (the layer ran again), it
   * throws and no gradient accumulates.
   *
   * @returns Nothing (undefined), as PyTorch's: read an input's gradient from its `grad`, e.g.
   *   `sn.tensor(data, shape, { requiresGrad: true })` then `x.grad` after backward().
   *
   * @example
   * ```js
   * const x = sn.tensor(pixels, [1, 1, 28, 28], { requiresGrad: true });
   * lossFn.forward(model.forward(x), [7]).backward();
   * x.grad.toArray();          // dL/dx; model.parameters() have their grads too
   * ```
   */
  backward(): void {
    const producer = this.y.producer;
    const node = this.y.node;
    if (!producer && !node) {
      throw new Error('loss.backward(): the prediction was not produced by a module\'s forward() or a functional op with gradients ' +
        '(or it was, inside sn.noGrad()), so there is nothing to back-propagate through');
    }
    // Layers keep only their last call's activations, and a loss only its last gradient: back-propagating
    // an older loss would silently mix two batches. The gradient's buffer is re-issued (or released) when the loss runs again.
    if (this.grad.staleness() !== null) {
      throw new Error('loss.backward(): the loss function has run forward() again (or was disposed) since this loss was computed, ' +
        'so its gradient is gone; call backward() before the next lossFn.forward()');
    }
    if (producer && !producer.isLastOutput(this.y)) {
      throw new Error(`loss.backward(): ${producer.label()} has run forward() again since it produced this loss's prediction, ` +
        'so its saved activations belong to the later call; call backward() before the next forward()');
    }
    producer?.checkBackward();
    // A layer run inside sn.noGrad() still keeps its activations: it back-propagates by itself
    // (its input gradient, which Module.backward returns, is dropped).
    if (!node) { producer!.backward(this.grad); return; }
    backwardFrom(node, this.grad);
    endOfGraph();
  }

  /** dL/dy as computed by the loss (a device view, valid until the loss runs again). */
  get gradient(): Tensor { return this.grad; }

  /** The loss as a number, so `+loss` and `loss < 0.1` work. */
  valueOf(): number { return this.value; }
}

/** How a loss reduces its per-element (or per-sample) terms: their mean, or their sum. */
export type Reduction = 'mean' | 'sum';

/**
 * The base of the losses. `forward(prediction, target)` computes the loss and, fused, its
 * gradient dL/dprediction into the loss's own buffer; the returned {@link LossValue}'s backward()
 * hands that gradient to the model. A loss is not a Module: it has no parameters or modes.
 */
export abstract class Loss {
  private inputBlock: Block | null = null;
  private gradBlock: Block | null = null;

  /** Names the loss in error messages, e.g. "CrossEntropyLoss". */
  abstract toString(): string;

  /** @internal The name for error messages (the owner of the gradient buffer). */
  label(): string { return String(this); }

  /**
   * The loss of prediction y against a target (class labels or a Tensor, by loss), with its
   * gradient; both checked first (shapes, finite values, labels in range).
   */
  abstract forward(y: Tensor, target: unknown): LossValue;

  /**
   * @internal The input y as a device tensor (copied from the host when needed), finite-checked;
   * a device y must still be intact (not released or overwritten by a later forward()). This
   * loss's own last gradient is copied too: the new gradient is written where it lives.
   */
  protected stagePrediction(y: Tensor): Tensor {
    if (y.dtype !== 'float32') throw new Error(`${this}: expected a float32 prediction, got ${y.dtype}`);
    let d = y;
    if (y.onDevice) y.assertLive(`${this} prediction`);
    if (!y.onDevice || y.block!.owner === this) {
      this.inputBlock = reuseBlock(this.inputBlock, y.size * 4, `${this} prediction ${formatShape(y.shape)}`);
      d = new Tensor(y.shape, this.inputBlock);
      d.view().set(y.view());
    }
    const bad = rt().kernels.countNonFinite(d.ptr, d.size);
    if (bad > 0) throw new Error(`${this}: ${bad} of ${d.size} prediction values are NaN or infinite (shape ${formatShape(y.shape)})`);
    return d;
  }

  /**
   * @internal A device tensor for dL/dy, reused between calls: the previous gradient goes stale
   * (and with it its LossValue's backward()).
   */
  protected gradient(shape: readonly number[]): Tensor {
    this.gradBlock = reuseBlock(this.gradBlock, shapeSize(shape) * 4, `${this} gradient ${formatShape(shape)}`);
    this.gradBlock.reissue(this, 'forward()');
    return new Tensor(shape, this.gradBlock);
  }

  /** Releases the loss's wasm buffers now (else the garbage collector does); a later forward() allocates them again. */
  dispose(): void {
    this.inputBlock?.free(); this.gradBlock?.free(); this.inputBlock = this.gradBlock = null;
  }
}

export { f32 };
