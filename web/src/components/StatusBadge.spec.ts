import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'

import { JOB_STATUSES } from '@/api/types'
import StatusBadge from '@/components/StatusBadge.vue'

describe('StatusBadge', () => {
  it.each(JOB_STATUSES)('shows the word %s, not only a colour', (status) => {
    const wrapper = mount(StatusBadge, { props: { status } })

    expect(wrapper.text()).toContain(status)
    expect(wrapper.classes()).toContain(`badge--${status}`)
  })

  it('hides its icon from screen readers, which read the word instead', () => {
    const wrapper = mount(StatusBadge, { props: { status: 'failed' } })

    const icon = wrapper.get('.badge__icon')
    expect(icon.attributes('aria-hidden')).toBe('true')
    expect(icon.text()).not.toBe('')
  })

  it('gives each status its own shape', () => {
    const icons = JOB_STATUSES.map((status) =>
      mount(StatusBadge, { props: { status } }).get('.badge__icon').text(),
    )

    expect(new Set(icons).size).toBe(JOB_STATUSES.length)
  })
})
