// A pass over a dataset of batches, as fit and evaluate read it: the first batch readable ahead
// (for the checks before training), and each batch checked against the first.
import { sameShape } from '../module.js';
import { Tensor, formatShape } from '../tensor.js';
import type { Generator } from '../random.js';
import type { Dataset } from '../data/dataset.js';
import { describe } from '../options.js';
import { Data, Target, checkData } from './targets.js';

/** A pass over a dataset whose first element may have been read already (for the checks). */
export class Pass {
  private constructor(private readonly it: AsyncGenerator<unknown, void, undefined>, private first: IteratorResult<unknown, void> | null) {}

  /** A new pass over `dataset`, its shuffles drawing from `rng`. */
  static open(dataset: Dataset, rng: Generator): Pass {
    return new Pass(dataset.iterate(rng), null);
  }

  /** Reads the first element now, so that next() gives it again. */
  async peek(): Promise<unknown> {
    this.first ??= await this.it.next();
    return this.first.done ? undefined : this.first.value;
  }

  async next(): Promise<IteratorResult<unknown, void>> {
    if (this.first !== null) { const r = this.first; this.first = null; return r; }
    return this.it.next();
  }

  /** Ends the pass early: the dataset's sources close their files. */
  async close(): Promise<void> {
    await this.it.return(undefined);
  }
}

/** What the first batch of a dataset fixed: every later batch must match it. */
export interface BatchKind {
  labels: boolean;
  rowShape: readonly number[];
  targetShape: readonly number[];
}

/**
 * A batch of a dataset as Data, or an Error naming `where`: an element { x, y } with x a float32
 * Tensor [m, ...] and y m class labels or a float32 Tensor target [m, ...], finite, and (given
 * `kind`) of the first batch's kind and sample shapes.
 */
export function datasetBatch(where: string, element: unknown, kind: BatchKind | null): Data {
  if (typeof element !== 'object' || element === null || !('x' in element) || !('y' in element)) {
    throw new Error(`${where}: a batch must be an object { x, y }, got ${describe(element)}`);
  }
  const { x, y } = element as { x: Tensor; y: Target };
  const data = checkData(where, x, y);
  if (kind !== null) {
    if (data.labels !== null !== kind.labels) {
      throw new Error(`${where}: y is ${data.labels ? 'class labels' : 'a Tensor target'}, the first batch's ${kind.labels ? 'class labels' : 'a Tensor target'}`);
    }
    if (!sameShape(data.rowShape, kind.rowShape)) {
      throw new Error(`${where}: x has shape ${formatShape(x.shape)}, samples of ${formatShape(data.rowShape)}; the first batch's samples are ${formatShape(kind.rowShape)}`);
    }
    if (!kind.labels && !sameShape(data.targetShape, kind.targetShape)) {
      throw new Error(`${where}: y has shape ${formatShape((y as Tensor).shape)}; the first batch's targets are ${formatShape(kind.targetShape)} per sample`);
    }
  }
  return data;
}

