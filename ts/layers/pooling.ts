// Shared by the pooling layers: PyTorch's output-size rule, NCHW checks, and the split of their
// kernels over threads.
import { formatShape } from '../tensor.js';
import { checkKernelRange, checkNotEmptyBatch, type Named } from './args.js';
import { rt, type Kernels, type KernelName } from '../runtime/index.js';
import { runKernel, type Task } from '../runtime/threads.js';
import { overRanges, splitLimits, splitThreads } from '../runtime/split.js';

/** Pooling passes split over threads so far (a test reads it to know a split ran). */
export const poolSplits = { count: 0 };

/**
 * Runs the pooling kernel `kernel` over `planes` N·C planes, each reading and writing
 * `floatsPerPlane` floats (input, output, and max-pooling's argmax): `args(p0, count)` gives the
 * kernel's arguments for planes p0..p0 + count. The kernels work plane by plane (argmax indices are within
 * a plane), so ranges of planes over threads write one call's bits. A pass moving less than
 * splitLimits.minBytes stays on one thread: the VGG-style net's pools at batch 64 read and write
 * 2–12 MB, 0.2–0.9 ms a pass on one thread.
 */
export function overPlanes<K extends KernelName>(
  kernel: K, planes: number, floatsPerPlane: number, args: (p0: number, count: number) => Readonly<Parameters<Kernels[K]>>,
): void {
  const threads = splitThreads(planes, 4 * planes * floatsPerPlane, splitLimits.minBytes);
  // One kernel K and its arguments: that kernel's Task (which TypeScript does not narrow a generic K to).
  const task = (p0: number, count: number) => ({ kernel, args: args(p0, count) }) as unknown as Task;
  if (threads === 1) {
    runKernel(rt().kernels, task(0, planes));
    return;
  }
  poolSplits.count++;
  overRanges(planes, threads, task);
}

/** PyTorch refuses padding larger than half the kernel: a window could then be all padding. */
export function checkPadding(layer: string, kernel: [number, number], padding: [number, number]): void {
  if (padding[0] > Math.floor(kernel[0] / 2) || padding[1] > Math.floor(kernel[1] / 2)) {
    throw new Error(`${layer}: padding must be at most half of kernel_size, got padding=(${padding.join(', ')}) and kernel_size=(${kernel.join(', ')})`);
  }
}

/**
 * PyTorch's pooling_output_shape: floor (or ceil) of (size + 2·pad − dilation·(k − 1) − 1) / stride
 * plus one; in ceil mode the last window must start inside the input or the left padding.
 */
export function pooledSize(size: number, kernel: number, stride: number, pad: number, dilation: number, ceilMode: boolean): number {
  const span = size + 2 * pad - dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0);
  let out = Math.floor(span / stride) + 1;
  if (ceilMode && (out - 1) * stride >= size + pad) out--;
  return out;
}

/**
 * Whether every window of `out` along an axis has a tap inside the input. Only windows that
 * start in the left padding can miss it, and only through dilation jumping over the input.
 */
export function windowsTouchInput(size: number, kernel: number, stride: number, pad: number, dilation: number, out: number): boolean {
  for (let o = 0; o < out && o * stride < pad; o++) {
    const start = o * stride - pad;
    const firstInside = Math.ceil(-start / dilation);
    if (firstInside >= kernel || start + firstInside * dilation >= size) return false;
  }
  return true;
}

const POOL_SIZES = ['padded height', 'padded width', 'dilated window height', 'dilated window width'] as const;

/** Padded sizes and dilated spans of a pooling window must fit the kernels' i32 indices. */
export function checkPoolRange(layer: Named, s: readonly number[], kernel: [number, number], padding: [number, number], dilation: [number, number]): void {
  checkKernelRange(layer, s, POOL_SIZES, s[2] + 2 * padding[0], s[3] + 2 * padding[1],
    dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1);
}

/** [N, C, H, W] with every dimension ≥ 1, or an Error naming the layer. */
export function checkNCHW(layer: Named, s: readonly number[]): [number, number, number, number] {
  if (s.length === 4) checkNotEmptyBatch(layer, s);
  if (s.length !== 4 || !s.every((d) => d >= 1)) {
    throw new Error(`${layer}: expected input of shape [N, C, H, W] with no empty dimension, got ${formatShape(s)}`);
  }
  return s as unknown as [number, number, number, number];
}
