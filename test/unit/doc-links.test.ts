import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Every link of the documentation resolves: README.md, solution.md and docs/*.md. Relative links
// must name a file or folder of the repository, and a `#fragment` a heading of the target file
// (GitHub's anchors); http(s) links must be well-formed (not fetched). The README stays short.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const README_MAX_LINES = 150;

/** What the checker may look at: a file system, or a fake one in the checker's own tests. */
interface Files {
  /** A file's text, or undefined when it is not a file. */
  read(file: string): string | undefined;
  exists(file: string): boolean;
}

interface Broken {
  file: string;
  line: number;
  target: string;
  problem: string;
}

/** The text outside fenced code blocks, each fenced line blanked (so line numbers stay). */
function withoutFences(text: string): string {
  const lines = text.split('\n');
  let fence: { char: string; length: number } | undefined;
  return lines
    .map((line) => {
      const match = /^ {0,3}(`{3,}|~{3,})/.exec(line);
      if (fence) {
        if (match && match[1]![0] === fence.char && match[1]!.length >= fence.length && line.trim() === match[1]) fence = undefined;
        return '';
      }
      if (match) {
        fence = { char: match[1]![0]!, length: match[1]!.length };
        return '';
      }
      return line;
    })
    .join('\n');
}

/**
 * Code spans (CommonMark: a run of n backticks up to the next run of exactly n, within a
 * paragraph) replaced by `replace(content)`; a run with no closing run stays as it is.
 */
function replaceCodeSpans(paragraph: string, replace: (content: string) => string): string {
  let out = '';
  let i = 0;
  while (i < paragraph.length) {
    if (paragraph[i] !== '`') {
      out += paragraph[i];
      i += 1;
      continue;
    }
    let run = 0;
    while (paragraph[i + run] === '`') run += 1;
    let close = -1;
    for (let j = i + run; j < paragraph.length; ) {
      if (paragraph[j] !== '`') {
        j += 1;
        continue;
      }
      let other = 0;
      while (paragraph[j + other] === '`') other += 1;
      if (other === run) {
        close = j;
        break;
      }
      j += other;
    }
    if (close < 0) {
      out += '`'.repeat(run);
      i += run;
      continue;
    }
    const content = paragraph.slice(i + run, close);
    // Keep the span's line breaks, so that line numbers after it stay right.
    out += replace(content.replace(/\n/g, ' ').trim()) + '\n'.repeat(content.split('\n').length - 1);
    i = close + run;
  }
  return out;
}

/** Markdown text with fences blanked and code spans replaced, paragraph by paragraph. */
function proseOf(text: string, replace: (content: string) => string): string {
  return withoutFences(text)
    .split(/(\n[ \t]*\n)/)
    .map((part, index) => (index % 2 === 1 ? part : replaceCodeSpans(part, replace)))
    .join('');
}

/** GitHub's anchor of a heading: its text as rendered, lowercased, punctuation removed, spaces to '-'. */
function githubSlug(heading: string): string {
  // Code spans keep their text as it is: each character emphasis or a link could take is marked.
  const text = replaceCodeSpans(heading, (content) => content.replace(/[*_~[\]()<]/g, (c) => `\uE000${c}`))
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/(?<!\uE000)<[^>]+>/g, '')
    .replace(/(?<!\uE000)[*~]/g, '')
    .replace(/(^|[^\p{L}\p{N}\uE000])_+|(?<!\uE000)_+(?=[^\p{L}\p{N}]|$)/gu, '$1')
    .replace(/\uE000/g, '');
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a markdown file: one per heading, duplicates numbered as GitHub numbers them. */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFences(text).split('\n')) {
    const heading = /^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (heading) {
      const slug = githubSlug(heading[1]!);
      const count = seen.get(slug) ?? 0;
      seen.set(slug, count + 1);
      anchors.add(count === 0 ? slug : `${slug}-${count}`);
    }
    for (const html of line.matchAll(/<a\s[^>]*\b(?:name|id)="([^"]+)"/g)) anchors.add(html[1]!);
  }
  return anchors;
}

