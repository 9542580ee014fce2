/**
 * The message of a failed backend call: Grafana's fetch errors carry the
 * response body in data, where our resources put {"error": "..."}.
 */
export function errorText(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { data?: { message?: string; error?: string }; message?: string; statusText?: string };
    return e.data?.message || e.data?.error || e.message || e.statusText || 'request failed';
  }
  return String(err);
}
