// Progress output for fit(): a live bar per epoch in a terminal, one line per epoch otherwise.
import type { BatchLogs, EpochLogs } from './callbacks.js';
import { checkValue, describe, described, integer } from '../options.js';

/** Where fit() prints progress: process.stdout, or anything with a write(text) method. */
export interface ProgressStream {
  /** Writes text (no newline added). */
  write(text: string): unknown;
  /** True for a terminal: a live bar is redrawn in place (with \r); otherwise one line per epoch. */
  isTTY?: boolean;
  /** The terminal's width; longer bar lines are cut to it. */
  columns?: number;
}

const BAR = 24;
const REDRAW_MS = 100;

/**
 * fit()'s progress output: in a terminal a live bar per epoch (batch k/N, ETA, running loss and
 * accuracy, images/s), otherwise one line per epoch. fit() makes one unless `verbose` is 0.
 */
export class ProgressPrinter {
  private epochStart = 0;
  private lastDraw = 0;
  private seen = 0;
  private lossSum = 0;
  private correct = 0;
  private counted = 0;

  /** Prints to `out` for a run of `epochs` epochs (the total shown as "Epoch 3/10"). */
  constructor(private readonly out: ProgressStream, private readonly epochs: number) {
    if (typeof out !== 'object' || out === null || typeof out.write !== 'function') {
      throw new Error(`ProgressPrinter: the stream must have a write(text) method (e.g. process.stdout), got ${describe(out)}`);
    }
    checkValue('ProgressPrinter', 'epochs', epochs, described(integer(1), 'a positive integer'));
  }

  /** Starts an epoch: resets the running loss, accuracy and clock. */
  epochBegin(): void {
    this.epochStart = this.lastDraw = performance.now();
    this.seen = this.lossSum = this.correct = this.counted = 0;
  }

  /**
   * Counts a batch into the running loss and accuracy and, in a terminal, redraws the bar (at most
   * every 100 ms, and at the last batch). `correct` is the number of right predictions in the
   * batch, or null without class labels.
   */
  batch(logs: BatchLogs, correct: number | null): void {
    this.seen += logs.size;
    this.lossSum += logs.loss * logs.size;
    if (correct !== null) { this.correct += correct; this.counted += logs.size; }
    if (!this.out.isTTY) return;
    const now = performance.now();
    // A dataset of unknown size, in its first epoch: the count so far, without a bar or ETA.
    const known = Number.isFinite(logs.batches);
    const last = logs.batch + 1 === logs.batches;
    if (!last && now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    const done = known ? (logs.batch + 1) / logs.batches : 0;
    const filled = Math.round(done * BAR);
    const bar = '='.repeat(Math.max(0, filled - 1)) + (filled ? (last ? '=' : '>') : '') + ' '.repeat(BAR - filled);
    const secs = (now - this.epochStart) / 1000;
    const eta = secs / done - secs;
    const parts = [
      known ? `Epoch ${logs.epoch}/${this.epochs} [${bar}] ${logs.batch + 1}/${logs.batches}` : `Epoch ${logs.epoch}/${this.epochs} ${logs.batch + 1}/?`,
      ...(known ? [`ETA ${clock(eta)}`] : []),
      `loss ${(this.lossSum / this.seen).toFixed(4)}`,
      ...(this.counted ? [`acc ${percent(this.correct / this.counted)}`] : []),
      `${Math.round(this.seen / secs).toLocaleString('en-US')} img/s`,
    ];
    let line = parts.join('  ');
    if (this.out.columns && line.length >= this.out.columns) line = line.slice(0, this.out.columns - 1);
    this.out.write(`\r${line}\x1b[K`);
  }

  /** Prints the epoch's line: time, loss, accuracy, validation figures, learning rate and images/s. */
  epochEnd(logs: EpochLogs, batches: number): void {
    const parts = [
      `Epoch ${logs.epoch}/${this.epochs}`,
      `${batches}/${batches}`,
      `${logs.seconds.toFixed(1)}s`,
      `loss ${logs.loss.toFixed(4)}`,
      ...(logs.accuracy !== undefined ? [`acc ${percent(logs.accuracy)}`] : []),
      ...(logs.valLoss !== undefined ? [`val_loss ${logs.valLoss.toFixed(4)}`] : []),
      ...(logs.valAccuracy !== undefined ? [`val_acc ${percent(logs.valAccuracy)}`] : []),
      `lr ${logs.lr.toPrecision(3)}`,
      `${Math.round(logs.imagesPerSecond).toLocaleString('en-US')} img/s`,
    ];
    this.out.write(`${this.out.isTTY ? '\r\x1b[K' : ''}${parts.join('  ')}\n`);
  }
}

function percent(f: number): string { return `${(100 * f).toFixed(2)}%`; }

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}
