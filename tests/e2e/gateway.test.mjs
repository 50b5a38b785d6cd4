// Acceptance of the gateway data path as a new user would check it: the
// official `openai` and `@anthropic-ai/sdk` clients pointed at
// `switchyard serve`, whose four providers (openai, anthropic, gemini,
// bedrock) all point at `switchyard sim`.
//
// Every front door x family combination, streamed and not: plain text, a tool
// call, parallel tool calls and a tool-result round trip. For each request the
// upstream request the sim received (GET /_sim/requests) is replayed straight
// to the sim (its output is a function of the body bytes), and the text, tool
// calls and usage the SDK got must equal what that upstream produced; the
// x-switchyard-cost-usd header (whole responses) and the access log line
// (every response) must carry exactly tokens x the catalogue price.
//
// The gateway does not forward x-sim-* headers upstream (nor any client
// header), so upstream behaviours (parallel calls, faults, slow streams) are
// set per sim model in the sim's configuration, and the gateway serves each
// as its own model name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const root = process.env.SY_ROOT || join(here, '..', '..');
const bin = process.env.SY_BIN || join(root, 'build', 'switchyard');
const require = createRequire(join(root, 'tests', 'package.json'));
const { default: OpenAI } = await import(require.resolve('openai'));
const { default: Anthropic } = await import(require.resolve('@anthropic-ai/sdk'));

const KEY = 'sk-sy-e2e-gateway-0123456789';
const MAX_BODY = 64 * 1024;
const T = { timeout: 30000 }; // per test

// One model name per family, as in configs/quickstart.yaml, plus variants
// served by sim models configured with a behaviour (same catalogue prices:
// the sim model ids still match the family's catalogue pattern).
const FAMILIES = [
  { fam: 'openai', model: 'gpt-4o-mini', up: 'gpt-4o-mini', v: (s) => `gpt-4o-mini-${s}` },
  { fam: 'anthropic', model: 'claude-sonnet', up: 'claude-sonnet-4-5', v: (s) => `claude-sonnet-4-5-${s}` },
  { fam: 'gemini', model: 'gemini-flash', up: 'gemini-2.5-flash', v: (s) => `gemini-2.5-flash-${s}` },
  { fam: 'bedrock', model: 'nova-pro', up: 'amazon.nova-pro-v1:0', v: (s) => `amazon.nova-pro-${s}-v1:0` },
];
const VARIANTS = {
  par: 'tools: parallel',
  '429': 'fault: 429, retry_after: 7',
  '529': 'fault: 529, retry_after: 3',
  reset: 'fault: reset, fault_after: 2', // Gemini's sim stream has only 3 events
  slow: 'tps: 50, output_tokens: 300',
};

function simConfig() {
  let s = 'record_requests: 1000\nmodels:\n';
  for (const f of FAMILIES)
    for (const [k, b] of Object.entries(VARIANTS)) s += `  - { name: "${f.v(k)}", family: ${f.fam}, ${b} }\n`;
  return s;
}

function gatewayConfig(gwPort, simPort) {
  const sim = `http://127.0.0.1:${simPort}`;
  let s = `listen: 127.0.0.1:${gwPort}
workers: 2
keys: [${KEY}]
limits:
  max_body_bytes: ${MAX_BODY}
log:
  level: info
  format: json
providers:
  - { name: openai, kind: openai, base_url: "${sim}/v1", api_key: sim-openai-key, region: us }
  - { name: anthropic, kind: anthropic, base_url: "${sim}", api_key: sim-anthropic-key, region: us }
  - { name: gemini, kind: gemini, base_url: "${sim}", api_key: sim-gemini-key, region: us }
  - name: bedrock
    kind: bedrock
    base_url: "${sim}"
    region: us-east-1
    aws_access_key_id: AKIAIOSFODNN7EXAMPLE
    aws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
models:
  - { name: text-embedding-3-small, deployments: [{ provider: openai, model: text-embedding-3-small }] }
`;
  for (const f of FAMILIES) {
    s += `  - { name: "${f.model}", deployments: [{ provider: ${f.fam}, model: "${f.up}" }] }\n`;
    for (const k of Object.keys(VARIANTS))
      s += `  - { name: "${f.model}-${k}", deployments: [{ provider: ${f.fam}, model: "${f.v(k)}" }] }\n`;
  }
  return s;
}

// ------------------------------------------------------------ processes ---

let sim, gw, simBase, gwBase;
let gwLog = '';
const access = new Map(); // request_id -> { entry, raw }

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitHealthy(base, proc, what) {
  const deadline = Date.now() + 10000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${what} exited early (${proc.exitCode}):\n${gwLog}`);
    try { const r = await fetch(`${base}/health`, { signal: AbortSignal.timeout(1000) }); if (r.ok) return; } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error(`${what} did not start`);
    await sleep(50);
  }
}

before(async () => {
  const [simPort, gwPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'sy-gw-e2e-'));
  writeFileSync(join(dir, 'sim.yaml'), simConfig());
  writeFileSync(join(dir, 'gateway.yaml'), gatewayConfig(gwPort, simPort));
  sim = spawn(bin, ['sim', '--listen', `127.0.0.1:${simPort}`, '--workers', '1', '-c', join(dir, 'sim.yaml')], { stdio: ['ignore', 'ignore', 'inherit'] });
  simBase = `http://127.0.0.1:${simPort}`;
  await waitHealthy(simBase, sim, 'sim');
  gw = spawn(bin, ['serve', '-c', join(dir, 'gateway.yaml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let pending = '';
  gw.stderr.setEncoding('utf8');
  gw.stderr.on('data', (d) => {
    gwLog += d;
    pending += d;
    let i;
    while ((i = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, i);
      pending = pending.slice(i + 1);
      if (!line.includes('"msg":"access"')) continue;
      try { const e = JSON.parse(line); access.set(e.request_id, { entry: e, raw: line }); } catch { /* not JSON */ }
    }
  });
  gwBase = `http://127.0.0.1:${gwPort}`;
  await waitHealthy(gwBase, gw, 'gateway');
});

after(async () => {
  for (const p of [gw, sim]) {
    if (!p || p.exitCode !== null) continue;
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await new Promise((r) => p.once('exit', r));
    clearTimeout(t);
  }
});

// --------------------------------------------------------------- clients ---

let last = null; // the last response the gateway sent to an SDK
const tracking = async (url, init) => { const r = await fetch(url, init); last = r; return r; };
const oai = (o = {}) => new OpenAI({ apiKey: KEY, baseURL: `${gwBase}/v1`, maxRetries: 0, timeout: 15000, fetch: tracking, ...o });
const ant = (o = {}) => new Anthropic({ apiKey: KEY, baseURL: gwBase, maxRetries: 0, timeout: 15000, fetch: tracking, ...o });

// The simulator's tokenizer (docs/sim.md).
const tokens = (s) => (s.match(/[A-Za-z0-9\u0080-\uffff]+|[^\sA-Za-z0-9\u0080-\uffff]/g) || []).length;

// ---------------------------------------------------------------- tools ---

const weatherSchema = {
  type: 'object',
  properties: {
    city: { type: 'string' },
    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
    days: { type: 'integer', minimum: 1, maximum: 7 },
  },
  required: ['city', 'unit', 'days'],
};
const timeSchema = {
  type: 'object',
  properties: { zone: { type: 'string', enum: ['UTC', 'CET', 'PST'] }, seconds: { type: 'boolean' } },
  required: ['zone', 'seconds'],
};
const TOOLS = [
  { name: 'get_weather', description: 'Weather in a city', schema: weatherSchema, result: 'sunny, 21C' },
  { name: 'get_time', description: 'Time in a zone', schema: timeSchema, result: '14:05' },
];
const oaiTools = (n) => TOOLS.slice(0, n).map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.schema } }));
const antTools = (n) => TOOLS.slice(0, n).map((t) => ({ name: t.name, description: t.description, input_schema: t.schema }));

