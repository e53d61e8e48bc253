// Running a transform on batches: the buffers between its steps, made for the largest batch and
// reused, so augmenting a batch allocates nothing once they exist.
import type { Generator } from '../random.js';
import type { Step, Transform } from './transform.js';

/** One step with the sample shapes it reads and writes. */
interface Stage {
  step: Step;
  shape: readonly number[];
  inSize: number;
  outSize: number;
}

/**
 * A transform set up for samples of one shape: the shapes after each of its steps, checked once,
 * and two buffers that the steps write into in turn (a step that works in place writes into the
 * buffer it reads, when that buffer is not the caller's).
 */
export class Augmenter {
  /** The shape of a sample after the whole transform. */
  readonly outputShape: readonly number[];
  /** The number of values in a sample after the whole transform. */
  readonly outputSize: number;
  private readonly stages: Stage[] = [];
  private readonly buffers: [Float32Array, Float32Array] = [new Float32Array(0), new Float32Array(0)];
  /** The values per sample of the largest stage output: what a buffer holds per row. */
  private readonly rowCapacity: number;

  /** Checks that samples of `sampleShape` go through `transform`, prefixing errors with `where`. */
  constructor(transform: Transform, sampleShape: readonly number[], where: string) {
    let shape = [...sampleShape];
    let capacity = 0;
    const fail = (err: unknown): never => { throw new Error(`${where}: ${(err as Error).message}`); };
    let steps: readonly Step[] = [];
    try { steps = transform.steps(); } catch (err) { fail(err); }
    for (const step of steps) {
      let next: number[] = [];
      try { next = step.outputShape(shape); } catch (err) { fail(err); }
      const stage = { step, shape, inSize: size(shape), outSize: size(next) };
      this.stages.push(stage);
      capacity = Math.max(capacity, stage.outSize);
      shape = next;
    }
    this.outputShape = Object.freeze(shape);
    this.outputSize = size(shape);
    this.rowCapacity = capacity;
  }

  /** Makes the buffers big enough for batches of `rows` samples now, so run() need not. */
  reserve(rows: number): void {
    const need = rows * this.rowCapacity;
    for (let i = 0; i < 2; i++) if (this.buffers[i].length < need) this.buffers[i] = new Float32Array(need);
  }

  /**
   * Transforms the first n samples of `src` and returns the array whose first n·outputSize values
   * hold the result: one of this augmenter's buffers, valid until the next run, or `src` itself
   * when the transform has no steps. `src` is written only when `mayOverwrite` (the caller's own
   * scratch, such as fit's gathered batch).
   */
  run(src: Float32Array, n: number, rng: Generator, mayOverwrite: boolean): Float32Array {
    let current = src, owned = mayOverwrite;
    for (let k = 0; k < this.stages.length; k++) {
      const { step, shape, inSize, outSize } = this.stages[k];
      if (step.inPlace && owned && inSize === outSize) {
        step.run(current, current, n, shape, rng);
        continue;
      }
      const next = this.buffers[0] === current ? 1 : 0;
      // Only the buffer about to be written grows: the other may hold the input of this step.
      if (this.buffers[next].length < n * outSize) this.buffers[next] = new Float32Array(n * this.rowCapacity);
      step.run(current, this.buffers[next], n, shape, rng);
      current = this.buffers[next];
      owned = true;
    }
    return current;
  }
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
