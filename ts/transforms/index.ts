export { Transform, compose } from './transform.js';
export { randomCrop } from './random-crop.js';
export type { RandomCropOptions } from './random-crop.js';
export { randomHorizontalFlip } from './random-horizontal-flip.js';
