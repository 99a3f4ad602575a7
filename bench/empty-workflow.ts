// The benchmark's yardstick for the Temporal server (limit (e), bench/floor.ts): a workflow that
// does nothing, so its cost is only what any workflow costs the server (its start, one workflow
// task, its completion), against which the order's workflow is read.
export async function emptyWorkflow(): Promise<void> {}