const INLINE_LINK =
  /!?\[((?:\\.|[^[\]\\]|\[(?:\\.|[^[\]\\])*\])*)\]\(\s*(<[^>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g;
const REFERENCE_DEFINITION = /^ {0,3}\[((?:\\.|[^\]\\])+)\]:[ \t]*(<[^>\n]*>|\S+)/;
const REFERENCE_USE = /\[((?:\\.|[^[\]\\])+)\]\[((?:\\.|[^[\]\\])*)\]/g;
const AUTOLINK = /<([a-zA-Z][a-zA-Z0-9+.-]{1,31}:[^\s<>]*)>/g;

const label = (text: string) => text.trim().replace(/\s+/g, ' ').toLowerCase();

/** The problem with one link target of `file`, or undefined when it resolves. */
function problemOf(file: string, rawTarget: string, files: Files): string | undefined {
  const target = rawTarget.startsWith('<') ? rawTarget.slice(1, -1) : rawTarget;
  if (target === '') return 'empty link';
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(target)) {
    if (!/^https?:\/\//i.test(target)) return 'not a relative, http or https link';
    try {
      const url = new URL(target);
      return url.hostname === '' ? 'no host' : undefined;
    } catch {
      return 'malformed URL';
    }
  }
  const hash = target.indexOf('#');
  const pathPart = hash < 0 ? target : target.slice(0, hash);
  const fragment = hash < 0 ? undefined : target.slice(hash + 1);
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathPart);
  } catch {
    return 'malformed path';
  }
  const resolved = decoded === '' ? file : decoded.startsWith('/') ? decoded.slice(1) : path.posix.join(path.posix.dirname(file), decoded);
  if (resolved.startsWith('..')) return 'outside the repository';
  if (!files.exists(resolved)) return `no such file: ${resolved}`;
  if (fragment === undefined) return undefined;
  if (!resolved.endsWith('.md'))
    return /^L\d+(-L\d+)?$/.test(fragment) ? undefined : `an anchor in a file that is not markdown: ${resolved}`;
  const text = files.read(resolved);
  if (text === undefined) return `not a file: ${resolved}`;
  return anchorsOf(text).has(decodeURIComponent(fragment)) ? undefined : `no heading for #${fragment} in ${resolved}`;
}

/** Every broken link of one markdown file (`file` relative to the repository's root). */
function brokenLinks(file: string, text: string, files: Files): Broken[] {
  const broken: Broken[] = [];
  const prose = proseOf(text, () => 'code');
  const lineOf = (index: number) => prose.slice(0, index).split('\n').length;
  const check = (target: string, index: number) => {
    const problem = problemOf(file, target, files);
    if (problem) broken.push({ file, line: lineOf(index), target, problem });
  };

  const definitions = new Map<string, string>();
  const lines = prose.split('\n');
  let offset = 0;
  const body = lines
    .map((line) => {
      const definition = REFERENCE_DEFINITION.exec(line);
      const start = offset;
      offset += line.length + 1;
      if (!definition) return line;
      definitions.set(label(definition[1]!), definition[2]!);
      check(definition[2]!, start);
      return ' '.repeat(line.length);
    })
    .join('\n');

  for (const link of body.matchAll(INLINE_LINK)) check(link[2]!, link.index);
  const withoutInline = body.replace(INLINE_LINK, (match) => match.replace(/[^\n]/g, ' '));
  for (const use of withoutInline.matchAll(REFERENCE_USE)) {
    const name = label(use[2] === '' ? use[1]! : use[2]!);
    if (!definitions.has(name)) broken.push({ file, line: lineOf(use.index), target: `[${name}]`, problem: 'no such reference' });
  }
  for (const autolink of withoutInline.matchAll(AUTOLINK)) check(autolink[1]!, autolink.index);
  return broken.sort((a, b) => a.line - b.line);
}

