// The dashboard page (docs/dashboard.md): a list of plans and runs on the left, the selected one
// on the right, all kept live by Server-Sent Events from `deepfusion serve`. Plain ES modules,
// no build step; every text from the runs directory goes into the page as text, never as HTML,
// except the report, which is Markdown rendered by marked under the server's Content Security
// Policy (no script runs but this page's own).
import { marked } from '/vendor/marked.esm.js';
import { LineChart, PALETTE, shortNumber } from '/charts.js';

// ---------- small helpers ----------

/** An element: h('td', {class: 'x', onclick}, 'text', child…). */
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

function duration(s) {
  if (s === undefined || s === null || !Number.isFinite(s)) return '';
  s = Math.round(s);
  if (s < 60) return `${s} s`;
  if (s < 600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

const bytes = (n) => (n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KB` : `${n} B`);
const ago = (ms) => (ms ? `${duration(Math.max(0, (Date.now() - ms) / 1000))} ago` : '');
const fixed = (v, d = 3) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '');
const stateBadge = (state) => h('span', { class: `state state-${state}`, dataset: { state } }, state);
const enc = (p) => encodeURIComponent(p);
const hrefOf = (entry) => `#/${entry.type}/${enc(entry.path)}`;

/** metrics.jsonl as columns, growing with every 'metrics' event (reset when the file started over). */
class Columns {
  constructor() {
    this.types = {};
    this.skipped = 0;
  }

  append(batch) {
    if (batch.reset) {
      this.types = {};
      this.skipped = 0;
    }
    this.skipped += batch.skipped ?? 0;
    for (const [type, cols] of Object.entries(batch.types ?? {})) {
      const t = (this.types[type] ??= { length: 0, cols: {} });
      const n = Object.values(cols)[0]?.length ?? 0;
      for (const key of Object.keys(cols)) if (!(key in t.cols)) t.cols[key] = new Array(t.length).fill(null);
      for (const [key, col] of Object.entries(t.cols)) {
        const add = cols[key];
        for (let i = 0; i < n; i++) col.push(add ? add[i] : null);
      }
      t.length += n;
    }
  }

  col(type, key) {
    return this.types[type]?.cols[key] ?? [];
  }

  length(type) {
    return this.types[type]?.length ?? 0;
  }

  /** The last non-null value of a field. */
  last(type, key) {
    const c = this.col(type, key);
    for (let i = c.length - 1; i >= 0; i--) if (c[i] !== null) return c[i];
    return undefined;
  }

  fields(type) {
    return Object.keys(this.types[type]?.cols ?? {});
  }
}

/** A Server-Sent Events stream; the indicator in the header tells whether it is connected. */
function openStream(url, handlers) {
  const es = new EventSource(url);
  for (const [event, fn] of Object.entries(handlers)) es.addEventListener(event, (e) => fn(JSON.parse(e.data)));
  es.onopen = () => setConnection(true);
  es.onerror = () => setConnection(false);
  return es;
}

function setConnection(live) {
  const el = document.getElementById('conn');
  el.textContent = live ? 'live' : 'reconnecting…';
  el.className = live ? 'conn live' : 'conn down';
}

/** A select (or checkbox) that redraws a chart. */
function control(label, choices, value, onchange) {
  const select = h('select', { onchange: () => onchange(select.value) }, ...choices.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
  return h('label', {}, `${label} `, select);
}

function toggle(label, checked, onchange) {
  const box = h('input', { type: 'checkbox', checked, onchange: () => onchange(box.checked) });
  return h('label', {}, box, ` ${label}`);
}

function section(title, ...children) {
  return h('section', {}, h('h2', {}, title), ...children);
}

function chartBox(id) {
  return h('div', { class: 'chart', id });
}

// ---------- the list ----------

let list = [];

function renderList() {
  const nav = document.getElementById('list');
  const here = location.hash;
  nav.replaceChildren(
    h('h2', {}, 'Plans and runs'),
    list.length === 0 ? h('p', { class: 'muted' }, 'Nothing here yet: start a plan or a run in this directory.') : '',
    h('ul', {}, ...list.map((e) => h('li', { class: here === hrefOf(e) ? 'current' : '', dataset: { path: e.path, type: e.type } },
      h('a', { href: hrefOf(e) }, e.name), ' ', stateBadge(e.state),
      h('div', { class: 'muted small' }, e.type === 'plan'
        ? `plan · ${e.jobs ? `${e.jobs.done}/${e.jobs.total} jobs` : ''}`
        : `run · step ${e.step ?? '–'}${e.loss !== undefined ? ` · loss ${fixed(e.loss)}` : ''}`)))),
  );
}

function overview(main) {
  const draw = () => {
    main.replaceChildren(
      h('h1', {}, 'Plans and runs'),
      h('table', { class: 'grid', id: 'overview' },
        h('thead', {}, h('tr', {}, ...['name', 'type', 'state', 'progress', 'loss', 'val loss', 'updated'].map((t) => h('th', {}, t)))),
        h('tbody', {}, ...list.map((e) => h('tr', { dataset: { path: e.path } },
          h('td', {}, h('a', { href: hrefOf(e) }, e.name)), h('td', {}, e.type), h('td', {}, stateBadge(e.state)),
          h('td', {}, e.jobs ? `${e.jobs.done}/${e.jobs.total} jobs${e.jobs.running ? `, ${e.jobs.running} running` : ''}${e.jobs.failed ? `, ${e.jobs.failed} failed` : ''}` : e.step !== undefined ? `step ${e.step}` : ''),
          h('td', {}, fixed(e.loss)), h('td', {}, fixed(e.val_loss)), h('td', { class: 'muted' }, ago(e.updated)))))),
    );
  };
  draw();
  return { close() {}, list: draw };
}

// ---------- a plan ----------

const ARM_X = [['flops', 'training FLOPs'], ['seconds', 'wall time (s)']];
const ARM_Y = [['loss', 'validation loss'], ['accuracy', 'validation accuracy']];
const JOB_X = [['step', 'step'], ['flops', 'FLOPs (the job\'s own)'], ['elapsed', 'wall time (s)']];

function planView(path, main) {
  const jobs = new Map();
  let head;
  let arms = { arms: [] };
  let graphShown = 0;
  let reportShown;
  const armOpts = { x: 'flops', y: 'loss' };
  const jobOpts = { x: 'step' };

  const title = h('h1', {});
  const summary = h('p', { class: 'summary' });
  const graph = h('img', { class: 'graph', alt: 'the plan\'s jobs by state' });
  const tbody = h('tbody', {});
  const table = h('table', { class: 'grid', id: 'jobs' },
    h('thead', {}, h('tr', {}, ...['job', 'what', 'state', 'progress', 'loss', 'tokens/s', 'ETA', 'machine', 'final val loss'].map((t) => h('th', {}, t)))), tbody);
  const armsEl = chartBox('arms-chart');
  const trainEl = chartBox('train-chart');
  const report = h('div', { class: 'report', id: 'report' });

  const armsChart = new LineChart(armsEl, () => arms.arms.map((a, i) => ({
    label: a.name, color: PALETTE[i % PALETTE.length], xs: a[armOpts.x], ys: a[armOpts.y], points: true,
  })), { xLabel: ARM_X[0][1], yLabel: ARM_Y[0][1] });
  const jobX = (id, c) => {
    if (jobOpts.x === 'flops') {
      const fps = head?.jobs?.find((j) => j.id === id)?.flops_per_step;
      return c.col('train', 'step').map((s) => (fps && s !== null ? s * fps : NaN));
    }
    return c.col('train', jobOpts.x);
  };
  const trainChart = new LineChart(trainEl, () => [...jobs].filter(([, c]) => c.length('train') > 0).map(([id, c], i) => ({
    label: id, color: PALETTE[i % PALETTE.length], xs: jobX(id, c), ys: c.col('train', 'loss'),
  })), { xLabel: 'step', yLabel: 'training loss' });
  const lossCap = () => {
    // As in the report: the axis tops out at the highest loss after training began.
    const after = arms.arms.flatMap((a) => a.loss.filter((_, i) => a.flops[i] > 0));
    return armOpts.y === 'loss' && after.length ? Math.max(...after) : undefined;
  };
  const redrawArms = () => {
    armsChart.set({ xLabel: ARM_X.find(([v]) => v === armOpts.x)[1], yLabel: ARM_Y.find(([v]) => v === armOpts.y)[1], yMax: lossCap() });
  };

  main.replaceChildren(
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'all runs'), ' / plan'),
    title, summary,
    section('Jobs', graph, h('div', { class: 'scroll' }, table)),
    section('Arms: validation curves (Figure 1)',
      h('div', { class: 'controls' },
        control('x', ARM_X, armOpts.x, (v) => { armOpts.x = v; redrawArms(); }),
        control('y', ARM_Y, armOpts.y, (v) => { armOpts.y = v; redrawArms(); }),
        toggle('log x', false, (v) => armsChart.set({ logX: v })), toggle('log y', false, (v) => armsChart.set({ logY: v }))),
      armsEl,
      h('p', { class: 'muted small' }, 'Each arm\'s mean over repeats (while repeats run, of those that reached the point); FLOPs count every job of the arm, and wall time runs independent jobs in parallel, as in the report.')),
    section('Training loss by job',
      h('div', { class: 'controls' },
        control('x', JOB_X, jobOpts.x, (v) => { jobOpts.x = v; trainChart.set({ xLabel: JOB_X.find(([k]) => k === v)[1] }); }),
        toggle('log x', false, (v) => trainChart.set({ logX: v })), toggle('log y', false, (v) => trainChart.set({ logY: v }))),
      trainEl),
    report,
  );

  const renderHead = () => {
    const s = head.status;
    title.replaceChildren(head.name, ' ', stateBadge(head.state));
    const all = s?.jobs ?? [];
    const count = (f) => all.filter((j) => f(j.state)).length;
    const since = s?.started_at ? (Date.parse(s.state === 'running' && head.state === 'running' ? new Date().toISOString() : s.updated_at) - Date.parse(s.started_at)) / 1000 : undefined;
    summary.replaceChildren(
      s?.plan?.description ? h('span', { class: 'desc', title: s.plan.description }, s.plan.description) : '',
      `${count((x) => x === 'done' || x === 'cached')}/${all.length} jobs done`,
      count((x) => x === 'running') ? ` · ${count((x) => x === 'running')} running` : '',
      count((x) => x === 'failed') ? ` · ${count((x) => x === 'failed')} failed` : '',
      since !== undefined ? ` · ${duration(since)}` : '',
      s?.host ? ` · runner on ${s.host}` : '',
      s?.plan?.repeats > 1 ? ` · ${s.plan.repeats} repeats` : '',
    );
    const extra = new Map((head.jobs ?? []).map((j) => [j.id, j]));
    tbody.replaceChildren(...all.map((j) => {
      const x = extra.get(j.id) ?? {};
      const state = j.state === 'running' && head.state !== 'running' ? 'stopped' : j.state;
      const frac = j.total ? Math.min(1, (j.step ?? 0) / j.total) : state === 'done' || state === 'cached' ? 1 : 0;
      return h('tr', { class: 'link', dataset: { job: j.id, state }, onclick: () => { location.hash = `#/run/${enc(x.dir)}`; } },
        h('td', {}, h('a', { href: `#/run/${enc(x.dir)}` }, j.id)), h('td', {}, j.label), h('td', {}, stateBadge(state)),
        h('td', {}, h('span', { class: 'bar' }, h('span', { style: `width:${(100 * frac).toFixed(1)}%` })), ' ', j.total ? `${j.step ?? 0}/${j.total}` : ''),
        h('td', {}, state === 'running' ? fixed(j.loss) : ''), h('td', {}, state === 'running' && j.tokens_per_s ? Math.round(j.tokens_per_s) : ''),
        h('td', {}, state === 'running' ? duration(j.eta_s) : ''), h('td', {}, j.machine ?? ''),
        h('td', {}, fixed(x.final_loss)));
    }));
    // The graph changes with every step of a running job: reloaded every few seconds at most.
    if (Date.now() - graphShown > 3000) {
      graphShown = Date.now();
      graph.src = `/api/graph.svg?path=${enc(path)}&t=${graphShown}`;
    }
    if (head.report && head.report_mtime !== reportShown) {
      reportShown = head.report_mtime;
      showReport(report, head.report, path);
    }
    trainChart.update();
  };

  const es = openStream(`/api/stream/plan?path=${enc(path)}`, {
    plan: (d) => { head = d; renderHead(); },
    metrics: (d) => {
      if (!jobs.has(d.job)) jobs.set(d.job, new Columns());
      jobs.get(d.job).append(d);
      trainChart.update();
    },
    arms: (d) => { arms = d; redrawArms(); },
  });
  return {
    close() {
      es.close();
      armsChart.destroy();
      trainChart.destroy();
    },
  };
}

/** The plan's report.md, with its figures loaded from the plan's directory. */
async function showReport(el, file, planPath) {
  const res = await fetch(`/files/${file.split('/').map(enc).join('/')}`);
  if (!res.ok) return;
  const md = await res.text();
  const body = h('div', {});
  body.innerHTML = marked.parse(md);
  for (const img of body.querySelectorAll('img')) {
    const src = img.getAttribute('src') ?? '';
    if (!/^[a-z]+:|^\//i.test(src)) img.setAttribute('src', `/files/${[...(planPath ? planPath.split('/') : []), ...src.split('/')].map(enc).join('/')}?t=${Date.now()}`);
  }
  el.replaceChildren(h('h2', {}, 'Report'), h('p', { class: 'muted small' }, h('a', { href: `/files/${file.split('/').map(enc).join('/')}`, target: '_blank' }, 'report.md')), body);
}

// ---------- a run, or a job of a plan ----------

const RUN_X = [['step', 'step'], ['tokens', 'tokens'], ['flops', 'training FLOPs'], ['elapsed', 'wall time (s)']];
/** Fields that are axes or bookkeeping, not curves of their own. */
const NOT_CURVES = new Set(['step', 'tokens', 'elapsed', 'val_tokens', 'loss', 'val_loss']);

function runView(path, main) {
  const cols = new Columns();
  let head;
  let modelShown;
  const opts = { x: 'step', y: 'val_accuracy' };
  const xOf = (type) => {
    if (opts.x === 'flops') {
      const fps = head?.flops_per_step;
      return cols.col(type, 'step').map((s) => (fps && s !== null ? s * fps : NaN));
    }
    return cols.col(type, opts.x);
  };

  const title = h('h1', {});
  const crumbs = h('p', { class: 'crumbs' });
  const summary = h('p', { class: 'summary', id: 'run-summary' });
  const lossEl = chartBox('loss-chart');
  const otherEl = chartBox('other-chart');
  const ySelect = h('span', {});
  const log = h('pre', { class: 'log empty', id: 'log' });
  const logSection = section('Log', log);
  const model = h('section', { id: 'model', hidden: true });
  const settings = h('section', { id: 'settings' });

  const lossChart = new LineChart(lossEl, () => [
    { label: 'training loss', color: PALETTE[0], xs: xOf('train'), ys: cols.col('train', 'loss') },
    { label: 'validation loss', color: PALETTE[1], xs: xOf('eval'), ys: cols.col('eval', 'val_loss'), points: true },
  ], { xLabel: 'step', yLabel: 'loss' });
  const otherChart = new LineChart(otherEl, () => {
    const type = cols.fields('eval').includes(opts.y) ? 'eval' : 'train';
    return [{ label: opts.y, color: PALETTE[2], xs: xOf(type), ys: cols.col(type, opts.y), points: type === 'eval' }];
  }, { xLabel: 'step', yLabel: 'validation accuracy' });

  const curveChoices = () => [...new Set([...cols.fields('eval'), ...cols.fields('train')])].filter((f) => !NOT_CURVES.has(f));
  let shownChoices = '';
  const renderChoices = () => {
    const choices = curveChoices();
    if (choices.length && !choices.includes(opts.y)) opts.y = choices[0];
    const key = choices.join(',');
    if (key === shownChoices) return;
    shownChoices = key;
    ySelect.replaceChildren(control('y', choices.map((c) => [c, c]), opts.y, (v) => { opts.y = v; otherChart.set({ yLabel: v }); }));
    otherChart.set({ yLabel: opts.y });
  };
  const setX = (v) => {
    opts.x = v;
    const label = RUN_X.find(([k]) => k === v)[1];
    lossChart.set({ xLabel: label });
    otherChart.set({ xLabel: label });
  };

  main.replaceChildren(
    crumbs, title, summary,
    section('Curves',
      h('div', { class: 'controls' },
        control('x', RUN_X, opts.x, setX),
        toggle('log x', false, (v) => { lossChart.set({ logX: v }); otherChart.set({ logX: v }); }),
        toggle('log y', false, (v) => { lossChart.set({ logY: v }); otherChart.set({ logY: v }); })),
      lossEl, h('div', { class: 'controls' }, ySelect), otherEl,
      h('p', { class: 'muted small', id: 'skipped' })),
    logSection, model, settings,
  );

  const renderSummary = () => {
    if (!head) return;
    const st = head.status;
    const step = cols.last('train', 'step') ?? cols.last('eval', 'step');
    const total = st?.total ?? head.result?.steps;
    summary.replaceChildren(
      step !== undefined ? `step ${step}${total ? `/${total}` : ''}` : 'no steps yet',
      cols.last('train', 'loss') !== undefined ? ` · loss ${fixed(cols.last('train', 'loss'))}` : '',
      cols.last('eval', 'val_loss') !== undefined ? ` · val loss ${fixed(cols.last('eval', 'val_loss'))}` : '',
      cols.last('eval', 'val_accuracy') !== undefined ? ` · val accuracy ${fixed(cols.last('eval', 'val_accuracy'))}` : '',
      head.state === 'running' && cols.last('train', 'tokens_per_s') ? ` · ${Math.round(cols.last('train', 'tokens_per_s'))} tokens/s` : '',
      head.state === 'running' && st?.eta_s !== undefined ? ` · ETA ${duration(st.eta_s)}` : '',
      cols.last('train', 'elapsed') !== undefined ? ` · ${duration(cols.last('train', 'elapsed'))} of training` : '',
      st?.machine ? ` · on ${st.machine}` : '',
      head.flops_per_step ? ` · ${shortNumber(head.flops_per_step)} FLOPs a step` : '',
    );
    document.getElementById('skipped').textContent = cols.skipped ? `${cols.skipped} damaged line(s) of metrics.jsonl skipped` : '';
  };

  const renderHead = () => {
    title.replaceChildren(head.kind === 'job' ? (head.job?.id ?? head.name) : head.name, ' ', stateBadge(head.state));
    crumbs.replaceChildren(h('a', { href: '#/' }, 'all runs'), ...(head.kind === 'job'
      ? [' / ', h('a', { href: `#/plan/${enc(head.plan)}` }, `plan ${head.plan_name}`), ' / job']
      : [' / run']));
    logSection.hidden = head.kind !== 'job';
    renderSummary();
    const details = (label, value) => (value === undefined ? '' : h('details', {}, h('summary', {}, label), h('pre', {}, JSON.stringify(value, null, 2))));
    settings.replaceChildren(...(head.kind === 'job'
      ? [h('h2', {}, 'Job'), head.status?.error ? h('p', { class: 'error', id: 'job-error' }, head.status.error) : '',
        details('job.json (kind, settings, inputs)', head.job), details('result.json (cost, evaluations, facts)', head.result), details('run.json', head.settings)]
      : [h('h2', {}, 'Settings'), details('run.json (the settings a resume must match)', head.settings)]));
    if (head.model && head.model !== modelShown) {
      modelShown = head.model;
      showModel(model, head.model);
    }
  };

  const es = openStream(`/api/stream/run?path=${enc(path)}`, {
    run: (d) => { head = d; renderHead(); lossChart.update(); otherChart.update(); },
    metrics: (d) => {
      cols.append(d);
      renderChoices();
      renderSummary();
      lossChart.update();
      otherChart.update();
    },
    log: (d) => {
      if (d.reset) log.textContent = '';
      if (d.text) log.textContent += `${d.text}\n`;
      log.classList.toggle('empty', log.textContent === '');
      // Only the end of a long log stays in the page.
      if (log.textContent.length > 512 * 1024) log.textContent = log.textContent.slice(-256 * 1024);
      log.scrollTop = log.scrollHeight;
    },
  });
  return {
    close() {
      es.close();
      lossChart.destroy();
      otherChart.destroy();
    },
  };
}

/** The model's `deepfusion info`: config, parameters by part, files. */
async function showModel(el, dir) {
  const res = await fetch(`/api/model?path=${enc(dir)}`);
  if (!res.ok) return;
  const info = await res.json();
  const c = info.config ?? {};
  const p = info.parameters;
  el.hidden = false;
  el.replaceChildren(h('h2', {}, 'Model'),
    h('p', { class: 'muted small' }, dir),
    h('table', { class: 'grid kv' }, h('tbody', {},
      h('tr', {}, h('th', {}, 'shape'), h('td', {}, `d_model ${c.d_model}, ${c.num_heads} heads × d_kv ${c.d_kv}, d_ff ${c.d_ff}, ${c.num_layers}+${c.num_decoder_layers} layers, vocab ${c.vocab_size}, ${c.feed_forward_proj}${c.norm_groups ? `, norm groups ${c.norm_groups.join('+')}` : ''}`)),
      p ? h('tr', {}, h('th', {}, 'parameters'), h('td', {}, `${p.total.toLocaleString('en')} (${Object.entries(p.parts).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${(100 * n / p.total).toFixed(1)}%`).join(', ')})`)) : '',
      h('tr', {}, h('th', {}, 'files'), h('td', {}, info.files.map((f) => `${f.name} ${bytes(f.bytes)}`).join(', '))))),
    h('details', {}, h('summary', {}, 'config.json'), h('pre', {}, JSON.stringify(c, null, 2))));
}

// ---------- routing ----------

let current;

function route() {
  current?.close();
  const main = document.getElementById('view');
  const m = /^#\/(plan|run)\/(.*)$/.exec(location.hash);
  if (m) {
    const path = decodeURIComponent(m[2]);
    current = m[1] === 'plan' ? planView(path, main) : runView(path, main);
  } else {
    current = overview(main);
  }
  renderList();
}

openStream('/api/stream/list', {
  list: (d) => {
    list = d;
    renderList();
    current?.list?.();
    // A runs directory that is itself one plan or run opens on it.
    if (!location.hash && list.length === 1 && list[0].path === '') location.hash = hrefOf(list[0]);
  },
});
window.addEventListener('hashchange', route);
route();