function checkArgs(name, args) {
  assert.equal(typeof args, 'object', `${name} arguments are an object`);
  if (name === 'get_weather') {
    assert.equal(typeof args.city, 'string');
    assert.ok(['celsius', 'fahrenheit'].includes(args.unit), `unit ${args.unit}`);
    assert.ok(Number.isInteger(args.days) && args.days >= 1 && args.days <= 7, `days ${args.days}`);
  } else if (name === 'get_time') {
    assert.ok(['UTC', 'CET', 'PST'].includes(args.zone), `zone ${args.zone}`);
    assert.equal(typeof args.seconds, 'boolean');
  } else {
    assert.fail(`unexpected tool ${name}`);
  }
}

// ------------------------------------------------------------- catalogue ---

// data/catalog.yaml: first entry of the deployment's kind whose pattern
// matches the upstream model id; prices in USD per million tokens.
const catalog = (() => {
  const text = readFileSync(join(root, 'data', 'catalog.yaml'), 'utf8');
  const out = [];
  for (const chunk of text.split(/^- /m).slice(1)) {
    const e = {};
    for (const line of ('  ' + chunk).split('\n')) {
      const m = line.match(/^\s+(\w+):\s*(.*?)\s*$/);
      if (m) e[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
    }
    if (e.kind && e.model) out.push(e);
  }
  return out;
})();

function priceOf(kind, model) {
  const glob = (p) => new RegExp('^' + p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
  const e = catalog.find((c) => c.kind === kind && glob(c.model).test(model));
  assert.ok(e, `a catalogue entry for ${kind}/${model}`);
  const pico = (v) => (v === undefined ? undefined : BigInt(Math.round(Number(v) * 1e6))); // per token, in 1e-12 USD
  return { input: pico(e.input), cached: pico(e.cached_input), write: pico(e.cache_write), output: pico(e.output) };
}

// The cost of a usage, formatted as the gateway does (decimal USD, trailing
// zeros trimmed).
function costString(kind, model, u) {
  const p = priceOf(kind, model);
  const cached = BigInt(u.cached || 0), written = BigInt(u.cacheWrite || 0);
  const plain = BigInt(u.input) - cached - written;
  let c = plain * p.input + cached * (p.cached ?? p.input) + written * (p.write ?? p.input) + BigInt(u.output) * p.output;
  const whole = c / 1000000000000n, frac = (c % 1000000000000n).toString().padStart(12, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : `${whole}`;
}

// ------------------------------------------------------------------- sim ---

async function simRequests() {
  const r = await fetch(`${simBase}/_sim/requests`, { signal: AbortSignal.timeout(5000) });
  return (await r.json()).requests;
}
async function simMark() {
  const rs = await simRequests();
  return rs.length ? rs.at(-1).seq + 1 : 0;
}
async function simSince(mark) {
  return (await simRequests()).filter((r) => r.seq >= mark);
}

// The one upstream request a gateway request made since `mark`.
async function upstreamOf(mark) {
  const rs = await simSince(mark);
  assert.equal(rs.length, 1, `exactly one upstream request (got ${rs.map((r) => r.path).join(', ')})`);
  return rs[0];
}

const familyOfPath = (p) => (p === '/v1/chat/completions' || p === '/v1/embeddings' ? 'openai'
  : p === '/v1/messages' ? 'anthropic' : p.startsWith('/v1beta/') ? 'gemini' : p.startsWith('/model/') ? 'bedrock' : null);

// AWS event-stream frames -> [{type, payload}].
function decodeEventStream(buf) {
  const out = [];
  let o = 0;
  while (o + 16 <= buf.length) {
    const total = buf.readUInt32BE(o), hlen = buf.readUInt32BE(o + 4);
    const headers = {};
    let h = o + 12;
    while (h < o + 12 + hlen) {
      const nl = buf[h]; const name = buf.toString('utf8', h + 1, h + 1 + nl); h += 1 + nl;
      const type = buf[h]; h += 1;
      assert.equal(type, 7, 'event-stream header of type string');
      const vl = buf.readUInt16BE(h); headers[name] = buf.toString('utf8', h + 2, h + 2 + vl); h += 2 + vl;
    }
    const payload = buf.toString('utf8', o + 12 + hlen, o + total - 4);
    out.push({ type: headers[':event-type'] || headers[':exception-type'], payload: payload ? JSON.parse(payload) : null });
    o += total;
  }
  assert.equal(o, buf.length, 'event-stream frames fill the body');
  return out;
}

const sseData = (text) => text.split(/\r?\n\r?\n/).map((ev) => ev.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n')).filter((d) => d && d !== '[DONE]').map((d) => JSON.parse(d));

// What an upstream response said: text, tool calls, usage.
function readUpstream(fam, stream, buf) {
  const r = { text: '', tools: [], input: 0, cached: 0, cacheWrite: 0, output: 0 };
  const text = buf.toString('utf8');
  if (fam === 'openai') {
    const setU = (u) => { r.input = u.prompt_tokens; r.output = u.completion_tokens ?? 0; r.cached = u.prompt_tokens_details?.cached_tokens || 0; };
    if (!stream) {
      const j = JSON.parse(text);
      if (j.object === 'list') { setU(j.usage); return r; } // embeddings
      r.text = j.choices[0].message.content || '';
      r.tools = (j.choices[0].message.tool_calls || []).map((t) => ({ name: t.function.name, args: JSON.parse(t.function.arguments) }));
      setU(j.usage);
    } else {
      const calls = [];
      for (const ch of sseData(text)) {
        if (ch.usage) setU(ch.usage);
        for (const c of ch.choices || []) {
          r.text += c.delta?.content || '';
          for (const tc of c.delta?.tool_calls || []) {
            if (!calls[tc.index]) calls[tc.index] = { name: tc.function.name, args: '' };
            calls[tc.index].args += tc.function?.arguments || '';
          }
        }
      }
      r.tools = calls.map((c) => ({ name: c.name, args: JSON.parse(c.args) }));
    }
  } else if (fam === 'anthropic') {
    const setU = (u) => {
      if (u.input_tokens !== undefined) r.input = u.input_tokens + (u.cache_read_input_tokens || 0) + (u.cache_creation_input_tokens || 0);
      if (u.cache_read_input_tokens !== undefined) r.cached = u.cache_read_input_tokens;
      if (u.cache_creation_input_tokens !== undefined) r.cacheWrite = u.cache_creation_input_tokens;
      if (u.output_tokens !== undefined) r.output = u.output_tokens;
    };
    const blocks = (content) => {
      for (const b of content) {
        if (b.type === 'text') r.text += b.text;
        if (b.type === 'tool_use') r.tools.push({ name: b.name, args: b.input });
      }
    };
    if (!stream) {
      const j = JSON.parse(text);
      blocks(j.content);
      setU(j.usage);
    } else {
      const bl = [];
      for (const ev of sseData(text)) {
        if (ev.type === 'message_start') setU(ev.message.usage);
        if (ev.type === 'message_delta') setU(ev.usage);
        if (ev.type === 'content_block_start') bl[ev.index] = { ...ev.content_block, json: '' };
        if (ev.type === 'content_block_delta') {
          if (ev.delta.type === 'text_delta') bl[ev.index].text += ev.delta.text;
          if (ev.delta.type === 'input_json_delta') bl[ev.index].json += ev.delta.partial_json;
        }
      }
      blocks(bl.map((b) => (b.type === 'tool_use' ? { ...b, input: b.json ? JSON.parse(b.json) : {} } : b)));
    }
  } else if (fam === 'gemini') {
    const chunks = stream ? sseData(text) : [JSON.parse(text)];
    for (const c of chunks) {
      for (const p of c.candidates?.[0]?.content?.parts || []) {
        if (p.text !== undefined && !p.thought) r.text += p.text;
        if (p.functionCall) r.tools.push({ name: p.functionCall.name, args: p.functionCall.args ?? {} });
      }
      const u = c.usageMetadata;
      if (u) {
        if (u.promptTokenCount !== undefined) r.input = u.promptTokenCount;
        r.cached = u.cachedContentTokenCount || 0;
        r.output = (u.candidatesTokenCount || 0) + (u.thoughtsTokenCount || 0);
      }
    }
  } else if (fam === 'bedrock') {
    const setU = (u) => { r.input = u.inputTokens + (u.cacheReadInputTokens || 0) + (u.cacheWriteInputTokens || 0); r.cached = u.cacheReadInputTokens || 0; r.cacheWrite = u.cacheWriteInputTokens || 0; r.output = u.outputTokens; };
    if (!stream) {
      const j = JSON.parse(text);
      for (const b of j.output.message.content) {
        if (b.text !== undefined) r.text += b.text;
        if (b.toolUse) r.tools.push({ name: b.toolUse.name, args: b.toolUse.input });
      }
      setU(j.usage);
    } else {
      const bl = [];
      for (const ev of decodeEventStream(buf)) {
        const p = ev.payload;
        if (ev.type === 'contentBlockStart' && p.start?.toolUse) bl[p.contentBlockIndex] = { name: p.start.toolUse.name, json: '' };
        if (ev.type === 'contentBlockDelta') {
          if (p.delta.text !== undefined) r.text += p.delta.text;
          if (p.delta.toolUse) bl[p.contentBlockIndex].json += p.delta.toolUse.input;
        }
        if (ev.type === 'metadata') setU(p.usage);
      }
      r.tools = bl.filter(Boolean).map((b) => ({ name: b.name, args: b.json ? JSON.parse(b.json) : {} }));
    }
  }
  return r;
}

// Send the upstream request the sim logged straight to the sim again (the
// same body bytes give the same output) and read what it answers.
async function replay(entry) {
  const fam = familyOfPath(entry.path);
  assert.ok(fam, `known upstream path ${entry.path}`);
  const headers = { 'content-type': 'application/json' };
  if (fam === 'anthropic') Object.assign(headers, { 'x-api-key': 'sim-replay-key', 'anthropic-version': entry.headers['anthropic-version'] || '2023-06-01' });
  else if (fam === 'gemini') headers['x-goog-api-key'] = 'sim-replay-key';
  else headers.authorization = 'Bearer sim-replay-key'; // openai; bedrock API key
  const body = JSON.stringify(entry.body);
  assert.equal(Buffer.byteLength(body), Number(entry.headers['content-length']), 'the replayed body has the upstream body\'s length');
  const r = await fetch(`${simBase}${entry.path}${entry.query ? '?' + entry.query : ''}`, { method: 'POST', headers, body, signal: AbortSignal.timeout(10000) });
  const buf = Buffer.from(await r.arrayBuffer());
  assert.equal(r.status, 200, `replay answered ${r.status}: ${buf.toString().slice(0, 300)}`);
  const stream = entry.path.endsWith('-stream') || entry.path.includes(':streamGenerateContent') || entry.body?.stream === true;
  return { fam, ...readUpstream(fam, stream, buf) };
}

// The access log line of a request (the log is flushed every 200 ms).
async function accessLine(requestId) {
  assert.ok(requestId, 'the response carries x-switchyard-request-id');
  const deadline = Date.now() + 5000;
  while (!access.has(requestId)) {
    if (Date.now() > deadline) assert.fail(`no access log line for ${requestId}`);
    await sleep(20);
  }
  return access.get(requestId);
}

// --------------------------------------------------------- one exchange ---

// Normalised result of one SDK call: { text, tools: [{id, name, args}],
// finish: 'stop' | 'tool_calls' | other, usage: {input, output} | null }.
const FINISH = { end_turn: 'stop', tool_use: 'tool_calls', stop: 'stop', tool_calls: 'tool_calls' };

async function callOpenAI(params, mode) {
  const client = oai();
  if (mode === 'whole') {
    const r = await client.chat.completions.create(params);
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.choices.length, 1);
    const m = r.choices[0].message;
    assert.equal(m.role, 'assistant');
    return {
      raw: r, text: m.content || '', finish: r.choices[0].finish_reason,
      tools: (m.tool_calls || []).map((t) => { assert.equal(t.type, 'function'); return { id: t.id, name: t.function.name, args: JSON.parse(t.function.arguments) }; }),
      usage: { input: r.usage.prompt_tokens, output: r.usage.completion_tokens, total: r.usage.total_tokens },
    };
  }
  if (mode === 'iterate') {
    const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
    let text = '', finish = null, usage = null, role = null, id = null, usageChunks = 0;
    const calls = [];
    for await (const ch of stream) {
      assert.equal(ch.object, 'chat.completion.chunk');
      if (id === null) id = ch.id; else assert.equal(ch.id, id, 'one id for every chunk');
      if (ch.usage) { usage = ch.usage; usageChunks++; assert.deepEqual(ch.choices, [], 'the usage chunk has no choices'); continue; }
      assert.equal(finish, null, 'no choice chunk after the finish_reason chunk');
      for (const c of ch.choices) {
        assert.equal(c.index, 0);
        if (c.delta.role) role = c.delta.role;
        text += c.delta.content || '';
        for (const tc of c.delta.tool_calls || []) {
          if (!calls[tc.index]) {
            assert.ok(tc.id && tc.function?.name, 'a tool call\'s first chunk has its id and name');
            calls[tc.index] = { id: tc.id, name: tc.function.name, args: tc.function.arguments || '' };
          } else {
            assert.ok(!tc.id || tc.id === calls[tc.index].id);
            calls[tc.index].args += tc.function?.arguments || '';
          }
        }
        if (c.finish_reason) finish = c.finish_reason;
      }
    }
    assert.equal(role, 'assistant');
    assert.equal(usageChunks, 1, 'exactly one usage chunk when include_usage is asked');
    return {
      text, finish, tools: calls.map((c) => ({ id: c.id, name: c.name, args: JSON.parse(c.args) })),
      usage: { input: usage.prompt_tokens, output: usage.completion_tokens, total: usage.total_tokens },
    };
  }
  // mode === 'helper': the SDK's ChatCompletionStream accumulates the chunks.
  const s = client.chat.completions.stream({ ...params, stream_options: { include_usage: true } });
  let deltas = '';
  s.on('content', (d) => { deltas += d; });
  const r = await s.finalChatCompletion();
  const m = r.choices[0].message;
  assert.equal(deltas, m.content || '', 'content events add up to the final content');
  return {
    raw: r, text: m.content || '', finish: r.choices[0].finish_reason,
    tools: (m.tool_calls || []).map((t) => ({ id: t.id, name: t.function.name, args: JSON.parse(t.function.arguments) })),
    usage: r.usage ? { input: r.usage.prompt_tokens, output: r.usage.completion_tokens, total: r.usage.total_tokens } : null,
  };
}

function fromMessage(m) {
  assert.equal(m.type, 'message');
  assert.equal(m.role, 'assistant');
  let text = '';
  const tools = [];
  for (const b of m.content) {
    if (b.type === 'text') text += b.text;
    else if (b.type === 'tool_use') tools.push({ id: b.id, name: b.name, args: b.input });
    else if (b.type !== 'thinking' && b.type !== 'redacted_thinking') assert.fail(`unexpected block ${b.type}`);
  }
  const u = m.usage;
  return {
    raw: m, text, tools, finish: m.stop_reason,
    usage: { input: u.input_tokens + (u.cache_read_input_tokens || 0) + (u.cache_creation_input_tokens || 0), output: u.output_tokens },
  };
}

async function callAnthropic(params, mode) {
  const client = ant();
  params = { max_tokens: 1024, ...params };
  if (mode === 'whole') return fromMessage(await client.messages.create(params));
  if (mode === 'helper') {
    const s = client.messages.stream(params);
    const types = [];
    s.on('streamEvent', (e) => types.push(e.type));
    const m = await s.finalMessage();
    assert.equal(types[0], 'message_start');
    assert.equal(types.at(-2), 'message_delta');
    assert.equal(types.at(-1), 'message_stop');
    return fromMessage(m);
  }
  // mode === 'iterate': the raw event stream, checked for well-formedness.
  const stream = await client.messages.create({ ...params, stream: true });
  let msg = null, open = -1, stop = false;
  const blocks = [];
  for await (const ev of stream) {
    assert.ok(!stop, 'nothing after message_stop');
    switch (ev.type) {
      case 'message_start': assert.equal(msg, null); msg = ev.message; assert.deepEqual(msg.content, []); break;
      case 'content_block_start':
        assert.equal(open, -1, 'one block open at a time'); assert.equal(ev.index, blocks.length);
        open = ev.index; blocks.push({ ...ev.content_block, json: '' }); break;
      case 'content_block_delta':
        assert.equal(ev.index, open);
        if (ev.delta.type === 'text_delta') blocks[open].text += ev.delta.text;
        else if (ev.delta.type === 'input_json_delta') blocks[open].json += ev.delta.partial_json;
        break;
      case 'content_block_stop': assert.equal(ev.index, open); open = -1; break;
      case 'message_delta': msg.stop_reason = ev.delta.stop_reason; Object.assign(msg.usage, ev.usage); break;
      case 'message_stop': stop = true; break;
      case 'ping': break;
      default: assert.fail(`unexpected event ${ev.type}`);
    }
  }
  assert.ok(stop, 'the stream ends with message_stop');
  msg.content = blocks.map(({ json, ...b }) => (b.type === 'tool_use' ? { ...b, input: json ? JSON.parse(json) : {} } : b));
  return fromMessage(msg);
}

// The request a case sends, in the SDK's own format.
function request(sdk, model, ntools, history) {
  if (sdk === 'openai') {
    const p = { model, messages: history || [{ role: 'user', content: 'What is the weather like today?' }] };
    if (ntools) p.tools = oaiTools(ntools);
    return p;
  }
  const p = { model, messages: history || [{ role: 'user', content: 'What is the weather like today?' }] };
  if (ntools) p.tools = antTools(ntools);
  return p;
}

// One gateway exchange with every accounting check: the answer equals what
// the upstream produced, the usage equals the upstream's, the cost header and
// the access log carry tokens x price.
async function exchange(sdk, f, model, upModel, params, mode) {
  const mark = await simMark();
  last = null;
  const got = sdk === 'openai' ? await callOpenAI(params, mode) : await callAnthropic(params, mode);
  const res = last;
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-switchyard-provider'), f.fam);
  assert.equal(res.headers.get('x-switchyard-model'), upModel);
  const upReq = await upstreamOf(mark);
  const up = await replay(upReq);
  assert.equal(up.fam, f.fam, 'the request went to the model\'s provider');
  assert.equal(got.text, up.text, 'the text is the upstream\'s text');
  assert.deepEqual(got.tools.map((t) => ({ name: t.name, args: t.args })), up.tools, 'the tool calls are the upstream\'s');
  const cost = costString(f.fam, upModel, up);
  if (got.usage) {
    assert.equal(got.usage.input, up.input, 'input tokens equal the upstream\'s');
    assert.equal(got.usage.output, up.output, 'output tokens equal the upstream\'s');
    if (got.usage.total !== undefined) assert.equal(got.usage.total, up.input + up.output);
  }
  if (mode === 'whole') assert.equal(res.headers.get('x-switchyard-cost-usd'), cost, 'x-switchyard-cost-usd is tokens x catalogue price');
  else assert.equal(res.headers.get('content-type').split(';')[0], 'text/event-stream');
  const { entry, raw } = await accessLine(res.headers.get('x-switchyard-request-id'));
  assert.equal(entry.status, 200);
  assert.equal(entry.stream, mode !== 'whole');
  assert.equal(entry.provider, f.fam);
  assert.equal(entry.upstream_model, upModel);
  assert.equal(entry.tokens_in, up.input, 'access log tokens_in');
  assert.equal(entry.tokens_out, up.output, 'access log tokens_out');
  assert.equal(raw.match(/"cost_usd":([0-9.e-]+)/)?.[1], cost, 'access log cost_usd');
  assert.ok(!entry.client_aborted);
  // The timings keep their order: the upstream's share is part of the whole
  // (overhead = duration - upstream is never negative), and so is the time
  // to first token of a stream.
  assert.ok(entry.upstream_ms > 0, `access log upstream_ms ${entry.upstream_ms} > 0`);
  assert.ok(entry.upstream_ms <= entry.duration_ms, `upstream_ms ${entry.upstream_ms} <= duration_ms ${entry.duration_ms}`);
  if (mode !== 'whole') {
    assert.ok(entry.ttft_ms > 0, `access log ttft_ms ${entry.ttft_ms} > 0`);
    assert.ok(entry.ttft_ms <= entry.duration_ms, `ttft_ms ${entry.ttft_ms} <= duration_ms ${entry.duration_ms}`);
  }
  return { got, upReq, up };
}

// ------------------------------------------------ the 8 combinations ---

const SDKS = ['openai', 'anthropic'];
const MODES = ['whole', 'iterate', 'helper'];

for (const sdk of SDKS) {
  for (const f of FAMILIES) {
    for (const mode of MODES) {
      const name = `${sdk} SDK -> ${f.fam} (${mode === 'whole' ? 'not streamed' : mode === 'iterate' ? 'stream, iterated' : 'stream, SDK helper'})`;

      test(`${name}: text`, T, async () => {
        const { got } = await exchange(sdk, f, f.model, f.up, request(sdk, f.model, 0), mode);
        assert.equal(FINISH[got.finish], 'stop');
        assert.ok(got.text.length > 0);
        assert.equal(got.tools.length, 0);
      });

      test(`${name}: one tool call`, T, async () => {
        const { got } = await exchange(sdk, f, f.model, f.up, request(sdk, f.model, 1), mode);
        assert.equal(FINISH[got.finish], 'tool_calls');
        assert.equal(got.tools.length, 1);
        assert.equal(got.tools[0].name, 'get_weather');
        assert.ok(got.tools[0].id);
        checkArgs('get_weather', got.tools[0].args);
      });

      test(`${name}: parallel tool calls`, T, async () => {
        const model = `${f.model}-par`;
        const { got } = await exchange(sdk, f, model, f.v('par'), request(sdk, model, 2), mode);
        assert.equal(FINISH[got.finish], 'tool_calls');
        assert.deepEqual(got.tools.map((t) => t.name), ['get_weather', 'get_time']);
        assert.equal(new Set(got.tools.map((t) => t.id)).size, 2, 'distinct tool call ids');
        for (const t of got.tools) checkArgs(t.name, t.args);
      });

      test(`${name}: tool results round trip to a text answer`, T, async () => {
        const model = `${f.model}-par`;
        const upModel = f.v('par');
        // Turn 1 (not streamed): two calls.
        const first = await exchange(sdk, f, model, upModel, request(sdk, model, 2), 'whole');
        assert.equal(first.got.tools.length, 2);
        let history;
        if (sdk === 'openai') {
          history = [{ role: 'user', content: 'What is the weather like today?' }, first.got.raw.choices[0].message];
          for (const t of first.got.tools) history.push({ role: 'tool', tool_call_id: t.id, content: TOOLS.find((x) => x.name === t.name).result });
        } else {
          history = [{ role: 'user', content: 'What is the weather like today?' }, { role: 'assistant', content: first.got.raw.content },
            { role: 'user', content: first.got.tools.map((t) => ({ type: 'tool_result', tool_use_id: t.id, content: TOOLS.find((x) => x.name === t.name).result })) }];
        }
        // Turn 2 (in this mode, on the family's plain model: the -par sim
        // model calls tools on every turn): the results go upstream, a text
        // answer comes back.
        const second = await exchange(sdk, f, f.model, f.up, request(sdk, f.model, 2, history), mode);
        assert.equal(FINISH[second.got.finish], 'stop');
        assert.ok(second.got.text.length > 0);
        assert.equal(second.got.tools.length, 0);
        const sent = JSON.stringify(second.upReq.body);
        for (const t of TOOLS) assert.ok(sent.includes(t.result), `the ${t.name} result went upstream`);
      });
    }

    if (sdk === 'openai') {
      test(`openai SDK -> ${f.fam}: a stream without include_usage has no usage chunk, and is still accounted`, T, async () => {
        const mark = await simMark();
        const stream = await oai().chat.completions.create({ ...request('openai', f.model, 0), stream: true });
        let text = '';
        for await (const ch of stream) {
          assert.ok(!ch.usage, 'no usage chunk');
          assert.equal(ch.choices.length, 1, 'every chunk has its choice');
          text += ch.choices[0].delta.content || '';
        }
        const up = await replay(await upstreamOf(mark));
        assert.equal(text, up.text);
        const { entry } = await accessLine(last.headers.get('x-switchyard-request-id'));
        assert.equal(entry.tokens_in, up.input);
        assert.equal(entry.tokens_out, up.output);
      });
    }
  }
}

// ------------------------------------------- embeddings, models, count ---

test('openai SDK: embeddings, usage and cost equal the upstream\'s', T, async () => {
  const client = oai();
  for (const params of [
    { model: 'text-embedding-3-small', input: ['hello world', 'a second input'], encoding_format: 'float' },
    { model: 'text-embedding-3-small', input: 'hello world', dimensions: 256 }, // the SDK asks for base64 and decodes
  ]) {
    const mark = await simMark();
    const e = await client.embeddings.create(params);
    const n = Array.isArray(params.input) ? params.input.length : 1;
    assert.equal(e.data.length, n);
    for (const d of e.data) {
      assert.equal(d.embedding.length, params.dimensions || 1536);
      assert.ok(Math.abs(Math.hypot(...d.embedding) - 1) < 1e-3, 'unit length');
    }
    const up = await replay(await upstreamOf(mark));
    assert.equal(e.usage.prompt_tokens, up.input);
    assert.equal(e.usage.total_tokens, up.input);
    assert.equal(last.headers.get('x-switchyard-cost-usd'), costString('openai', 'text-embedding-3-small', up), 'x-switchyard-cost-usd');
    const { entry } = await accessLine(last.headers.get('x-switchyard-request-id'));
    assert.equal(entry.tokens_in, up.input);
  }
});

test('openai SDK: models.list() is the gateway\'s model names', T, async () => {
  const ids = [];
  for await (const m of oai().models.list()) { assert.equal(m.object, 'model'); ids.push(m.id); }
  const expect = ['text-embedding-3-small'];
  for (const f of FAMILIES) expect.push(f.model, ...Object.keys(VARIANTS).map((k) => `${f.model}-${k}`));
  assert.deepEqual([...ids].sort(), expect.sort());
  const one = await oai().models.retrieve('claude-sonnet');
  assert.equal(one.id, 'claude-sonnet');
  await assert.rejects(oai().models.retrieve('no-such-model'), (e) => e instanceof OpenAI.NotFoundError);
});

test('anthropic SDK: count_tokens for every family\'s model', T, async () => {
  const client = ant();
  const messages = [{ role: 'user', content: 'Count the tokens of this short question about the weather, please.' }];
  for (const f of FAMILIES) {
    const c = await client.messages.countTokens({ model: f.model, system: 'Be brief.', messages });
    assert.ok(Number.isInteger(c.input_tokens) && c.input_tokens > 0, `${f.model}: ${c.input_tokens}`);
    // An estimate: the same order of magnitude as what the upstream counts.
    const m = await client.messages.create({ model: f.model, max_tokens: 50, system: 'Be brief.', messages });
    const actual = m.usage.input_tokens;
    assert.ok(c.input_tokens >= actual / 3 && c.input_tokens <= actual * 3, `${f.model}: estimate ${c.input_tokens}, upstream ${actual}`);
  }
  await assert.rejects(client.messages.countTokens({ model: 'no-such-model', messages }), (e) => e instanceof Anthropic.NotFoundError);
});

// ------------------------------------------------------ error scenarios ---

const ping = { openai: { messages: [{ role: 'user', content: 'hi' }] }, anthropic: { max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] } };
const sdkCall = (sdk, model, extra = {}, opts = {}) => (sdk === 'openai'
  ? oai(opts).chat.completions.create({ model, ...ping.openai, ...extra })
  : ant(opts).messages.create({ model, ...ping.anthropic, ...extra }));
const E = { openai: OpenAI, anthropic: Anthropic };

for (const sdk of SDKS) {
  const Sdk = E[sdk];

  test(`${sdk} SDK: unknown model is NotFoundError, bad key is AuthenticationError`, T, async () => {
    const mark = await simMark();
    await assert.rejects(sdkCall(sdk, 'no-such-model'), (e) => {
      assert.ok(e instanceof Sdk.NotFoundError, `${e.constructor.name}: ${e.message}`);
      assert.equal(e.status, 404);
      if (sdk === 'openai') assert.equal(e.code, 'model_not_found');
      else assert.equal(e.error?.error?.type, 'not_found_error');
      return true;
    });
    for (const stream of [false, true])
      await assert.rejects(sdkCall(sdk, 'gpt-4o-mini', { stream }, { apiKey: 'sk-not-a-key-0000000000' }), (e) => {
        assert.ok(e instanceof Sdk.AuthenticationError, `${e.constructor.name}: ${e.message}`);
        if (sdk === 'anthropic') assert.equal(e.error?.error?.type, 'authentication_error');
        else assert.equal(typeof e.error?.message, 'string');
        return true;
      });
    assert.equal((await simSince(mark)).length, 0, 'nothing went upstream');
  });

  for (const f of FAMILIES) {
    test(`${sdk} SDK -> ${f.fam}: upstream 429 with Retry-After is RateLimitError (streamed and not)`, T, async () => {
      for (const stream of [false, true]) {
        await assert.rejects(async () => {
          const r = await sdkCall(sdk, `${f.model}-429`, { stream });
          for await (const _ of r) { /* not reached */ }
        }, (e) => {
          assert.ok(e instanceof Sdk.RateLimitError, `${e.constructor.name}: ${e.message}`);
          assert.equal(e.status, 429);
          assert.equal(e.headers.get('retry-after'), '7', 'the upstream Retry-After is passed on');
          if (sdk === 'anthropic') assert.equal(e.error?.error?.type, 'rate_limit_error');
          return true;
        });
      }
    });

    test(`${sdk} SDK -> ${f.fam}: upstream overloaded (529) is the front door's overloaded error`, T, async () => {
      await assert.rejects(sdkCall(sdk, `${f.model}-529`), (e) => {
        if (sdk === 'anthropic') {
          // Anthropic's API answers overloaded with 529 overloaded_error, and
          // its SDK types that as OverloadedError.
          assert.equal(e.error?.error?.type, 'overloaded_error');
          assert.ok(e instanceof Anthropic.OverloadedError, `${e.constructor.name} ${e.status}: an Anthropic client expects 529 OverloadedError`);
          assert.equal(e.status, 529);
        } else {
          assert.ok(e instanceof OpenAI.InternalServerError, `${e.constructor.name}: ${e.message}`);
          assert.equal(e.status, 503);
        }
        assert.equal(e.headers.get('retry-after'), '3');
        return true;
      });
    });

    test(`${sdk} SDK -> ${f.fam}: upstream reset mid-stream ends with the front door's error`, T, async () => {
      let events = 0;
      const t0 = Date.now();
      await assert.rejects(async () => {
        if (sdk === 'openai') {
          const s = await oai().chat.completions.create({ model: `${f.model}-reset`, ...ping.openai, stream: true });
          for await (const _ of s) events++;
        } else {
          const s = ant().messages.stream({ model: `${f.model}-reset`, ...ping.anthropic });
          s.on('streamEvent', () => events++);
          await s.finalMessage();
        }
      }, (e) => {
        assert.ok(e instanceof Sdk.APIError && !(e instanceof Sdk.APIConnectionError), `the front door's error event, not a broken connection: ${e.constructor.name}: ${e.message}`);
        return true;
      });
      assert.ok(events > 0, 'events before the reset reached the client');
      assert.ok(Date.now() - t0 < 10000, 'no hang');
      // Not streamed: the failure comes before any byte, so it is a 502.
      await assert.rejects(sdkCall(sdk, `${f.model}-reset`), (e) => e instanceof Sdk.InternalServerError && e.status === 502);
    });
  }
}

// The raw bytes of a stream that fails mid-way: a well-formed ending.
for (const f of FAMILIES) {
  test(`raw stream -> ${f.fam}: an upstream reset gives a well-formed error ending on both front doors`, T, async () => {
    const oaiR = await fetch(`${gwBase}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: `${f.model}-reset`, ...ping.openai, stream: true }), signal: AbortSignal.timeout(10000),
    });
    assert.equal(oaiR.status, 200);
    const ot = await oaiR.text(); // resolves only if the chunked body ends properly
    const events = ot.split('\n\n').filter(Boolean);
    assert.equal(events.at(-1), 'data: [DONE]');
    const err = JSON.parse(events.at(-2).replace(/^data: /, ''));
    assert.equal(typeof err.error?.message, 'string');
    assert.equal(typeof err.error?.type, 'string');

    const antR = await fetch(`${gwBase}/v1/messages`, {
      method: 'POST', headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: `${f.model}-reset`, ...ping.anthropic, stream: true }), signal: AbortSignal.timeout(10000),
    });
    assert.equal(antR.status, 200);
    const at = (await antR.text()).split('\n\n').filter(Boolean);
    assert.ok(at[0].startsWith('event: message_start'));
    const lastEv = at.at(-1).split('\n');
    assert.equal(lastEv[0], 'event: error');
    const ae = JSON.parse(lastEv[1].replace(/^data: /, ''));
    assert.equal(ae.type, 'error');
    assert.equal(typeof ae.error?.type, 'string');
    assert.equal(typeof ae.error?.message, 'string');
  });
}

// -------------------------------------------------- client disconnects ---

function metricValue(text, name, labels) {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{')) continue;
    const m = line.match(/^[^{]+\{(.*)\}\s+(\S+)$/);
    if (!m) continue;
    const l = Object.fromEntries([...m[1].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => l[k] === v)) return Number(m[2]);
  }
  return 0;
}
const metrics = async () => (await fetch(`${gwBase}/metrics`, { signal: AbortSignal.timeout(5000) })).text();

for (const sdk of SDKS) {
  for (const f of FAMILIES) {
    test(`${sdk} SDK -> ${f.fam}: a client that disconnects mid-stream is still accounted`, T, async () => {
      const upModel = f.v('slow');
      const labels = { provider: f.fam, model: upModel, direction: 'output' };
      const m0 = await metrics();
      const before = metricValue(m0, 'switchyard_tokens_total', labels);
      const beforeIn = metricValue(m0, 'switchyard_tokens_total', { ...labels, direction: 'input' });
      let text = '', n = 0;
      last = null;
      if (sdk === 'openai') {
        const s = await oai().chat.completions.create({ model: `${f.model}-slow`, ...ping.openai, stream: true, stream_options: { include_usage: true } });
        for await (const ch of s) {
          text += ch.choices[0]?.delta?.content || '';
          if (++n === 6) { s.controller.abort(); break; }
        }
      } else {
        const s = ant().messages.stream({ model: `${f.model}-slow`, ...ping.anthropic, max_tokens: 1000 });
        s.on('text', (d) => { text += d; if (++n === 5) s.abort(); });
        await assert.rejects(s.finalMessage(), (e) => e instanceof Anthropic.APIUserAbortError);
      }
      assert.ok(text.length > 0, 'some text arrived before the abort');
      const { entry } = await accessLine(last.headers.get('x-switchyard-request-id'));
      assert.equal(entry.client_aborted, true, 'access log: client_aborted');
      assert.ok(entry.duration_ms < 3000, `the request ended with the client (${entry.duration_ms} ms; the whole stream takes 6 s)`);
      assert.ok(entry.tokens_in > 0, `access log tokens_in ${entry.tokens_in} > 0`);
      assert.ok(entry.tokens_out > 0, `access log tokens_out ${entry.tokens_out} > 0`);
      assert.ok(entry.tokens_out >= tokens(text), `tokens_out ${entry.tokens_out} covers the ${tokens(text)} tokens the client received`);
      const m = await metrics();
      assert.equal(metricValue(m, 'switchyard_tokens_total', labels) - before, entry.tokens_out, 'switchyard_tokens_total output counts the tokens streamed up to the abort');
      assert.equal(metricValue(m, 'switchyard_tokens_total', { ...labels, direction: 'input' }) - beforeIn, entry.tokens_in, 'switchyard_tokens_total input');
    });
  }
}

// ------------------------------------------------------------ bad input ---

async function raw(path, body, headers = {}) {
  const auth = path.startsWith('/v1/messages') ? { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' } : { authorization: `Bearer ${KEY}` };
  const r = await fetch(`${gwBase}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...auth, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body), signal: AbortSignal.timeout(5000),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* checked by the caller */ }
  return { status: r.status, type: r.headers.get('content-type'), text, json };
}

function openaiError(r, status, what) {
  assert.equal(r.status, status, `${what}: status ${r.status} ${r.text.slice(0, 200)}`);
  assert.match(r.type, /^application\/json/, what);
  assert.ok(r.json && typeof r.json.error === 'object', `${what}: {"error":{...}}: ${r.text.slice(0, 200)}`);
  assert.equal(typeof r.json.error.message, 'string', what);
  assert.equal(typeof r.json.error.type, 'string', what);
  assert.ok(!('type' in r.json), `${what}: OpenAI's shape has no top-level type`);
}

function anthropicError(r, status, what, type) {
  assert.equal(r.status, status, `${what}: status ${r.status} ${r.text.slice(0, 200)}`);
  assert.match(r.type, /^application\/json/, what);
  assert.ok(r.json && r.json.type === 'error' && typeof r.json.error === 'object', `${what}: {"type":"error","error":{...}}: ${r.text.slice(0, 200)}`);
  assert.equal(typeof r.json.error.message, 'string', what);
  assert.equal(r.json.error.type, type, what);
}

test('bad input on the OpenAI front door: status and {"error":{...}}', T, async () => {
  const ok = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };
  const mark = await simMark();
  openaiError(await raw('/v1/chat/completions', '{"model": "gpt-4o-mini", "messages": ['), 400, 'malformed JSON');
  openaiError(await raw('/v1/chat/completions', ''), 400, 'empty body');
  openaiError(await raw('/v1/chat/completions', '[1,2]'), 400, 'not an object');
  openaiError(await raw('/v1/chat/completions', { model: 'gpt-4o-mini' }), 400, 'no messages');
  openaiError(await raw('/v1/chat/completions', { ...ok, messages: [] }), 400, 'empty messages');
  openaiError(await raw('/v1/chat/completions', { ...ok, messages: 'hi' }), 400, 'messages not an array');
  openaiError(await raw('/v1/chat/completions', { ...ok, model: 42 }), 400, 'model not a string');
  openaiError(await raw('/v1/chat/completions', { messages: ok.messages }), 400, 'no model');
  openaiError(await raw('/v1/chat/completions', { ...ok, max_tokens: 'ten' }), 400, 'max_tokens not a number');
  openaiError(await raw('/v1/chat/completions', { ...ok, stream: 'yes' }), 400, 'stream not a boolean');
  openaiError(await raw('/v1/chat/completions', { ...ok, messages: [{ role: 'robot', content: 'hi' }] }), 400, 'unknown role');
  openaiError(await raw('/v1/chat/completions', { ...ok, model: 'no-such-model' }), 404, 'unknown model');
  openaiError(await raw('/v1/chat/completions', ok, { authorization: 'Bearer sk-wrong-0000000000' }), 401, 'bad key');
  openaiError(await raw('/v1/embeddings', '{"model":'), 400, 'embeddings: malformed JSON');
  openaiError(await raw('/v1/embeddings', { model: 'text-embedding-3-small' }), 400, 'embeddings: no input');
  openaiError(await raw('/v1/embeddings', { model: 'no-such-model', input: 'x' }), 404, 'embeddings: unknown model');
  assert.equal((await simSince(mark)).length, 0, 'nothing went upstream');
});

test('bad input on the Anthropic front door: status and {"type":"error","error":{...}}', T, async () => {
  const ok = { model: 'claude-sonnet', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] };
  const mark = await simMark();
  const bad = 'invalid_request_error';
  anthropicError(await raw('/v1/messages', '{"model": "claude-sonnet", "messages": ['), 400, 'malformed JSON', bad);
  anthropicError(await raw('/v1/messages', ''), 400, 'empty body', bad);
  anthropicError(await raw('/v1/messages', '"text"'), 400, 'not an object', bad);
  anthropicError(await raw('/v1/messages', { model: 'claude-sonnet', max_tokens: 50 }), 400, 'no messages', bad);
  anthropicError(await raw('/v1/messages', { ...ok, messages: {} }), 400, 'messages not an array', bad);
  anthropicError(await raw('/v1/messages', { ...ok, max_tokens: 'ten' }), 400, 'max_tokens not a number', bad);
  anthropicError(await raw('/v1/messages', { ...ok, model: ['claude-sonnet'] }), 400, 'model not a string', bad);
  anthropicError(await raw('/v1/messages', { ...ok, messages: [{ role: 'user', content: 5 }] }), 400, 'content not text or blocks', bad);
  anthropicError(await raw('/v1/messages', { ...ok, messages: [{ role: 'system', content: 'hi' }] }), 400, 'unknown role', bad);
  anthropicError(await raw('/v1/messages', { ...ok, model: 'no-such-model' }), 404, 'unknown model', 'not_found_error');
  anthropicError(await raw('/v1/messages', ok, { 'x-api-key': 'sk-wrong-0000000000' }), 401, 'bad key', 'authentication_error');
  anthropicError(await raw('/v1/messages/count_tokens', '{"model":'), 400, 'count_tokens: malformed JSON', bad);
  anthropicError(await raw('/v1/messages/count_tokens', { model: 'no-such-model', messages: ok.messages }), 404, 'count_tokens: unknown model', 'not_found_error');
  assert.equal((await simSince(mark)).length, 0, 'nothing went upstream');
});

// A body over limits.max_body_bytes, sent on a raw socket (the gateway may
// answer before reading it all).
function oversized(path, headers) {
  return new Promise((resolve, reject) => {
    const u = new URL(gwBase);
    const s = connect(Number(u.port), u.hostname);
    const chunks = [];
    const timer = setTimeout(() => { s.destroy(); reject(new Error('no answer to an oversized body')); }, 5000);
    const n = MAX_BODY + 4096;
    const body = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 10, messages: [{ role: 'user', content: 'x'.repeat(n) }] });
    s.on('connect', () => {
      s.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
      s.write(body, () => {});
    });
    s.on('error', () => {}); // a reset after the answer is fine
    s.on('data', (d) => chunks.push(d));
    s.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const i = text.indexOf('\r\n\r\n');
      const head = text.slice(0, i);
      const m = head.match(/^HTTP\/1\.1 (\d+)/);
      const type = head.match(/^content-type:\s*(.*)$/im)?.[1] || '';
      const b = text.slice(i + 4);
      let json = null;
      try { json = JSON.parse(b); } catch { /* checked by the caller */ }
      resolve({ status: m ? Number(m[1]) : 0, type, text: b, json });
    });
  });
}

