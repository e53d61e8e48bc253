// The browser (and worker) implementation of the platform (see platform.ts), chosen by the
// `default` condition of the package's `#platform` import: everything outside Node. It imports
// nothing from Node; the file functions refuse, and the public functions that need them say
// what to use in a page instead before they get here.
import type { Platform } from './platform.js';

function nodeOnly(what: string): never {
  throw new Error(`simdnet: ${what} needs Node (files on disk); this is a browser build of simdnet`);
}

export const platform: Platform = {
  node: false,
  enableRelaxedSimd(): void {},
  readFile: (path) => Promise.reject(new Error(`simdnet: reading the file ${String(path)} needs Node; in a page fetch it by URL instead`)),
  writeFileAtomic: (path) => Promise.reject(new Error(`simdnet: writing the file ${path} needs Node; in a page download the bytes instead`)),
  openFile: (path) => Promise.reject(new Error(`simdnet: reading the file ${path} needs Node; in a page fetch it by URL instead`)),
  joinPath: () => nodeOnly('a file path'),
  mnistDataDir: () => null,
};
