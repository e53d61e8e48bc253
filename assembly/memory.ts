/** First byte after the module's static data: the TS side places its buffers from here. */
export function heapBase(): usize {
  return __heap_base;
}

/** 1 in the relaxed-SIMD (fused multiply-add) build, 0 in the plain SIMD one. */
export function relaxedSimdBuild(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}
