// The official `openai` and `@anthropic-ai/sdk` clients, pointed straight at
// `switchyard sim`: chat, streaming, tool calls, a tool-result round trip,
// embeddings, model lists and the error scenarios the SDKs type.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const root = process.env.SY_ROOT || join(here, '..', '..');
const bin = process.env.SY_BIN || join(root, 'build', 'switchyard');
const require = createRequire(join(root, 'tests', 'package.json'));
const { default: OpenAI, AzureOpenAI } = await import(require.resolve('openai'));
const { default: Anthropic } = await import(require.resolve('@anthropic-ai/sdk'));

const KEY = 'sk-sim-test-key-0123456789';
const CONFIG = `
keys: [${KEY}]
models:
  - name: flaky-4o
    family: openai
    version: flaky-4o-2025-01-01
    fault: 429
    fault_first: 1
    retry_after: 1
  - name: flaky-claude
    family: anthropic
    fault: 529
    fault_first: 1
    retry_after: 1
`;

// The simulator's tokenizer (docs/sim.md): a run of letters/digits/non-ASCII,
// or one other non-space character.
const tokens = (s) => (s.match(/[A-Za-z0-9\u0080-\uffff]+|[^\sA-Za-z0-9\u0080-\uffff]/g) || []).length;

let proc, base;

function freePort() {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
  });
}

before(async () => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sy-sim-sdk-'));
  const cfg = join(dir, 'sim.yaml');
  writeFileSync(cfg, CONFIG);
  proc = spawn(bin, ['sim', '--listen', `127.0.0.1:${port}`, '-c', cfg], { stdio: ['ignore', 'inherit', 'inherit'] });
  base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10000;
  for (;;) {
    try { const r = await fetch(`${base}/health`); if (r.ok) break; } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error('sim did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
});

after(() => { if (proc) proc.kill('SIGTERM'); });

const oai = (opts = {}) => new OpenAI({ apiKey: KEY, baseURL: `${base}/v1`, maxRetries: 0, timeout: 10000, ...opts });
const ant = (opts = {}) => new Anthropic({ apiKey: KEY, baseURL: base, maxRetries: 0, timeout: 10000, ...opts });

const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: {
      type: 'object',
      properties: {
        city: { type: 'string' },
        unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
        days: { type: 'integer', minimum: 1, maximum: 7 },
        where: { type: 'object', properties: { lat: { type: 'number' }, lon: { type: 'number' } }, required: ['lat', 'lon'] },
      },
      required: ['city', 'unit', 'days', 'where'],
      additionalProperties: false,
    },
  },
};

function checkWeatherArgs(args) {
  assert.equal(typeof args.city, 'string');
  assert.ok(['celsius', 'fahrenheit'].includes(args.unit));
  assert.ok(Number.isInteger(args.days) && args.days >= 1 && args.days <= 7);
  assert.equal(typeof args.where.lat, 'number');
  assert.equal(typeof args.where.lon, 'number');
}

// ------------------------------------------------------------------ OpenAI

test('openai: chat completion, usage agrees with the text', async () => {
  const r = await oai().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello' }] });
  assert.match(r.id, /^chatcmpl-/);
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].finish_reason, 'stop');
  const text = r.choices[0].message.content;
  assert.equal(r.usage.completion_tokens, tokens(text));
  assert.equal(r.usage.prompt_tokens, tokens('user') + tokens('Say hello'));
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
});

test('openai: deterministic for the same body, x-sim-output-tokens and max_tokens', async () => {
  const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'same' }] };
  const a = await oai().chat.completions.create(body);
  const b = await oai().chat.completions.create(body);
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
  const c = await oai().chat.completions.create(body, { headers: { 'x-sim-output-tokens': '40' } });
  assert.equal(c.usage.completion_tokens, 40);
  const d = await oai().chat.completions.create({ ...body, max_tokens: 5 }, { headers: { 'x-sim-output-tokens': '40' } });
  assert.equal(d.usage.completion_tokens, 5);
  assert.equal(d.choices[0].finish_reason, 'length');
});

test('openai: streaming with include_usage', async () => {
  const stream = await oai().chat.completions.create({
    model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'stream please' }],
    stream: true, stream_options: { include_usage: true },
  }, { headers: { 'x-sim-output-tokens': '25' } });
  let text = '', usage = null, finish = null, chunks = 0;
  for await (const ch of stream) {
    chunks++;
    if (ch.usage) usage = ch.usage;
    for (const c of ch.choices) {
      text += c.delta.content || '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(finish, 'stop');
  assert.ok(chunks >= 27);
  assert.equal(usage.completion_tokens, 25);
  assert.equal(tokens(text), 25);
});

