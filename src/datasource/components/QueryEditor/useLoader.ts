import { useEffect, useState } from 'react';

import { errorText } from '../../errors';

export interface Loaded<T> {
  value?: T;
  loading: boolean;
  error?: string;
}

/**
 * Runs load whenever key changes and keeps the answer for that key. The key
 * names everything load depends on; a null key means nothing to fetch. An
 * answer that arrives after the key moved on is dropped, so a slow catalog
 * request cannot overwrite a newer one; the previous value stays shown while
 * the next loads.
 */
export function useLoader<T>(key: string | null, load: () => Promise<T>): Loaded<T> {
  const [result, setResult] = useState<{ key?: string; value?: T; error?: string }>({});

  useEffect(() => {
    if (key === null) {
      return;
    }
    let current = true;
    load().then(
      (value) => current && setResult({ key, value }),
      (err) => current && setResult({ key, error: errorText(err) })
    );
    return () => {
      current = false;
    };
    // key stands for everything load reads.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  if (key === null) {
    return { loading: false };
  }
  const done = result.key === key;
  return { value: result.value, loading: !done, error: done ? result.error : undefined };
}

/** How long a load runs before its field shows a spinner. */
export const SLOW_MS = 300;

/**
 * True once flag has stayed true for ms. A fast answer then shows no
 * spinner flash; and a @grafana/ui 12 combobox that mounts with its spinner
 * and loses it before the spinner's SVG has loaded keeps a blank icon for
 * good (the visual harness in tests/visual showed every catalog field
 * without its chevron), so the spinner only comes after a first icon.
 */
export function useSlow(flag: boolean, ms = SLOW_MS): boolean {
  const [slow, setSlow] = useState(false);

  useEffect(() => {
    if (!flag) {
      return;
    }
    const timer = setTimeout(() => setSlow(true), ms);
    return () => {
      clearTimeout(timer);
      setSlow(false);
    };
  }, [flag, ms]);

  return flag && slow;
}
