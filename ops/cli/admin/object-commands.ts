import type { ObjectHistoryJson, ObjectLocationsJson } from '../../../gateway/admin/object-routes.js';
import { type AdminCommandSpec, type AdminContext, output, splitObjectPath, UsageError } from './command.js';
import { dash, formatTime, renderFields, renderTable, size } from './format.js';

function objectArg(c: AdminContext): { bucket: string; key: string } {
  const given = c.args[0] ?? c.values.key;
  const parsed = given === undefined ? undefined : splitObjectPath(given);
  if (!parsed) throw new UsageError('give the object as <bucket>/<key>');
  return parsed;
}

function renderLocations(l: ObjectLocationsJson): string {
  const head = renderFields([
    ['object', `${l.bucket}/${l.key}`],
    ['state', l.exists ? 'current' : 'deleted (see its history)'],
    ['stream revision', String(l.stream_revision)],
    ...(l.version
      ? [
        ['version', l.version.write_id], ['size', `${size(l.version.size)} (${l.version.size} bytes)`], ['etag', l.version.etag],
        ['content type', l.version.content_type], ['last modified', formatTime(l.version.last_modified)],
      ] as const
      : []),
  ]);
  if (l.copies.length === 0) return head;
  return `${head}\n\n${renderTable(
    [{ title: 'BACKEND' }, { title: 'SIZE', align: 'right' }, { title: 'STORAGE KEY' }],
    l.copies.map((x) => [x.backend, size(x.size), x.storage_key]),
  )}`;
}

/** The object's life as a timeline: when, who (and under which request or job), what happened. */
function renderHistory(h: ObjectHistoryJson): string {
  const count = `${h.events.length} event${h.events.length === 1 ? '' : 's'}`;
  const title = `${h.bucket}/${h.key}: ${h.truncated ? `the first ${count} of ${h.stream_revision + 1}` : count}`;
  return `${title}\n\n${renderTable(
    [{ title: 'TIME' }, { title: 'ACTOR' }, { title: 'REQUEST / JOB' }, { title: 'WHAT HAPPENED' }],
    h.events.map((e) => [formatTime(e.at), dash(e.actor), dash(e.correlation_id), e.summary]),
  )}`;
}

export const objectCommands: AdminCommandSpec[] = [
  {
    name: 'object-locations', args: ['<bucket>/<key>?'], options: ['key'], summary: "an object's current version and where its copies are",
    run: async (c) => output(c, await c.client.get<ObjectLocationsJson>('objects/locations', objectArg(c)), renderLocations),
  },
  {
    name: 'history', args: ['<bucket>/<key>'], options: [], summary: "an object's whole life: writes, moves, replicas, deletion, who and why",
    run: async (c) => output(c, await c.client.get<ObjectHistoryJson>('objects/history', objectArg(c)), renderHistory),
  },
];
