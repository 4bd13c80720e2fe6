/**
 * A drill report as text for people (summary), for CI (JUnit XML) and as a picture (SVG
 * timeline of requests OK / fallback / failed per second, with the phases marked). Pure.
 */
import { formatDuration } from '../errors.js';
import { formatFigure, type Band, type DrillReport, type Marker, type SecondCounts } from '../drills/model.js';

export const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

const at = (ms: number | undefined) => (ms === undefined ? 'never' : `+${(ms / 1000).toFixed(2)} s`);

/** The human summary printed at the end of a drill. */
export function renderDrillSummary(report: DrillReport, files: { readonly dir: string }): string {
  const verdict = report.result === 'pass' ? 'PASSED' : report.result === 'fail' ? 'FAILED (budget exceeded)' : 'BROKE';
  const totals = (lane: readonly SecondCounts[]) => lane.reduce((sum, s) => ({ ok: sum.ok + s.ok, fallback: sum.fallback + s.fallback, failed: sum.failed + s.failed }), { ok: 0, fallback: 0, failed: 0 });
  const api = totals(report.timeline.api);
  const write = totals(report.timeline.write);
  return [
    `drill ${report.drill}/${report.scenario}: ${verdict} (${formatDuration(report.durationMs)}) — ${report.description}`,
    ...(report.error ? [`  error: ${report.error}`] : []),
    '  phases:',
    ...report.markers.map((marker) => `    ${at(marker.atMs).padStart(10)}  ${marker.name}${marker.detail ? ` (${marker.detail})` : ''}`),
    '  figures:',
    ...report.figures.map(
      (figure) =>
        `    ${figure.pass ? 'ok  ' : 'FAIL'} ${figure.name.padEnd(34)} ${formatFigure(figure).padStart(10)}${figure.budget !== undefined ? `  (budget ≤ ${figure.budget} ${figure.unit === 'count' ? '' : figure.unit})`.replace(' )', ')') : ''}`,
    ),
    ...report.figures.filter((figure) => !figure.pass).map((figure) => `  why: ${figure.reason}`),
    // A drill without the database writer's lane (chaos, node) says nothing of it.
    `  users: API ${api.ok} ok, ${api.fallback} fallback, ${api.failed} failed${report.timeline.write.length ? `; writes ${write.ok} acked, ${write.failed} failed` : ''}`,
    ...((report.failures ?? []).length ? ['  failures (what the failed requests said):', ...report.failures!.map((f) => `    ${f.lane.padEnd(5)} ×${String(f.count).padEnd(5)} ${at(f.firstAtMs)} … ${at(f.lastAtMs)}  ${f.detail}`)] : []),
    ...report.notes.map((note) => `  note: ${note}`),
    ...(report.restored.length ? ['  restored:', ...report.restored.map((line) => `    ${line}`)] : []),
    `  report: ${files.dir}/ (summary.txt, report.json, junit.xml, timeline.svg)`,
  ].join('\n');
}

/** JUnit XML: one test case per figure, failing ones carry the reason; a broken drill is an error. */
export function renderDrillJunit(report: DrillReport): string {
  const name = `drill.${report.drill}.${report.scenario}`;
  const cases = report.figures.map((figure) => {
    const body = figure.pass ? '' : `\n      <failure message="${escapeXml(figure.reason)}" type="BudgetExceeded"/>\n    `;
    return `    <testcase classname="${escapeXml(name)}" name="${escapeXml(figure.name)}: ${escapeXml(formatFigure(figure))}${figure.budget !== undefined ? ` (budget ${figure.budget})` : ''}" time="0">${body}</testcase>`;
  });
  if (report.error) cases.push(`    <testcase classname="${escapeXml(name)}" name="drill ran to completion" time="0">\n      <error message="${escapeXml(report.error)}" type="DrillError"/>\n    </testcase>`);
  const failures = report.figures.filter((figure) => !figure.pass).length;
  return junitDocument('parity-drills', name, cases, failures, report.error ? 1 : 0, report.durationMs, report.startedAt);
}

