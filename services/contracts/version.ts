/**
 * VERSION: the label a color runs (shown as `X-Parity-Version`). `make deploy` checks it before
 * anything changes and a stub checks it at start, with this one pattern, so what a deploy
 * accepts is exactly what the container accepts.
 */

/** Semver-ish, no spaces or shell characters: it ends up in an env file and in headers. */
export const VERSION_PATTERN = /^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$/;

/** What `VERSION_PATTERN` allows, in words, for messages. */
export const VERSION_RULE = 'letters, digits and . _ + -, starting with a letter or digit, at most 64';
