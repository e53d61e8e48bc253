// The kernel table: every export here is a plain function over byte offsets into the
// imported memory. Nothing allocates; scratch comes from the caller. Only what the TypeScript
// layer calls, and the raw Winograd and flat passes below that the zoo and the tests call; the
// helpers the kernels share (addFloats, the convolutions' bias sweeps, gemm.ts's gemmDot) stay
// inside.
export { heapBase, relaxedSimdBuild } from "./memory";
export { gemmScratchFloats, gemm, gemmAct, gemmRowsSplit } from "./gemm"; // not its micro-kernel, which conv-winograd.ts inlines
export { countNonFinite, fill, addInto } from "./util";
export { biasRows, biasGradRows } from "./bias";
export * from "./conv";
export { conv2dWinogradWeightGrad } from "./conv-winograd-table";
// Winograd on any 3×3 (and, F(2×2,5×5), 5×5) stride-1 shape, outside conv2dAlgorithm's table: the zoo times it beside the
// direct path to fill that table, and the tests check it on shapes the table leaves direct.
export { winogradScratchFloats, winogradForward, winogradInputGrad } from "./conv-winograd";
export { winogradF4x4ScratchFloats, winogradF4x4Forward, winogradF4x4InputGrad } from "./conv-winograd-f4";
export { winogradF2x2K5ScratchFloats, winogradF2x2K5Forward, winogradF2x2K5InputGrad } from "./conv-winograd-f2x2-5x5";
export { winogradF4x4K5ScratchFloats, winogradF4x4K5Forward, winogradF4x4K5InputGrad } from "./conv-winograd-f4x4-5x5";
export { winogradF4x4K5WeightGradScratchFloats, winogradF4x4K5WeightGrad } from "./conv-winograd-dw-f4x4-5x5";
export { winogradWeightGradScratchFloats, winogradWeightGrad } from "./conv-winograd-dw";
export { winogradF4x4WeightGradScratchFloats, winogradF4x4WeightGrad, winogradF2x2K5WeightGradScratchFloats, winogradF2x2K5WeightGrad } from "./conv-winograd-dw-f4";
// The direct flat path on any stride-1 shape, outside conv2dAlgorithm's table: the zoo times it
// beside Winograd on the shapes the table sends there, so the direct kernels' share of the peak is
// measured on every shape.
export { flatScratchFloats, flatForward, flatBackward } from "./conv-flat-pass";
export * from "./pool";
export * from "./optim";
export * from "./activation";
export * from "./softmax";
export * from "./loss";
export * from "./dropout";
export * from "./norm";
export { batchNormCoefficients, channelAffineAct, activationChecked } from "./epilogue";
export * from "./elementwise";
export * from "./reduce";
export * from "./cat";
