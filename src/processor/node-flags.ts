// Node flags every processor process runs with: on the VM, under `myt dev`, in the tests and the
// benchmark. The processor's live heap is small (about 17 MB with the default prefetch), but at tens
// of thousands of messages a second V8 promotes buffered deliveries to the old generation and, left
// to its own growth heuristics, lets that space swell: peak RSS rose past 180 MB over 500k messages.
// Capping the old generation makes V8 collect it sooner: peak RSS 104-127 MB over the same runs,
// throughput unchanged within noise. 96 MB still leaves a user's script several times the
// processor's own live heap. (Smaller semi-spaces saved another ~17 MB but cost MariaDB runs 15%
// more CPU in the garbage collector, so the young generation keeps V8's default.)
export const PROCESSOR_NODE_FLAGS: readonly string[] = ['--max-old-space-size=96'];
