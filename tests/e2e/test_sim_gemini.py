"""`switchyard sim`, Gemini family: generateContent, streamGenerateContent
(SSE and JSON-array forms), countTokens and the model list; API-key
authentication; Google's error shapes and sentences for invalid requests;
function calls and responses, JSON mode, thinking, stop sequences and output
limits; usage that agrees with the text sent; every fault control; the
request log's masking; and the shape comparison against the recorded Gemini
transcripts in tests/data/transcripts/google/."""
import json
import os
import time

import simext as X
import simshape as S
from sylib import ROOT, Server, check, done, jbody, request

D = os.path.join(ROOT, "tests", "data", "transcripts")
KEY = "gm-test-key-000111"
CONFIG = """
keys: [%s]
models:
  - name: gemini-3-pro-preview
    family: gemini
    context_window: 1048576
    max_output: 65536
  - name: gemini-tiny-window
    family: gemini
    version: gemini-2.5-flash
    context_window: 20
    max_output: 100
""" % KEY

srv = Server(["sim", "--listen", "127.0.0.1:{port}", "-c", "{config}"], CONFIG)
P = srv.port
H = {"x-goog-api-key": KEY, "Content-Type": "application/json"}


def url(model, method, sse=False):
    return "/v1beta/models/%s:%s%s" % (model, method, "?alt=sse" if sse else "")


def post(model, method, body, headers=None, sse=False, raw_body=None):
    b = raw_body if raw_body is not None else json.dumps(body)
    return request(P, "POST", url(model, method, sse), b, headers or H)


def user(text):
    return [{"role": "user", "parts": [{"text": text}]}]


def sse_chunks(body):
    """Parsed chunks of a Gemini SSE body, checking the CRLF framing."""
    text = body.decode()
    return [json.loads(d) for _, d in S.sse_text(text)], text.endswith("\r\n\r\n") and "\n\n" not in text.replace("\r\n", "")


def text_of(resp):
    return "".join(p.get("text", "") for p in resp["candidates"][0]["content"]["parts"] if not p.get("thought"))


def err(b):
    j = jbody(b)
    return (j or {}).get("error", {})


