export { readIdx } from './idx.js';
export type { Idx, IdxData } from './idx.js';
export { mnist, MNIST_MEAN, MNIST_STD } from './mnist.js';
export type { MnistOptions, LabelledImages } from './mnist.js';
