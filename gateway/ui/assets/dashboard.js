// The dashboard's only script (the CSP allows no inline script): confirmations, live job
// progress and backend figures, lazy folders and following the log. Everything it inserts is
// text, never markup.
(() => {
  'use strict';
  const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';
  const base = meta('ui-base');
  const pollMs = 1500;

  document.addEventListener('submit', (ev) => {
    const form = ev.target;
    const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
    if (question && !window.confirm(question)) ev.preventDefault();
  });

  const getJson = async (path) => {
    const res = await fetch(`${base}${path}`, { headers: { accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' });
    if (res.status === 401) {
      window.location.assign(`${base}/login`);
      throw new Error('signed out');
    }
    if (!res.ok) throw new Error(`${res.status}`);
    return res.json();
  };

  const setBadge = (el, state) => {
    const badge = document.createElement('span');
    badge.className = `badge badge-${state.replace(/[^a-z-]/g, '')}`;
    badge.textContent = state;
    el.replaceChildren(badge);
  };

  // Jobs shown on this page move while they run; when one ends, the page is loaded again so the
  // backend's own state (drained, active again) shows too.
  const live = document.querySelectorAll('[data-job]');
  const running = [...live].filter((el) => el.querySelector('.badge-running'));
  if (running.length > 0) {
    const tick = async () => {
      try {
        const { jobs } = await getJson('/api/jobs');
        let ended = false;
        for (const j of jobs) {
          const bar = document.querySelector(`[data-job-bar="${CSS.escape(j.job_id)}"]`);
          if (!bar) continue;
          bar.max = Math.max(j.total, 1);
          bar.value = Math.min(j.done, bar.max);
          const text = document.querySelector(`[data-job-text="${CSS.escape(j.job_id)}"]`);
          if (text) text.textContent = j.progress_text;
          const state = document.querySelector(`[data-job-state="${CSS.escape(j.job_id)}"]`);
          if (state && state.textContent.trim() !== j.state) {
            setBadge(state, j.state);
            if (j.state !== 'running') ended = true;
          }
        }
        if (ended) window.location.reload();
      } finally {
        window.setTimeout(tick, pollMs);
      }
    };
    window.setTimeout(tick, pollMs);
  }

  // The backends page's figures (bars, copies, monthly usage, breaker) move while it is open; when
  // a backend's state changes (a drain started or ended elsewhere), the page is loaded again so
  // its actions match the new state.
  const cards = document.querySelectorAll('section[data-backend]');
  if (cards.length > 0) {
    const setText = (card, name, text) => {
      const el = card.querySelector(`[data-backend-text="${name}"]`);
      if (el && el.textContent !== text) el.textContent = text;
    };
    const tickBackends = async () => {
      try {
        const { backends } = await getJson('/api/backends');
        for (const b of backends) {
          const card = document.querySelector(`section[data-backend="${CSS.escape(b.name)}"]`);
          if (!card) continue;
          const state = card.querySelector('[data-backend-state]');
          if (state && state.textContent.trim() !== b.state) {
            window.location.reload();
            return;
          }
          for (const [kind, value] of [['quota', b.bytes_used], ['orphan', b.orphan_bytes]]) {
            const meter = card.querySelector(`meter[data-backend-meter="${kind}"]`);
            if (meter && b.bytes_limit > 0) {
              meter.max = b.bytes_limit;
              meter.value = Math.min(value, b.bytes_limit);
            }
          }
          setText(card, 'quota', b.used_text);
          setText(card, 'orphan', b.orphan_text);
          setText(card, 'copies', b.copies_text);
          b.usage_text.forEach((t, i) => setText(card, `usage-${i}`, t));
          const breaker = card.querySelector('[data-backend-breaker]');
          if (breaker && breaker.textContent.trim() !== `breaker ${b.breaker}`) {
            const badge = document.createElement('span');
            badge.className = `badge breaker breaker-${b.breaker.replace(/[^a-z-]/g, '')}`;
            badge.title = 'circuit breaker';
            badge.textContent = `breaker ${b.breaker}`;
            breaker.replaceChildren(badge);
          }
        }
      } catch {
        // The next tick tries again (a restart, a moment without the database).
      }
      window.setTimeout(tickBackends, pollMs);
    };
    window.setTimeout(tickBackends, pollMs);
  }

  // Folders open in place, one level at a time (api/tree), each row with its rollup.
  document.addEventListener('click', async (ev) => {
    const button = ev.target instanceof Element ? ev.target.closest('button[data-expand]') : null;
    if (!button) return;
    const row = button.closest('tr');
    const prefix = button.dataset.expand;
    if (button.getAttribute('aria-expanded') === 'true') {
      document.querySelectorAll(`tr[data-parent^="${CSS.escape(prefix)}"]`).forEach((r) => r.remove());
      button.setAttribute('aria-expanded', 'false');
      button.textContent = '+';
      return;
    }
    const q = new URLSearchParams({ bucket: button.dataset.bucket, prefix });
    const { entries, next_after: nextAfter } = await getJson(`/api/tree?${q}`);
    let after = row;
    for (const e of entries) {
      const tr = document.createElement('tr');
      tr.className = 'nested';
      tr.dataset.parent = prefix;
      const name = document.createElement('td');
      const depth = prefix.split('/').length - 1;
      name.textContent = `${'\u00a0\u00a0'.repeat(depth)}`;
      if (e.is_dir) {
        const sub = document.createElement('button');
        sub.type = 'button';
        sub.className = 'expand';
        sub.dataset.expand = prefix + e.name;
        sub.dataset.bucket = button.dataset.bucket;
        sub.setAttribute('aria-expanded', 'false');
        sub.textContent = '+';
        name.append(sub, document.createTextNode(e.name));
      } else {
        const a = document.createElement('a');
        a.href = e.history_url;
        a.textContent = e.name;
        name.append(a);
      }
      const cells = [e.is_dir ? `${e.file_count} objects` : '', e.size_text, e.last_modified, ''].map((t) => {
        const td = document.createElement('td');
        td.textContent = t;
        return td;
      });
      tr.append(name, ...cells);
      after.after(tr);
      after = tr;
    }
    if (nextAfter) {
      const tr = document.createElement('tr');
      tr.className = 'nested';
      tr.dataset.parent = prefix;
      const td = document.createElement('td');
      td.colSpan = 5;
      const a = document.createElement('a');
      a.href = `${base}/objects?${new URLSearchParams({ bucket: button.dataset.bucket, prefix })}`;
      a.textContent = 'more…';
      td.append(a);
      tr.append(td);
      after.after(tr);
    }
    button.setAttribute('aria-expanded', 'true');
    button.textContent = '−';
  });
})();