WEATHER = {"functionDeclarations": [{"name": "get_weather", "description": "Weather in a city",
                                     "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}, "unit": {"type": "STRING", "enum": ["C", "F"]}}, "required": ["city"]}}]}
TWO_TOOLS = {"functionDeclarations": WEATHER["functionDeclarations"] + [
    {"name": "get_time", "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}}]}

# ----------------------------------------------------------- authentication
st, h, b = post("gemini-2.5-flash", "generateContent", {"contents": user("hi")}, {"Content-Type": "application/json"})
e = err(b)
check("no key: 403 PERMISSION_DENIED, Google's sentence",
      st == 403 and e.get("code") == 403 and e.get("status") == "PERMISSION_DENIED" and
      e.get("message", "").startswith("Method doesn't allow unregistered callers"), (st, b))
check("errors are pretty-printed JSON, as Google sends them", b.startswith(b"{\n  \"error\": {\n    \"code\": 403,"), b[:60])
st, h, b = post("gemini-2.5-flash", "generateContent", {"contents": user("hi")}, {"x-goog-api-key": "wrong", "Content-Type": "application/json"})
e = err(b)
check("wrong key: 400 API_KEY_INVALID with ErrorInfo details",
      st == 400 and e.get("status") == "INVALID_ARGUMENT" and e.get("message") == "API key not valid. Please pass a valid API key." and
      e["details"][0]["reason"] == "API_KEY_INVALID", (st, b))
st, h, b = request(P, "POST", url("gemini-2.5-flash", "generateContent") + "&key=" + KEY if False else "/v1beta/models/gemini-2.5-flash:generateContent?key=" + KEY,
                   json.dumps({"contents": user("hi")}), {"Content-Type": "application/json"})
check("key= query parameter authenticates", st == 200 and text_of(jbody(b)), (st, b[:200]))
st, h, b = request(P, "POST", "/v1/models/gemini-2.5-flash:generateContent", json.dumps({"contents": user("hi")}), H)
check("the v1 path works too", st == 200, (st, b[:200]))

# --------------------------------------------------------------- validation
BAD = [
    ("missing contents", {"generationConfig": {}}, 400, "* GenerateContentRequest.contents: contents is not specified\n"),
    ("empty contents", {"contents": []}, 400, "* GenerateContentRequest.contents: contents is not specified\n"),
    ("role assistant", {"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}, 400, "Please use a valid role: user, model."),
    ("empty parts", {"contents": [{"role": "user", "parts": []}]}, 400, "* GenerateContentRequest.contents[0].parts: contents.parts must not be empty.\n"),
    ("part without data", {"contents": [{"role": "user", "parts": [{}]}]}, 400, "* GenerateContentRequest.contents[0].parts[0].data: required oneof field 'data' must have one initialized field\n"),
    ("unknown field", {"contents": user("x"), "temperature": 1}, 400, 'Invalid JSON payload received. Unknown name "temperature": Cannot find field.'),
    ("unknown generationConfig field", {"contents": user("x"), "generationConfig": {"max_tokens": 5}}, 400,
     'Invalid JSON payload received. Unknown name "max_tokens" at \'generation_config\': Cannot find field.'),
    ("function response without a call", {"contents": user("x") + [{"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"r": 1}}}]}]}, 400,
     "Please ensure that function response turn comes immediately after a function call turn."),
    ("fewer responses than calls", {"contents": user("x") + [
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "a"}}}, {"functionCall": {"name": "get_weather", "args": {"city": "b"}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"t": 1}}}]}], "tools": [WEATHER]}, 400,
     "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn."),
    ("function call turn first", {"contents": [{"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {}}}]}], "tools": [WEATHER]}, 400,
     "Please ensure that function call turn comes immediately after a user turn or after a function response turn."),
    ("maxOutputTokens over the model's limit", {"contents": user("x"), "generationConfig": {"maxOutputTokens": 100000}}, 400,
     "Unable to submit request because it has a maxOutputTokens value of 100000 but the supported range is from 1 (inclusive) to 65537 (exclusive). Update the value and try again."),
    ("temperature 3", {"contents": user("x"), "generationConfig": {"temperature": 3}}, 400,
     "Unable to submit request because it has a temperature value of 3 but the supported range is from 0 (inclusive) to 2.0001 (exclusive). Update the value and try again."),
    ("bad function name", {"contents": user("x"), "tools": [{"functionDeclarations": [{"name": "9 bad name"}]}]}, 400, None),
    ("responseSchema without JSON mime type", {"contents": user("x"), "generationConfig": {"responseSchema": {"type": "OBJECT"}}}, 400, None),
    ("inlineData without mimeType", {"contents": [{"role": "user", "parts": [{"inlineData": {"data": "AAAA"}}]}]}, 400, None),
    ("unknown function calling mode", {"contents": user("x"), "tools": [WEATHER], "toolConfig": {"functionCallingConfig": {"mode": "SOMETIMES"}}}, 400, None),
]
for name, body, want, msg in BAD:
    st, h, b = post("gemini-2.5-flash", "generateContent", body)
    e = err(b)
    check("invalid: %s -> %d %s" % (name, want, e.get("status")),
          st == want and e.get("code") == want and e.get("status") == "INVALID_ARGUMENT" and (msg is None or e.get("message") == msg), (st, b[:400]))
st, h, b = post("gemini-2.5-pro", "generateContent", {"contents": user("x"), "generationConfig": {"thinkingConfig": {"thinkingBudget": 0}}})
check("thinkingBudget 0 on a pro model: refused", st == 400 and err(b).get("message") == "Budget 0 is invalid. This model only works in thinking mode.", (st, b))
st, h, b = post("gemini-tiny-window", "generateContent", {"contents": user("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty")})
check("prompt over the context window: 400", st == 400 and err(b).get("message", "").startswith("The input token count ("), (st, b))
st, h, b = post("gemini-2.5-flash", "generateContent", None, raw_body="{not json")
check("malformed JSON: 400 INVALID_ARGUMENT", st == 400 and err(b).get("message", "").startswith("Invalid JSON payload received."), (st, b))
st, h, b = post("gemini-2.5-flash", "generateContent", {"contents": user("x")}, {"x-goog-api-key": KEY, "Content-Type": "text/plain"})
check("wrong content type: 400", st == 400 and err(b).get("status") == "INVALID_ARGUMENT", (st, b))
st, h, b = post("gemini-9.9-ultra", "generateContent", {"contents": user("x")})
e = err(b)
check("unknown model: 404 NOT_FOUND with Google's sentence",
      st == 404 and e.get("status") == "NOT_FOUND" and
      e.get("message") == "models/gemini-9.9-ultra is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.", (st, b))
st, h, b = post("gpt-4o-mini", "generateContent", {"contents": user("x")})
check("another family's model: 404", st == 404, (st, b[:100]))
st, h, b = request(P, "GET", url("gemini-2.5-flash", "generateContent"), None, H)
check("GET on a method: 405", st == 405, st)
st, h, b = post("gemini-2.5-flash", "generateContent", {"contents": user("x"), "system_instruction": {"parts": [{"text": "Be brief."}]}, "generation_config": {"max_output_tokens": 50, "stop_sequences": []}})
check("snake_case field names are accepted (proto JSON)", st == 200, (st, b[:300]))

# ------------------------------------------------------------ generateContent
st, h, b = post("gemini-2.5-flash", "generateContent", {"contents": user("Hello"), "systemInstruction": {"parts": [{"text": "You are terse."}]}}, dict(H, **{"x-sim-output-tokens": "25"}))
r = jbody(b)
u = r["usageMetadata"]
txt = text_of(r)
check("text body: content.parts[].text, role model, finishReason STOP, index 0",
      st == 200 and h.get("content-type") == "application/json; charset=UTF-8" and r["candidates"][0]["content"]["role"] == "model" and
      r["candidates"][0]["finishReason"] == "STOP" and r["candidates"][0]["index"] == 0 and r["modelVersion"] == "gemini-2.5-flash" and r["responseId"], (st, b[:300]))
check("usage: candidates = tokens of the text; total = prompt + candidates + thoughts",
      u["candidatesTokenCount"] == X.tokens(txt) == 25 and u["totalTokenCount"] == u["promptTokenCount"] + u["candidatesTokenCount"] + u["thoughtsTokenCount"] and
      u["promptTokensDetails"] == [{"modality": "TEXT", "tokenCount": u["promptTokenCount"]}], u)
st2, _, b2 = post("gemini-2.5-flash", "generateContent", {"contents": user("Hello"), "systemInstruction": {"parts": [{"text": "You are terse."}]}}, dict(H, **{"x-sim-output-tokens": "25"}))
check("deterministic: the same request gives the same text", text_of(jbody(b2)) == txt)
st, h, b = post("gemini-2.0-flash", "generateContent", {"contents": user("Hello")})
r = jbody(b)
check("gemini-2.0: no index, no thoughts, candidatesTokensDetails and avgLogprobs",
      st == 200 and "index" not in r["candidates"][0] and "thoughtsTokenCount" not in r["usageMetadata"] and
      r["usageMetadata"]["candidatesTokensDetails"][0]["tokenCount"] == r["usageMetadata"]["candidatesTokenCount"] and
      isinstance(r["candidates"][0]["avgLogprobs"], float), r)
st, h, b = post("gemini-2.5-flash", "generateContent", {"contents": user("Hello"), "generationConfig": {"thinkingConfig": {"thinkingBudget": 0}}})
check("thinkingBudget 0 on flash: no thoughtsTokenCount", st == 200 and "thoughtsTokenCount" not in jbody(b)["usageMetadata"], b[:300])
st, h, b = post("gemini-2.5-flash", "generateContent", {"contents": user("Hello"), "generationConfig": {"maxOutputTokens": 5}}, dict(H, **{"x-sim-output-tokens": "40"}))
r = jbody(b)
check("maxOutputTokens: finishReason MAX_TOKENS, 5 candidate tokens",
      r["candidates"][0]["finishReason"] == "MAX_TOKENS" and r["usageMetadata"]["candidatesTokenCount"] == 5 == X.tokens(text_of(r)), r)
full = text_of(jbody(post("gemini-2.5-flash", "generateContent", {"contents": user("stops")}, dict(H, **{"x-sim-output-tokens": "60", "x-sim-seed": "9"}))[2]))
word = full.split()[5].strip(".,;!?")
st, h, b = post("gemini-2.5-flash", "generateContent", {"contents": user("stops"), "generationConfig": {"stopSequences": [word]}}, dict(H, **{"x-sim-output-tokens": "60", "x-sim-seed": "9"}))
r = jbody(b)
check("stopSequences: text cut before the sequence, finishReason STOP",
      word not in text_of(r) and full.startswith(text_of(r)) and r["candidates"][0]["finishReason"] == "STOP", (word, text_of(r)))
SCHEMA = {"type": "OBJECT", "properties": {"name": {"type": "STRING"}, "age": {"type": "INTEGER"}, "tags": {"type": "ARRAY", "items": {"type": "STRING"}}}, "required": ["name", "age", "tags"]}
st, h, b = post("gemini-2.5-flash", "generateContent", {"contents": user("A person"), "generationConfig": {"responseMimeType": "application/json", "responseSchema": SCHEMA}})
j = json.loads(text_of(jbody(b)))
check("JSON mode with a responseSchema (OpenAPI types): the text is conforming JSON",
      isinstance(j["name"], str) and isinstance(j["age"], int) and isinstance(j["tags"], list), j)
st, h, b = post("gemini-2.5-flash", "generateContent", {"contents": user("A person"), "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}}})
check("JSON mode with responseJsonSchema", isinstance(json.loads(text_of(jbody(b)))["ok"], bool), b[:200])
st, h, b = post("gemini-2.5-flash", "generateContent", {"contents": [{"role": "user", "parts": [{"text": "What is this?"}, {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}]}]})
check("inlineData image accepted and counted", st == 200 and jbody(b)["usageMetadata"]["promptTokenCount"] >= 85, (st, b[:200]))
st, h, b = post("gemini-2.5-pro", "generateContent", {"contents": user("Think"), "generationConfig": {"thinkingConfig": {"includeThoughts": True, "thinkingBudget": 12}}})
r = jbody(b)
parts = r["candidates"][0]["content"]["parts"]
check("includeThoughts: a thought part first, thoughtsTokenCount = its tokens (within the budget)",
      parts[0].get("thought") is True and "thought" not in parts[-1] and r["usageMetadata"]["thoughtsTokenCount"] == X.tokens(parts[0]["text"]) <= 12, parts)

# ------------------------------------------------------------ function calls
st, h, b = post("gemini-2.5-flash", "generateContent", {"contents": user("Weather in Paris?"), "tools": [WEATHER]})
r = jbody(b)
fc = r["candidates"][0]["content"]["parts"][0]
check("function call: functionCall {name, args} with the required args, thoughtSignature (thinking model)",
      fc["functionCall"]["name"] == "get_weather" and isinstance(fc["functionCall"]["args"]["city"], str) and fc.get("thoughtSignature") and
      r["candidates"][0]["finishReason"] == "STOP", r)
check("function call usage: candidates = tokens of name and args",
      r["usageMetadata"]["candidatesTokenCount"] == X.tokens(fc["functionCall"]["name"]) + X.tokens(json.dumps(fc["functionCall"]["args"], separators=(",", ":"))), r["usageMetadata"])
turn = user("Weather in Paris?") + [{"role": "model", "parts": [fc]}, {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"temp": 21}}}]}]
st, h, b = post("gemini-2.5-flash", "generateContent", {"contents": turn, "tools": [WEATHER]})
check("after the function response: a text answer", st == 200 and text_of(jbody(b)) and "functionCall" not in json.dumps(jbody(b)), (st, b[:300]))
st, h, b = post("gemini-2.5-flash", "generateContent", {"contents": user("x"), "tools": [TWO_TOOLS], "toolConfig": {"functionCallingConfig": {"mode": "NONE"}}})
check("mode NONE: text", "functionCall" not in b.decode(), b[:200])
st, h, b = post("gemini-2.5-flash", "generateContent", {"contents": turn, "tools": [TWO_TOOLS], "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_time"]}}})
r = jbody(b)
check("mode ANY with allowedFunctionNames: a call to that function, even after a response",
      r["candidates"][0]["content"]["parts"][0]["functionCall"]["name"] == "get_time", r)
st, h, b = post("gemini-2.0-flash", "generateContent", {"contents": user("x"), "tools": [TWO_TOOLS]}, dict(H, **{"x-sim-tools": "2"}))
parts = jbody(b)["candidates"][0]["content"]["parts"]
check("parallel calls (x-sim-tools: 2): two functionCall parts, no signature on 2.0",
      [p["functionCall"]["name"] for p in parts] == ["get_weather", "get_time"] and all("thoughtSignature" not in p for p in parts), parts)

# -------------------------------------------------------------------- streams
st, h, b = post("gemini-2.5-flash", "streamGenerateContent", {"contents": user("Tell me")}, dict(H, **{"x-sim-output-tokens": "40"}), sse=True)
chunks, crlf = sse_chunks(b)
usage = [c["usageMetadata"] for c in chunks]
check("SSE: text/event-stream, data: JSON\\r\\n\\r\\n frames, several chunks",
      st == 200 and h.get("content-type") == "text/event-stream" and crlf and len(chunks) > 2, (h, b[:200]))
check("finishReason only in the last chunk; one responseId",
      all("finishReason" not in c["candidates"][0] for c in chunks[:-1]) and chunks[-1]["candidates"][0]["finishReason"] == "STOP" and
      len({c["responseId"] for c in chunks}) == 1, [c["candidates"][0].get("finishReason") for c in chunks])
streamed = "".join(text_of(c) for c in chunks)
check("usage cumulative and exact: candidatesTokenCount grows to the tokens streamed",
      [u["candidatesTokenCount"] for u in usage] == sorted(u["candidatesTokenCount"] for u in usage) and
      usage[-1]["candidatesTokenCount"] == X.tokens(streamed) == 40 and
      all(X.tokens("".join(text_of(c) for c in chunks[:i + 1])) == usage[i]["candidatesTokenCount"] for i in range(len(chunks))), usage)
st, h, b = post("gemini-2.5-flash", "generateContent", {"contents": user("Tell me")}, dict(H, **{"x-sim-output-tokens": "40"}))
check("stream and whole body carry the same text", text_of(jbody(b)) == streamed)
st, h, b = post("gemini-2.5-flash", "streamGenerateContent", {"contents": user("Tell me")}, dict(H, **{"x-sim-output-tokens": "40"}))
arr = jbody(b)
check("without alt=sse: one JSON array of the same chunks",
      st == 200 and h.get("content-type") == "application/json; charset=UTF-8" and isinstance(arr, list) and
      "".join(text_of(c) for c in arr) == streamed and arr[-1]["candidates"][0]["finishReason"] == "STOP", b[:200])
st, h, b = post("gemini-2.0-flash", "streamGenerateContent", {"contents": user("Tell me")}, dict(H, **{"x-sim-output-tokens": "30"}), sse=True)
chunks, _ = sse_chunks(b)
check("gemini-2.0 stream: candidatesTokenCount only at the end, with details",
      all("candidatesTokenCount" not in c["usageMetadata"] for c in chunks[:-1]) and chunks[-1]["usageMetadata"]["candidatesTokenCount"] == 30 and
      "candidatesTokensDetails" in chunks[-1]["usageMetadata"], [c["usageMetadata"] for c in chunks])
st, h, b = post("gemini-2.5-flash", "streamGenerateContent", {"contents": user("Weather?"), "tools": [TWO_TOOLS]}, dict(H, **{"x-sim-tools": "2"}), sse=True)
chunks, _ = sse_chunks(b)
check("function calls stream whole, parallel ones in one chunk with finishReason",
      len(chunks) == 1 and len(chunks[0]["candidates"][0]["content"]["parts"]) == 2 and chunks[0]["candidates"][0]["finishReason"] == "STOP", chunks)
st, h, b = post("gemini-3-pro-preview", "streamGenerateContent", {"contents": user("Hi")}, sse=True)
chunks, _ = sse_chunks(b)
last = chunks[-1]["candidates"][0]
check("gemini-3 stream ends with an empty text part carrying the thoughtSignature",
      last["content"]["parts"] == [{"text": "", "thoughtSignature": last["content"]["parts"][0].get("thoughtSignature")}] and
      last["content"]["parts"][0]["thoughtSignature"] and last["finishReason"] == "STOP" and
      all("finishReason" not in c["candidates"][0] for c in chunks[:-1]), last)
st, h, b = post("gemini-2.5-pro", "streamGenerateContent", {"contents": user("Think"), "generationConfig": {"thinkingConfig": {"includeThoughts": True}}}, sse=True)
chunks, _ = sse_chunks(b)
kinds = ["thought" if c["candidates"][0]["content"]["parts"][0].get("thought") else "text" for c in chunks]
thought = "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks if c["candidates"][0]["content"]["parts"][0].get("thought"))
check("thought summaries stream first, thoughtsTokenCount grows with them",
      S.collapse(kinds) == ["thought", "text"] and chunks[-1]["usageMetadata"]["thoughtsTokenCount"] == X.tokens(thought), kinds)

# ---------------------------------------------------- countTokens, models
st, h, b = post("gemini-2.5-flash", "countTokens", {"contents": user("one two three")})
check("countTokens: totalTokens", st == 200 and jbody(b)["totalTokens"] >= 3, (st, b))
gen_usage = jbody(post("gemini-2.5-flash", "generateContent", {"contents": user("one two three")})[2])["usageMetadata"]["promptTokenCount"]
check("countTokens agrees with generateContent's promptTokenCount", jbody(b)["totalTokens"] == gen_usage, (b, gen_usage))
st, h, b = post("gemini-2.5-flash", "countTokens", {"generateContentRequest": {"model": "models/gemini-2.5-flash", "contents": user("one two three")}})
check("countTokens with generateContentRequest", st == 200 and jbody(b)["totalTokens"] == gen_usage, (st, b))
st, h, b = request(P, "GET", "/v1beta/models", None, H)
names = [m["name"] for m in jbody(b)["models"]]
check("GET /v1beta/models lists the Gemini models", st == 200 and "models/gemini-2.5-flash" in names and "models/gpt-4o-mini" not in names, names)
st, h, b = request(P, "GET", "/v1beta/models/gemini-2.5-pro", None, H)
check("GET /v1beta/models/{model}", st == 200 and jbody(b)["name"] == "models/gemini-2.5-pro" and "generateContent" in jbody(b)["supportedGenerationMethods"], b)

# ------------------------------------------------------------------- faults
CHAT = json.dumps({"contents": user("hi")})


def fault(f, after=None, ra=None, extra=None):
    h = dict(H, **{"x-sim-fault": f})
    if after is not None:
        h["x-sim-fault-after"] = str(after)
    if ra is not None:
        h["x-sim-retry-after"] = str(ra)
    h.update(extra or {})
    return h


st, h, b = request(P, "POST", url("gemini-2.5-flash", "generateContent"), CHAT, fault("429", ra=7))
e = err(b)
check("429: RESOURCE_EXHAUSTED with QuotaFailure and RetryInfo, Retry-After",
      st == 429 and h.get("retry-after") == "7" and e.get("status") == "RESOURCE_EXHAUSTED" and
      e["details"][-1]["retryDelay"] == "7s", (st, h, b))
for code, status in (("500", "INTERNAL"), ("503", "UNAVAILABLE"), ("529", "UNAVAILABLE")):
    st, h, b = request(P, "POST", url("gemini-2.5-flash", "generateContent"), CHAT, fault(code))
    check("%s: Google's error shape, status %s" % (code, status), st == int(code) and err(b).get("code") == int(code) and err(b).get("status") == status, (st, b))
st, h, b = request(P, "POST", url("gemini-2.5-flash", "streamGenerateContent", True), CHAT, fault("503"))
check("503 on a stream before the head: a plain error response", st == 503 and err(b).get("status") == "UNAVAILABLE", (st, b))
out, how = X.raw(P, "POST", url("gemini-2.5-flash", "streamGenerateContent", True), CHAT, fault("500", after=2, extra={"x-sim-output-tokens": "60"}))
body = X.dechunk(out)
head, _, tail = body.decode().rpartition("\r\n\r\n")
check("500 after 2 chunks: two data: events, then the bare error object (as Google ends a failed stream)",
      how == "complete" and body.count(b"data: ") == 2 and json.loads(tail)["error"]["status"] == "INTERNAL", (how, body[-300:]))
out, how = X.raw(P, "POST", url("gemini-2.5-flash", "streamGenerateContent"), CHAT, fault("429", after=1, extra={"x-sim-output-tokens": "60"}))
arr = jbody(X.dechunk(out))
check("429 after 1 element of a JSON-array stream: the error is the last element",
      isinstance(arr, list) and len(arr) == 2 and arr[-1]["error"]["code"] == 429, X.dechunk(out)[-200:])
t0 = time.time()
out, how = X.raw(P, "POST", url("gemini-2.5-flash", "generateContent"), CHAT, fault("hang"), timeout=1.0)
check("hang: nothing, the client times out", out == b"" and how == "timeout" and time.time() - t0 >= 0.9, (out[:80], how))
out, how = X.raw(P, "POST", url("gemini-2.5-flash", "streamGenerateContent", True), CHAT, fault("hang-stream", after=2, extra={"x-sim-output-tokens": "60"}), timeout=1.0)
check("hang-stream: 2 chunks, then silence", X.status_of(out) == 200 and how == "timeout" and X.dechunk(out).count(b"data: ") == 2, (how, out[-200:]))
out, how = X.raw(P, "POST", url("gemini-2.5-flash", "streamGenerateContent", True), CHAT, fault("reset", after=2, extra={"x-sim-output-tokens": "60"}))
check("reset: connection reset mid-stream", how == "reset" and X.dechunk(out).count(b"data: ") >= 2 and b"finishReason" not in X.dechunk(out), (how, out[-200:]))
out, how = X.raw(P, "POST", url("gemini-2.5-flash", "streamGenerateContent", True), CHAT, fault("truncate", after=1, extra={"x-sim-output-tokens": "60"}))
body = X.dechunk(out)
lastev = body.decode().split("\r\n\r\n")[-1]
check("truncate (stream): closed inside a chunk's JSON", how == "eof" and lastev.startswith("data: {") and jbody(lastev[6:].encode()) is None, (how, body[-200:]))
out, how = X.raw(P, "POST", url("gemini-2.5-flash", "generateContent"), CHAT, fault("truncate"))
check("truncate (body): half a body then close", how == "eof" and X.dechunk(out).startswith(b"{") and jbody(X.dechunk(out)) is None, (how, out[:200]))
st, h, b = request(P, "POST", url("gemini-2.5-flash", "generateContent"), CHAT, fault("malformed"))
check("malformed (body): 200 that is not JSON", st == 200 and jbody(b) is None, b[:100])
out, how = X.raw(P, "POST", url("gemini-2.5-flash", "streamGenerateContent", True), CHAT, fault("malformed", after=1, extra={"x-sim-output-tokens": "40"}))
evs = [d for _, d in S.sse_text(X.dechunk(out).decode())]
bad = [d for d in evs if jbody(d.encode()) is None]
check("malformed (stream): one invalid chunk, then the stream completes",
      how == "complete" and len(bad) == 1 and evs.index(bad[0]) == 1 and '"finishReason":"STOP"' in evs[-1], (how, evs[:3]))
st, h, b = request(P, "POST", url("gemini-2.5-flash", "generateContent"), CHAT, fault("content-type"))
check("content-type: the JSON body served as text/html", st == 200 and h.get("content-type", "").startswith("text/html") and jbody(b), (st, h))
out, how = X.raw(P, "POST", url("gemini-2.5-flash", "streamGenerateContent", True), CHAT, fault("content-type"))
check("content-type (stream): SSE served as text/html", (X.header_of(out, "content-type") or "").startswith("text/html") and b"data: " in X.dechunk(out), X.header_of(out, "content-type"))
st, h, b = request(P, "POST", url("gemini-2.5-flash", "generateContent"), CHAT, dict(H, **{"x-sim-tps": "fast"}))
check("invalid x-sim-* value: 400 in Google's shape", st == 400 and err(b).get("status") == "INVALID_ARGUMENT" and "x-sim-tps" in err(b).get("message", ""), (st, b))
t0 = time.time()
st, h, b = request(P, "POST", url("gemini-2.5-flash", "generateContent"), CHAT, dict(H, **{"x-sim-ttft-ms": "300"}))
check("x-sim-ttft-ms delays the answer", st == 200 and time.time() - t0 >= 0.28, time.time() - t0)
t0 = time.time()
out, how = X.raw(P, "POST", url("gemini-2.5-flash", "streamGenerateContent", True), CHAT, dict(H, **{"x-sim-tps": "100", "x-sim-output-tokens": "40"}))
check("x-sim-tps paces the stream (40 tokens at 100/s)", how == "complete" and time.time() - t0 >= 0.3, time.time() - t0)

# ------------------------------------------------------------ request log
request(P, "POST", "/_sim/reset", "", {})
request(P, "POST", "/v1beta/models/gemini-2.5-flash:generateContent?alt=json&key=" + KEY, CHAT, {"Content-Type": "application/json"})
request(P, "POST", url("gemini-2.5-flash", "generateContent"), CHAT, H)
st, h, b = request(P, "GET", "/_sim/requests", None, {})
log = jbody(b)["requests"]
check("request log: key= and x-goog-api-key masked",
      len(log) == 2 and KEY not in b.decode() and log[0]["query"].endswith("key=****0111") and log[1]["headers"]["x-goog-api-key"] == "****0111", log)

# ------------------------------------------------------- shape comparison


def rec_dq_sse(rel, n=0):
    return [json.loads(d) for _, d in S.sse_text(X.yaml_dq_bodies(os.path.join(D, rel))[n])]


def gemini_kind(ev):
    """thought / text / call, with :sig when the part carries a
    thoughtSignature and :final on the chunk with finishReason."""
    if "error" in ev:
        return "error"
    c = ev["candidates"][0]
    p = c["content"]["parts"][0] if c["content"].get("parts") else {}
    k = "thought" if p.get("thought") else "call" if "functionCall" in p else "text"
    return k + (":sig" if "thoughtSignature" in p else "") + (":final" if "finishReason" in c else "")


def by_type(v):
    """Google error details keyed by their @type, so that each detail is
    compared with the recording's detail of the same type (simshape pairs
    array elements by a "type" member, which these do not have)."""
    if isinstance(v, dict) and isinstance(v.get("error"), dict) and isinstance(v["error"].get("details"), list):
        e = dict(v["error"])
        e["details"] = {d.get("@type", "?").rsplit(".", 1)[-1]: d for d in e["details"]}
        return dict(v, error=e)
    return v


# serviceTier came with later recordings; index and responseId differ
# between 2.0-era recordings; safety ratings are not produced.
OPT = ("serviceTier",)
WEATHER3 = {"functionDeclarations": [{"name": "weather", "description": "Get the weather in a location",
                                      "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}]}
CASES = [
    ("gemini-2.5-flash text stream (pydantic-ai, raw wire)", lambda: rec_dq_sse("google/pydantic-ai/test_google_stream_usage_is_live_mid_stream.yaml"),
     ("gemini-2.5-flash", "streamGenerateContent", {"contents": user("Count to 30")}, {"x-sim-output-tokens": "60"}), True, OPT),
    ("gemini-2.5-pro thought-summary stream (pydantic-ai)", lambda: rec_dq_sse("google/pydantic-ai/test_google_model_thinking_part_iter.yaml"),
     ("gemini-2.5-pro", "streamGenerateContent", {"contents": user("How do I cross the street?"), "generationConfig": {"thinkingConfig": {"includeThoughts": True}}}, {"x-sim-output-tokens": "60"}), True, OPT),
    ("gemini-2.0 text stream (pydantic-ai)", lambda: rec_dq_sse("google/pydantic-ai/test_google_model_stream.yaml"),
     ("gemini-2.0-flash", "streamGenerateContent", {"contents": user("What is the capital of France?"), "generationConfig": {"temperature": 0.0}, "systemInstruction": {"parts": [{"text": "You are a helpful chatbot."}], "role": "user"}}, {}), True, OPT),
    ("gemini-2.0 function-call stream (pydantic-ai)", lambda: rec_dq_sse("google/pydantic-ai/test_google_model_iter_stream.yaml"),
     ("gemini-2.0-flash", "streamGenerateContent", {"contents": user("What is the temperature in the capital of France?"), "tools": [{"functionDeclarations": [{"name": "get_capital", "parameters": {"type": "OBJECT", "properties": {"country": {"type": "STRING"}}, "required": ["country"]}}]}]}, {}), True, OPT),
    ("gemini-2.0 text after a function response (pydantic-ai, 3rd interaction)", lambda: rec_dq_sse("google/pydantic-ai/test_google_model_iter_stream.yaml", 2),
     ("gemini-2.0-flash", "streamGenerateContent", {"contents": user("Capital?") + [{"role": "model", "parts": [{"functionCall": {"name": "get_capital", "args": {"country": "France"}}}]}, {"role": "user", "parts": [{"functionResponse": {"name": "get_capital", "response": {"return_value": "Paris"}}}]}],
                                                    "tools": [{"functionDeclarations": [{"name": "get_capital", "parameters": {"type": "OBJECT", "properties": {"country": {"type": "STRING"}}}}]}]}, {}), True, OPT),
    ("gemini-3 text body (vercel)", lambda: S.json_file(os.path.join(D, "google/vercel-ai/generate-content/google-text.json")),
     ("gemini-3-pro-preview", "generateContent", {"contents": user("How many r's in strawberry?")}, {}), False, OPT),
    ("gemini-3 text stream (vercel)", lambda: S.chunks(os.path.join(D, "google/vercel-ai/generate-content/google-text.chunks.txt")),
     ("gemini-3-pro-preview", "streamGenerateContent", {"contents": user("How many r's in strawberry?")}, {"x-sim-output-tokens": "30"}), True, OPT),
    ("gemini-3 function-call body (vercel)", lambda: S.json_file(os.path.join(D, "google/vercel-ai/generate-content/google-tool-call.json")),
     ("gemini-3-pro-preview", "generateContent", {"contents": user("Weather in San Francisco?"), "tools": [WEATHER3]}, {}), False, OPT),
    ("gemini-3 function-call stream (vercel)", lambda: S.chunks(os.path.join(D, "google/vercel-ai/generate-content/google-tool-call.chunks.txt")),
     ("gemini-3-pro-preview", "streamGenerateContent", {"contents": user("Weather in San Francisco?"), "tools": [WEATHER3]}, {}), True, OPT),
    ("429 RESOURCE_EXHAUSTED (vercel)", lambda: S.json_file(os.path.join(D, "google/vercel-ai/generate-content/google-429-retry-info.json")),
     ("gemini-2.5-flash", "generateContent", {"contents": user("x")}, {"x-sim-fault": "429"}), False, ("quotaMetric",)),
    ("400 API key invalid (firebase)", lambda: S.json_file(os.path.join(D, "google/firebase-vertexai-sdk-test-data/googleai/unary-failure-api-key.json")),
     ("gemini-2.5-flash", "generateContent", {"contents": user("x")}, {"x-goog-api-key": "key1234"}), False, ("DebugInfo",)),
    ("404 unknown model (firebase)", lambda: S.json_file(os.path.join(D, "google/firebase-vertexai-sdk-test-data/googleai/unary-failure-unknown-model.json")),
     ("gemini-5.0-flash", "generateContent", {"contents": user("x")}, {}), False, ("details",)),
]
for name, load, (model, method, body, extra), stream, optional in CASES:
    try:
        rec = load()
    except Exception as ex:
        check("read recording: " + name, False, repr(ex))
        continue
    hdrs = dict(H)
    hdrs.update(extra)
    st, h, b = post(model, method, body, hdrs, sse=stream)
    try:
        if stream:
            d = X.stream_diff(rec, sse_chunks(b)[0], gemini_kind, optional)
        else:
            d = X.diff(by_type(rec), by_type(jbody(b)), optional)
    except Exception as ex:
        d = ["could not compare: %r (%s)" % (ex, b[:200])]
    check("shape: " + name, d == [], "; ".join(d[:6]))

srv.stop()
done()
