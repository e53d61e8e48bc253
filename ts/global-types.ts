// Global type names that simdnet's declarations mention (ready()'s options, the runtime's memory),
// declared for TypeScript projects without the DOM lib: a Node project has @types/node, which
// (v20 at least) declares no WebAssembly namespace and no BufferSource. A DOM interface that a
// public signature names can be added here the same way, as an empty interface. Types only: this
// module has no runtime content; index.ts and internal.ts reference it so that every published
// entry point brings it along (tests/types.test.js checks a Node project and a browser project).

declare global {
  // Empty interfaces merge with the full declarations wherever the DOM lib (or a newer
  // @types/node) provides them, so a browser project sees the real ones unchanged.
  namespace WebAssembly {
    /** A compiled WebAssembly module (declared in full by the DOM lib). */
    interface Module {}
    /** A WebAssembly linear memory (declared in full by the DOM lib). */
    interface Memory {}
  }
}

// BufferSource is a DOM type alias, which a global declaration cannot merge with (it would be a
// duplicate in a browser project), so it is given to the one module that names it instead.
declare module './runtime/wasm.js' {
  /** Bytes: an ArrayBuffer or a view of one (a typed array, a DataView, a Node Buffer). */
  type BufferSource = ArrayBuffer | ArrayBufferView;
}

export {};
