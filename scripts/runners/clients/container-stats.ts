/** Container resource figures read straight from the cgroup (no `docker stats` sampling delay). */
import { readFileSync, writeFileSync } from 'node:fs';

/** RSS of one container from its cgroup (v1: memory.stat total_rss; v2: memory.stat anon). NaN if unreadable. */
export function containerRss(id: string): number {
  for (const path of [`/sys/fs/cgroup/memory/docker/${id}/memory.stat`, `/sys/fs/cgroup/system.slice/docker-${id}.scope/memory.stat`]) {
    try {
      const stat = readFileSync(path, 'utf8');
      const match = /^(?:total_rss|anon) (\d+)$/m.exec(stat);
      if (match) return Number(match[1]);
    } catch {
      // try the next layout
    }
  }
  return NaN;
}

export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

/** A container's memory as the kernel's OOM killer sees it (cgroup v1 usage, else v2 current), its peak and its limit. */
export interface ContainerMemory {
  readonly usage: number;
  /** Highest usage since the container started or the peak was last reset (v1 max_usage_in_bytes, v2 memory.peak). */
  readonly peak: number;
  readonly limit: number;
}

const read = (path: string): number => {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return text === 'max' ? Infinity : Number(text);
  } catch {
    return NaN;
  }
};

export function containerMemory(id: string): ContainerMemory {
  const v1 = `/sys/fs/cgroup/memory/docker/${id}`;
  const usage = read(`${v1}/memory.usage_in_bytes`);
  if (!Number.isNaN(usage)) return { usage, peak: read(`${v1}/memory.max_usage_in_bytes`), limit: read(`${v1}/memory.limit_in_bytes`) };
  const v2 = `/sys/fs/cgroup/system.slice/docker-${id}.scope`;
  return { usage: read(`${v2}/memory.current`), peak: read(`${v2}/memory.peak`), limit: read(`${v2}/memory.max`) };
}

/** Start a new peak (cgroup v1 takes a write of 0; v2's memory.peak can't be reset: its peak is since start). */
export function resetMemoryPeak(id: string): void {
  try {
    writeFileSync(`/sys/fs/cgroup/memory/docker/${id}/memory.max_usage_in_bytes`, '0');
  } catch {
    // v2, or not permitted: the peak stays since start
  }
}
