"""`switchyard sim`, Bedrock runtime family: Converse and ConverseStream
behind AWS Signature Version 4 (signed here by an independent Python
implementation; good and bad signatures, session tokens, clock skew, scope,
missing and malformed Authorization, Bedrock API keys), Bedrock's error
shapes (x-amzn-ErrorType + {"message"}) for invalid requests, tool use and
results, reasoning, stop reasons, usage that agrees with what was sent, the
binary event-stream framing (decoded both by a Python decoder and by the C
decoder, tests/unit/test_eventstream --decode), every fault control including
exception frames mid-stream, the request log's masking, and the shape
comparison against the recorded Bedrock responses and captures in
tests/data/transcripts/amazon-bedrock/."""
import datetime
import json
import os
import subprocess
import tempfile
import time

import simext as X
import simshape as S
from sylib import ROOT, Server, check, done, jbody, request

D = os.path.join(ROOT, "tests", "data", "transcripts")
AK, SK = "AKIDTEST0001", "test/secret+key0001"
TK_AK, TK_SK, TK = "AKIDTOKEN0002", "tokensecret0002", "the-session-token-0002"
API_KEY = "br-api-key-0123456789abc"
CONFIG = """
keys:
  - "%s:%s"
  - "%s:%s:%s"
  - "%s"
""" % (AK, SK, TK_AK, TK_SK, TK, API_KEY)
DECODER = os.path.join(ROOT, "build", "normal", "tests", "test_eventstream")

srv = Server(["sim", "--listen", "127.0.0.1:{port}", "-c", "{config}"], CONFIG)
P = srv.port
HOST = "127.0.0.1:%d" % P
NOVA = "amazon.nova-lite-v1:0"
CLAUDE = "anthropic.claude-sonnet-4-5-20250929-v1:0"


def path(model, op="converse"):
    return "/model/%s/%s" % (model.replace(":", "%3A"), op)


def call(model, body, op="converse", extra=None, ak=AK, sk=SK, token=None, when=None, raw_path=None,
         region="us-east-1", service="bedrock", mutate=None):
    p = raw_path or path(model, op)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    h = X.sigv4_headers("POST", p, data, HOST, ak, sk, region=region, service=service, token=token, when=when)
    if mutate:
        mutate(h)
    h.update(extra or {})
    return request(P, "POST", p, data, h)


def user(text):
    return [{"role": "user", "content": [{"text": text}]}]


def msg(body):
    return (jbody(body) or {}).get("message", "")


def text_of(r):
    return "".join(b.get("text", "") for b in r["output"]["message"]["content"])


def decode_c(data):
    """Decode with the C decoder: (lines, end) where lines are
    (event, message-type, exception-type, payload) tuples."""
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(data)
    try:
        out = subprocess.run([DECODER, "--decode", f.name], capture_output=True, timeout=30).stdout.decode()
    finally:
        os.unlink(f.name)
    lines = out.strip("\n").split("\n")
    return [tuple(l.split("\t", 3)) for l in lines[:-1]], lines[-1]


