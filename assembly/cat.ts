// Concatenation along a dim, and its gradient: both are strided row copies. Viewed around the
// dim, input j is [outer, rowsⱼ] and the output [outer, Σ rowsⱼ]; forward copies input j's
// rows into the output at column offset Σ_{k<j} rowsₖ, backward copies them back out.

/** dst[r·dstStride + c] = src[r·srcStride + c] for r < rows, c < rowLen (strides in floats). */
export function copyRows(src: usize, srcStride: i32, dst: usize, dstStride: i32, rows: i32, rowLen: i32): void {
  const bytes = <usize>rowLen << 2;
  for (let r = 0; r < rows; r++) {
    memory.copy(dst + ((<usize>r * dstStride) << 2), src + ((<usize>r * srcStride) << 2), bytes);
  }
}
