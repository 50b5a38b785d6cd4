"""Shape comparison: for each recording in tests/data/transcripts that the
simulator can produce, send the simulator the same kind of request and check
that its answer has the same shape (field names and JSON types, recursively;
for streams also the order of event kinds, repeats of a kind merged). The
table below is (recording, how to read it, request to send)."""
import json
import os

import simshape as S
from sylib import ROOT, Server, check, done, request

D = os.path.join(ROOT, "tests", "data", "transcripts")
OA = {"Authorization": "Bearer sk-shape", "Content-Type": "application/json"}
AN = {"x-api-key": "sk-shape", "anthropic-version": "2023-06-01", "Content-Type": "application/json"}
WEATHER = {"type": "function", "function": {"name": "get_current_weather", "description": "Weather",
           "parameters": {"type": "object", "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["location"]}}}
CAPITAL = {"type": "function", "function": {"name": "get_capital", "description": "", "parameters": {"type": "object", "properties": {"country": {"type": "string"}}, "required": ["country"], "additionalProperties": False}, "strict": True}}
JSON_TOOL = {"name": "json", "description": "Respond with a JSON object.", "input_schema": {"type": "object", "properties": {"elements": {"type": "array", "items": {"type": "object", "properties": {"location": {"type": "string"}, "temperature": {"type": "number"}, "condition": {"type": "string"}}, "required": ["location", "temperature", "condition"]}}}, "required": ["elements"]}}


def user(text):
    return [{"role": "user", "content": text}]


def rec_json(rel):
    return S.json_file(os.path.join(D, rel))


def rec_chunks(rel):
    return S.chunks(os.path.join(D, rel))


def rec_yaml_json(rel, n=0):
    return json.loads(S.yaml_bodies(os.path.join(D, rel))[n])


def rec_yaml_sse(rel, n=0):
    return [json.loads(d) for _, d in S.sse_text(S.yaml_bodies(os.path.join(D, rel))[n]) if d != "[DONE]"]


def rec_yaml_parsed(rel, n=0):
    return S.yaml_parsed_bodies(os.path.join(D, rel))[n]


def rec_raw_sse(rel):
    with open(os.path.join(D, rel)) as f:
        return [json.loads(d) for _, d in S.sse_text(f.read()) if d != "[DONE]"]


TOOL_TURN = user("What is the capital of the UK? Use the tool, then answer.") + [
    {"role": "assistant", "content": None, "tool_calls": [{"id": "call_ZR5UUuTt3pf61kjwAJIYdVMj", "type": "function", "function": {"name": "get_capital", "arguments": "{\"country\":\"UK\"}"}}]},
    {"role": "tool", "tool_call_id": "call_ZR5UUuTt3pf61kjwAJIYdVMj", "content": "London"}]

# (name, recording loader, (method, path, body, headers), stream kind or None, expected status)
CASES = [
    ("openai text body", lambda: rec_json("openai/vercel-ai/chat/openai-text.json"),
     ("POST", "/v1/chat/completions", {"model": "gpt-4.1-nano", "messages": user("Invent a holiday")}, OA), None, 200),
    ("openai text stream with usage", lambda: rec_chunks("openai/vercel-ai/chat/openai-text.chunks.txt"),
     ("POST", "/v1/chat/completions", {"model": "gpt-4.1-nano", "messages": user("Invent a holiday"), "stream": True, "stream_options": {"include_usage": True}}, OA), "openai", 200),
    ("openai stream without usage (envoy chat-streaming)", lambda: rec_yaml_sse("openai/envoy-ai-gateway/chat-streaming.yaml"),
     ("POST", "/v1/chat/completions", {"model": "gpt-5-nano", "messages": user("Hello!"), "stream": True}, OA), "openai", 200),
    ("openai stream with detailed usage (envoy)", lambda: rec_yaml_sse("openai/envoy-ai-gateway/chat-streaming-detailed-usage.yaml"),
     ("POST", "/v1/chat/completions", {"model": "gpt-5-nano", "messages": [{"role": "developer", "content": "Hello, I'm a developer!"}], "max_completion_tokens": 10, "stream": True, "stream_options": {"include_usage": True}}, OA), "openai", 200),
    ("openai tool-call stream (pydantic-ai, 1st interaction)", lambda: rec_yaml_sse("openai/pydantic-ai/chat/test_run_stream_sync_streams_real_model.yaml", 0),
     ("POST", "/v1/chat/completions", {"model": "gpt-4o-mini", "messages": user("What is the capital of the UK? Use the tool, then answer."), "stream": True, "stream_options": {"include_usage": True}, "tool_choice": "auto", "tools": [CAPITAL]}, OA), "openai", 200),
    ("openai stream after a tool result (pydantic-ai, 2nd interaction)", lambda: rec_yaml_sse("openai/pydantic-ai/chat/test_run_stream_sync_streams_real_model.yaml", 1),
     ("POST", "/v1/chat/completions", {"model": "gpt-4o-mini", "messages": TOOL_TURN, "stream": True, "stream_options": {"include_usage": True}, "tool_choice": "auto", "tools": [CAPITAL]}, OA), "openai", 200),
    ("openai tool-call body (envoy chat-tools)", lambda: rec_yaml_json("openai/envoy-ai-gateway/chat-tools.yaml"),
     ("POST", "/v1/chat/completions", {"model": "gpt-5-nano", "messages": user("What is the weather like in Boston today?"), "tools": [WEATHER], "tool_choice": "auto"}, OA), None, 200),
    ("openai parallel-tools body (envoy)", lambda: rec_yaml_json("openai/envoy-ai-gateway/chat-parallel-tools.yaml"),
     ("POST", "/v1/chat/completions", {"model": "gpt-5-nano", "messages": user("What is the weather like in San Francisco?"), "tools": [WEATHER], "tool_choice": "auto", "parallel_tool_calls": True}, OA), None, 200),
    ("openai json_object body (envoy chat-json-mode)", lambda: rec_yaml_json("openai/envoy-ai-gateway/chat-json-mode.yaml"),
     ("POST", "/v1/chat/completions", {"model": "gpt-5-nano", "messages": user("Generate a JSON object with three properties: name, age, and city."), "response_format": {"type": "json_object"}}, OA), None, 200),
    ("openai unknown model 404 (envoy)", lambda: rec_yaml_json("openai/envoy-ai-gateway/chat-unknown-model.yaml"),
     ("POST", "/v1/chat/completions", {"model": "gpt-4.1-nano-wrong", "messages": user("Hello!")}, OA), None, 404),
    ("openai empty messages 400 (envoy)", lambda: rec_yaml_json("openai/envoy-ai-gateway/chat-no-messages.yaml"),
     ("POST", "/v1/chat/completions", {"model": "gpt-5-nano", "messages": []}, OA), None, 400),
    ("openai max_tokens on a reasoning model 400 (envoy)", lambda: rec_yaml_json("openai/envoy-ai-gateway/chat-bad-request.yaml"),
     ("POST", "/v1/chat/completions", {"model": "gpt-5-nano", "max_tokens": 10, "messages": user("x")}, OA), None, 400),
    ("openai legacy parameter error (vercel)", lambda: rec_json("openai/vercel-ai/chat/reasoning-model-legacy-parameter-error.json"),
     ("POST", "/v1/chat/completions", {"model": "o3-mini", "max_tokens": 10, "messages": user("x")}, OA), None, 400),
    ("azure body (envoy azure-chat-basic)", lambda: rec_yaml_json("openai/envoy-ai-gateway/azure-chat-basic.yaml"),
     ("POST", "/openai/deployments/gpt-5-nano/chat/completions?api-version=2025-01-01-preview", {"messages": user("Hello!"), "model": "gpt-5-nano"}, {"api-key": "k", "Content-Type": "application/json"}), None, 200),
    ("azure stream with usage (vercel azure-model-router)", lambda: rec_chunks("openai/vercel-ai/chat/azure-model-router.1.chunks.txt"),
     ("POST", "/openai/deployments/gpt-5-nano/chat/completions?api-version=2025-01-01-preview", {"messages": user("Capital of France?"), "stream": True, "stream_options": {"include_usage": True}}, {"api-key": "k", "Content-Type": "application/json"}), "openai", 200),
    ("anthropic text body (vercel)", lambda: rec_json("anthropic/vercel-ai/anthropic-text.json"),
     ("POST", "/v1/messages", {"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": user("Hello, how are you?")}, AN), None, 200),
    ("anthropic text stream (vercel)", lambda: rec_chunks("anthropic/vercel-ai/anthropic-text.chunks.txt"),
     ("POST", "/v1/messages", {"model": "claude-sonnet-4-5", "max_tokens": 1024, "stream": True, "messages": user("Hello, how are you?")}, AN), "anthropic", 200),
    ("anthropic tool_use stream (vercel json-tool)", lambda: rec_chunks("anthropic/vercel-ai/anthropic-json-tool.1.chunks.txt"),
     ("POST", "/v1/messages", {"model": "claude-haiku-4-5", "max_tokens": 1024, "stream": True, "messages": user("Weather in 4 cities"), "tools": [JSON_TOOL], "tool_choice": {"type": "tool", "name": "json"}}, AN), "anthropic", 200),
    ("anthropic thinking stream (pydantic-ai)", lambda: rec_yaml_sse("anthropic/pydantic-ai/test_anthropic_model_thinking_part_stream.yaml"),
     ("POST", "/v1/messages", {"model": "claude-sonnet-4-5", "max_tokens": 4096, "stream": True, "thinking": {"type": "enabled", "budget_tokens": 1024}, "messages": [{"role": "user", "content": [{"type": "text", "text": "How do I cross the street?"}]}]}, AN), "anthropic", 200),
    ("anthropic thinking stream (agentgateway, raw SSE)", lambda: rec_raw_sse("anthropic/agentgateway/stream_thinking.json"),
     ("POST", "/v1/messages", {"model": "claude-opus-4-1", "max_tokens": 4096, "stream": True, "thinking": {"type": "enabled", "budget_tokens": 2048}, "messages": user("What is the weather in San Francisco?")}, AN), "anthropic", 200),
    ("anthropic count_tokens (agentgateway)", lambda: rec_json("anthropic/agentgateway/count_tokens.json"),
     ("POST", "/v1/messages/count_tokens", {"model": "claude-haiku-4-5", "messages": user("hello")}, AN), None, 200),
    ("anthropic 404 error (pydantic-ai count_tokens)", lambda: rec_yaml_parsed("anthropic/pydantic-ai/test_anthropic_count_tokens_error.yaml"),
     ("POST", "/v1/messages/count_tokens", {"model": "claude-does-not-exist", "messages": [{"role": "user", "content": [{"type": "text", "text": "hello"}]}]}, AN), None, 404),
    ("anthropic 400 error (pydantic-ai)", lambda: rec_yaml_parsed("anthropic/pydantic-ai/test_anthropic_explicit_effort_xhigh_unsupported_model_errors.yaml"),
     ("POST", "/v1/messages", {"model": "claude-haiku-4-5", "messages": user("x")}, AN), None, 400),
]


def sim_events(body, kind):
    """Events of the sim's SSE body, [DONE] left out."""
    return [json.loads(d) for _, d in S.sse_text(body.decode()) if d != "[DONE]"]


srv = Server(["sim", "--listen", "127.0.0.1:{port}"])
for name, load, (method, path, body, headers), kind, want in CASES:
    try:
        rec = load()
    except Exception as e:  # the reader must handle every listed recording
        check("read recording: " + name, False, repr(e))
        continue
    st, h, b = request(srv.port, method, path, json.dumps(body), headers)
    if st != want:
        check(name, False, "status %s, expected %s: %s" % (st, want, b[:300]))
        continue
    if kind is None:
        d = S.diff(rec, json.loads(b))
    else:
        fn = S.openai_kind if kind == "openai" else S.anthropic_kind
        d = S.stream_diff(rec, sim_events(b, kind), fn)
    check(name, d == [], "; ".join(d[:8]))

# The comparator itself must notice a difference.
check("shape diff detects a renamed field", S.diff({"a": {"b": 1}}, {"a": {"c": 1}}) != [])
check("shape diff detects a changed type", S.diff({"a": [1]}, {"a": ["x"]}) != [])
check("stream diff detects a reordered sequence",
      S.stream_diff([{"type": "message_start"}, {"type": "message_stop"}], [{"type": "message_stop"}, {"type": "message_start"}], S.anthropic_kind) != [])
srv.stop()
done()