test('openai: streaming without include_usage has no usage chunk', async () => {
  const stream = await oai().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], stream: true });
  let usage = false;
  for await (const ch of stream) if (ch.usage) usage = true;
  assert.equal(usage, false);
});

test('openai: a tool call whose arguments satisfy the schema', async () => {
  const r = await oai().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'weather?' }], tools: [weather] });
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  const calls = r.choices[0].message.tool_calls;
  assert.equal(calls.length, 1);
  assert.match(calls[0].id, /^call_/);
  assert.equal(calls[0].function.name, 'get_weather');
  checkWeatherArgs(JSON.parse(calls[0].function.arguments));
  assert.equal(r.usage.completion_tokens, tokens('get_weather') + tokens(calls[0].function.arguments));
});

test('openai: parallel tool calls, streamed in pieces', async () => {
  const stream = await oai().chat.completions.create({
    model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'weather in three cities' }], tools: [weather],
    stream: true, stream_options: { include_usage: true },
  }, { headers: { 'x-sim-tools': '3' } });
  const calls = [];
  let finish = null, pieces = 0, usage = null;
  for await (const ch of stream) {
    if (ch.usage) usage = ch.usage;
    for (const c of ch.choices) {
      if (c.finish_reason) finish = c.finish_reason;
      for (const tc of c.delta.tool_calls || []) {
        if (tc.id) { calls[tc.index] = { id: tc.id, name: tc.function.name, args: tc.function.arguments }; assert.equal(tc.function.arguments, ''); }
        else { calls[tc.index].args += tc.function.arguments; pieces++; }
      }
    }
  }
  assert.equal(finish, 'tool_calls');
  assert.equal(calls.length, 3);
  assert.ok(pieces > 3);
  let expect = 0;
  for (const c of calls) { checkWeatherArgs(JSON.parse(c.args)); expect += tokens(c.name) + tokens(c.args); }
  assert.equal(new Set(calls.map((c) => c.id)).size, 3);
  assert.equal(usage.completion_tokens, expect);
});

test('openai: tool result round trip answers in text', async () => {
  const client = oai();
  const messages = [{ role: 'user', content: 'weather?' }];
  const r1 = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: [weather] });
  const msg = r1.choices[0].message;
  messages.push(msg);
  for (const tc of msg.tool_calls) messages.push({ role: 'tool', tool_call_id: tc.id, content: 'sunny, 21C' });
  const r2 = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: [weather] });
  assert.equal(r2.choices[0].finish_reason, 'stop');
  assert.equal(typeof r2.choices[0].message.content, 'string');
  // A tool message that answers nothing is refused, as by the real API.
  await assert.rejects(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }, { role: 'tool', tool_call_id: 'call_nope', content: 'y' }] }),
    (e) => e instanceof OpenAI.BadRequestError && e.status === 400);
});

test('openai: response_format json_schema gives a conforming value', async () => {
  const r = await oai().chat.completions.create({
    model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a person' }],
    response_format: { type: 'json_schema', json_schema: { name: 'person', schema: { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } }, required: ['name', 'age', 'tags'] } } },
  });
  const v = JSON.parse(r.choices[0].message.content);
  assert.equal(typeof v.name, 'string');
  assert.ok(Number.isInteger(v.age));
  assert.ok(Array.isArray(v.tags));
  await assert.rejects(oai().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_object' } }),
    (e) => e instanceof OpenAI.BadRequestError && /json/.test(e.message));
});

test('openai: embeddings (float and base64) and models', async () => {
  const client = oai();
  const e = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['hello world', 'second'], encoding_format: 'float' });
  assert.equal(e.data.length, 2);
  assert.equal(e.data[0].embedding.length, 1536);
  assert.equal(e.usage.prompt_tokens, 3);
  const b = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello world', dimensions: 256 }); // SDK asks for base64 and decodes
  assert.equal(b.data[0].embedding.length, 256);
  const again = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello world', encoding_format: 'float' });
  assert.ok(Math.abs(again.data[0].embedding[0] - e.data[0].embedding[0]) < 1e-6);
  const models = [];
  for await (const m of client.models.list()) models.push(m.id);
  assert.ok(models.includes('gpt-4o-mini') && models.includes('text-embedding-3-small'));
  assert.ok(!models.includes('claude-sonnet-4-5'));
  const one = await client.models.retrieve('gpt-4o');
  assert.equal(one.id, 'gpt-4o');
});

