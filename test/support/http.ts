/** A JSON caller for a running server's REST API (integration tests, which go over real HTTP). */

export interface JsonResponse {
  status: number;
  body: any;
}

/** Sends `body` as JSON to `http://127.0.0.1:<port()><url>` and parses the answer (undefined when empty). */
export function apiCaller(port: () => number) {
  return async (method: string, url: string, body?: unknown): Promise<JsonResponse> => {
    const res = await fetch(`http://127.0.0.1:${port()}${url}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
}
