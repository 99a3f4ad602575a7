// A Vega-Lite spec to an SVG string, in Node without a browser: Vega-Lite compiles the spec to
// Vega, and a headless Vega view (renderer 'none') renders it to SVG text. Without the optional
// `canvas` package Vega estimates text widths, so the layout is the same on every machine.
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
