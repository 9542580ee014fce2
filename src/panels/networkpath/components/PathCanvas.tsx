import React, { useLayoutEffect, useRef } from 'react';
import { GrafanaTheme2 } from '@grafana/data';

import { CENTER_Y, PathLayout, titleAt } from './rowLayout';

// One canvas a row: painting a path costs no DOM nodes and no layout, which
// is what keeps a 500-flow update each second well inside a frame (SVG text
// layout alone took about 7 ms per update).

interface Props {
  layout: PathLayout;
  width: number;
  height: number;
  theme: GrafanaTheme2;
  className?: string;
}

function paint(ctx: CanvasRenderingContext2D, layout: PathLayout, width: number, height: number, theme: GrafanaTheme2) {
  const dpr = window.devicePixelRatio || 1;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const font = theme.typography.fontFamily;
  const radius = parseFloat(theme.shape.radius.default) || 2;
  for (const l of layout.links) {
    ctx.beginPath();
    ctx.strokeStyle = l.faded ? theme.colors.text.disabled : theme.colors.border.strong;
    ctx.lineWidth = l.faded ? 1 : 2;
    ctx.setLineDash(l.faded ? [4, 4] : []);
    ctx.moveTo(l.x1, CENTER_Y);
    ctx.lineTo(l.x2, CENTER_Y);
    ctx.stroke();
  }
  ctx.setLineDash([]);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'alphabetic';
  // Setting ctx.font parses the font string: once per pass, not per node.
  ctx.font = `11px ${font}`;
  for (const node of layout.nodes) {
    if (node.kind === 'host') {
      ctx.globalAlpha = 1;
      ctx.fillStyle = node.fill;
      ctx.beginPath();
      ctx.arc(node.x, CENTER_Y, 6, 0, 2 * Math.PI);
      ctx.fill();
      ctx.fillStyle = node.faded ? theme.colors.text.disabled : theme.colors.text.secondary;
      ctx.fillText(node.name, node.x, layout.boxY - 6);
      continue;
    }
    ctx.globalAlpha = node.faded ? 0.4 : 1;
    ctx.fillStyle = theme.colors.text.secondary;
    if (node.above) {
      ctx.fillText(node.above, node.x, layout.boxY - 6);
    }
    ctx.fillText(node.below, node.x, layout.boxY + layout.boxH + 13);
    ctx.beginPath();
    ctx.roundRect(node.x - layout.boxW / 2, layout.boxY, layout.boxW, layout.boxH, radius);
    ctx.fillStyle = node.fill;
    ctx.fill();
    if (node.stroke) {
      ctx.strokeStyle = node.stroke;
      ctx.lineWidth = 2;
      ctx.stroke();
    }
  }
  ctx.font = `${theme.typography.fontWeightMedium} 12px ${font}`;
  for (const node of layout.nodes) {
    if (node.kind === 'switch') {
      ctx.globalAlpha = node.faded ? 0.4 : 1;
      ctx.fillStyle = node.textColor;
      ctx.fillText(node.name, node.x, CENTER_Y + 4, layout.boxW - 6);
    }
  }
  ctx.globalAlpha = 1;
  if (layout.drop) {
    const { x } = layout.drop;
    ctx.beginPath();
    ctx.fillStyle = theme.colors.error.main;
    ctx.arc(x, CENTER_Y, 8, 0, 2 * Math.PI);
    ctx.fill();
    ctx.beginPath();
    ctx.strokeStyle = theme.colors.error.contrastText;
    ctx.lineWidth = 2;
    ctx.moveTo(x - 3.5, CENTER_Y - 3.5);
    ctx.lineTo(x + 3.5, CENTER_Y + 3.5);
    ctx.moveTo(x + 3.5, CENTER_Y - 3.5);
    ctx.lineTo(x - 3.5, CENTER_Y + 3.5);
    ctx.stroke();
  }
}

export function PathCanvas({ layout, width, height, theme, className }: Props) {
  const ref = useRef<HTMLCanvasElement>(null);
  const dpr = typeof window !== 'undefined' ? window.devicePixelRatio || 1 : 1;
  useLayoutEffect(() => {
    // jsdom has no real 2D context (jest's setup stubs getContext); nothing to paint there.
    const ctx = ref.current?.getContext('2d');
    if (!ctx || typeof ctx.setTransform !== 'function') {
      return;
    }
    paint(ctx, layout, width, height, theme);
    // A canvas does not repaint itself when the web font arrives.
    let live = true;
    if (document.fonts?.status === 'loading') {
      document.fonts.ready.then(() => live && paint(ctx, layout, width, height, theme));
    }
    return () => {
      live = false;
    };
  }, [layout, width, height, theme]);
  return (
    <canvas
      ref={ref}
      className={className}
      width={Math.round(width * dpr)}
      height={Math.round(height * dpr)}
      style={{ width, height }}
      role="img"
      aria-label={layout.summary}
      data-testid="networkpath-path"
      // The hop under the pointer becomes the canvas's title (the browser's
      // tooltip), set directly: no re-render while the mouse moves.
      onMouseMove={(e) => {
        const rect = e.currentTarget.getBoundingClientRect();
        const title = titleAt(layout, e.clientX - rect.left);
        if (e.currentTarget.title !== title) {
          e.currentTarget.title = title;
        }
      }}
    />
  );
}
