// An agent built on the official TypeScript MCP SDK: connect over streamable HTTP, list the
// tools, make the calls given, print what came back as JSON.
// Usage: node typescript_client.mjs URL TOKEN '[{"name": ..., "arguments": {...}}, ...]'
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, token, calls] = process.argv.slice(2);
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client({ name: "blender-http-tests", version: "1.0.0" });
await client.connect(transport);
const listed = await client.listTools();
const results = [];
for (const call of JSON.parse(calls)) {
  results.push(await client.callTool(call));
}
console.log(JSON.stringify({
  protocolVersion: transport.protocolVersion ?? null,
  tools: listed.tools.map((tool) => tool.name),
  results,
}));
await client.close();
