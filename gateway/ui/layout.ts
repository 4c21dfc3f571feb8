import { html, type Html } from './html.js';
import type { UiSession } from './session.js';
import { uiUrl, type Flash, type UiContext } from './ui-context.js';

export type Section = 'backends' | 'jobs' | 'objects' | 'logs';

const sections: readonly [Section, string][] = [['backends', 'Backends'], ['jobs', 'Jobs'], ['objects', 'Objects'], ['logs', 'Logs']];

/** A hidden field with the session's CSRF token: every form that changes something carries one. */
export function csrfField(ctx: UiContext, session: UiSession): Html {
  return html`<input type="hidden" name="_csrf" value="${ctx.sessions.csrfToken(session)}">`;
}

/** A POST button (in its own small form) with the CSRF token; `confirm` asks first (dashboard.js). */
export function actionButton(ctx: UiContext, session: UiSession, action: string, label: string, fields: Record<string, string>, opts: { confirm?: string; danger?: boolean } = {}): Html {
  return html`<form class="inline" method="post" action="${uiUrl(ctx, `/actions/${action}`)}"${opts.confirm ? html` data-confirm="${opts.confirm}"` : ''}>
${csrfField(ctx, session)}${Object.entries(fields).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}
<button type="submit"${opts.danger ? html` class="danger"` : ''}>${label}</button></form>`;
}

function head(ctx: Pick<UiContext, 'ui'>, title: string, extra: Html | string = ''): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · s3-orchestrator</title>
<link rel="stylesheet" href="${uiUrl(ctx, '/assets/dashboard.css')}">
${extra}<script src="${uiUrl(ctx, '/assets/dashboard.js')}" defer></script></head>`;
}

/** A signed-in page: navigation, the flash left by the last action, then `body`. */
export function page(ctx: UiContext, session: UiSession, section: Section, title: string, body: Html, flash?: Flash): string {
  return html`${head(ctx, title, html`<meta name="csrf-token" content="${ctx.sessions.csrfToken(session)}">
<meta name="ui-base" content="${ctx.ui.path}">
`)}<body>
<header><span class="brand">s3-orchestrator</span><nav>${sections.map(([s, label]) =>
    html`<a href="${uiUrl(ctx, `/${s}`)}"${s === section ? html` class="current" aria-current="page"` : ''}>${label}</a>`)}</nav>
<form class="logout" method="post" action="${uiUrl(ctx, '/logout')}">${csrfField(ctx, session)}<span class="who">${session.key}</span> <button type="submit">Sign out</button></form></header>
<main><h1>${title}</h1>
${flash ? html`<p class="flash flash-${flash.kind}" role="status">${flash.text}</p>` : ''}
${body}</main></body></html>`.text;
}

/** The login page (signed out). */
export function loginPage(ctx: Pick<UiContext, 'ui'>, opts: { error?: string; next?: string; name?: string } = {}): string {
  return html`${head(ctx, 'Sign in')}<body class="login"><main>
<h1>s3-orchestrator</h1>
${opts.error ? html`<p class="flash flash-error" role="alert">${opts.error}</p>` : ''}
<form method="post" action="${uiUrl(ctx, '/login')}">
<input type="hidden" name="next" value="${opts.next ?? ''}">
<label>Admin key <input name="admin_key" autocomplete="username" required value="${opts.name ?? ''}"></label>
<label>Admin secret <input name="admin_secret" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form></main></body></html>`.text;
}

/** An error page for a GET that failed (a missing object, a bad parameter). */
export function errorPage(ctx: UiContext, session: UiSession, status: number, message: string): string {
  return page(ctx, session, 'backends', `Error ${status}`, html`<p class="flash flash-error">${message}</p>
<p><a href="${uiUrl(ctx, '/backends')}">Back to the dashboard</a></p>`);
}
