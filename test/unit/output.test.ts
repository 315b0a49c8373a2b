import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  Output,
  Progress,
  colorEnabled,
  fitWidths,
  formatAge,
  formatBytes,
  formatTime,
  hiddenNote,
  outputWidth,
  painter,
  relative,
  renderTable,
  truncate,
  type Cell,
  type Column,
} from '../../lib/output.ts'

const plain = painter(false)

describe('truncate', () => {
  it.each([
    ['abcdef', 10, 'abcdef'],
    ['abcdef', 6, 'abcdef'],
    ['abcdef', 5, 'abcd…'],
    ['abcdef', 2, 'a…'],
    ['abcdef', 1, 'a'],
    ['abcdef', 0, ''],
    ['', 3, ''],
  ])('%j to %i -> %j', (s, w, expected) => {
    expect(truncate(s, w)).toBe(expected)
    expect(truncate(s, w).length).toBeLessThanOrEqual(Math.max(w, 0))
  })
})

describe('fitWidths', () => {
  const cols = (...mins: (number | undefined)[]): Column[] => mins.map((min, i) => ({ header: `C${i}`, min }))
  it.each<[string, Column[], number[], number, number[]]>([
    ['fits already: unchanged', cols(3, 3), [10, 10], 22, [10, 10]],
    ['the widest cuttable column gives way first', cols(3, 3), [20, 10], 28, [16, 10]],
    ['then both shrink together', cols(3, 3), [20, 10], 20, [9, 9]],
    ['never below a column minimum', cols(8, 8), [20, 10], 10, [8, 8]],
    ['columns without a minimum are never cut', cols(undefined, 3), [20, 10], 20, [20, 3]],
    ['nothing cuttable: left as is (the table is wider than asked)', cols(undefined, undefined), [20, 10], 10, [20, 10]],
  ])('%s', (_name, columns, natural, width, expected) => {
    expect(fitWidths(columns, natural, width)).toEqual(expected)
  })
})

describe('renderTable', () => {
  const columns: Column[] = [
    { header: 'NAME', min: 4 },
    { header: 'N', align: 'right' },
    { header: 'EXTRA', drop: 1 },
    { header: 'MORE', drop: 2 },
  ]
  const rows: Cell[][] = [
    ['alpha', '1', 'x', 'yyyyyy'],
    ['a-much-longer-name', { text: '100', tone: 'red' }, 'xx', 'y'],
  ]

  it('pads columns, right-aligns numbers, trims trailing space', () => {
    expect(renderTable(columns, rows, 80, plain)).toEqual({
      text: [
        'NAME                  N  EXTRA  MORE',
        'alpha                 1  x      yyyyyy',
        'a-much-longer-name  100  xx     y',
      ].join('\n'),
      hidden: [],
    })
  })

  it('drops the highest-drop column first when too wide', () => {
    // full width is 38; without MORE (drop 2) it is 30
    expect(renderTable(columns, rows, 30, plain)).toEqual({
      text: ['NAME                  N  EXTRA', 'alpha                 1  x', 'a-much-longer-name  100  xx'].join('\n'),
      hidden: ['MORE'],
    })
  })

  it('drops several columns, then cuts what may be cut', () => {
    const table = renderTable(columns, rows, 15, plain)
    expect(table.hidden).toEqual(['EXTRA', 'MORE'])
    // NAME (18 wide, min 4) is cut to 10 so that NAME + 2 + N (3) = 15
    expect(table.text).toBe(['NAME          N', 'alpha         1', 'a-much-lo…  100'].join('\n'))
  })

  it('each line fits the width when the columns allow it', () => {
    for (const width of [40, 30, 25, 20, 15, 12]) {
      const { text } = renderTable(columns, rows, width, plain)
      for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(Math.max(width, 12))
    }
  })

  it('paints headers bold and toned cells, padding inside the colour', () => {
    const { text } = renderTable(columns.slice(0, 2), rows, 80, painter(true))
    const [header, , second] = text.split('\n')
    expect(header).toBe('\x1b[1mNAME              \x1b[22m  \x1b[1m  N\x1b[22m')
    expect(second).toBe('a-much-longer-name  \x1b[31m100\x1b[39m')
  })

  it('renders a table with no rows as its header', () => {
    expect(renderTable(columns, [], 80, plain).text).toBe('NAME  N  EXTRA  MORE')
  })

  it('treats missing cells as empty', () => {
    expect(renderTable(columns.slice(0, 2), [['only']], 80, plain).text).toBe('NAME  N\nonly')
  })
})

