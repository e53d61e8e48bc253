// sn.browser: images and canvases in, tensors out.
export { fromPixels } from './from-pixels.js';
export type { DrawableImage, FromPixelsOptions, PixelSource, RgbaPixels } from './from-pixels.js';
