// Undo for a training step that fails or goes non-finite.
import type { Module } from '../module.js';
import { Tensor } from '../tensor.js';
import { rt } from '../runtime/index.js';

/**
 * Keeps a copy of the model's state (weights, running statistics, batch counts) from before each
 * step, so a step that fails or goes non-finite can be undone before it reaches a good model.
 */
export class StepGuard {
  private readonly state: Tensor[];
  private readonly copies: (Float32Array | BigInt64Array)[];

  constructor(model: Module) {
    this.state = Object.values(model.stateDict());
    this.copies = this.state.map((t) => (t.dtype === 'int64' ? new BigInt64Array(t.size) : new Float32Array(t.size)));
  }

  save(): void { this.state.forEach((t, i) => copyInto(this.copies[i], t)); }

  restore(): void {
    this.state.forEach((t, i) => {
      const copy = this.copies[i];
      if (copy instanceof BigInt64Array) (t.host as BigInt64Array).set(copy);
      else t.view().set(copy);
    });
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
