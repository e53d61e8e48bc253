// Class-label handling shared by the classification losses: validation before anything is
// touched, then a copy into an int32 wasm buffer that the loss keeps between calls.
import { Block, i32, reuseBlock } from '../runtime/index.js';
import { Tensor, formatShape } from '../tensor.js';
import { described, describe, integer, oneOf } from '../options.js';

/**
 * Class labels, one per sample, each an integer in [0, C) (or the loss's ignoreIndex): an
 * Int32Array, a BigInt64Array (int64, as PyTorch keeps them), an array of integers, or a Tensor of them.
 */
export type Labels = Int32Array | BigInt64Array | ArrayLike<number> | Tensor;

export interface ClassOptions {
  reduction?: 'mean' | 'sum';
  ignoreIndex?: number;
}

/** The losses' `reduction` option. */
export const reductionRule = oneOf('mean', 'sum');

/** The classification losses' `ignoreIndex` option: a label value, so an int32. */
export const ignoreIndexRule = described(integer(-(2 ** 31), 2 ** 31 - 1), 'a 32-bit integer');

/**
 * Input of shape [N, C] and a label per row in [0, C) (or ignoreIndex); returns the labels as
 * int32 and the count not ignored.
 */
export function checkLabels(loss: string, shape: readonly number[], labels: Labels, ignoreIndex: number):
  { values: Int32Array; counted: number } {
  if (shape.length !== 2) throw new Error(`${loss}: expected input of shape [N, C], got ${formatShape(shape)}`);
  const [N, C] = shape;
  const values = labelValues(loss, labels);
  if (values.length !== N) {
    throw new Error(`${loss}: expected ${N} labels for input of shape ${formatShape(shape)}, got ${values.length}`);
  }
  const out = new Int32Array(N);
  let counted = 0;
  for (let i = 0; i < N; i++) {
    const v = values[i];
    // int64 labels (a BigInt64Array, an int64 Tensor) are compared as numbers once they fit.
    const n = typeof v === 'bigint' && v >= -(2n ** 31n) && v < 2n ** 31n ? Number(v) : v;
    if (n === ignoreIndex) { out[i] = ignoreIndex; continue; }
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n >= C) {
      throw new Error(`${loss}: label at index ${i} is ${describe(v)}, expected an integer class index in [0, ${C})`);
    }
    out[i] = n;
    counted++;
  }
  return { values: out, counted };
}

/** The labels as an indexable list, or an Error naming what was given instead. */
function labelValues(loss: string, labels: Labels): ArrayLike<unknown> {
  if (labels instanceof Tensor) return labels.dtype === 'int64' ? labels.toInt64Array() : labels.toArray();
  const ok = Array.isArray(labels) || (ArrayBuffer.isView(labels) && !(labels instanceof DataView));
  if (!ok) {
    throw new Error(`${loss}: labels must be an Int32Array, a BigInt64Array, an array of integers or a Tensor, got ${describe(labels)}`);
  }
  return labels as ArrayLike<unknown>;
}

/** An int32 wasm copy of checked labels, in a block reused while big enough. */
export class LabelBuffer {
  private block: Block | null = null;

  upload(values: Int32Array): number {
    const bytes = Math.max(values.length, 1) * 4;
    this.block = reuseBlock(this.block, bytes, `${values.length} labels`);
    i32(this.block.ptr, values.length).set(values);
    return this.block.ptr;
  }

  dispose(): void { this.block?.free(); this.block = null; }
}
