// Undo for a training step that fails or goes non-finite.
import type { Module } from '../module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { Tensor } from '../tensor.js';
import { rt } from '../runtime/index.js';

/**
 * Keeps a copy of the model's state (weights, running statistics, batch counts) and of the
 * optimizer's (step count, momentum and moment buffers) from before each step, so a step that
 * fails or goes non-finite can be undone before it reaches a good model. The optimizer is part
 * of it: a failed step's gradient left in Adam's moments (or the step counted) would make the
 * next step differ from one taken from the restored weights.
 */
export class StepGuard {
  private readonly state: Tensor[];
  private readonly copies: (Float32Array | BigInt64Array)[];
  private readonly optimizerCopies: Float32Array[];
  private stepCount = 0;

  constructor(model: Module, private readonly optimizer: Optimizer) {
    this.state = Object.values(model.stateDict());
    this.copies = this.state.map((t) => (t.dtype === 'int64' ? new BigInt64Array(t.size) : new Float32Array(t.size)));
    this.optimizerCopies = optimizer.stateViews().map((v) => new Float32Array(v.length));
  }

  save(): void {
    this.state.forEach((t, i) => copyInto(this.copies[i], t));
    // Views are made afresh each time: memory.grow detaches old ones.
    this.optimizer.stateViews().forEach((v, i) => this.optimizerCopies[i].set(v));
    this.stepCount = this.optimizer.stepCount;
  }

  restore(): void {
    this.state.forEach((t, i) => {
      const copy = this.copies[i];
      if (copy instanceof BigInt64Array) (t.host as BigInt64Array).set(copy);
      else t.view().set(copy);
    });
    this.optimizer.stateViews().forEach((v, i) => v.set(this.optimizerCopies[i]));
    this.optimizer.stepCount = this.stepCount;
  }

  finite(): boolean {
    const k = rt().kernels;
    return this.state.every((t) => t.dtype === 'int64' || k.countNonFinite(t.ptr, t.size) === 0);
  }
}

function copyInto(dst: Float32Array | BigInt64Array, t: Tensor): void {
  if (dst instanceof BigInt64Array) dst.set(t.host as BigInt64Array);
  else dst.set(t.view());
}
