import { describe, expect, it } from 'vitest'
import {
  distinctFluxOwners,
  fluxOwners,
  resumePatch,
  suspendDecision,
  type FluxObject,
  type FluxRef,
} from '../../../lib/restore/flux.ts'

const ks = { 'kustomize.toolkit.fluxcd.io/name': 'odoo', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' }
const hr = { 'helm.toolkit.fluxcd.io/name': 'odoo-cron', 'helm.toolkit.fluxcd.io/namespace': 'business' }

describe('fluxOwners', () => {
  it.each([
    ['Kustomization labels', ks, [{ kind: 'Kustomization', name: 'odoo', namespace: 'flux-system' }]],
    ['HelmRelease labels', hr, [{ kind: 'HelmRelease', name: 'odoo-cron', namespace: 'business' }]],
    [
      'both: the HelmRelease first, it manages the workload directly',
      { ...ks, ...hr },
      [
        { kind: 'HelmRelease', name: 'odoo-cron', namespace: 'business' },
        { kind: 'Kustomization', name: 'odoo', namespace: 'flux-system' },
      ],
    ],
    ['no labels', undefined, []],
    ['other labels', { 'app.kubernetes.io/name': 'odoo' }, []],
    ['a name without its namespace', { 'kustomize.toolkit.fluxcd.io/name': 'odoo' }, []],
    ['a namespace without its name', { 'helm.toolkit.fluxcd.io/namespace': 'business' }, []],
  ])('%s', (_what, labels, expected) => {
    expect(fluxOwners(labels)).toEqual(expected)
  })
})

describe('distinctFluxOwners', () => {
  it('names each Flux object once, in a stable order', () => {
    expect(distinctFluxOwners([ks, hr, ks, undefined, { ...ks, ...hr }])).toEqual([
      { kind: 'HelmRelease', name: 'odoo-cron', namespace: 'business' },
      { kind: 'Kustomization', name: 'odoo', namespace: 'flux-system' },
    ])
  })
})

describe('suspendDecision', () => {
  const ref: FluxRef = { kind: 'Kustomization', name: 'odoo', namespace: 'flux-system' }
  const obj = (spec?: FluxObject['spec']): FluxObject => ({ metadata: { name: 'odoo', namespace: 'flux-system' }, spec })
  it.each([
    ['no suspend field: suspend, and remove the field afterwards', obj({ interval: '1h' }), { action: 'suspend', ref, suspendWasSet: false }],
    ['suspend: false: suspend, and put false back afterwards', obj({ suspend: false }), { action: 'suspend', ref, suspendWasSet: true }],
    ['already suspended: leave it suspended', obj({ suspend: true }), { action: 'leave', ref, reason: 'already suspended: left as it is' }],
    ['gone: nothing to suspend', null, { action: 'leave', ref, reason: 'it does not exist: nothing to suspend' }],
    [
      'Flux not installed: nothing to suspend',
      'not-installed' as const,
      { action: 'leave', ref, reason: 'Flux Kustomization is not installed on this cluster: nothing to suspend' },
    ],
  ])('%s', (_what, found, expected) => {
    expect(suspendDecision(ref, found)).toEqual(expected)
  })
})

describe('resumePatch', () => {
  it('resumes only while still suspended, and puts back what was there', () => {
    expect(resumePatch(false)).toEqual([
      { op: 'test', path: '/spec/suspend', value: true },
      { op: 'remove', path: '/spec/suspend' },
    ])
    expect(resumePatch(true)).toEqual([
      { op: 'test', path: '/spec/suspend', value: true },
      { op: 'replace', path: '/spec/suspend', value: false },
    ])
  })
})
