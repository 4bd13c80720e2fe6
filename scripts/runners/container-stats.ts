/** Container resource figures read straight from the cgroup (no `docker stats` sampling delay). */
import { readFileSync } from 'node:fs';

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
