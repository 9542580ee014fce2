import { ScopedVars } from '@grafana/data';

export interface FakeVariable {
  value: string | string[];
  multi?: boolean;
  includeAll?: boolean;
}

type Format = string | ((value: string | string[], variable: FakeVariable) => string) | undefined;

/**
 * The part of Grafana's TemplateSrv the data source uses: $name, ${name} and
 * [[name]] are replaced; a format function gets the raw value (an array for
 * several values) and the variable, as Grafana passes them; 'csv' joins with
 * commas; several values without a format become {a,b} like Grafana's glob
 * default. Scoped variables win over dashboard variables.
 */
export class FakeTemplateSrv {
  constructor(public variables: Record<string, FakeVariable> = {}) {}

  replace(target?: string, scopedVars?: ScopedVars, format?: Format): string {
    if (!target) {
      return target ?? '';
    }
    return target.replace(/\$(\w+)|\$\{(\w+)\}|\[\[(\w+)\]\]/g, (whole, a, b, c) => {
      const name = a ?? b ?? c;
      const scoped = scopedVars?.[name];
      const variable: FakeVariable | undefined = scoped ? { value: String(scoped.value) } : this.variables[name];
      if (!variable) {
        return whole;
      }
      if (typeof format === 'function') {
        return format(variable.value, variable);
      }
      const values = Array.isArray(variable.value) ? variable.value : [variable.value];
      if (format === 'csv') {
        return values.join(',');
      }
      return values.length > 1 ? `{${values.join(',')}}` : values[0];
    });
  }

  containsTemplate(target?: string): boolean {
    return Boolean(target && /\$\w+|\$\{\w+\}|\[\[\w+\]\]/.test(target));
  }

  getVariables() {
    return [];
  }

  updateTimeRange() {}
}
