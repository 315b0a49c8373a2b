import { describe, expect, it } from 'vitest'
import { painter } from '../../../lib/output.ts'
import type { SourceSummary } from '../../../lib/volsync/health.ts'
import {
  attentionList,
  compactWhen,
  compareNames,
  fleetSummaryLines,
  plainNameOrder,
  statusSummaryLine,
  statusTable,
} from '../../../lib/volsync/status-view.ts'

// vitest.config.ts runs the tests in Europe/Berlin (UTC+1 in November)
const NOW = new Date('2026-11-26T12:00:00Z')
const plain = painter(false)

describe('compactWhen', () => {
  it.each<[string | null, string]>([
    [null, '-'],
    ['2026-11-26T10:00:00Z', '11:00 2h'],
    ['2026-11-26T11:59:30Z', '12:59 30s'],
    ['2026-11-25T12:00:01Z', '13:00 23h59m'],
    ['2026-11-25T12:00:00Z', '11-25 24h'],
    ['2026-11-20T12:00:00Z', '11-20 6d'],
    ['2026-11-26T13:00:00Z', '14:00 0s'],
  ])('%s -> %j', (iso, text) => {
    expect(compactWhen(iso, NOW)).toBe(text)
  })
})

function summary(fields: Partial<SourceSummary>): SourceSummary {
  return {
    namespace: 'business',
    name: 'odoo-backup',
    sourcePVC: 'odoo-data',
    schedule: '0 */8 * * *',
    manual: null,
    lastSyncTime: '2026-11-26T10:00:00Z',
    lastSyncDurationSeconds: 63,
    nextSyncTime: '2026-11-26T16:00:00Z',
    syncing: false,
    result: 'Successful',
    latestSnapshot: '7c2d9e41b8a7f6e5',
    state: 'WaitingForSchedule',
    stateMessage: null,
    healthy: true,
    attention: [],
    lastVerified: null,
    verification: null,
    ...fields,
  }
}

const sources: SourceSummary[] = [
  summary({}),
  summary({ namespace: 'media', name: 'plex-backup', result: 'Failed', state: 'SyncInProgress', nextSyncTime: '2026-11-26T10:00:00Z', healthy: false, attention: ['last mover run failed', 'overdue: x'] }),
  summary({ namespace: 'media', name: 'jellyfin-backup', manual: 'snap-1', nextSyncTime: null, state: 'WaitingForManual', healthy: false, attention: ['manual trigger left set'] }),
  summary({ namespace: 'tools', name: 'git-backup', schedule: null, manual: 'once', state: 'Error', healthy: false, attention: ['error: boom'] }),
  summary({ namespace: 'tools', name: 'new-backup', sourcePVC: null, schedule: null, lastSyncTime: null, lastSyncDurationSeconds: null, nextSyncTime: null, result: null, latestSnapshot: null, state: null, healthy: false, attention: ['has never synced'] }),
  summary({ namespace: 'tools', name: 'odd-backup', state: 'CleaningUp', result: 'Unknown' }),
]

