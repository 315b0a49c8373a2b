import { describe, expect, it } from 'vitest'
import { JsonStreamSplitter } from '../../lib/jsonstream.ts'

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
