import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'

import ProgressBar from '@/components/ProgressBar.vue'
import { getByRole } from '@/test/dom'

describe('ProgressBar', () => {
  afterEach(() => {
    document.body.innerHTML = ''
  })

  it('exposes its value and message to assistive technology', () => {
    mount(ProgressBar, {
      props: { value: 40, label: 'Progress', message: 'chunk 2 of 5' },
      attachTo: document.body,
    })

    const bar = getByRole('progressbar', 'Progress')
    expect(bar.getAttribute('aria-valuenow')).toBe('40')
    expect(bar.getAttribute('aria-valuemin')).toBe('0')
    expect(bar.getAttribute('aria-valuemax')).toBe('100')
    expect(bar.getAttribute('aria-valuetext')).toBe('40%, chunk 2 of 5')
    expect(document.body.textContent).toContain('chunk 2 of 5')
  })

  it('keeps the value between 0 and 100', () => {
    const over = mount(ProgressBar, { props: { value: 140, label: 'Over' } })
    const under = mount(ProgressBar, { props: { value: -3, label: 'Under' } })

    expect(over.get('[role="progressbar"]').attributes('aria-valuenow')).toBe('100')
    expect(under.get('[role="progressbar"]').attributes('aria-valuenow')).toBe('0')
  })
})
