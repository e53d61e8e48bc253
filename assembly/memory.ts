/** First byte after the module's static data: the TS side places its buffers from here. */
export function heapBase(): usize {
  return __heap_base;
}