const disk: Files = {
  read: (file) => {
    const full = path.join(ROOT, file);
    return existsSync(full) && statSync(full).isFile() ? readFileSync(full, 'utf8') : undefined;
  },
  exists: (file) => existsSync(path.join(ROOT, file)),
};

const DOCS = [
  'README.md',
  'solution.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
];

describe('documentation links', () => {
  it.each(DOCS)('every link in %s resolves', (file) => {
    expect(brokenLinks(file, readFileSync(path.join(ROOT, file), 'utf8'), disk)).toEqual([]);
  });

  it(`README.md is under ${README_MAX_LINES} lines`, () => {
    const lines = readFileSync(path.join(ROOT, 'README.md'), 'utf8').trimEnd().split('\n').length;
    expect(lines).toBeLessThan(README_MAX_LINES);
  });
});

describe('the link checker', () => {
  const fake = (entries: Record<string, string>): Files => ({
    read: (file) => entries[file],
    exists: (file) => file in entries || Object.keys(entries).some((name) => name.startsWith(`${file}/`)),
  });

  it('makes anchors as GitHub does', () => {
    expect(githubSlug('`POST /orders`')).toBe('post-orders');
    expect(githubSlug('`GET /orders/:id/executions`')).toBe('get-ordersidexecutions');
    expect(githubSlug('Execution session (ingest ↔ venue)')).toBe('execution-session-ingest--venue');
    expect(githubSlug('Venue behaviour (deterministic with `VENUE_SEED`)')).toBe('venue-behaviour-deterministic-with-venue_seed');
    expect(githubSlug('`npm start`: the local system')).toBe('npm-start-the-local-system');
    expect(githubSlug('The spike: 500 POST /orders at one moment')).toBe('the-spike-500-post-orders-at-one-moment');
    expect(githubSlug('**Bold** and _emphasis_ and [a link](x.md)')).toBe('bold-and-emphasis-and-a-link');
    expect([...anchorsOf('# A\n## Notes\n```\n# not a heading\n```\n## Notes\n')]).toEqual(['a', 'notes', 'notes-1']);
  });

  it('reports missing files, missing headings, undefined references and malformed URLs, with their lines', () => {
    const text = [
      'Fine: [a](a.md), [heading](a.md#real-heading), [code](../src/code.ts), [self](#here), [web](https://example.com/x).',
      '# Here',
      'Broken: [gone](gone.md) and [anchor](a.md#no-such-heading).',
      '[reference][nowhere] and [defined][ok]',
      '',
      '[ok]: a.md#title',
      'A bad [url](http://exa%mple.com) and <https://>.',
    ].join('\n');
    const files = fake({ 'docs/a.md': '# Title\n## Real heading\n', 'docs/b.md': text, 'src/code.ts': '' });
    expect(brokenLinks('docs/b.md', text, files).map(({ line, target, problem }) => ({ line, target, problem }))).toEqual([
      { line: 3, target: 'gone.md', problem: 'no such file: docs/gone.md' },
      { line: 3, target: 'a.md#no-such-heading', problem: 'no heading for #no-such-heading in docs/a.md' },
      { line: 4, target: '[nowhere]', problem: 'no such reference' },
      { line: 7, target: 'http://exa%mple.com', problem: 'malformed URL' },
      { line: 7, target: 'https://', problem: 'malformed URL' },
    ]);
  });

  it('skips code blocks and code spans', () => {
    const text = [
      '```sh',
      'echo [not](a-link.md)',
      '```',
      'Inline `[not](a-link.md)` nor ``x [y](z.md) x``.',
      '~~~',
      '[no](no.md)',
      '~~~',
    ].join('\n');
    expect(brokenLinks('README.md', text, fake({}))).toEqual([]);
  });
});
