/**
 * Password hashes: scrypt at OWASP's cost (N=2^17, r=8, p=1), parameters stored in the hash
 * (`scrypt$N=131072,r=8,p=1$<salt>$<hash>`) so hashes made at an older cost still verify and
 * can be upgraded at the next login. The older form without parameters
 * (`scrypt$<salt>$<hash>`) is Node's default cost, N=2^14.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptCost {
  /** CPU/memory cost, a power of two. */
  readonly N: number;
  /** Block size. */
  readonly r: number;
  /** Parallelism. */
  readonly p: number;
}

/** OWASP Password Storage Cheat Sheet: scrypt with N=2^17, r=8, p=1 (128 MiB per hash). */
export const SCRYPT_COST: ScryptCost = { N: 2 ** 17, r: 8, p: 1 };

/** What hashes without parameters were made with (Node's scrypt defaults). */
const LEGACY_COST: ScryptCost = { N: 2 ** 14, r: 8, p: 1 };

/** The highest cost a stored hash may ask for: a tampered row must not make a login allocate gigabytes. */
const MAX_MEMORY_BYTES = 256 * 1024 * 1024;

/**
 * Hashes running at once. Each holds 128·N·r bytes (128 MiB at the OWASP cost) for its whole
 * run, so a burst of logins queues here instead of taking the container's memory.
 */
const CONCURRENT_HASHES = 2;
let running = 0;
const waiting: (() => void)[] = [];

async function limited<T>(work: () => Promise<T>): Promise<T> {
  if (running >= CONCURRENT_HASHES) await new Promise<void>((resolve) => waiting.push(resolve));
  running += 1;
  try {
    return await work();
  } finally {
    running -= 1;
    waiting.shift()?.();
  }
}

const memoryOf = (cost: ScryptCost) => 128 * cost.N * cost.r * cost.p;

function derive(password: string, salt: Buffer, length: number, cost: ScryptCost): Promise<Buffer> {
  // Node refuses when 128·N·r exceeds maxmem (32 MiB by default): allow what this cost needs.
  const options: ScryptOptions = { N: cost.N, r: cost.r, p: cost.p, maxmem: memoryOf(cost) + 16 * 1024 * 1024 };
  return limited(() => new Promise((resolve, reject) => scrypt(password, salt, length, options, (error, key) => (error ? reject(error) : resolve(key)))));
}

export async function hashPassword(password: string, cost: ScryptCost = SCRYPT_COST): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(password, salt, 32, cost);
  return `scrypt$N=${cost.N},r=${cost.r},p=${cost.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

interface StoredHash {
  readonly cost: ScryptCost;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

function parseHash(stored: string): StoredHash | undefined {
  const parts = stored.split('$');
  if (parts[0] !== 'scrypt') return undefined;
  let cost = LEGACY_COST;
  if (parts.length === 4) {
    const match = /^N=(\d+),r=(\d+),p=(\d+)$/.exec(parts[1]!);
    if (!match) return undefined;
    cost = { N: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
    const powerOfTwo = cost.N > 1 && (cost.N & (cost.N - 1)) === 0;
    if (!powerOfTwo || cost.r < 1 || cost.p < 1 || memoryOf(cost) > MAX_MEMORY_BYTES) return undefined;
  } else if (parts.length !== 3) {
    return undefined;
  }
  const [salt, hash] = parts.slice(-2) as [string, string];
  if (!salt || !hash) return undefined;
  return { cost, salt: Buffer.from(salt, 'base64url'), hash: Buffer.from(hash, 'base64url') };
}

export async function checkPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed || parsed.hash.length === 0) return false;
  const actual = await derive(password, parsed.salt, parsed.hash.length, parsed.cost);
  return timingSafeEqual(parsed.hash, actual);
}

/** Whether `stored` was made at another cost than today's (re-hash it at the next good login). */
export function needsRehash(stored: string, cost: ScryptCost = SCRYPT_COST): boolean {
  const parsed = parseHash(stored);
  return !parsed || parsed.cost.N !== cost.N || parsed.cost.r !== cost.r || parsed.cost.p !== cost.p;
}

const dummies = new Map<string, string>();

/** A valid hash of a random password nobody knows, at `cost`: unknown emails pay for a hash too. */
export function dummyHash(cost: ScryptCost = SCRYPT_COST): string {
  const params = `N=${cost.N},r=${cost.r},p=${cost.p}`;
  if (!dummies.has(params)) dummies.set(params, `scrypt$${params}$${randomBytes(16).toString('base64url')}$${randomBytes(32).toString('base64url')}`);
  return dummies.get(params)!;
}
