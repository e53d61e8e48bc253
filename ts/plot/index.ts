// Pictures as files, with no dependencies: SVG strings and PNG bytes that the caller writes to
// disk (Node) or puts in a page (browser).
export { escapeXml } from './svg.js';
export { encodePng, encodePngCompressed, crc32, adler32 } from './png.js';
export { base64, pngDataUrl } from './base64.js';
export { lossCurvesSvg } from './curves.js';
export type { History, CurvesOptions } from './curves.js';
export { featureMaps, featureMapsSvg, featureMapsPng } from './feature-maps.js';
export type { FeatureMaps, FeatureMapsOptions, FeatureMapsPictureOptions } from './feature-maps.js';
export { digitGridSvg, digitGridPng } from './digit-grid.js';
export type { DigitGridOptions } from './digit-grid.js';
