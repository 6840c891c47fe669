"""Real client libraries against a running Aerie: seed 002's Python samples (urllib), the
official `openai` SDK and LangChain's ChatOpenAI. Run by server/tests/api/sdk.rs with
AERIE_URL, AERIE_KEY, AGENT_ID and AGENT_NAME set; exits non-zero on the first failure."""

import json
import os
import sys
import urllib.request

BASE = os.environ["AERIE_URL"]
API_KEY = os.environ["AERIE_KEY"]
AGENT_ID = os.environ["AGENT_ID"]
AGENT_NAME = os.environ["AGENT_NAME"]


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


# --- seed 002, as documented (only URL, key and agent id changed) -------------------------------
API_URL = f"{BASE}/v1/chat"
headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
payload = {
    "agent_id": AGENT_ID,
    "message": "Compute the square root of 144 plus 56",
    "stream": False,
    "reasoning_enabled": True,
}
req = urllib.request.Request(API_URL, data=json.dumps(payload).encode("utf-8"), headers=headers, method="POST")
with urllib.request.urlopen(req) as res:
    response_data = json.loads(res.read().decode("utf-8"))
    print("Agent Response:", response_data["response"])
check("68" in response_data["response"], "seed 002 /v1/chat: the calculator's 68 is in the answer")

payload = {"agent_id": AGENT_ID, "message": "What are my external mysql metrics?", "stream": True, "reasoning_enabled": False}
req = urllib.request.Request(API_URL, data=json.dumps(payload).encode("utf-8"), headers=headers, method="POST")
streamed = ""
with urllib.request.urlopen(req) as response:
    for line in response:
        decoded_line = line.decode("utf-8").strip()
        if decoded_line.startswith("data: "):
            data = json.loads(decoded_line[6:])
            if "chunk" in data:
                print(data["chunk"], end="", flush=True)
                streamed += data["chunk"]
print()
check(streamed == "echo: What are my external mysql metrics?", "seed 002 /v1/chat streaming")

req = urllib.request.Request(f"{BASE}/v1/agents", headers=headers, method="GET")
with urllib.request.urlopen(req) as res:
    agents = json.loads(res.read().decode("utf-8"))
    for agent in agents:
        print(f"Agent Name: {agent['name']} | ID: {agent['id']}")
check(any(a["id"] == AGENT_ID for a in agents), "seed 002 /v1/agents")

req = urllib.request.Request(f"{BASE}/v1/auth/profile", headers=headers, method="GET")
with urllib.request.urlopen(req) as res:
    profile = json.loads(res.read().decode("utf-8"))
    print("Email:", profile["email"])
    print("Subscription Tier:", profile["subscription_tier"])
    print("Remaining Tokens:", profile["remaining_monthly_tokens"])
check(profile["remaining_monthly_tokens"] > 0, "seed 002 /v1/auth/profile")

req = urllib.request.Request(f"{BASE}/v1/logs?limit=10", headers=headers, method="GET")
with urllib.request.urlopen(req) as res:
    logs = json.loads(res.read().decode("utf-8"))
    for log in logs:
        print(f"Time: {log['created_at']} | Model: {log['model_id']} | Tokens: {log['input_tokens'] + log['output_tokens']}")
check(len(logs) == 2, "seed 002 /v1/logs: one record per turn")

# --- the official openai SDK ---------------------------------------------------------------------
from openai import OpenAI, NotFoundError, AuthenticationError  # noqa: E402

client = OpenAI(api_key=API_KEY, base_url=f"{BASE}/v1")
for model in (AGENT_ID, AGENT_NAME):
    response = client.chat.completions.create(
        model=model,
        messages=[
            {"role": "system", "content": "You are a helpful AI assistant."},
            {"role": "user", "content": "Explain quantum computing in 3 sentences."},
        ],
        temperature=0.7,
    )
    print(response.choices[0].message.content)
    check(response.choices[0].message.content == "echo: Explain quantum computing in 3 sentences.", f"openai SDK non-streaming, model={model!r}")
    check(response.usage.total_tokens > 0, "openai SDK usage")

stream = client.chat.completions.create(
    model=AGENT_NAME,
    messages=[{"role": "user", "content": "Write a short poem about AI."}],
    stream=True,
    stream_options={"include_usage": True},
)
text, usage = "", None
for chunk in stream:
    if chunk.choices:
        text += chunk.choices[0].delta.content or ""
    if chunk.usage:
        usage = chunk.usage
print(text)
check(text == "echo: Write a short poem about AI.", "openai SDK streaming")
check(usage is not None and usage.total_tokens > 0, "openai SDK stream_options.include_usage")

models = client.models.list()
for m in models.data:
    print(f"Agent: {m.id} — {m.name}")
check(any(m.id == AGENT_ID and m.name == AGENT_NAME for m in models.data), "openai SDK models.list")

try:
    client.chat.completions.create(model="no-such-agent", messages=[{"role": "user", "content": "x"}])
    check(False, "unknown model raises")
except NotFoundError as e:
    check("no-such-agent" in str(e), "openai SDK NotFoundError with a useful message")

try:
    OpenAI(api_key="aerie_wrong_key", base_url=f"{BASE}/v1").models.list()
    check(False, "bad key raises")
except AuthenticationError:
    check(True, "openai SDK AuthenticationError on a bad key")

# --- LangChain's ChatOpenAI -----------------------------------------------------------------------
from langchain_openai import ChatOpenAI  # noqa: E402

llm = ChatOpenAI(model=AGENT_NAME, api_key=API_KEY, base_url=f"{BASE}/v1", temperature=0.2)
answer = llm.invoke("Hello from LangChain")
check(answer.content == "echo: Hello from LangChain", "LangChain ChatOpenAI.invoke")
parts = "".join(c.content for c in llm.stream("Stream from LangChain"))
check(parts == "echo: Stream from LangChain", "LangChain ChatOpenAI.stream")
print("all client checks passed")
