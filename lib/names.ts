// Names and labels of what this tool creates or sets in a cluster: random
// suffixes, manual-trigger tokens, and the labels that mark our objects. Pure.
/** Labels on everything this tool creates, so a leftover is easy to find. */
export const managedLabels = (component: string, app: string) => ({
  'app.kubernetes.io/managed-by': 'volsync-ops',
  'app.kubernetes.io/component': component,
  'volsync-ops/app': app,
})

/** A short random suffix for generated names ([a-z0-9]{5}). */
export function nameSuffix(random: () => number = Math.random): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'
  return Array.from({ length: 5 }, () => alphabet[Math.floor(random() * alphabet.length)]).join('')
}

/** A manual-trigger token nobody else uses: volsync-ops-<purpose>-<UTC time>-<random>. */
export function newToken(purpose: string, now: Date, random: () => number = Math.random): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z')
  return `volsync-ops-${purpose}-${stamp}-${nameSuffix(random)}`
}
