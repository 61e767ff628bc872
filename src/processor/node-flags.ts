// Node flags every processor process runs with: on the VM, under `myt dev`, in the tests and the
// benchmark. The processor's live heap is small (about 17 MB with the default prefetch), but at tens
// of thousands of messages a second deliveries waiting in the prefetch window outlive two scavenges
// and are promoted, about 2 MB per scavenge.
// - `--max-old-space-size=96`: left to its own heuristics V8 let that old generation swell, and peak
//   RSS passed 180 MB over 500k messages. 96 MB still leaves a user's script several times the
//   processor's own live heap.
// - `--heap-growing-percent=100`: with the cap alone, V8 grew the old generation by only ~50% after
//   each full collection, so one started every ~300 ms, and the collector took a third of the
//   processor's CPU. Letting it double: one full collection per run of 120k messages instead of 12,
//   processor CPU per message 13-16 µs → 9-12 µs, peak RSS 112-130 MB (500k messages included).
// Smaller semi-spaces were tried both times and dropped for the processor alone: more scavenges
// promote more, and cost CPU.
export const PROCESSOR_NODE_FLAGS: readonly string[] = ['--max-old-space-size=96', '--heap-growing-percent=100'];

// With a script, a second isolate (the script's worker) runs beside the processor and peak RSS was
// 157-160 MB over the 150 MB target. Measured in interleaved bench rounds: `--max-semi-space-size=8`
// on the main thread brought it to 141-144 MB at the same processor CPU per message with a script
// (12.2 µs either way); without a script it cost about 2 µs/msg, so only the script case takes it.
// A smaller young generation for the worker itself (resourceLimits.maxYoungGenerationSizeMb: 8)
// changed nothing (158-160 MB) and was dropped.
export const SCRIPT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];

/** The node flags of a processor, with or without a user's script. */
export function processorNodeFlags(withScript: boolean): readonly string[] {
  return withScript ? [...PROCESSOR_NODE_FLAGS, ...SCRIPT_NODE_FLAGS] : PROCESSOR_NODE_FLAGS;
}
