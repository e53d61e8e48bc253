// The kernel table: every export here is a plain function over byte offsets into the
// imported memory. Nothing allocates; scratch comes from the caller.
export { heapBase, relaxedSimdBuild } from "./memory";
export * from "./gemm";
export * from "./util";
export * from "./bias";
export * from "./conv";
export * from "./pool";
export * from "./optim";
export * from "./activation";
export * from "./softmax";
export * from "./loss";
export * from "./dropout";
export * from "./norm";
export * from "./gemm-dot";
export * from "./elementwise";
export * from "./reduce";
export * from "./cat";