WEATHER = {"toolSpec": {"name": "get_weather", "description": "Weather in a city",
                        "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}}
TIME = {"toolSpec": {"name": "get_time", "inputSchema": {"json": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}}}}
BASIC = {"messages": user("Hello")}

# ------------------------------------------------------------------- SigV4
st, h, b = call(NOVA, BASIC)
check("a good signature: 200 with x-amzn-RequestId", st == 200 and len(h.get("x-amzn-requestid", "")) == 36 and text_of(jbody(b)), (st, h, b[:200]))
st, h, b = call(NOVA, BASIC, sk="not-the-secret")
check("a wrong secret: 403 InvalidSignatureException with Bedrock's sentence and header",
      st == 403 and h.get("x-amzn-errortype", "").startswith("InvalidSignatureException:") and
      msg(b).startswith("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."), (st, h, b[:300]))
check("the mismatch names the canonical request AWS expected (model id ':' signed as %253A)",
      "\n\nThe Canonical String for this request should have been\n'POST\n/model/amazon.nova-lite-v1%253A0/converse\n" in msg(b) and
      "\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n" in msg(b) and SK not in msg(b), msg(b)[:400])
st, h, b = request(P, "POST", path(NOVA), json.dumps(BASIC), {"Content-Type": "application/json"})
check("no Authorization: 403 MissingAuthenticationTokenException",
      st == 403 and h.get("x-amzn-errortype", "").startswith("MissingAuthenticationTokenException:") and msg(b) == "Missing Authentication Token", (st, h, b))
st, h, b = call(NOVA, BASIC, ak="AKIDUNKNOWN999", sk="whatever")
check("an unknown access key: 403 UnrecognizedClientException",
      st == 403 and h.get("x-amzn-errortype", "").startswith("UnrecognizedClientException:") and
      msg(b) == "The security token included in the request is invalid.", (st, h, b))
st, h, b = call(NOVA, BASIC, mutate=lambda hh: hh.update(authorization=hh["authorization"].split(", Signature=")[0]))
check("Authorization without Signature: 400 IncompleteSignatureException",
      st == 400 and h.get("x-amzn-errortype", "").startswith("IncompleteSignatureException:") and "requires 'Signature' parameter" in msg(b), (st, b))
st, h, b = call(NOVA, BASIC, service="s3")
check("scoped to another service: 403 InvalidSignatureException",
      st == 403 and msg(b) == "Credential should be scoped to correct service: 'bedrock'. ", (st, b))
st, h, b = call(NOVA, BASIC, when=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1))
check("signed an hour ago: 403 Signature expired", st == 403 and msg(b).startswith("Signature expired: "), (st, b))
st, h, b = call(NOVA, BASIC, ak=TK_AK, sk=TK_SK, token=TK)
check("temporary credentials with their session token: 200", st == 200, (st, b[:200]))
st, h, b = call(NOVA, BASIC, ak=TK_AK, sk=TK_SK, token="some-other-token")
check("a wrong session token: 403 UnrecognizedClientException", st == 403 and h.get("x-amzn-errortype", "").startswith("UnrecognizedClientException:"), (st, b))
st, h, b = call(NOVA, BASIC, ak=TK_AK, sk=TK_SK)
check("temporary credentials without their token: 403", st == 403, (st, b))
data = json.dumps(BASIC).encode()
hh = X.sigv4_headers("POST", path(NOVA), data, HOST, AK, SK)
st, h, b = request(P, "POST", path(NOVA), data.replace(b"Hello", b"Howdy"), hh)
check("a body changed after signing: 403 InvalidSignatureException", st == 403 and h.get("x-amzn-errortype", "").startswith("InvalidSignatureException"), (st, b[:200]))
st, h, b = call(NOVA, BASIC, raw_path="/model/amazon.nova-lite-v1:0/converse")
check("a raw ':' in the path, signed as %3A: 200", st == 200, (st, b[:300]))
st, h, b = call(NOVA, BASIC, region="eu-west-3")
check("on loopback the scope's region is accepted", st == 200, (st, b[:200]))
st, h, b = call(NOVA, BASIC, mutate=lambda hh: hh.update(Host="bedrock-runtime.us-west-2.amazonaws.com"))
check("a Host naming another region than the scope: refused", st == 403, (st, b[:200]))
st, h, b = request(P, "POST", path(NOVA), json.dumps(BASIC), {"Content-Type": "application/json", "Authorization": "Bearer " + API_KEY})
check("a Bedrock API key as a Bearer token: 200", st == 200, (st, b[:200]))
st, h, b = request(P, "POST", path(NOVA), json.dumps(BASIC), {"Content-Type": "application/json", "Authorization": "Bearer wrong-key"})
check("a wrong Bearer key: 403", st == 403 and h.get("x-amzn-errortype", "").startswith("UnrecognizedClientException"), (st, b))

