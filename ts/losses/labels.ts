// Class-label handling shared by the classification losses: validation before anything is
// touched, then a copy into an int32 wasm buffer that the loss keeps between calls.
import { i32 } from '../runtime/index.js';
import type { Block } from '../runtime/index.js';
import { ensure } from './loss.js';
import { Tensor, formatShape } from '../tensor.js';

export type Labels = Int32Array | ArrayLike<number> | Tensor;

export interface ClassOptions {
  reduction?: 'mean' | 'sum';
  ignoreIndex?: number;
}

export function checkReduction(loss: string, reduction: unknown): 'mean' | 'sum' {
  if (reduction !== 'mean' && reduction !== 'sum') {
    throw new Error(`${loss}: reduction must be 'mean' or 'sum', got ${String(reduction)}`);
  }
  return reduction;
}

export function checkIgnoreIndex(loss: string, ignoreIndex: unknown): number {
  if (!Number.isInteger(ignoreIndex) || Math.abs(ignoreIndex as number) > 2 ** 31 - 1) {
    throw new Error(`${loss}: ignoreIndex must be a 32-bit integer, got ${String(ignoreIndex)}`);
  }
  return ignoreIndex as number;
}

/** Input of shape [N, C] and a label per row in [0, C) (or ignoreIndex); returns the labels and the count not ignored. */
export function checkLabels(loss: string, shape: readonly number[], labels: Labels, ignoreIndex: number):
  { values: ArrayLike<number>; counted: number } {
  if (shape.length !== 2) throw new Error(`${loss}: expected input of shape [N, C], got ${formatShape(shape)}`);
  const [N, C] = shape;
  const values = labels instanceof Tensor ? labels.toArray() : labels;
  if (!values || typeof values.length !== 'number') {
    throw new Error(`${loss}: labels must be an Int32Array, an array of numbers or a Tensor, got ${String(labels)}`);
  }
  if (values.length !== N) {
    throw new Error(`${loss}: expected ${N} labels for input of shape ${formatShape(shape)}, got ${values.length}`);
  }
  let counted = 0;
  for (let i = 0; i < N; i++) {
    const v = values[i];
    if (v === ignoreIndex) continue;
    if (!Number.isInteger(v) || v < 0 || v >= C) {
      throw new Error(`${loss}: label at index ${i} is ${String(v)}, expected an integer class index in [0, ${C})`);
    }
    counted++;
  }
  return { values, counted };
}

/** An int32 wasm copy of checked labels, in a block reused while big enough. */
export class LabelBuffer {
  private block: Block | null = null;

  upload(values: ArrayLike<number>): number {
    const bytes = Math.max(values.length, 1) * 4;
    this.block = ensure(this.block, bytes);
    i32(this.block.ptr, values.length).set(values);
    return this.block.ptr;
  }

  dispose(): void { this.block?.free(); this.block = null; }
}
