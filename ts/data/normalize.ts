// Per-channel standardisation, (x - mean[c]) / std[c], as torchvision's Normalize: channel c is
// dimension 1 (NCHW images, or the feature of [N, F] rows).
import { Tensor, formatShape, tensor, checkTensor } from '../tensor.js';
import { describe } from '../options.js';

/**
 * Per-channel standardisation, as torchvision's Normalize: (x − mean[c]) / std[c], channel c being
 * dimension 1 (NCHW images, or the features of [N, F] rows). Returns a new host tensor.
 *
 * @param images The data, [N, C, ...], float32.
 * @param mean One mean per channel, or a single one for all.
 * @param std One standard deviation (> 0) per channel, or a single one for all.
 *
 * @example
 * ```js
 * const x = sn.data.normalize(images, [0.4914, 0.4822, 0.4465], [0.247, 0.243, 0.261]);   // CIFAR-10
 * ```
 */
export function normalize(images: Tensor, mean: readonly number[], std: readonly number[]): Tensor {
  const where = 'normalize';
  checkTensor(where, 'images', images);
  if (images.dtype !== 'float32') throw new Error(`${where}: images must be float32, got ${images.dtype}`);
  if (images.shape.length < 2) throw new Error(`${where}: images of shape ${formatShape(images.shape)} have no channel dimension (dimension 1)`);
  const channels = images.shape[1];
  const m = perChannel(mean, 'mean', channels, images.shape);
  const s = perChannel(std, 'std', channels, images.shape);
  s.forEach((v, c) => { if (!(v > 0)) throw new Error(`${where}: std[${c}] is ${v}; it must be > 0`); });
  const plane = images.shape.slice(2).reduce((a, b) => a * b, 1);
  const src = images.view();
  const out = new Float32Array(images.size);
  for (let i = 0; i < out.length;) {
    for (let c = 0; c < channels; c++) {
      for (const end = i + plane; i < end; i++) out[i] = (src[i] - m[c]) / s[c];
    }
  }
  return tensor(out, images.shape);
}

function perChannel(values: readonly number[], name: string, channels: number, shape: readonly number[]): number[] {
  if (!Array.isArray(values)) throw new Error(`normalize: ${name} must be an array of numbers (one per channel, or one for all), got ${describe(values)}`);
  if (values.length !== 1 && values.length !== channels) {
    throw new Error(`normalize: ${name} has ${values.length} values; images of shape ${formatShape(shape)} have ${channels} channels (give ${channels} or 1)`);
  }
  values.forEach((v, c) => { if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`normalize: ${name}[${c}] is ${describe(v)}, not a finite number`); });
  return values.length === 1 ? new Array<number>(channels).fill(values[0]) : [...values];
}
