import { ComboboxOption } from '@grafana/ui';

/**
 * Keeps values typed by hand (a $variable, or a name that has not arrived in
 * the time range) selectable though no catalog lists them.
 */
export function withCurrent(options: ComboboxOption[], ...current: Array<string | undefined>): ComboboxOption[] {
  const missing = current.filter((c): c is string => Boolean(c) && !options.some((o) => o.value === c));
  return missing.length > 0 ? [...missing.map((value) => ({ value })), ...options] : options;
}

/** The catalog names that contain the typed text, as options. */
export function matching(names: string[], typed: string): ComboboxOption[] {
  const t = typed.toLowerCase();
  return names.filter((n) => n.toLowerCase().includes(t)).map((value) => ({ value }));
}
