// `status OUTPUT=prometheus`: the last successful sync and the last
// verification of every source in the Prometheus text exposition format
// (version 0.0.4), for a node-exporter textfile collector or a CI job that
// alerts on staleness. A sample is left out when there is nothing to report
// (a source never synced, never verified), as exporters do. Pure.
import type { SourceSummary } from './health.ts'

const METRICS = [
  {
    name: 'volsync_ops_last_sync_timestamp_seconds',
    help: 'Time of the last successful sync (status.lastSyncTime) of the ReplicationSource, in seconds since the epoch.',
    value: (s: SourceSummary) => seconds(s.lastSyncTime),
  },
  {
    name: 'volsync_ops_last_sync_success',
    help: 'Whether the last mover run of the ReplicationSource succeeded (1) or failed (0).',
    value: (s: SourceSummary) => (s.result === 'Successful' ? 1 : s.result === 'Failed' ? 0 : undefined),
  },
  {
    name: 'volsync_ops_last_verified_timestamp_seconds',
    help: 'Time of the last successful verification (task volsync:verify) of the ReplicationSource, in seconds since the epoch.',
    value: (s: SourceSummary) => seconds(s.lastVerified),
  },
  {
    name: 'volsync_ops_last_verification_success',
    help: 'Whether the latest verification of the ReplicationSource succeeded (1) or failed (0).',
    value: (s: SourceSummary) => (s.verification ? (s.verification.ok ? 1 : 0) : undefined),
  },
  {
    name: 'volsync_ops_healthy',
    help: 'Whether volsync:status finds the ReplicationSource healthy (1) or in need of attention (0).',
    value: (s: SourceSummary) => (s.healthy ? 1 : 0),
  },
] as const

function seconds(iso: string | null): number | undefined {
  if (!iso) return undefined
  const ms = Date.parse(iso)
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000)
}

/** A label value as the format wants it: backslash, double quote and newline escaped. */
export const labelValue = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')

/** The metrics of `sources`; each labelled with its own cluster (CLUSTER=all) or else `cluster`. */
export function prometheusText(sources: readonly (SourceSummary & { cluster?: string })[], cluster: string): string {
  const lines: string[] = []
  for (const m of METRICS) {
    lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} gauge`)
    for (const s of sources) {
      const v = m.value(s)
      if (v === undefined) continue
      lines.push(`${m.name}{cluster="${labelValue(s.cluster ?? cluster)}",namespace="${labelValue(s.namespace)}",source="${labelValue(s.name)}"} ${v}`)
    }
  }
  return lines.join('\n') + '\n'
}
