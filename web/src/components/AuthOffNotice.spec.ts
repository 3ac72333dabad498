import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'

import AuthOffNotice from '@/components/AuthOffNotice.vue'

describe('AuthOffNotice', () => {
  it('says that authentication is off, who can reach the API and how to turn it on', () => {
    const text = mount(AuthOffNotice).text()

    expect(text).toContain('Authentication is off.')
    expect(text).toContain('anyone on this machine')
    expect(text).toContain('AUTH_ENABLED=true')
    expect(text).toContain('aijobs keys create')
  })
})