describe('formatAge', () => {
  it.each([
    [0, '0s'],
    [-5_000, '0s'],
    [499, '0s'],
    [500, '1s'],
    [59_000, '59s'],
    [60_000, '1m'],
    [63_202, '1m3s'],
    [3_599_000, '59m59s'],
    [3_600_000, '1h'],
    [2 * 3_600_000 + 5 * 60_000, '2h5m'],
    [47 * 3_600_000 + 59 * 60_000, '47h59m'],
    [48 * 3_600_000, '2d'],
    [76 * 3_600_000, '3d4h'],
    [30 * 86_400_000, '30d'],
  ])('%i ms -> %s', (ms, text) => {
    expect(formatAge(ms)).toBe(text)
  })
})

describe('formatTime and relative', () => {
  // vitest.config.ts runs the tests in Europe/Berlin
  it.each<[string, 'utc' | 'local', string]>([
    ['2026-11-26T04:00:09Z', 'utc', '2026-11-26 04:00'],
    ['2026-11-26T04:00:09Z', 'local', '2026-11-26 05:00'],
    ['2026-07-01T23:30:00Z', 'local', '2026-07-02 01:30'],
    ['2026-01-05T09:07:00Z', 'utc', '2026-01-05 09:07'],
  ])('%s in %s -> %s', (iso, zone, text) => {
    expect(formatTime(new Date(iso), zone)).toBe(text)
  })

  it('runs in the fixed test time zone', () => {
    expect(new Date('2026-11-26T04:00:00Z').getTimezoneOffset()).toBe(-60)
  })

  const now = new Date('2026-11-26T12:00:00Z')
  it.each([
    ['2026-11-26T15:00:00Z', 'in 3h'],
    ['2026-11-26T12:00:00Z', 'in 0s'],
    ['2026-11-26T09:55:00Z', '2h5m ago'],
    ['2026-11-20T12:00:00Z', '6d ago'],
  ])('%s is %j from noon', (iso, text) => {
    expect(relative(new Date(iso), now)).toBe(text)
  })
})

describe('formatBytes', () => {
  it.each([
    [0, '0B'],
    [512, '512B'],
    [1023, '1023B'],
    [1024, '1.0K'],
    [1025, '1.1K'],
    [1536, '1.5K'],
    [10 * 1024 - 1, '10K'],
    [10 * 1024, '10K'],
    [10 * 1024 + 1, '11K'],
    [1024 * 1024 - 1, '1.0M'],
    [1024 * 1024, '1.0M'],
    [851_790_233, '813M'],
    [5 * 1024 ** 3, '5.0G'],
    [1024 ** 4 * 1023.5, '1.0P'],
    [1024 ** 5 * 1500, '1500P'],
  ])('%i -> %s', (n, text) => {
    expect(formatBytes(n)).toBe(text)
  })

  it('never needs more than 5 characters below a petabyte', () => {
    for (let n = 1; n < 1024 ** 5; n = Math.ceil(n * 1.37)) expect(formatBytes(n).length).toBeLessThanOrEqual(5)
  })
})

describe('colorEnabled', () => {
  it.each<[boolean | undefined, NodeJS.ProcessEnv, boolean]>([
    [true, {}, true],
    [false, {}, false],
    [undefined, {}, false],
    [true, { NO_COLOR: '1' }, false],
    [true, { NO_COLOR: 'anything' }, false],
    // no-color.org: only a non-empty NO_COLOR turns colour off
    [true, { NO_COLOR: '' }, true],
    [false, { FORCE_COLOR: '1' }, false],
  ])('tty=%s env=%j -> %s', (isTTY, env, enabled) => {
    expect(colorEnabled(isTTY, env)).toBe(enabled)
  })

  it('painter(false) leaves text alone; painter(true) wraps it in SGR codes', () => {
    expect(plain.red('x')).toBe('x')
    const p = painter(true)
    expect([p.red('x'), p.yellow('x'), p.green('x'), p.bold('x'), p.dim('x')]).toEqual([
      '\x1b[31mx\x1b[39m',
      '\x1b[33mx\x1b[39m',
      '\x1b[32mx\x1b[39m',
      '\x1b[1mx\x1b[22m',
      '\x1b[2mx\x1b[22m',
    ])
  })
})

