// Node flags every processor process runs with: on the VM, under `myt dev`, in the tests and the
// benchmark. The processor's live heap is small (about 17 MB with the default prefetch), but at tens
// of thousands of messages a second V8 promotes buffered deliveries to the old generation and, left
// to its own growth heuristics, lets that space swell: peak RSS rose past 180 MB over 500k messages.
// Capping the old generation makes V8 collect it sooner (peak RSS 106-110 MB over the same run,
// throughput unchanged within noise); a smaller young generation trims another ~17 MB.
// 96 MB still leaves a user's script several times the processor's own live heap.
export const PROCESSOR_NODE_FLAGS: readonly string[] = ['--max-old-space-size=96', '--max-semi-space-size=8'];
