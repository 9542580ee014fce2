import React, { useCallback, useState } from 'react';
import { css } from '@emotion/css';

// Only the rows in view (and a few either side) are in the DOM, so 500 flows
// cost what 15 do. The scroll container stays mounted across data updates,
// which keeps the user's scroll position while frames stream in.

interface Props {
  count: number;
  rowHeight: number;
  height: number;
  width: number;
  overscan?: number;
  renderRow: (index: number, top: number) => React.ReactNode;
}

export function visibleRange(scrollTop: number, height: number, rowHeight: number, count: number, overscan: number) {
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((scrollTop + height) / rowHeight) + overscan);
  return { first, last };
}

const scroller = css({ overflowY: 'auto', overflowX: 'hidden', position: 'relative', contain: 'strict' });
const inner = css({ position: 'relative' });

export function VirtualRows({ count, rowHeight, height, width, overscan = 2, renderRow }: Props) {
  const [scrollTop, setScrollTop] = useState(0);
  const onScroll = useCallback((e: React.UIEvent<HTMLDivElement>) => setScrollTop(e.currentTarget.scrollTop), []);
  const { first, last } = visibleRange(scrollTop, height, rowHeight, count, overscan);
  const rows: React.ReactNode[] = [];
  for (let i = first; i < last; i++) {
    rows.push(renderRow(i, i * rowHeight));
  }
  return (
    <div className={scroller} style={{ height, width }} onScroll={onScroll} data-testid="networkpath-scroller">
      <div className={inner} style={{ height: count * rowHeight }}>
        {rows}
      </div>
    </div>
  );
}