/** A JUnit XML document of one suite around rendered `<testcase>` lines (drills, the contract). */
export function junitDocument(suites: string, suite: string, cases: readonly string[], failures: number, errors: number, durationMs: number, timestamp: string): string {
  const time = (durationMs / 1000).toFixed(3);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${suites}" tests="${cases.length}" failures="${failures}" errors="${errors}" time="${time}">`,
    `  <testsuite name="${escapeXml(suite)}" tests="${cases.length}" failures="${failures}" errors="${errors}" time="${time}" timestamp="${escapeXml(timestamp)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

const COLORS = { ok: '#2e7d32', fallback: '#f9a825', failed: '#c62828', bad: '#c62828', warn: '#f9a825', info: '#1565c0', grid: '#e0e0e0', text: '#212121', marker: '#424242' } as const;

interface LaneSpec {
  readonly title: string;
  readonly counts: readonly SecondCounts[];
}

/** One lane: stacked bars (ok bottom, fallback, failed on top) per second, with its own scale. */
function renderLane(lane: LaneSpec, y: number, height: number, x0: number, secondWidth: number, bands: readonly Band[], laneKey: string): string[] {
  const max = Math.max(1, ...lane.counts.map((s) => s.ok + s.fallback + s.failed));
  const scale = (height - 18) / max;
  const parts: string[] = [`<text x="${x0}" y="${y + 12}" font-size="12" font-weight="bold" fill="${COLORS.text}">${escapeXml(lane.title)} (max ${max}/s)</text>`];
  const base = y + height;
  for (const band of bands.filter((b) => b.lane === laneKey)) {
    const bx = x0 + (band.fromMs / 1000) * secondWidth;
    const bw = Math.max(1, ((band.toMs - band.fromMs) / 1000) * secondWidth);
    parts.push(`<rect x="${bx.toFixed(1)}" y="${y + 16}" width="${bw.toFixed(1)}" height="${height - 16}" fill="${COLORS[band.tone]}" opacity="0.12"><title>${escapeXml(band.label)}</title></rect>`);
    parts.push(`<text x="${(bx + 2).toFixed(1)}" y="${y + 28}" font-size="10" fill="${COLORS[band.tone]}">${escapeXml(band.label)}</text>`);
  }
  parts.push(`<line x1="${x0}" y1="${base}" x2="${x0 + lane.counts.length * secondWidth}" y2="${base}" stroke="${COLORS.grid}"/>`);
  for (const s of lane.counts) {
    let top = base;
    const x = x0 + s.second * secondWidth;
    for (const outcome of ['ok', 'fallback', 'failed'] as const) {
      const h = s[outcome] * scale;
      if (h <= 0) continue;
      top -= h;
      parts.push(`<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${Math.max(1, secondWidth - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[outcome]}"><title>+${s.second}s: ${s.ok} ok, ${s.fallback} fallback, ${s.failed} failed</title></rect>`);
    }
  }
  return parts;
}

/** One row of states under the lanes (a breaker: OPEN red, HALF-OPEN amber, closed a thin line). */
function renderStrip(name: string, bands: readonly Band[], y: number, x0: number, secondWidth: number, seconds: number): string[] {
  const parts = [
    `<text x="${x0}" y="${y + 9}" font-size="10" fill="${COLORS.text}">${escapeXml(name)}</text>`,
    `<line x1="${x0}" y1="${y + 18}" x2="${x0 + seconds * secondWidth}" y2="${y + 18}" stroke="${COLORS.ok}" stroke-width="1"/>`,
  ];
  for (const band of bands) {
    const bx = x0 + (band.fromMs / 1000) * secondWidth;
    const bw = Math.max(2, ((band.toMs - band.fromMs) / 1000) * secondWidth);
    parts.push(`<rect x="${bx.toFixed(1)}" y="${y + 12}" width="${bw.toFixed(1)}" height="12" fill="${COLORS[band.tone]}" opacity="0.85"><title>${escapeXml(`${name}: ${band.label} +${(band.fromMs / 1000).toFixed(2)}s → +${(band.toMs / 1000).toFixed(2)}s`)}</title></rect>`);
    if (bw > 40) parts.push(`<text x="${(bx + 3).toFixed(1)}" y="${y + 22}" font-size="9" fill="#ffffff">${escapeXml(band.label)}</text>`);
  }
  return parts;
}

