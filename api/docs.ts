import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import Router from '@koa/router';
import { openApiDocument } from './openapi.js';
import { EXACT_PATHS } from './routing.js';

/**
 * GET /openapi.json: the OpenAPI document (api/openapi.ts).
 * GET /docs: Swagger UI for it, offline: the page, its script and its styles are all served from
 * here (the `swagger-ui-dist` package), every reference in them is relative, and a Content
 * Security Policy keeps the browser from loading anything from another origin. The spec is
 * fetched from `openapi.json` relative to the page, so the docs work behind a path prefix too.
 */

const SWAGGER_UI_DIR = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** The files of swagger-ui-dist the page uses (plus the source map its CSS names), by name. */
const VENDOR_ASSETS = [
  'swagger-ui.css',
  'swagger-ui.css.map',
  'swagger-ui-bundle.js',
  'index.css',
  'favicon-32x32.png',
  'favicon-16x16.png',
];

const CONTENT_TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
};

// 'unsafe-inline' styles: Swagger UI sets style attributes. Nothing else from anywhere but here.
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const DOCS_PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Order service API</title>
    <link rel="stylesheet" type="text/css" href="docs/swagger-ui.css">
    <link rel="stylesheet" type="text/css" href="docs/index.css">
    <link rel="icon" type="image/png" href="docs/favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="docs/favicon-16x16.png" sizes="16x16">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="docs/swagger-ui-bundle.js" charset="utf-8"></script>
    <script src="docs/swagger-initializer.js" charset="utf-8"></script>
  </body>
</html>
`;

// validatorUrl: null, or Swagger UI shows a badge fetched from its public validator.
const INITIALIZER = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: 'openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
};
`;

interface Asset {
  type: string;
  body: string | Buffer;
  cache: string;
}

/** The paths this middleware answers (GET and HEAD), with their bodies; vendor files read on first use. */
function docsAssets(): Map<string, () => Asset> {
  const assets = new Map<string, () => Asset>();
  const fixed =
    (type: string, body: string): (() => Asset) =>
    () => ({ type, body, cache: 'no-cache' });
  let openApiJson: string | undefined;
  assets.set('/openapi.json', () => {
    openApiJson ??= JSON.stringify(openApiDocument());
    return { type: 'application/json; charset=utf-8', body: openApiJson, cache: 'no-cache' };
  });
  assets.set('/docs', fixed('text/html; charset=utf-8', DOCS_PAGE));
  assets.set('/docs/swagger-initializer.js', fixed('text/javascript; charset=utf-8', INITIALIZER));
  for (const name of VENDOR_ASSETS) {
    let body: Buffer | undefined;
    const type = CONTENT_TYPES[path.extname(name)] ?? 'application/octet-stream';
    assets.set(`/docs/${name}`, () => {
      body ??= readFileSync(path.join(SWAGGER_UI_DIR, name));
      return { type, body, cache: 'public, max-age=86400' };
    });
  }
  return assets;
}

/** The docs' routes (GET and HEAD); mount with publicRoutes (api/routing.ts), which answers their other methods. */
export function docsRoutes(): Router {
  openApiDocument(); // built now, so a schema it cannot represent stops the process at start
  const router = new Router(EXACT_PATHS);
  router.get('/docs/', (ctx) => {
    ctx.redirect('../docs'); // relative: the page's own relative references need /docs
  });
  for (const [path, asset] of docsAssets()) {
    router.get(path, (ctx) => {
      const { type, body, cache } = asset();
      ctx.status = 200;
      ctx.type = type;
      ctx.set('Cache-Control', cache);
      ctx.set('X-Content-Type-Options', 'nosniff');
      if (path.startsWith('/docs')) ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
      ctx.body = body;
    });
  }
  return router;
}
