import { act, renderHook } from '@testing-library/react';

import { SLOW_MS, useSlow } from './useLoader';

describe('useSlow', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('stays false for a load that ends before SLOW_MS', () => {
    const { result, rerender } = renderHook(({ flag }) => useSlow(flag), { initialProps: { flag: true } });
    expect(result.current).toBe(false);
    act(() => jest.advanceTimersByTime(SLOW_MS - 1));
    rerender({ flag: false });
    act(() => jest.advanceTimersByTime(SLOW_MS));
    expect(result.current).toBe(false);
  });

  it('turns true after SLOW_MS and false as soon as the load ends', () => {
    const { result, rerender } = renderHook(({ flag }) => useSlow(flag), { initialProps: { flag: true } });
    act(() => jest.advanceTimersByTime(SLOW_MS));
    expect(result.current).toBe(true);
    rerender({ flag: false });
    expect(result.current).toBe(false);
  });

  it('waits SLOW_MS again for the next load', () => {
    const { result, rerender } = renderHook(({ flag }) => useSlow(flag), { initialProps: { flag: true } });
    act(() => jest.advanceTimersByTime(SLOW_MS));
    rerender({ flag: false });
    rerender({ flag: true });
    expect(result.current).toBe(false);
    act(() => jest.advanceTimersByTime(SLOW_MS));
    expect(result.current).toBe(true);
  });
});
