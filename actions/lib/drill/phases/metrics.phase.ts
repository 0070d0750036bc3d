// Final: the drill's Prometheus metrics (metrics.ts) to the Pushgateway and/or a textfile. A
// metrics sink that fails is a note and a warning, never the drill's verdict.
import { describeError } from '../../errors.js';
import { API_REQUEST_MS } from '../limits.js';
import { drillRegistry, pushMetrics, textfileLastSuccess, writeTextfile } from '../metrics.js';
import { definePhase } from '../pipeline.js';
import { drillResult } from '../result.js';

export const metrics = definePhase({
  name: 'metrics',
  needs: [],
  gives: ['metricsNotes'],
  reads: ['metrics'],
  when: ({ inputs }) => !!(inputs.metrics.pushgatewayUrl || inputs.metrics.textfile) || 'no metrics sink',
  async run(ctx) {
    const { core, inputs, log } = ctx;
    const result = drillResult(ctx);
    const metricsNotes: string[] = [];
    const { pushgatewayUrl, textfile } = inputs.metrics;
    const now = new Date();
    const sinks: [string, (() => Promise<void>) | undefined][] = [
      [
        `Pushgateway ${pushgatewayUrl}`,
        pushgatewayUrl
          ? async () => {
              await pushMetrics(pushgatewayUrl, result, drillRegistry(result, now), API_REQUEST_MS);
            }
          : undefined,
      ],
      [
        `textfile ${textfile}`,
        textfile
          ? async () => {
              const last = textfileLastSuccess(textfile, result);
              await writeTextfile(textfile, drillRegistry(result, now, last));
            }
          : undefined,
      ],
    ];
    for (const [where, send] of sinks) {
      if (!send) continue;
      try {
        await send();
        log(`metrics written to the ${where}`);
      } catch (err) {
        const note = `could not write metrics to the ${where}: ${describeError(err)}`;
        metricsNotes.push(note);
        core.warning(note);
      }
    }
    return { metricsNotes };
  },
});