# -------------------------------------------------------------- validation
BAD = [
    ("unknown model", "us.does-not-exist-model-v1:0", BASIC, "The provided model identifier is invalid."),
    ("no messages", NOVA, {"inferenceConfig": {"maxTokens": 10}}, "1 validation error detected: Value null at 'messages' failed to satisfy constraint: Member must not be null"),
    ("empty messages", NOVA, {"messages": []}, "A conversation must start with a user message. Try again with a conversation that starts with a user message."),
    ("assistant first", NOVA, {"messages": [{"role": "assistant", "content": [{"text": "x"}]}]}, "A conversation must start with a user message. Try again with a conversation that starts with a user message."),
    ("two user turns", NOVA, {"messages": user("a") + user("b")}, "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."),
    ("role system", NOVA, {"messages": user("a") + [{"role": "system", "content": [{"text": "x"}]}]},
     "1 validation error detected: Value 'system' at 'messages.2.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]"),
    ("empty content", NOVA, {"messages": [{"role": "user", "content": []}]}, "The content field in the Message object at messages.0 is empty. Add a ContentBlock object to the content field and try again."),
    ("blank text", NOVA, {"messages": [{"role": "user", "content": [{"text": "  "}]}]}, "The text field in the ContentBlock object at messages.0.content.0 is blank. Add text to the text field, and try again."),
    ("maxTokens over the model limit", NOVA, {"messages": user("x"), "inferenceConfig": {"maxTokens": 999999}},
     "The maximum tokens you requested exceeds the model limit of 5120. Try again with a maximum tokens value that is lower than 5120."),
    ("maxTokens 0", NOVA, {"messages": user("x"), "inferenceConfig": {"maxTokens": 0}}, None),
    ("temperature 1.5", NOVA, {"messages": user("x"), "inferenceConfig": {"temperature": 1.5}}, None),
    ("tool blocks without toolConfig", NOVA, {"messages": user("x") + [{"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {}}}]},
                                                                  {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "sunny"}]}}]}]},
     "The toolConfig field must be defined when using toolUse and toolResult content blocks."),
    ("toolResult without toolUse", NOVA, {"messages": user("x") + [{"role": "assistant", "content": [{"text": "ok"}]},
                                                              {"role": "user", "content": [{"toolResult": {"toolUseId": "t9", "content": [{"text": "r"}]}}]}], "toolConfig": {"tools": [WEATHER]}},
     "The number of toolResult blocks at messages.2.content exceeds the number of toolUse blocks of previous turn."),
    ("toolUse left without its result", NOVA, {"messages": user("x") + [{"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {}}}]},
                                                                   {"role": "user", "content": [{"text": "never mind"}]}], "toolConfig": {"tools": [WEATHER]}},
     "Expected toolResult blocks at messages.2.content for the following Ids: t1"),
    ("bad tool name", NOVA, {"messages": user("x"), "toolConfig": {"tools": [{"toolSpec": {"name": "bad name!", "inputSchema": {"json": {}}}}]}}, None),
    ("two members in one block", NOVA, {"messages": [{"role": "user", "content": [{"text": "x", "image": {}}]}]}, None),
    ("image with a bad format", NOVA, {"messages": [{"role": "user", "content": [{"image": {"format": "bmp", "source": {"bytes": "AAAA"}}}]}]}, None),
]
for name, model, body, want in BAD:
    st, h, b = call(model, body)
    check("invalid: %s -> 400 ValidationException" % name,
          st == 400 and h.get("x-amzn-errortype") == "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/" and
          set(jbody(b) or {}) == {"message"} and (want is None or msg(b) == want), (st, h.get("x-amzn-errortype"), b[:300]))
st, h, b = call(NOVA, b"{not json")
check("malformed JSON: 400 SerializationException", st == 400 and h.get("x-amzn-errortype", "").startswith("SerializationException"), (st, b))
st, h, b = call(NOVA, BASIC, op="invoke-something")
check("an unknown operation: 400", st == 400 and "not recognized" in msg(b), (st, b))

# ---------------------------------------------------------------- converse
st, h, b = call(NOVA, {"messages": user("Hello"), "system": [{"text": "Be brief."}]}, extra={"x-sim-output-tokens": "24"})
r = jbody(b)
u = r["usage"]
check("converse: output.message.content[].text, role assistant, stopReason end_turn, metrics.latencyMs",
      st == 200 and h.get("content-type") == "application/json" and r["output"]["message"]["role"] == "assistant" and
      r["stopReason"] == "end_turn" and isinstance(r["metrics"]["latencyMs"], int), r)
check("converse usage: outputTokens = tokens of the text, total = input + output",
      u["outputTokens"] == X.tokens(text_of(r)) == 24 and u["totalTokens"] == u["inputTokens"] + u["outputTokens"], u)