describe('outputWidth', () => {
  it.each<[{ isTTY?: boolean; columns?: number }, NodeJS.ProcessEnv, number]>([
    [{ isTTY: true, columns: 132 }, { COLUMNS: '100' }, 132],
    [{ isTTY: true }, { COLUMNS: '100' }, 100],
    [{}, {}, 80],
    [{}, { COLUMNS: '200' }, 200],
    [{}, { COLUMNS: '40' }, 40],
    [{}, { COLUMNS: '39' }, 80],
    [{}, { COLUMNS: 'wide' }, 80],
    [{}, { COLUMNS: '100.5' }, 80],
    [{}, { COLUMNS: '' }, 80],
    [{ isTTY: false, columns: 50 }, {}, 80],
  ])('%j with %j -> %i', (stream, env, width) => {
    expect(outputWidth(stream, env)).toBe(width)
  })
})

/** A stream that records what is written to it. */
function sink(isTTY = false) {
  const written: string[] = []
  return { written, stream: { isTTY, columns: 40, write: (s: string) => written.push(s) } }
}

describe('Output', () => {
  it('in table mode: results on stdout, notes/warnings/errors on stderr, no JSON', () => {
    const out = sink()
    const err = sink()
    const o = new Output({ json: false, stdout: out.stream, stderr: err.stream, env: {} })
    o.result('table')
    o.log('plan')
    o.data({ a: 1 })
    o.note('note')
    o.warn('careful')
    o.error('broken')
    expect(out.written).toEqual(['table\n', 'plan\n'])
    expect(err.written).toEqual(['note\n', 'warning: careful\n', 'error: broken\n'])
  })

  it('in JSON mode: only the JSON document on stdout', () => {
    const out = sink(true)
    const err = sink()
    const o = new Output({ json: true, stdout: out.stream, stderr: err.stream, env: {} })
    o.result('table')
    o.log('plan')
    o.data({ a: 1 })
    expect(out.written).toEqual(['{\n  "a": 1\n}\n'])
    // a log line still shows, on stderr
    expect(err.written).toEqual(['plan\n'])
    // and never colour in stdout, even on a terminal
    expect(o.paint.red('x')).toBe('x')
  })

  it('colours stderr on a terminal unless NO_COLOR', () => {
    const err = sink(true)
    new Output({ json: false, stdout: sink().stream, stderr: err.stream, env: {} }).error('x')
    new Output({ json: false, stdout: sink().stream, stderr: err.stream, env: { NO_COLOR: '1' } }).error('x')
    expect(err.written).toEqual(['\x1b[31merror: x\x1b[39m\n', 'error: x\n'])
  })

  it('takes its width from stdout and COLUMNS', () => {
    expect(new Output({ json: false, stdout: sink().stream, stderr: sink().stream, env: { COLUMNS: '120' } }).width).toBe(120)
  })
})

describe('Progress', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('off a terminal prints a line only when the text changes', () => {
    const err = sink()
    const p = new Progress(err.stream, 'waiting')
    p.update('pending')
    p.update('pending')
    p.update('running')
    p.stop()
    expect(err.written).toEqual(['waiting: pending (0s)\n', 'waiting: running (0s)\n'])
  })

  it('on a terminal redraws one line with the elapsed time, cut to the width, and clears it at the end', () => {
    vi.useFakeTimers()
    const err = sink(true)
    const p = new Progress(err.stream, 'listing snapshots of business/odoo-backup')
    p.update('running')
    vi.advanceTimersByTime(2000)
    p.stop()
    expect(err.written).toEqual([
      // the text is cut, never the elapsed time
      '\r\x1b[K' + 'listing snapshots of business/odo… · 0s',
      '\r\x1b[K' + 'listing snapshots of business/odo… · 1s',
      '\r\x1b[K' + 'listing snapshots of business/odo… · 2s',
      '\r\x1b[K',
    ])
  })
})

describe('hiddenNote', () => {
  it.each<[string[], string]>([
    [[], ''],
    [['TOOK'], '(TOOK left out to fit: widen the terminal or use OUTPUT=json)'],
    [['PVC', 'TOOK'], '(PVC, TOOK left out to fit: widen the terminal or use OUTPUT=json)'],
  ])('%j -> %j', (hidden, text) => {
    expect(hiddenNote({ text: '', hidden })).toBe(text)
  })

  it('breaks after the colon when one line would be wider than the table may be', () => {
    expect(hiddenNote({ text: '', hidden: ['PVC', 'TOOK', 'SNAPSHOT', 'VERIFIED'] }, 80)).toBe(
      '(PVC, TOOK, SNAPSHOT, VERIFIED left out to fit:\n widen the terminal or use OUTPUT=json)',
    )
    expect(hiddenNote({ text: '', hidden: ['TOOK'] }, 80)).toBe('(TOOK left out to fit: widen the terminal or use OUTPUT=json)')
  })
})