test('an oversized body is 413 in each front door\'s format', T, async () => {
  openaiError(await oversized('/v1/chat/completions', { authorization: `Bearer ${KEY}` }), 413, 'chat completions: oversized');
  openaiError(await oversized('/v1/embeddings', { authorization: `Bearer ${KEY}` }), 413, 'embeddings: oversized');
  anthropicError(await oversized('/v1/messages', { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' }), 413, 'messages: oversized', 'request_too_large');
});

test('the gateway is still up and serving after all of the above', T, async () => {
  const h = await fetch(`${gwBase}/health`, { signal: AbortSignal.timeout(5000) });
  assert.equal(h.status, 200);
  assert.equal((await h.json()).status, 'ok');
  assert.equal(gw.exitCode, null);
  const r = await oai().chat.completions.create({ model: 'claude-sonnet', messages: [{ role: 'user', content: 'still there?' }] });
  assert.equal(r.choices[0].finish_reason, 'stop');
  const m = await ant().messages.create({ model: 'gpt-4o-mini', max_tokens: 50, messages: [{ role: 'user', content: 'still there?' }] });
  assert.equal(m.stop_reason, 'end_turn');
});

// No configured secret reaches the gateway's log (its access log lines
// included), whatever the tests above made it do.
test('no configured secret appears in the gateway log', T, async () => {
  await sleep(300); // the access log is flushed every 200 ms
  const secrets = [KEY, 'sim-openai-key', 'sim-anthropic-key', 'sim-gemini-key', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'];
  assert.ok(gwLog.length > 0, 'the gateway log was captured');
  for (const s of secrets)
    assert.ok(!gwLog.includes(s), `a configured secret (${s.length} characters, starting ${s.slice(0, 4)}) appears in the gateway log`);
});
