import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

// Driving Grafana's Combobox from the editor tests: its menu is virtualised,
// so an option exists in the DOM only once typing has narrowed the list.

/** Waits for what a slow, busy machine renders late. */
export const SLOW = { timeout: 5000 };

/** Text made safe to match literally inside a RegExp. */
export function escape(s: string) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The combobox whose accessible name starts with label. */
export function box(label: string): HTMLElement {
  return screen.getByRole('combobox', { name: new RegExp(`^${escape(label)}`) });
}

/** The rendered menu option with exactly this value; throws (so waitFor retries) while there is none. */
export function byValue(value: string): HTMLElement {
  const option = document.getElementById(`combobox-option-${value}`);
  if (!option) {
    throw new Error(`no option ${value}`);
  }
  return option;
}

/**
 * Opens a Combobox, types the option's text (or typed) so that the menu
 * renders it, and picks the option with exactly this value.
 */
export async function choose(label: string, value: string, typed = value) {
  await userEvent.click(box(label));
  // The box shows the current value when it opens: select it, type over it.
  await userEvent.keyboard(`{Control>}a{/Control}{Backspace}${typed}`);
  await userEvent.click(await waitFor(() => byValue(value), SLOW));
}