describe('statusTable', () => {
  it('shows every column when the width allows', () => {
    expect(statusTable(sources, NOW, 200, plain)).toEqual({
      text: [
        'NAMESPACE  NAME             PVC        TRIGGER      LAST SYNC  TOOK  NEXT     RESULT  SNAPSHOT  STATE      VERIFIED',
        'business   odoo-backup      odoo-data  0 */8 * * *  11:00 2h   1m3s  in 4h    ok      7c2d9e41  scheduled  never',
        'media      plex-backup      odoo-data  0 */8 * * *  11:00 2h   1m3s  2h late  FAILED  7c2d9e41  syncing    never',
        'media      jellyfin-backup  odoo-data  MANUAL!      11:00 2h   1m3s  -        ok      7c2d9e41  manual     never',
        'tools      git-backup       odoo-data  manual once  11:00 2h   1m3s  in 4h    ok      7c2d9e41  ERROR      never',
        'tools      new-backup       -          none         -             -  -        -       -         -          never',
        'tools      odd-backup       odoo-data  0 */8 * * *  11:00 2h   1m3s  in 4h    -       7c2d9e41  cleanup    never',
      ].join('\n'),
      hidden: [],
    })
  })

  it('leaves out VERIFIED, TOOK, PVC and SNAPSHOT, in that order, to fit', () => {
    expect(statusTable(sources, NOW, 110, plain).hidden).toEqual(['VERIFIED'])
    expect(statusTable(sources, NOW, 100, plain).hidden).toEqual(['TOOK', 'VERIFIED'])
    expect(statusTable(sources, NOW, 90, plain).hidden).toEqual(['PVC', 'TOOK', 'VERIFIED'])
    expect(statusTable(sources, NOW, 80, plain).hidden).toEqual(['PVC', 'TOOK', 'SNAPSHOT', 'VERIFIED'])
  })

  it('VERIFIED: when the last verification succeeded, FAILED when the latest failed, in yellow when stale', () => {
    const record = (ok: boolean, time: string, lastSuccess: string | null) => ({ time, snapshot: 'x', depth: 'deep' as const, ok, files: 1, bytes: 1, message: 'm', lastSuccess })
    const rows = statusTable(
      [
        summary({ name: 'a-backup', lastVerified: '2026-11-25T12:00:00Z', verification: record(true, '2026-11-25T12:00:00Z', '2026-11-25T12:00:00Z') }),
        summary({ name: 'b-backup', lastVerified: '2026-11-20T12:00:00Z', verification: record(false, '2026-11-26T11:00:00Z', '2026-11-20T12:00:00Z') }),
      ],
      NOW,
      200,
      plain,
    ).text.split('\n')
    expect(rows[1]).toMatch(/ 11-25 24h$/)
    expect(rows[2]).toMatch(/ FAILED$/)
    const stale = statusTable([summary({ lastVerified: '2026-10-01T12:00:00Z', attention: ['verification stale: ...'], healthy: false })], NOW, 200, painter(true)).text
    expect(stale).toContain('\x1b[33m10-01 56d\x1b[39m')
  })

  it('fits 80 columns', () => {
    for (const line of statusTable(sources, NOW, 80, plain).text.split('\n')) expect(line.length).toBeLessThanOrEqual(80)
  })

  it('cuts long names with … rather than overflow', () => {
    const long = [summary({ namespace: 'a-very-long-namespace-name', name: 'an-application-with-a-long-name-backup' })]
    const { text } = statusTable(long, NOW, 80, plain)
    expect(text.split('\n')[1]).toMatch(/^a-very-long-\S*…\s+an-applicat\S*…\s/)
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(80)
  })

  it('colours what needs attention', () => {
    const { text } = statusTable(sources, NOW, 200, painter(true))
    for (const painted of ['\x1b[31mFAILED', '\x1b[31mMANUAL!', '\x1b[31mERROR', '\x1b[33mplex-backup', '\x1b[33mnone']) {
      expect(text).toMatch(new RegExp(`${painted.replace('[', '\\[')} *\x1b\\[39m`))
    }
    expect(text).toMatch(/^\x1b\[1mNAMESPACE\x1b\[22m/)
    expect(text).not.toMatch(/\x1b\[3\dmodoo-backup/)
  })
})

describe('attentionList and statusSummaryLine', () => {
  it('lists each source that needs attention with its reasons', () => {
    expect(attentionList(sources, plain)).toBe(
      [
        '! media/plex-backup',
        '    last mover run failed',
        '    overdue: x',
        '! media/jellyfin-backup',
        '    manual trigger left set',
        '! tools/git-backup',
        '    error: boom',
        '! tools/new-backup',
        '    has never synced',
      ].join('\n'),
    )
    expect(attentionList([summary({})], plain)).toBe('')
  })

  it.each<[SourceSummary[], string]>([
    [sources, '2 healthy, 4 need attention'],
    [[summary({})], '1 healthy, 0 need attention'],
    [[], '0 healthy, 0 need attention'],
  ])('summary line %#', (list, line) => {
    expect(statusSummaryLine(list)).toBe(line)
  })
})

describe('CLUSTER=all: the CLUSTER column and one summary line per cluster', () => {
  const rows = [
    { cluster: 'apps', ...summary({}) },
    { cluster: 'lab', ...summary({ namespace: 'media', name: 'plex-backup', result: 'Failed', healthy: false, attention: ['last mover run failed'] }) },
  ]

  it('puts CLUSTER first, and keeps it when columns must go', () => {
    const { text } = statusTable(rows, NOW, 200, plain, { clusters: true })
    expect(text.split('\n')[0]).toMatch(/^CLUSTER +NAMESPACE +NAME +PVC /)
    expect(text.split('\n')[2]).toMatch(/^lab +media +plex-backup +/)
    const narrow = statusTable(rows, NOW, 80, plain, { clusters: true })
    expect(narrow.text.split('\n')[0]).toMatch(/^CLUSTER +NAMESPACE +NAME /)
    for (const line of narrow.text.split('\n')) expect(line.length).toBeLessThanOrEqual(80)
  })

  it('names the cluster of each source that needs attention', () => {
    expect(attentionList(rows, plain)).toBe('! media/plex-backup (cluster lab)\n    last mover run failed')
  })

  it('says per cluster how many are healthy, or why the cluster was not read, then the whole', () => {
    expect(
      fleetSummaryLines(
        [
          { cluster: 'apps', sources: [summary({}), summary({ healthy: false })] },
          { cluster: 'edge', sources: [] },
          { cluster: 'lab', error: 'The connection to the server 127.0.0.1:32740 was refused' },
        ],
        plain,
      ),
    ).toEqual([
      'apps: 1 healthy, 1 need attention',
      'edge: no ReplicationSources',
      'lab:  NOT READ: The connection to the server 127.0.0.1:32740 was refused',
      '3 clusters: 1 healthy, 1 need attention, 1 not read',
    ])
    expect(fleetSummaryLines([{ cluster: 'apps', sources: [summary({})] }], painter(true), 'business')).toEqual([
      'apps: 1 healthy, 0 need attention',
      '1 cluster: 1 healthy, 0 need attention (namespace business)',
    ])
    expect(fleetSummaryLines([{ cluster: 'lab', error: 'x' }], painter(true))[0]).toBe('\x1b[31mlab: NOT READ: x\x1b[39m')
  })
})

describe('compareNames: the order of localeCompare, without ICU for plain names', () => {
  // every Kubernetes name of up to 2 characters, and some longer ones
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789.-'
  const names = ['', ...alphabet]
  for (const a of alphabet) for (const b of alphabet) names.push(a + b)
  names.push('app-1-backup', 'app.1-backup', 'app1-backup', 'aa', 'ch', 'hz', 'y', 'i', 'z', 'odoo-r2', 'odoo-local', 'odoo')

  it.each(['en', 'de', 'fr', 'es', 'it', 'nl', 'pt', 'pl', 'ru', 'uk', 'sv', 'fi', 'ja', 'zh', 'ko', 'el', 'ro', 'ca', 'tr', 'id'])(
    'orders names as Intl.Collator(%s) does where plainNameOrder says so',
    (lang) => {
      expect(plainNameOrder({ LANG: `${lang}_XX.UTF-8` })).toBe(true)
      const collator = new Intl.Collator(lang)
      expect([...names].sort((a, b) => compareNames(a, b, true))).toEqual([...names].sort(collator.compare))
    },
  )

  it.each([
    [{}, true],
    [{ LANG: 'C.UTF-8' }, true],
    [{ LANG: 'POSIX' }, true],
    [{ LANG: 'en_US.UTF-8' }, true],
    [{ LANG: 'da_DK.UTF-8' }, false], // "aa" sorts after "z"
    [{ LANG: 'cs_CZ.UTF-8' }, false], // "ch" after "h"
    [{ LANG: 'lt_LT.UTF-8' }, false],
    [{ LANG: 'en_US.UTF-8', LC_MESSAGES: 'da_DK.UTF-8' }, false],
    [{ LANG: 'da_DK.UTF-8', LC_ALL: 'C' }, true],
    [{ LANG: 'en_US.UTF-8', LC_COLLATE: 'da_DK.UTF-8' }, true], // ICU does not read LC_COLLATE
  ])('plainNameOrder(%j) is %s', (env, want) => {
    expect(plainNameOrder(env)).toBe(want)
  })

  it('falls back to localeCompare for other names or other locales', () => {
    expect(compareNames('aa', 'z', false)).toBe('aa'.localeCompare('z'))
    expect(compareNames('B', 'a', true)).toBe('B'.localeCompare('a')) // not a Kubernetes name: a < B there, B < a in code units
    expect(compareNames('B', 'a', true)).toBeGreaterThan(0)
  })
})
