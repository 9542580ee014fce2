import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';

/** Styles the source builders share, for useStyles2. */
export const getEditorStyles = (theme: GrafanaTheme2) => ({
  // As tall as an input, so a switch or a badge sits on the same line as its neighbours
  // rather than at the top of the field.
  control: css({ display: 'flex', alignItems: 'center', minHeight: theme.spacing(theme.components.height.md) }),
  // A block of its own: as an inline <code> (Grafana's global style gives it
  // a border) a long query wrapped into broken boxes, cut inside names. The
  // series builder's PromQL and every builder's query preview look alike.
  preview: css({
    display: 'block',
    fontFamily: theme.typography.fontFamilyMonospace,
    fontSize: theme.typography.bodySmall.fontSize,
    lineHeight: theme.typography.bodySmall.lineHeight,
    padding: theme.spacing(0.75, 1),
    color: theme.colors.text.primary,
    background: theme.colors.background.primary,
    border: `1px solid ${theme.colors.border.weak}`,
    borderRadius: theme.shape.radius.default,
    whiteSpace: 'pre-wrap',
    overflowWrap: 'anywhere',
  }),
});
