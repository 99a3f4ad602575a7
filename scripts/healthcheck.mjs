#!/usr/bin/env node
// The container image's HEALTHCHECK (plain Node, no dependencies, quick to start). With URLs as
// arguments it checks those; without, it checks whichever of the image's two processes runs
// here: the API's liveness (http://127.0.0.1:$PORT/health/live) or, if nothing listens there, the
// worker's (http://127.0.0.1:$WORKER_METRICS_PORT/health/live). Healthy when one answers 200.
const urls = process.argv.slice(2);
if (urls.length === 0) {
  urls.push(`http://127.0.0.1:${process.env.PORT || '3000'}/health/live`);
  if (process.env.WORKER_METRICS_PORT) urls.push(`http://127.0.0.1:${process.env.WORKER_METRICS_PORT}/health/live`);
}
const TIMEOUT_MS = 2000;

for (const url of urls) {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (response.ok) process.exit(0);
    console.error(`${url}: ${response.status} ${await response.text()}`);
  } catch (error) {
    console.error(`${url}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
process.exit(1);
