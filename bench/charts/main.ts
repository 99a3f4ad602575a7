// `npm run bench:charts -- RESULTS.json [--out DIR]`: the SVG charts of a results file written by
// `npm run bench -- --json RESULTS.json` (its steady run and sustained-rate probes), into
// docs/charts/ unless --out says otherwise. Overwrites the files of the runs the file has.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { renderRun } from './charts.js';
import { readChartInput } from './input.js';

const USAGE = 'usage: npm run bench:charts -- RESULTS.json [--out DIR]   (RESULTS.json: from npm run bench -- --json RESULTS.json)';

function fail(message: string): never {
  process.stderr.write(`bench:charts: ${message}\n${USAGE}\n`);
  process.exit(2);
}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      options: { out: { type: 'string', default: 'docs/charts' }, help: { type: 'boolean', default: false } },
      allowPositionals: true,
    });
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
})();
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (positionals.length !== 1) fail('one results file expected');

const input = readChartInput(JSON.parse(await readFile(positionals[0]!, 'utf8')));
for (const reason of input.skipped) process.stderr.write(`bench:charts: no charts for ${reason}\n`);
if (input.runs.length === 0) fail('nothing to chart: the file has neither a steady run nor a sustained search with timelines');
await mkdir(values.out, { recursive: true });
for (const run of input.runs) {
  for (const { file, svg } of await renderRun(run)) {
    const target = path.join(values.out, file);
    await writeFile(target, svg);
    process.stdout.write(`${target}\n`);
  }
}
