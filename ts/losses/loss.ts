// Loss base: forward(y, target) computes the value and, fused, dL/dy into the loss's own
// buffer; LossValue.backward() hands that gradient to the module that produced y.
import { Block, f32, rt } from '../runtime/index.js';
import { Tensor, formatShape, shapeSize } from '../tensor.js';

export class LossValue {
  constructor(
    /** The loss (a mean over the batch unless reduction says otherwise). */
    readonly value: number,
    private readonly y: Tensor,
    private readonly grad: Tensor,
  ) {}

  /** Back-propagates through the module that produced y; returns dL/dx of that module's input. */
  backward(): Tensor {
    if (!this.y.producer) {
      throw new Error('loss.backward(): the prediction was not produced by a module\'s forward(), so there is nothing to back-propagate through');
    }
    return this.y.producer.backward(this.grad);
  }

  /** dL/dy as computed by the loss (a device view, valid until the loss runs again). */
  get gradient(): Tensor { return this.grad; }

  valueOf(): number { return this.value; }
}

export type Reduction = 'mean' | 'sum';

export abstract class Loss {
  private inputBlock: Block | null = null;
  private gradBlock: Block | null = null;

  /** Names the loss in error messages, e.g. "CrossEntropyLoss". */
  abstract toString(): string;

  /** The loss of prediction y against a target (class labels or a Tensor, by loss). */
  abstract forward(y: Tensor, target: unknown): LossValue;

  /** @internal The input y as a device tensor (copied from the host when needed), finite-checked. */
  protected stagePrediction(y: Tensor): Tensor {
    if (y.dtype !== 'float32') throw new Error(`${this}: expected a float32 prediction, got ${y.dtype}`);
    let d = y;
    if (!y.onDevice) {
      this.inputBlock = ensure(this.inputBlock, y.size * 4);
      d = new Tensor(y.shape, this.inputBlock);
      d.view().set(y.view());
    }
    const bad = rt().kernels.countNonFinite(d.ptr, d.size);
    if (bad > 0) throw new Error(`${this}: ${bad} of ${d.size} prediction values are NaN or infinite (shape ${formatShape(y.shape)})`);
    return d;
  }

  /** @internal A device tensor for dL/dy, reused between calls. */
  protected gradient(shape: readonly number[]): Tensor {
    this.gradBlock = ensure(this.gradBlock, shapeSize(shape) * 4);
    return new Tensor(shape, this.gradBlock);
  }

  /** Releases the loss's wasm buffers. */
  dispose(): void { this.inputBlock?.free(); this.gradBlock?.free(); this.inputBlock = this.gradBlock = null; }
}

function ensure(block: Block | null, bytes: number): Block {
  if (block && block.bytes >= bytes) return block;
  block?.free();
  return new Block(bytes);
}

export { f32 };
