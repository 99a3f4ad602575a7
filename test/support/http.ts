/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are checked by the tests */
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