test('openai: Azure deployment path', async () => {
  const az = new AzureOpenAI({ apiKey: KEY, endpoint: base, apiVersion: '2024-10-21', deployment: 'gpt-4o-mini', maxRetries: 0 });
  const r = await az.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.ok(Array.isArray(r.prompt_filter_results));
  const s = await az.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
  let text = '';
  for await (const ch of s) for (const c of ch.choices) text += c.delta?.content || '';
  assert.ok(text.length > 0);
});

test('openai: typed errors', async () => {
  const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] };
  await assert.rejects(oai({ apiKey: 'sk-wrong-key-000000000' }).chat.completions.create(body), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
  await assert.rejects(oai().chat.completions.create({ ...body, model: 'gpt-nope' }), (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found');
  await assert.rejects(oai().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'robot', content: 'x' }] }), (e) => e instanceof OpenAI.BadRequestError && e.param === 'messages[0].role');
  await assert.rejects(oai().chat.completions.create({ model: 'gpt-4o-mini', messages: 'x' }), (e) => e instanceof OpenAI.BadRequestError && e.code === 'invalid_type');
  await assert.rejects(oai().chat.completions.create({ ...body, max_tokens: 'ten' }), (e) => e instanceof OpenAI.BadRequestError);
  await assert.rejects(oai().chat.completions.create(body, { headers: { 'x-sim-fault': '429', 'x-sim-retry-after': '7' } }),
    (e) => e instanceof OpenAI.RateLimitError && e.headers.get('retry-after') === '7');
  await assert.rejects(oai().chat.completions.create(body, { headers: { 'x-sim-fault': '500' } }), (e) => e instanceof OpenAI.InternalServerError && e.status === 500);
  await assert.rejects(oai().chat.completions.create(body, { headers: { 'x-sim-fault': '503' } }), (e) => e instanceof OpenAI.InternalServerError && e.status === 503);
});

test('openai: RateLimitError retried after Retry-After succeeds', async () => {
  const t0 = Date.now();
  const r = await oai({ maxRetries: 2 }).chat.completions.create({ model: 'flaky-4o', messages: [{ role: 'user', content: 'x' }] });
  assert.equal(r.model, 'flaky-4o-2025-01-01');
  assert.ok(Date.now() - t0 >= 900, 'the SDK waited for Retry-After');
});

test('openai: an error mid-stream surfaces as an APIError', async () => {
  const stream = await oai().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], stream: true },
    { headers: { 'x-sim-fault': '500', 'x-sim-fault-after': '3' } });
  let n = 0;
  await assert.rejects((async () => { for await (const _ of stream) n++; })(), (e) => e instanceof OpenAI.APIError);
  assert.equal(n, 3);
});

// --------------------------------------------------------------- Anthropic

const getWeather = { name: 'get_weather', description: 'Weather', input_schema: weather.function.parameters };

test('anthropic: message, usage agrees with the text, count_tokens agrees', async () => {
  const client = ant();
  const req = { model: 'claude-haiku-4-5', max_tokens: 200, system: 'Be brief.', messages: [{ role: 'user', content: 'Hello there' }] };
  const m = await client.messages.create(req);
  assert.match(m.id, /^msg_/);
  assert.equal(m.stop_reason, 'end_turn');
  assert.equal(m.content[0].type, 'text');
  assert.equal(m.usage.output_tokens, tokens(m.content[0].text));
  const c = await client.messages.countTokens({ model: req.model, system: req.system, messages: req.messages });
  assert.equal(c.input_tokens, m.usage.input_tokens);
});

test('anthropic: streaming event sequence and final message', async () => {
  const client = ant();
  const types = [];
  const stream = client.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 300, messages: [{ role: 'user', content: 'Tell me' }] }, { headers: { 'x-sim-output-tokens': '30' } });
  stream.on('streamEvent', (e) => types.push(e.type));
  const final = await stream.finalMessage();
  assert.equal(types[0], 'message_start');
  assert.equal(types[1], 'content_block_start');
  assert.equal(types.at(-2), 'message_delta');
  assert.equal(types.at(-1), 'message_stop');
  assert.equal(final.usage.output_tokens, 30);
  assert.equal(tokens(final.content[0].text), 30);
});

test('anthropic: tool_use (streamed input) and the tool_result round trip', async () => {
  const client = ant();
  const messages = [{ role: 'user', content: 'weather?' }];
  const stream = client.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 500, tools: [getWeather], messages }, { headers: { 'x-sim-tools': '2' } });
  const m = await stream.finalMessage();
  assert.equal(m.stop_reason, 'tool_use');
  const uses = m.content.filter((b) => b.type === 'tool_use');
  assert.equal(uses.length, 2);
  for (const u of uses) { assert.match(u.id, /^toolu_/); checkWeatherArgs(u.input); }
  messages.push({ role: 'assistant', content: m.content });
  messages.push({ role: 'user', content: uses.map((u) => ({ type: 'tool_result', tool_use_id: u.id, content: 'sunny' })) });
  const m2 = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 500, tools: [getWeather], messages });
  assert.equal(m2.stop_reason, 'end_turn');
  assert.equal(m2.content[0].type, 'text');
  // A tool_result that answers no tool_use of the previous turn is refused.
  await assert.rejects(client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_x', content: 'y' }] }] }),
    (e) => e instanceof Anthropic.BadRequestError && /tool_use_id/.test(e.message));
});