check("converse: keys in alphabetical order, as Bedrock writes them", list(r) == sorted(r) and list(u) == sorted(u), list(r))
st, h, b = call(NOVA, {"messages": user("Hello"), "inferenceConfig": {"maxTokens": 4}}, extra={"x-sim-output-tokens": "30"})
r = jbody(b)
check("maxTokens reached: stopReason max_tokens", r["stopReason"] == "max_tokens" and r["usage"]["outputTokens"] == 4, r)
full = text_of(jbody(call(NOVA, {"messages": user("stop")}, extra={"x-sim-output-tokens": "50", "x-sim-seed": "5"})[2]))
word = full.split()[4].strip(".,;!?")
st, h, b = call(NOVA, {"messages": user("stop"), "inferenceConfig": {"stopSequences": [word]}}, extra={"x-sim-output-tokens": "50", "x-sim-seed": "5"})
r = jbody(b)
check("stopSequences: stopReason stop_sequence, text cut before it", r["stopReason"] == "stop_sequence" and word not in text_of(r) and full.startswith(text_of(r)), (word, r))
st, h, b = call(NOVA, {"messages": user("Weather in Paris?"), "toolConfig": {"tools": [WEATHER]}})
r = jbody(b)
tu = r["output"]["message"]["content"][0]["toolUse"]
check("tool use: toolUse {input, name, toolUseId}, stopReason tool_use",
      r["stopReason"] == "tool_use" and tu["name"] == "get_weather" and isinstance(tu["input"]["city"], str) and tu["toolUseId"].startswith("tooluse_"), r)
check("tool use usage: outputTokens = tokens of the name and the input",
      r["usage"]["outputTokens"] == X.tokens(tu["name"]) + X.tokens(json.dumps(tu["input"], separators=(",", ":"))), r["usage"])
turn = user("Weather in Paris?") + [{"role": "assistant", "content": [{"toolUse": tu}]},
                                    {"role": "user", "content": [{"toolResult": {"toolUseId": tu["toolUseId"], "content": [{"json": {"temp": 21}}], "status": "success"}}]}]