/** The timeline picture: one lane per load (API requests, database writes), phases as vertical lines. */
export function renderDrillTimelineSvg(report: DrillReport): string {
  const lanes: { key: string; spec: LaneSpec }[] = [
    { key: 'api', spec: { title: 'API requests through Traefik (per second)', counts: report.timeline.api } },
    { key: 'write', spec: { title: 'Writes through postgres-writer (per second)', counts: report.timeline.write } },
  ].filter((lane) => lane.spec.counts.some((s) => s.ok + s.fallback + s.failed > 0));
  const seconds = Math.max(1, ...lanes.map((lane) => lane.spec.counts.length));
  const x0 = 40;
  const secondWidth = Math.max(4, Math.min(16, Math.floor(1100 / seconds)));
  const width = x0 + seconds * secondWidth + 240;
  const laneHeight = 140;
  const top = 40;
  const markers = report.markers.filter((marker): marker is Marker & { atMs: number } => marker.atMs !== undefined);
  const markerArea = 16 + markers.length * 14;
  const rows = [...new Set(report.bands.filter((band) => band.lane.startsWith('strip:')).map((band) => band.lane))];
  const rowHeight = 26;
  const stripTop = top + lanes.length * (laneHeight + 20) + 6;
  const height = top + lanes.length * (laneHeight + 20) + rows.length * rowHeight + 30 + markerArea;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${x0}" y="22" font-size="15" font-weight="bold" fill="${COLORS.text}">${escapeXml(`drill ${report.drill}/${report.scenario} — ${report.result.toUpperCase()} — ${report.startedAt}`)}</text>`,
  ];
  lanes.forEach((lane, index) => parts.push(...renderLane(lane.spec, top + index * (laneHeight + 20), laneHeight, x0, secondWidth, report.bands, lane.key)));
  rows.forEach((row, index) => parts.push(...renderStrip(row.slice('strip:'.length), report.bands.filter((band) => band.lane === row), stripTop + index * rowHeight, x0, secondWidth, seconds)));
  const axisY = top + lanes.length * (laneHeight + 20) + rows.length * rowHeight + 4;
  for (let s = 0; s <= seconds; s += seconds > 120 ? 30 : 10) {
    parts.push(`<line x1="${x0 + s * secondWidth}" y1="${top}" x2="${x0 + s * secondWidth}" y2="${axisY}" stroke="${COLORS.grid}" stroke-width="0.5"/>`);
    parts.push(`<text x="${x0 + s * secondWidth}" y="${axisY + 12}" font-size="10" text-anchor="middle" fill="${COLORS.text}">${s}s</text>`);
  }
  markers.forEach((marker, index) => {
    const x = x0 + (marker.atMs / 1000) * secondWidth;
    parts.push(`<line x1="${x.toFixed(1)}" y1="${top}" x2="${x.toFixed(1)}" y2="${axisY + 20 + index * 14}" stroke="${COLORS.marker}" stroke-dasharray="3,2"/>`);
    parts.push(`<text x="${(x + 3).toFixed(1)}" y="${axisY + 28 + index * 14}" font-size="10" fill="${COLORS.marker}">${escapeXml(`${at(marker.atMs)} ${marker.name}`)}</text>`);
  });
  const legendX = x0 + seconds * secondWidth + 20;
  (['ok', 'fallback', 'failed'] as const).forEach((outcome, index) => {
    parts.push(`<rect x="${legendX}" y="${top + index * 18}" width="12" height="12" fill="${COLORS[outcome]}"/>`);
    parts.push(`<text x="${legendX + 18}" y="${top + 10 + index * 18}" font-size="11" fill="${COLORS.text}">${outcome}</text>`);
  });
  report.figures.forEach((figure, index) => {
    parts.push(`<text x="${legendX}" y="${top + 70 + index * 14}" font-size="10" fill="${figure.pass ? COLORS.text : COLORS.failed}">${escapeXml(`${figure.name}: ${formatFigure(figure)}`)}</text>`);
  });
  parts.push('</svg>', '');
  return parts.join('\n');
}
