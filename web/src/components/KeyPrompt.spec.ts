import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'

import { KEY_STORAGE, resetApiState } from '@/api/client'
import KeyPrompt from '@/components/KeyPrompt.vue'
import { submitKey } from '@/test/apiKey'
import { descriptionOf, getByLabel, getByRole, queryByRole } from '@/test/dom'
import { installFakeFetch, requireKey } from '@/test/fakeFetch'
import { makeMe } from '@/test/fixtures'

const KEY = 'aij_right'
const REASON = 'missing API key: send `Authorization: Bearer <key>`'

function renderPrompt() {
  const { requests } = installFakeFetch({ 'GET /me': requireKey(KEY, { body: makeMe() }) })
  const wrapper = mount(KeyPrompt, { props: { reason: REASON }, attachTo: document.body })
  return { requests, wrapper }
}

describe('KeyPrompt', () => {
  afterEach(() => {
    document.body.innerHTML = ''
    sessionStorage.clear()
    resetApiState()
  })

  it("shows the API's reason, a password field and where keys come from", () => {
    renderPrompt()

    const field = getByLabel('API key')
    expect(getByRole('heading', 'API key needed')).toBeTruthy()
    expect(document.body.textContent).toContain(REASON)
    expect(field.type).toBe('password')
    expect(field.hasAttribute('name')).toBe(false)
    expect(descriptionOf(field)).toContain('aijobs keys create')
    expect(document.activeElement).toBe(field)
  })

  it('keeps a key the API accepts and clears the field', async () => {
    const { requests } = renderPrompt()

    await submitKey(`  ${KEY}\n`)

    expect(requests[0]?.headers.get('Authorization')).toBe(`Bearer ${KEY}`)
    expect(sessionStorage.getItem(KEY_STORAGE)).toBe(KEY)
    expect(getByLabel('API key').value).toBe('')
    expect(queryByRole('alert')).toBeNull()
  })

  it("shows the API's message for a wrong key beside the field and asks again", async () => {
    renderPrompt()

    await submitKey('aij_wrong')

    const field = getByLabel('API key')
    expect(getByRole('alert').textContent).toBe('invalid or revoked API key')
    expect(field.getAttribute('aria-invalid')).toBe('true')
    expect(descriptionOf(field)).toContain('invalid or revoked API key')
    expect(sessionStorage.getItem(KEY_STORAGE)).toBeNull()
  })

  it('refuses an empty key or one with spaces without asking the API', async () => {
    const { requests } = renderPrompt()

    await submitKey('   ')
    expect(getByRole('alert').textContent).toBe('An API key is one word, with no spaces.')

    await submitKey('aij_one two')
    expect(requests).toHaveLength(0)
  })
})
