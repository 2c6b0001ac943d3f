// Drives the Vercel AI SDK (npm `ai` with `@ai-sdk/openai`) against the fake OpenAI server,
// exporting its telemetry to seedwatch over OTLP/HTTP (protobuf); the Node twin of
// genai_driver.py, run from the folder the test installed the packages into.
//
//   node genai_driver.mjs FAKE_OPENAI_URL OTLP_HTTP_ENDPOINT [--dump FILE]
//
// The script: generateText gpt-4o (in=1200 out=300 cached=1000 reasoning=64), streamText
// gpt-4o-mini (in=50 out=7), generateText gpt-4o answered 429, embed text-embedding-3-small
// (in=8), and generateText with one tool (two model calls under one outer ai.generateText span
// that carries their usage summed: the double-counting shape).
import { writeFileSync, appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.cwd(), 'package.json'));
const { generateText, streamText, embed, tool, stepCountIs } = require('ai');
const { createOpenAI } = require('@ai-sdk/openai');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { BatchSpanProcessor, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { z } = require('zod');

const [fakeUrl, otlp] = process.argv.slice(2);
const dumpAt = process.argv.indexOf('--dump');
const dump = dumpAt > 0 ? process.argv[dumpAt + 1] : null;

const processors = [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${otlp}/v1/traces` }))];
if (dump) {
  writeFileSync(dump, '');
  processors.push(
    new SimpleSpanProcessor({
      export(spans, done) {
        for (const s of spans) {
          const line = {
            name: s.name,
            parent: Boolean(s.parentSpanContext?.spanId ?? s.parentSpanId),
            status: ['UNSET', 'OK', 'ERROR'][s.status.code],
            attributes: s.attributes,
            events: s.events.map((e) => ({ name: e.name, attributes: e.attributes ?? {} })),
          };
          appendFileSync(dump, JSON.stringify(line) + '\n');
        }
        done({ code: 0 });
      },
      shutdown: async () => {},
    }),
  );
}
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'genai-vercel-ai', 'service.instance.id': 'vercel-ai' }),
  spanProcessors: processors,
});
const tracer = provider.getTracer('ai');
const telemetry = { isEnabled: true, tracer };
const openai = createOpenAI({ baseURL: fakeUrl, apiKey: 'sk-fake' });

await generateText({
  model: openai.chat('gpt-4o'),
  prompt: 'Summarise the model. usage: in=1200 out=300 cached=1000 reasoning=64',
  experimental_telemetry: telemetry,
});
const stream = streamText({
  model: openai.chat('gpt-4o-mini'),
  prompt: 'Stream it. usage: in=50 out=7',
  experimental_telemetry: telemetry,
});
for await (const _ of stream.textStream) {
  // drain
}
await stream.usage;
try {
  await generateText({
    model: openai.chat('gpt-4o'),
    prompt: 'Again. fail: 429',
    maxRetries: 0,
    experimental_telemetry: telemetry,
  });
} catch (e) {
  console.error(`gpt-4o: ${e.statusCode ?? e.message}`);
}
await embed({
  model: openai.embedding('text-embedding-3-small'),
  value: 'glucose usage: in=8',
  experimental_telemetry: telemetry,
});
await generateText({
  model: openai.chat('gpt-4o'),
  prompt: 'Analyse the model. usage: in=300 out=40 cached=100',
  tools: {
    run_fba: tool({
      description: 'Runs flux balance analysis.',
      inputSchema: z.object({}),
      execute: async () => 'growth 0.87',
    }),
  },
  stopWhen: stepCountIs(3),
  experimental_telemetry: telemetry,
});
await provider.forceFlush();
await provider.shutdown();
