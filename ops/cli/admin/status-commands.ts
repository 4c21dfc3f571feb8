import type { StatusJson } from '../../../gateway/admin/status-route.js';
import { type AdminCommandSpec, output } from './command.js';
import { dash, formatTime, renderTable, size, withLimit } from './format.js';
import { jobProgress } from './job-commands.js';

function renderStatus(s: StatusJson): string {
  const lines = [`database: ${s.db_healthy ? 'healthy' : 'UNREACHABLE'}    usage period: ${s.usage_period}`, ''];
  lines.push(renderTable(
    [
      { title: 'BACKEND' }, { title: 'STATE' }, { title: 'CONFIGURED' }, { title: 'USED / QUOTA', align: 'right' },
      { title: 'ORPHAN', align: 'right' }, { title: 'PENDING', align: 'right' }, { title: 'OBJECTS', align: 'right' },
      { title: 'REQUESTS', align: 'right' }, { title: 'EGRESS', align: 'right' }, { title: 'INGRESS', align: 'right' },
      { title: 'CIRCUIT' }, { title: 'DRAIN JOB' }, { title: 'ENDPOINT' },
    ],
    s.backends.map((b) => [
      b.name, b.state, b.configured ? 'yes' : 'NO', withLimit(size(b.bytes_used), b.bytes_limit, size),
      size(b.orphan_bytes), size(b.pending_bytes), String(b.object_count),
      withLimit(String(b.api_requests), b.api_request_limit), withLimit(size(b.egress_bytes), b.egress_byte_limit, size),
      withLimit(size(b.ingress_bytes), b.ingress_byte_limit, size), dash(b.circuit_breaker), dash(b.drain_job_id), dash(b.endpoint),
    ]),
  ));
  const notes = s.backends.filter((b) => b.note);
  if (notes.length > 0) lines.push('', ...notes.map((b) => `note: ${b.name}: ${b.note ?? ''}`));
  lines.push('', renderTable(
    [{ title: 'BUCKET' }, { title: 'OBJECTS', align: 'right' }, { title: 'SIZE', align: 'right' }],
    s.buckets.map((b) => [b.name, String(b.object_count), size(b.total_bytes)]),
  ));
  lines.push('');
  if (s.running_jobs.length === 0) {
    lines.push('no running jobs');
  } else {
    lines.push(renderTable(
      [{ title: 'RUNNING JOB' }, { title: 'KIND' }, { title: 'BACKEND' }, { title: 'PROGRESS' }, { title: 'STARTED' }],
      s.running_jobs.map((j) => [j.job_id, j.kind, dash(j.backend), jobProgress(j), formatTime(j.started_at)]),
    ));
  }
  return lines.join('\n');
}

export const statusCommands: AdminCommandSpec[] = [
  {
    name: 'status', args: [], options: [], summary: 'database health, backends, buckets and running jobs',
    run: async (c) => output(c, await c.client.get<StatusJson>('status'), renderStatus),
  },
];