test('anthropic: thinking blocks with signature, images accepted', async () => {
  const client = ant();
  const img = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } };
  const url = { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } };
  const stream = client.messages.stream({
    model: 'claude-haiku-4-5', max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 1024 },
    messages: [{ role: 'user', content: [img, url, { type: 'text', text: 'what is this?' }] }],
  });
  const deltas = new Set();
  stream.on('streamEvent', (e) => { if (e.type === 'content_block_delta') deltas.add(e.delta.type); });
  const m = await stream.finalMessage();
  assert.equal(m.content[0].type, 'thinking');
  assert.ok(m.content[0].signature.length > 20);
  assert.equal(m.content[1].type, 'text');
  assert.ok(deltas.has('thinking_delta') && deltas.has('signature_delta') && deltas.has('text_delta'));
  assert.equal(m.usage.output_tokens, tokens(m.content[0].thinking) + tokens(m.content[1].text));
});

test('anthropic: stop_sequences are honoured', async () => {
  const client = ant();
  const base = { model: 'claude-haiku-4-5', max_tokens: 300, messages: [{ role: 'user', content: 'go' }] };
  const headers = { 'x-sim-seed': '42', 'x-sim-output-tokens': '40' };
  const full = await client.messages.create(base, { headers });
  const words = full.content[0].text.split(' ');
  const stop = words[10];
  const cut = await client.messages.create({ ...base, stop_sequences: [stop] }, { headers });
  assert.equal(cut.stop_reason, 'stop_sequence');
  assert.equal(cut.stop_sequence, stop);
  assert.ok(full.content[0].text.startsWith(cut.content[0].text));
  assert.ok(!cut.content[0].text.includes(stop));
});

test('anthropic: typed errors', async () => {
  const body = { model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'x' }] };
  await assert.rejects(ant({ apiKey: 'wrong-key-000000000000' }).messages.create(body), (e) => e instanceof Anthropic.AuthenticationError);
  await assert.rejects(ant().messages.create({ model: 'claude-haiku-4-5', messages: body.messages }), (e) => e instanceof Anthropic.BadRequestError && /max_tokens/.test(e.message));
  await assert.rejects(ant().messages.create({ ...body, model: 'claude-nope' }), (e) => e instanceof Anthropic.NotFoundError);
  await assert.rejects(ant().messages.create({ ...body, messages: [{ role: 'assistant', content: 'x' }] }), (e) => e instanceof Anthropic.BadRequestError);
  await assert.rejects(ant().messages.create(body, { headers: { 'x-sim-fault': '529' } }), (e) => e instanceof Anthropic.InternalServerError && e.status === 529 && e.error?.error?.type === 'overloaded_error');
  await assert.rejects(ant().messages.create(body, { headers: { 'x-sim-fault': '429', 'x-sim-retry-after': '3' } }),
    (e) => e instanceof Anthropic.RateLimitError && e.headers.get('retry-after') === '3' && e.error?.error?.type === 'rate_limit_error');
  await assert.rejects(ant().messages.create(body, { headers: { 'x-sim-fault': '500' } }), (e) => e instanceof Anthropic.InternalServerError && e.error?.error?.type === 'api_error');
});

test('anthropic: overloaded then retried, and an error event mid-stream', async () => {
  const t0 = Date.now();
  const m = await ant({ maxRetries: 2 }).messages.create({ model: 'flaky-claude', max_tokens: 20, messages: [{ role: 'user', content: 'x' }] });
  assert.equal(m.type, 'message');
  assert.ok(Date.now() - t0 >= 900);
  const stream = ant().messages.stream({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'x' }] },
    { headers: { 'x-sim-fault': '529', 'x-sim-fault-after': '4' } });
  await assert.rejects(stream.finalMessage(), (e) => e instanceof Anthropic.APIError && /Overloaded/.test(e.message));
});

test('anthropic: models list', async () => {
  const ids = [];
  for await (const m of ant().models.list()) ids.push(m.id);
  assert.ok(ids.includes('claude-sonnet-4-5'));
  assert.ok(!ids.includes('gpt-4o'));
});
