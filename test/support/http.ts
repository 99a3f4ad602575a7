/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are checked by the tests */
import http from 'node:http';
import { assertInContract } from './openapi-contract.js';

export interface JsonResponse {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

export async function request(url: string, init: RequestInit = {}): Promise<JsonResponse> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: any;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  // Every response must be one the OpenAPI document describes: its status, headers and body.
  assertInContract({ method: init.method ?? 'GET', url, status: response.status, headers: response.headers, text, body });
  return { status: response.status, headers: response.headers, text, body };
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  return request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/**
 * A request with any method, TRACE and QUERY too (fetch refuses some), no body. Checked against
 * the OpenAPI document like `request`'s, unless `contract` is false (the management port, the
 * worker's metrics server: not in the document).
 */
export function methodRequest(method: string, url: string, { contract = true } = {}): Promise<JsonResponse> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request(url, { method }, (incoming) => {
      let text = '';
      incoming.setEncoding('utf8');
      // A response cut short (the server closed the connection mid-body) emits 'error': with no
      // listener that is an uncaught exception of no test, and this promise would never settle.
      incoming.on('error', reject);
      incoming.on('data', (chunk: string) => (text += chunk));
      incoming.on('end', () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(incoming.headers)) if (typeof value === 'string') headers.set(name, value);
        let body: any;
        try {
          body = text === '' ? undefined : JSON.parse(text);
        } catch {
          body = undefined;
        }
        const status = incoming.statusCode ?? 0;
        try {
          if (contract) assertInContract({ method, url, status, headers, text, body });
          resolve({ status, headers, text, body });
        } catch (error) {
          reject(error);
        }
      });
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}
