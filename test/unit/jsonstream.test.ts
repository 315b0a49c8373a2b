import { describe, expect, it } from 'vitest'
import { JsonListItemSplitter, JsonStreamSplitter } from '../../lib/jsonstream.ts'

const docA = { kind: 'Pod', metadata: { name: 'a' }, status: { phase: 'Pending' } }
const docB = { kind: 'Pod', metadata: { name: 'b' }, note: 'has } and { and ] and [ and "quotes" and \\ backslashes' }
const docC = [1, { x: '\\"' }, 'end']
/** kubectl --watch -o json prints pretty documents back to back */
const stream = [docA, docB, docC].map((d) => JSON.stringify(d, null, 4)).join('\n')

/** Feeds `text` in chunks cut at the given offsets, collecting the documents. */
function feed(text: string, cuts: number[]): { docs: unknown[]; splitter: JsonStreamSplitter } {
  const splitter = new JsonStreamSplitter()
  const docs: unknown[] = []
  let from = 0
  for (const cut of [...cuts, text.length]) {
    docs.push(...splitter.push(text.slice(from, cut)))
    from = cut
  }
  return { docs, splitter }
}

describe('JsonStreamSplitter', () => {
  it('splits back-to-back documents given in one chunk', () => {
    expect(feed(stream, []).docs).toEqual([docA, docB, docC])
  })

  it('returns documents as soon as they complete', () => {
    const splitter = new JsonStreamSplitter()
    const first = JSON.stringify(docA)
    expect(splitter.push(first.slice(0, 10))).toEqual([])
    expect(splitter.push(first.slice(10) + '\n' + JSON.stringify(docB).slice(0, 5))).toEqual([docA])
    expect(splitter.push(JSON.stringify(docB).slice(5))).toEqual([docB])
  })

  it('gives the same documents wherever the chunks are cut (every single cut point)', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(feed(stream, [cut]).docs).toEqual([docA, docB, docC])
    }
  })

  it('copes with one character at a time, through strings and escapes', () => {
    const cuts = Array.from({ length: stream.length }, (_, i) => i)
    const { docs, splitter } = feed(stream, cuts)
    expect(docs).toEqual([docA, docB, docC])
  })

  it.each([
    ['a cut right after a backslash inside a string', '{"a":"x\\', '"y"}', { a: 'x"y' }],
    ['a cut between two backslashes', '{"a":"\\', '\\"}', { a: '\\' }],
    ['a cut inside a unicode escape', '{"a":"\\u00', 'e9"}', { a: 'é' }],
    ['a cut right after the opening quote of a string with a brace', '{"a":"', '}"}', { a: '}' }],
  ])('%s', (_name, first, second, expected) => {
    expect(feed(first + second, [first.length]).docs).toEqual([expected])
  })

  it('ignores whitespace between and around documents', () => {
    expect(feed('\n  {"a":1}\r\n\t{"b":2}  \n', [3]).docs).toEqual([{ a: 1 }, { b: 2 }])
  })

  it('keeps a partial document until it is complete', () => {
    const { docs, splitter } = feed('{"a":1}{"b":', [])
    expect(docs).toEqual([{ a: 1 }])
  })

  it.each([
    ['text between documents', '{"a":1} oops {"b":2}', 'unexpected "o" between JSON documents'],
    ['an error line from kubectl', 'error: the server has asked for the client to provide credentials', 'unexpected "e" between JSON documents'],
    ['a stray closing brace', '{"a":1}}', 'unexpected "}" in JSON stream'],
    ['a bare number', '42', 'unexpected "4" between JSON documents'],
  ])('throws on %s', (_name, text, message) => {
    expect(() => feed(text, [])).toThrow(message)
  })

  it('throws when the brackets balance but the text is not JSON', () => {
    expect(() => feed('{a:1}', [])).toThrow(SyntaxError)
  })
})

describe('JsonListItemSplitter', () => {
  const items = [
    { metadata: { name: 'a', namespace: 'x' }, spec: { items: [1, 2], note: 'a "quoted" ] } [ {' } },
    { metadata: { name: 'b' }, status: { logs: 'line\\nwith \\"escapes\\" and é' } },
    { metadata: { name: 'c' }, list: [{ items: [{}] }] },
  ]
  // kubectl prints the List with apiVersion first and metadata last
  const list = JSON.stringify({ apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '', items: 'not these' } }, null, 4)

  function feed(text: string, cuts: number[]): { got: unknown[]; splitter: JsonListItemSplitter } {
    const splitter = new JsonListItemSplitter()
    const got: unknown[] = []
    let from = 0
    for (const cut of [...cuts, text.length]) {
      got.push(...splitter.push(text.slice(from, cut)))
      from = cut
    }
    return { got, splitter }
  }

  it('yields each item of the list, whatever the chunk boundaries (every cut point)', () => {
    for (let cut = 0; cut <= list.length; cut++) {
      const { got, splitter } = feed(list, [cut])
      expect(got).toEqual(items)
      expect(() => splitter.end()).not.toThrow()
    }
  })

  it('copes with one character at a time', () => {
    expect(feed(list, Array.from({ length: list.length }, (_, i) => i)).got).toEqual(items)
  })

  it('yields an item as soon as it is complete, holding only that item', () => {
    const splitter = new JsonListItemSplitter()
    const first = list.indexOf('"b"')
    expect(splitter.push(list.slice(0, first))).toEqual([items[0]])
    // what it still holds is the start of the second item, not the first
    expect((splitter as unknown as { buffer: string }).buffer.length).toBeLessThan(first - list.indexOf('"items"'))
  })

  it.each([
    ['an empty list', '{"apiVersion":"v1","items":[],"kind":"List"}', []],
    ['a list without items', '{"kind":"List","items":null}', []],
    ['items after other keys with nested arrays', '{"a":[[1],{"items":[9]}],"items":[{"n":1}]}', [{ n: 1 }]],
    ['a key that merely contains items', '{"myitems":[{"n":1}],"items":[{"n":2}]}', [{ n: 2 }]],
  ])('%s', (_name, text, expected) => {
    const { got, splitter } = feed(text, [5])
    expect(got).toEqual(expected)
    splitter.end()
  })

  it.each([
    ['an error message instead of JSON', 'error: You must be logged in to the server (Unauthorized)', /expected a JSON list object/],
    ['an array at the top', '[1]', /expected a JSON list object/],
    ['text after the list', '{"items":[]} x', /after the JSON list/],
    ['a second document', '{"items":[]}{"items":[]}', /after the JSON list/],
    ['a stray bracket', '{"items":[]}}', /after the JSON list/],
  ])('throws on %s', (_name, text, message) => {
    expect(() => feed(text, [])).toThrow(message)
  })

  it('end() throws when the list was cut off', () => {
    const { got, splitter } = feed(list.slice(0, list.indexOf('"c"')), [])
    expect(got).toHaveLength(2)
    expect(() => splitter.end()).toThrow('the JSON list ended early')
  })
})
