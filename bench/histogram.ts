import * as hdr from 'hdr-histogram-js';

/** A latency histogram (hdr-histogram-js); values are recorded in microseconds. */
export type Histogram = hdr.Histogram;

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export function newHistogram(): Histogram {
  // 3 significant digits: 0.1% resolution at any magnitude, from 1 µs upwards.
  return hdr.build({ lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3, autoResize: true, bitBucketSize: 32 });
}

export function recordMs(histogram: Histogram, ms: number): void {
  histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
}

export function summarise(histogram: Histogram): LatencySummary {
  const ms = (us: number) => us / 1000;
  return {
    count: histogram.totalCount,
    p50Ms: ms(histogram.getValueAtPercentile(50)),
    p90Ms: ms(histogram.getValueAtPercentile(90)),
    p99Ms: ms(histogram.getValueAtPercentile(99)),
    maxMs: ms(histogram.maxValue),
    meanMs: ms(histogram.mean),
  };
}

/** A summary of values already at hand (lags read from the database), in milliseconds. */
export function summariseMs(values: Iterable<number>): LatencySummary {
  const histogram = newHistogram();
  for (const value of values) recordMs(histogram, value);
  const summary = summarise(histogram);
  histogram.destroy();
  return summary;
}
