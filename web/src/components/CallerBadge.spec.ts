import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'

import type { Me } from '@/api/types'
import CallerBadge from '@/components/CallerBadge.vue'
import { click, getByRole, queryByRole } from '@/test/dom'
import { makeMe } from '@/test/fixtures'

function renderBadge(caller: Me | null, canForget: boolean) {
  return mount(CallerBadge, { props: { caller, canForget }, attachTo: document.body })
}

describe('CallerBadge', () => {
  afterEach(() => {
    document.body.innerHTML = ''
  })

  it('names the key and its role', () => {
    const wrapper = renderBadge(makeMe({ name: 'ci-bot', role: 'admin' }), true)

    expect(wrapper.text()).toMatch(/^Signed in as ci-bot\s*, role admin/)
  })

  it('does not claim a sign-in while authentication is off', () => {
    const wrapper = renderBadge(
      makeMe({ name: 'local', role: 'admin', auth_enabled: false }),
      false,
    )

    expect(wrapper.text()).not.toContain('Signed in')
    expect(wrapper.text()).toContain('local')
    expect(queryByRole('button', 'Forget key')).toBeNull()
  })

  it('offers Forget key while a key is kept and hands the click up', async () => {
    const wrapper = renderBadge(null, true)

    await click(getByRole('button', 'Forget key'))

    expect(wrapper.emitted('forget')).toHaveLength(1)
  })
})
