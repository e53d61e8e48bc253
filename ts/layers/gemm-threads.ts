// A GEMM split by ranges of C's rows over the threads (runtime/split.ts): a Linear's forward and
// input gradient by rows of the batch, its weight gradient by output rows (rows of dW = dyᵀ·x).
// Each range is a whole GEMM over all of K on its rows alone, the same bits as the whole product
// (gemmRowsSplit), so no partial sums cross threads and nothing depends on the thread count.
import { gemmScratch, rt } from '../runtime/index.js';
import { blockRanges } from '../runtime/threads.js';
import { overRanges, splitLimits, splitThreads } from '../runtime/split.js';

/** Rows of C a range is made of: gemm's micro-tile height, which gemmRowsSplit asks ranges to start on. */
const ROW_UNIT = 4;

/** GEMMs split by rows so far (a test reads it to know a split ran). */
export const gemmSplits = { rows: 0 };

/**
 * The row ranges [r0, Mi] of C that gemmAct(transA, transB, M, N, K) may be split into over the
 * threads ready now, or null where it stays on one thread: a product under
 * splitLimits.minGemmFlops, or one whose ranges would take another path than the whole.
 */
export function gemmRowRanges(transA: number, transB: number, M: number, N: number, K: number): [number, number][] | null {
  const units = Math.ceil(M / ROW_UNIT);
  const threads = splitThreads(units, 2 * M * N * K, splitLimits.minGemmFlops);
  if (threads < 2) return null;
  const rows = blockRanges(M, threads, ROW_UNIT);
  const k = rt().kernels;
  return rows.every(([r0, Mi]) => k.gemmRowsSplit(transA, transB, M, N, K, r0, Mi) === 1) ? rows : null;
}

/**
 * C (+)= op(A)·op(B), then the activation `act` on C (gemmAct, as runtime/index.ts's gemm with
 * transA/transB as 0/1 and offsets in bytes), on every thread ready when the product is big
 * enough: each thread a range of C's rows. Returns gemmAct's answer (1 when a value before the
 * activation was NaN or infinite in any range).
 */
export function gemmRows(
  transA: number, transB: number, M: number, N: number, K: number,
  A: number, lda: number, B: number, ldb: number, C: number, ldc: number, accumulate: number, act = 0,
): number {
  const rows = gemmRowRanges(transA, transB, M, N, K);
  if (!rows) return rt().kernels.gemmAct(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate, gemmScratch(), act);
  gemmSplits.rows++;
  // Row r of op(A): A's row r, or its column r when A is stored K×M.
  const aRow = transA ? 4 : lda * 4;
  const bad = overRanges(rows.length, rows.length, (i, _one, t) => {
    const [r0, Mi] = rows[i];
    return { kernel: 'gemmAct', args: [transA, transB, Mi, N, K, A + r0 * aRow, lda, B, ldb, C + r0 * ldc * 4, ldc, accumulate, gemmScratch(t), act] };
  });
  return bad.some((b) => b !== 0) ? 1 : 0;
}
