import { test, expect, type APIRequestContext } from "@playwright/test";
import OpenAI from "openai";

// The official OpenAI Node SDK against Aerie, unchanged but for the base URL and key (seed 002:
// `model` is an agent id or name). The provider is the fake upstream of playwright.config.ts.
const OWNER = { email: "olive@acme.test", password: "plum-orbit-cascade-42" };
const UPSTREAM = `http://127.0.0.1:${process.env.AERIE_E2E_UPSTREAM_PORT ?? 3911}/v1`;

async function ownerJwt(request: APIRequestContext): Promise<string> {
  const status = await request.get("/auth/setup-status");
  if (!(await status.json()).bootstrapped) {
    const res = await request.post("/auth/setup", {
      data: { ...OWNER, name: "Olive Owner", organization_name: "Acme Research" },
    });
    expect(res.status()).toBe(201);
  }
  const login = await request.post("/auth/jwt/create/", { data: OWNER });
  expect(login.status()).toBe(200);
  return (await login.json()).access;
}

test("the official openai Node SDK works unchanged", async ({ request, baseURL }) => {
  const jwt = await ownerJwt(request);
  const headers = { Authorization: `Bearer ${jwt}` };
  const provider = await request.post("/api/providers", {
    headers,
    data: { name: "SDK upstream", base_url: UPSTREAM, models: [{ id: "fake-model" }] },
  });
  expect(provider.status(), await provider.text()).toBe(201);
  const agent = await request.post("/api/agents", {
    headers,
    data: { name: "sdk-agent", model: "fake-model", provider_id: (await provider.json()).id },
  });
  expect(agent.status(), await agent.text()).toBe(201);
  const agentId: string = (await agent.json()).id;
  const key = await request.post("/v1/billings/api-keys/", { headers, data: { name: "node-sdk" } });
  expect(key.status()).toBe(201);

  const client = new OpenAI({ apiKey: (await key.json()).key, baseURL: `${baseURL}/v1` });

  const models = await client.models.list();
  expect(models.data.map((m) => m.id)).toContain(agentId);

  for (const model of ["sdk-agent", agentId]) {
    const completion = await client.chat.completions.create({
      model,
      messages: [
        { role: "system", content: "You are a helpful AI assistant." },
        { role: "user", content: "Explain quantum computing in 3 sentences." },
      ],
      temperature: 0.7,
    });
    expect(completion.choices[0].message.content).toBe("echo: Explain quantum computing in 3 sentences.");
    expect(completion.usage?.total_tokens).toBeGreaterThan(0);
  }

  const stream = await client.chat.completions.create({
    model: "sdk-agent",
    messages: [{ role: "user", content: "Write a short poem about AI." }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = "";
  let total = 0;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? "";
    total = chunk.usage?.total_tokens ?? total;
  }
  expect(text).toBe("echo: Write a short poem about AI.");
  expect(total).toBeGreaterThan(0);

  await expect(
    client.chat.completions.create({ model: "no-such-agent", messages: [{ role: "user", content: "x" }] }),
  ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
});