st, h, b = call(NOVA, {"messages": turn, "toolConfig": {"tools": [WEATHER]}})
check("after the tool result: a text answer, end_turn", st == 200 and jbody(b)["stopReason"] == "end_turn" and text_of(jbody(b)), (st, b[:300]))
st, h, b = call(NOVA, {"messages": turn, "toolConfig": {"tools": [WEATHER, TIME], "toolChoice": {"tool": {"name": "get_time"}}}})
check("toolChoice tool: that tool is called even after a result", jbody(b)["output"]["message"]["content"][0]["toolUse"]["name"] == "get_time", b[:300])
st, h, b = call(NOVA, {"messages": user("x"), "toolConfig": {"tools": [WEATHER, TIME]}}, extra={"x-sim-tools": "2"})
names = [c["toolUse"]["name"] for c in jbody(b)["output"]["message"]["content"]]
check("parallel tool use (x-sim-tools: 2)", names == ["get_weather", "get_time"], names)
st, h, b = call(CLAUDE, {"messages": user("Think first"), "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 2048}}}, extra={"x-sim-output-tokens": "20"})
r = jbody(b)
rc = r["output"]["message"]["content"][0]["reasoningContent"]["reasoningText"]
check("reasoning (additionalModelRequestFields.thinking): reasoningContent.reasoningText {signature, text} first, counted in outputTokens",
      rc["signature"] and rc["text"] and r["usage"]["outputTokens"] == X.tokens(rc["text"]) + X.tokens(r["output"]["message"]["content"][1]["text"]), r)
st, h, b = call(NOVA, {"messages": [{"role": "user", "content": [{"text": "What is this?"}, {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}}]}]})
check("image blocks accepted and counted", st == 200 and jbody(b)["usage"]["inputTokens"] >= 85, (st, b[:200]))

# ----------------------------------------------------------- converse-stream
st, h, b = call(NOVA, {"messages": user("Tell me")}, op="converse-stream", extra={"x-sim-output-tokens": "30"})
frames = X.eventstream(b)
evs = X.bedrock_events(b)
kinds = S.collapse([X.bedrock_kind(e) for e in evs])
check("stream: application/vnd.amazon.eventstream, CRC-valid frames, each with :event-type, :content-type, :message-type event",
      st == 200 and h.get("content-type") == "application/vnd.amazon.eventstream" and
      all(fh.get(":content-type") == "application/json" and fh.get(":message-type") == "event" and list(fh) == [":event-type", ":content-type", ":message-type"] for fh, _ in frames), (h, frames[:2]))
check("stream order: messageStart, text deltas, contentBlockStop, messageStop, metadata last",
      kinds == ["messageStart", "contentBlockDelta:text", "contentBlockStop", "messageStop", "metadata"], kinds)
check("every payload carries the \"p\" padding, keys sorted", all(isinstance(list(e.values())[0].get("p"), str) for e in evs) and
      all(list(list(e.values())[0]) == sorted(list(e.values())[0]) for e in evs), evs[:2])
streamed = "".join(e["contentBlockDelta"]["delta"]["text"] for e in evs if "contentBlockDelta" in e)
meta = evs[-1]["metadata"]
check("metadata usage agrees with the streamed text", meta["usage"]["outputTokens"] == X.tokens(streamed) == 30 and
      meta["usage"]["totalTokens"] == meta["usage"]["inputTokens"] + 30 and isinstance(meta["metrics"]["latencyMs"], int), meta)
st2, h2, b2 = call(NOVA, {"messages": user("Tell me")}, extra={"x-sim-output-tokens": "30"})
check("stream and whole answer carry the same text", text_of(jbody(b2)) == streamed)
lines, end = decode_c(b)
check("the C decoder reads the same frames", end == "END %d %d ok" % (len(frames), len(b)) and
      [(l[0], l[1], json.loads(l[3])) for l in lines] == [(fh[":event-type"], "event", json.loads(p)) for fh, p in frames], (end, lines[:2]))
st, h, b = call(NOVA, {"messages": user("Weather?"), "toolConfig": {"tools": [WEATHER, TIME]}}, op="converse-stream", extra={"x-sim-tools": "2"})
evs = X.bedrock_events(b)
kinds = S.collapse([X.bedrock_kind(e) for e in evs])
inputs = {}
for e in evs:
    if "contentBlockDelta" in e:
        d = e["contentBlockDelta"]
        inputs[d["contentBlockIndex"]] = inputs.get(d["contentBlockIndex"], "") + d["delta"]["toolUse"]["input"]
check("tool use stream: contentBlockStart(toolUse) with name and id, input fragments, stop, per block",
      kinds == ["messageStart"] + ["contentBlockStart:toolUse", "contentBlockDelta:toolUse", "contentBlockStop"] * 2 + ["messageStop", "metadata"] and
      all(isinstance(json.loads(v), dict) for v in inputs.values()) and len(inputs) == 2 and
      evs[-2]["messageStop"]["stopReason"] == "tool_use", kinds)
st, h, b = call(CLAUDE, {"messages": user("Think"), "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 1024}}}, op="converse-stream")
kinds = S.collapse([X.bedrock_kind(e) for e in X.bedrock_events(b)])
check("reasoning stream: reasoningContent text then signature, then the text block",
      kinds == ["messageStart", "contentBlockDelta:reasoningContent.text", "contentBlockDelta:reasoningContent.signature", "contentBlockStop",
                "contentBlockDelta:text", "contentBlockStop", "messageStop", "metadata"] and
      [list(e["contentBlockDelta"]["delta"]["reasoningContent"]) for e in X.bedrock_events(b) if "reasoningContent" in json.dumps(e)][-1] == ["signature"], kinds)

# ------------------------------------------------------------------ faults
STREAM_BODY = json.dumps({"messages": user("hi")}).encode()


def signed(op, extra, body=STREAM_BODY):
    h = X.sigv4_headers("POST", path(NOVA, op), body, HOST, AK, SK)
    h.update(extra)
    return h


for code, typ in (("429", "ThrottlingException"), ("500", "InternalServerException"), ("503", "ServiceUnavailableException"), ("529", "ServiceUnavailableException")):
    st, h, b = call(NOVA, BASIC, extra={"x-sim-fault": code, "x-sim-retry-after": "3"})
    check("%s: %s with x-amzn-ErrorType and {\"message\"}" % (code, typ),
          st == int(code) and h.get("x-amzn-errortype", "").startswith(typ + ":") and set(jbody(b)) == {"message"} and
          (code not in ("429", "529") or h.get("retry-after") == "3"), (st, h, b))
out, how = X.raw(P, "POST", path(NOVA, "converse-stream"), STREAM_BODY, signed("converse-stream", {"x-sim-fault": "429", "x-sim-fault-after": "2", "x-sim-output-tokens": "40"}))
frames = X.eventstream(X.dechunk(out))
check("429 after 2 events: an exception frame (throttlingException), then the stream ends",
      how == "complete" and len(frames) == 3 and frames[-1][0].get(":message-type") == "exception" and
      frames[-1][0].get(":exception-type") == "throttlingException" and json.loads(frames[-1][1])["message"], (how, frames[-1:]))
lines, end = decode_c(X.dechunk(out))
check("the C decoder sees the exception frame", lines[-1][1] == "exception" and lines[-1][2] == "throttlingException" and end.endswith(" ok"), (lines[-1:], end))
out, how = X.raw(P, "POST", path(NOVA, "converse-stream"), STREAM_BODY, signed("converse-stream", {"x-sim-fault": "503", "x-sim-fault-after": "1"}))
frames = X.eventstream(X.dechunk(out))
check("503 after 1 event: serviceUnavailableException frame", frames[-1][0].get(":exception-type") == "serviceUnavailableException", frames[-1:])
out, how = X.raw(P, "POST", path(NOVA, "converse-stream"), STREAM_BODY, signed("converse-stream", {"x-sim-fault": "malformed", "x-sim-fault-after": "2", "x-sim-output-tokens": "30"}))
body = X.dechunk(out)
try:
    X.eventstream(body)
    bad_frame = None
except X.EventStreamError as ex:
    bad_frame = (ex.frame, ex.why)
lines, end = decode_c(body)
check("malformed (stream): frame 2 has a bad message CRC; both decoders stop there",
      how == "complete" and bad_frame == (2, "message CRC") and len(lines) == 2 and end.endswith("event-stream message CRC mismatch"), (how, bad_frame, end))
out, how = X.raw(P, "POST", path(NOVA, "converse-stream"), STREAM_BODY, signed("converse-stream", {"x-sim-fault": "truncate", "x-sim-fault-after": "2", "x-sim-output-tokens": "30"}))
body = X.dechunk(out)
lines, end = decode_c(body)
check("truncate (stream): closed inside frame 3; the decoder says cut-short", how == "eof" and len(lines) == 2 and end.endswith("cut-short"), (how, end))
out, how = X.raw(P, "POST", path(NOVA, "converse-stream"), STREAM_BODY, signed("converse-stream", {"x-sim-fault": "reset", "x-sim-fault-after": "2", "x-sim-output-tokens": "30"}))
check("reset mid-stream", how == "reset" and len(X.eventstream(X.dechunk(out), allow_partial=True)) >= 2, how)
out, how = X.raw(P, "POST", path(NOVA, "converse-stream"), STREAM_BODY, signed("converse-stream", {"x-sim-fault": "hang-stream", "x-sim-fault-after": "2", "x-sim-output-tokens": "30"}), timeout=1.0)
check("hang-stream: 2 frames, then silence", how == "timeout" and len(X.eventstream(X.dechunk(out))) == 2, how)
t0 = time.time()
out, how = X.raw(P, "POST", path(NOVA, "converse"), STREAM_BODY, signed("converse", {"x-sim-fault": "hang"}), timeout=1.0)
check("hang: nothing at all", out == b"" and how == "timeout" and time.time() - t0 >= 0.9, how)
out, how = X.raw(P, "POST", path(NOVA, "converse"), STREAM_BODY, signed("converse", {"x-sim-fault": "truncate"}))
check("truncate (body): half a body, then close", how == "eof" and jbody(X.dechunk(out)) is None and X.dechunk(out).startswith(b"{"), (how, out[-100:]))
st, h, b = call(NOVA, BASIC, extra={"x-sim-fault": "malformed"})
check("malformed (body): 200, not JSON", st == 200 and jbody(b) is None, b[:100])
st, h, b = call(NOVA, BASIC, extra={"x-sim-fault": "content-type"})
check("content-type (body): served as text/html", st == 200 and h.get("content-type", "").startswith("text/html"), h)
out, how = X.raw(P, "POST", path(NOVA, "converse-stream"), STREAM_BODY, signed("converse-stream", {"x-sim-fault": "content-type"}))
check("content-type (stream): event stream served as text/html", (X.header_of(out, "content-type") or "").startswith("text/html") and len(X.eventstream(X.dechunk(out))) > 3, X.header_of(out, "content-type"))
st, h, b = call(NOVA, BASIC, extra={"x-sim-output-tokens": "nope"})
check("invalid x-sim-* value: 400 ValidationException", st == 400 and h.get("x-amzn-errortype", "").startswith("ValidationException") and "x-sim-output-tokens" in msg(b), (st, b))
t0 = time.time()
st, h, b = call(NOVA, BASIC, extra={"x-sim-ttft-ms": "300"})
check("x-sim-ttft-ms delays the answer; latencyMs reports it", st == 200 and time.time() - t0 >= 0.28 and jbody(b)["metrics"]["latencyMs"] >= 300, (time.time() - t0, b[:100]))
t0 = time.time()
out, how = X.raw(P, "POST", path(NOVA, "converse-stream"), STREAM_BODY, signed("converse-stream", {"x-sim-tps": "100", "x-sim-output-tokens": "40"}))
check("x-sim-tps paces the stream", how == "complete" and time.time() - t0 >= 0.3, time.time() - t0)

# ------------------------------------------------------------- request log
request(P, "POST", "/_sim/reset", "", {})
call(NOVA, BASIC, ak=TK_AK, sk=TK_SK, token=TK)
st, h, b = request(P, "GET", "/_sim/requests", None, {})
rec = jbody(b)["requests"][0]
auth = rec["headers"]["authorization"]
check("request log: SigV4 credential and signature masked, session token masked",
      "Signature=****" in auth and TK_AK not in b.decode() and TK not in b.decode() and "/bedrock/aws4_request" in auth and
      rec["path"] == "/model/amazon.nova-lite-v1%3A0/converse", rec)

# ------------------------------------------------------- shape comparison


def rec_bin(rel):
    with open(os.path.join(D, rel), "rb") as f:
        return X.bedrock_events(f.read())


def rec_parsed(rel, n=0):
    return X.unflow(S.yaml_parsed_bodies(os.path.join(D, rel))[n])


def by_member(v):
    """Converse content blocks keyed by their one member (text, toolUse,
    reasoningContent), so each is compared with the recording's block of
    the same kind (simshape pairs array elements by a "type" member)."""
    try:
        m = v["output"]["message"]
        blocks = {next(iter(c)): c for c in m["content"]}
        return dict(v, output=dict(v["output"], message=dict(m, content=blocks)))
    except (KeyError, TypeError, StopIteration):
        return v


# Keys that come and go between recording dates (newer responses add cache
# counters and serverToolUsage; older captures lack them). The Claude tool
# recording also writes a text block between its reasoning and its tool use,
# which the simulator does not.
NEW = ("cacheReadInputTokenCount", "cacheReadInputTokens", "cacheWriteInputTokenCount", "cacheWriteInputTokens", "serverToolUsage")
CASES = [
    ("converse text body (vercel, real)", lambda: S.json_file(os.path.join(D, "amazon-bedrock/vercel-ai/amazon-bedrock-text.json")),
     (CLAUDE, "converse", {"messages": user("How many r's in strawberry?")}, {}), False, (), False),
    ("converse text body (pydantic-ai, nova)", lambda: rec_parsed("amazon-bedrock/pydantic-ai/test_bedrock_model.yaml"),
     (NOVA, "converse", {"messages": user("Hello!"), "system": [{"text": "You are a chatbot."}]}, {}), False, NEW, False),
    ("converse toolUse body (pydantic-ai, nova)", lambda: rec_parsed("amazon-bedrock/pydantic-ai/test_bedrock_model_structured_output.yaml"),
     (NOVA, "converse", {"messages": user("What was the temperature in London 1st January 2022?"),
                         "toolConfig": {"tools": [{"toolSpec": {"name": "temperature", "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}, "date": {"type": "string"}}, "required": ["city", "date"]}}}}]}}, {}), False, NEW, False),
    ("converse reasoning + toolUse body (pydantic-ai, claude 3.7)", lambda: rec_parsed("amazon-bedrock/pydantic-ai/test_bedrock_anthropic_tool_with_thinking.yaml"),
     (CLAUDE, "converse", {"messages": user("What is the largest city in the user country?"), "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 1024}},
                           "toolConfig": {"tools": [{"toolSpec": {"name": "get_user_country", "inputSchema": {"json": {"type": "object", "properties": {}}}}}]}}, {}), False, NEW + ("text",), False),
    ("invalid model 400 (pydantic-ai)", lambda: rec_parsed("amazon-bedrock/pydantic-ai/test_bedrock_error.yaml"),
     ("us.does-not-exist-model-v1:0", "converse", {"messages": user("hello")}, {}), False, (), False),
    ("invalid model 400 on converse-stream: plain JSON, not a stream (pydantic-ai)", lambda: rec_parsed("amazon-bedrock/pydantic-ai/test_bedrock_streaming_error.yaml"),
     ("us.does-not-exist-model-v1:0", "converse-stream", {"messages": user("hello")}, {}), False, (), False),
    ("text stream (pydantic-ai capture, nova)", lambda: rec_bin("amazon-bedrock/pydantic-ai/event-stream-bin/test_bedrock_model_stream.response.bin"),
     (NOVA, "converse-stream", {"messages": user("What is the capital of France?")}, {"x-sim-output-tokens": "40"}), True, NEW, False),
    ("text stream (agentgateway capture)", lambda: rec_bin("amazon-bedrock/agentgateway/basic.bin"),
     (NOVA, "converse-stream", {"messages": user("Tell me a story")}, {}), True, NEW, False),
    ("text then toolUse stream (pydantic-ai capture): tool part in order", lambda: rec_bin("amazon-bedrock/pydantic-ai/event-stream-bin/test_bedrock_model_iter_stream.0.response.bin"),
     (NOVA, "converse-stream", {"messages": user("What is the temperature of the capital of France?"),
                                "toolConfig": {"tools": [{"toolSpec": {"name": "get_temperature", "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}}]}}, {}), True, NEW, True),
    ("text after a toolResult stream (pydantic-ai capture)", lambda: rec_bin("amazon-bedrock/pydantic-ai/event-stream-bin/test_bedrock_model_iter_stream.1.response.bin"),
     (NOVA, "converse-stream", {"messages": user("Temperature?") + [{"role": "assistant", "content": [{"toolUse": {"toolUseId": "tooluse_1", "name": "get_temperature", "input": {"city": "Paris"}}}]},
                                                                   {"role": "user", "content": [{"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": "30°C"}]}}]}],
                                "toolConfig": {"tools": [{"toolSpec": {"name": "get_temperature", "inputSchema": {"json": {"type": "object"}}}}]}}, {}), True, NEW, False),
    ("reasoning stream (pydantic-ai capture, claude sonnet 4)", lambda: rec_bin("amazon-bedrock/pydantic-ai/event-stream-bin/test_bedrock_model_thinking_part_stream.response.bin"),
     (CLAUDE, "converse-stream", {"messages": user("How do I cross the street?"), "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 1024}}}, {}), True, NEW, False),
]
for name, load, (model, op, body, extra), stream, optional, subseq in CASES:
    try:
        rec_v = load()
    except Exception as ex:
        check("read recording: " + name, False, repr(ex))
        continue
    st, h, b = call(model, body, op=op, extra=extra)
    try:
        if stream:
            d = X.stream_diff(rec_v, X.bedrock_events(b), X.bedrock_kind, optional, subseq)
        else:
            d = X.diff(by_member(rec_v), by_member(jbody(b)), optional)
    except Exception as ex:
        d = ["could not compare: %r (%s)" % (ex, b[:200])]
    check("shape: " + name, d == [], "; ".join(d[:6]))

srv.stop()
done()
