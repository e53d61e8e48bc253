// MNIST for the page: fetches the four IDX files from a URL base, parses them with sn.data.readIdx
// and normalises pixels as sn.data.mnist does in Node, so a model trained here or there is the same.
import * as sn from '../dist/simdnet.browser.js';

const { MNIST_MEAN, MNIST_STD } = sn.data;

async function fetchIdx(base, name) {
  const url = new URL(name, base);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`could not fetch ${url}: HTTP ${res.status}`);
  return sn.data.readIdx(new Uint8Array(await res.arrayBuffer()), name);
}

/** One split's raw images (u8, N×28×28) and labels, checked to pair up. */
async function split(base, prefix) {
  const [images, labels] = await Promise.all([
    fetchIdx(base, `${prefix}-images-idx3-ubyte`), fetchIdx(base, `${prefix}-labels-idx1-ubyte`)]);
  if (images.shape.length !== 3 || labels.shape[0] !== images.shape[0]) {
    throw new Error(`MNIST ${prefix}: images of shape [${images.shape}] do not pair with labels of shape [${labels.shape}]`);
  }
  return { pixels: images.data, labels: Int32Array.from(labels.data), count: images.shape[0], height: images.shape[1], width: images.shape[2] };
}

/** Both splits, raw; `base` is a URL (relative to the page) ending in a slash. */
export async function fetchMnist(base) {
  const absolute = new URL(base, location.href);
  const [train, test] = await Promise.all([split(absolute, 'train'), split(absolute, 't10k')]);
  return { train, test };
}

/** The first `limit` images of a split as a normalised [n, 1, 28, 28] tensor and their labels. */
export function take(set, limit = set.count) {
  const n = Math.min(limit, set.count), size = set.height * set.width;
  const x = new Float32Array(n * size);
  for (let i = 0; i < x.length; i++) x[i] = normalizePixel(set.pixels[i]);
  return { x: sn.tensor(x, [n, 1, set.height, set.width]), labels: set.labels.slice(0, n) };
}

/** A 0..255 pixel as the network sees it. */
export function normalizePixel(v) {
  return (v / 255 - MNIST_MEAN) / MNIST_STD;
}
