/**
 * HTML with every interpolation escaped: user text (an event title, a comment) can't become
 * markup or script in the frontend. Only `raw()` values pass unescaped, and only the page
 * templates below create them.
 */
const RAW = Symbol('raw-html');
export interface RawHtml {
  readonly [RAW]: string;
}

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`=/]/g, (char) => `&#${char.charCodeAt(0)};`);
}

export function raw(markup: string): RawHtml {
  return { [RAW]: markup };
}

const render = (value: unknown): string => {
  if (Array.isArray(value)) return value.map(render).join('');
  if (value && typeof value === 'object' && RAW in value) return (value as RawHtml)[RAW];
  return escapeHtml(value);
};

/** Tagged template: `html\`<p>${userText}</p>\`` escapes userText; nested html`` stays markup. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): RawHtml {
  return raw(strings.reduce((out, string, index) => out + string + (index < values.length ? render(values[index]) : ''), ''));
}

export const toString = (markup: RawHtml): string => markup[RAW];
