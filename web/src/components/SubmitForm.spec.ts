import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'

import { resetApiState } from '@/api/client'
import SubmitForm from '@/components/SubmitForm.vue'
import {
  check,
  choose,
  click,
  descriptionOf,
  fillIn,
  getByLabel,
  getByRole,
  queryByRole,
} from '@/test/dom'
import { installFakeFetch } from '@/test/fakeFetch'
import { makeJob } from '@/test/fixtures'

function renderForm() {
  return mount(SubmitForm, { attachTo: document.body })
}

async function submit(): Promise<void> {
  await click(getByRole('button', 'Submit job'))
}

describe('SubmitForm', () => {
  afterEach(() => {
    document.body.innerHTML = ''
    resetApiState()
  })

  it('shows the field error of a 400 beside that field', async () => {
    installFakeFetch({
      'POST /jobs': {
        status: 400,
        body: { status_code: 400, detail: 'params.steps: Expected `int`, got `str`' },
      },
    })
    renderForm()

    await choose(getByLabel('Kind'), 'simulate')
    await fillIn(getByLabel('Text'), 'anything')
    await submit()

    const steps = getByLabel('Steps')
    expect(steps.getAttribute('aria-invalid')).toBe('true')
    expect(descriptionOf(steps)).toContain('Expected `int`, got `str`')
    expect(document.activeElement).toBe(steps)
    expect(queryByRole('alert')).toBeNull()
  })

  it('shows an error the API does not tie to a field at the top of the form', async () => {
    installFakeFetch({
      'POST /jobs': {
        status: 400,
        body: { status_code: 400, detail: 'Give input_text or input_file_path, not both' },
      },
    })
    renderForm()

    await fillIn(getByLabel('Text'), 'anything')
    await submit()

    expect(getByRole('alert').textContent).toContain('Give input_text or input_file_path, not both')
  })

  it('puts an idempotency conflict beside the key field', async () => {
    installFakeFetch({
      'POST /jobs': {
        status: 422,
        body: { status_code: 422, detail: 'Idempotency-Key was used with a different body' },
      },
    })
    renderForm()

    await fillIn(getByLabel('Text'), 'anything')
    await fillIn(getByLabel('Idempotency key'), 'key-1')
    await submit()

    expect(descriptionOf(getByLabel('Idempotency key'))).toContain('used with a different body')
  })

  it('asks for text before calling the API', async () => {
    const { fetch } = installFakeFetch({})
    renderForm()

    await submit()

    const text = getByLabel('Text')
    expect(text.getAttribute('aria-invalid')).toBe('true')
    expect(descriptionOf(text)).toContain('Enter the text to process.')
    expect(fetch).not.toHaveBeenCalled()
  })

  it('shows the simulation settings only for simulate jobs', async () => {
    renderForm()
    expect(() => getByLabel('Steps')).toThrow()

    await choose(getByLabel('Kind'), 'simulate')

    for (const label of ['Steps', 'Step length (s)', 'Failure rate (0 to 1)', 'Failure kind']) {
      expect(getByLabel(label)).toBeTruthy()
    }
  })

  it('sends a simulate job with its parameters and key, and says which job it made', async () => {
    const job = makeJob({ kind: 'simulate' })
    const { requests } = installFakeFetch({ 'POST /jobs': { status: 202, body: job } })
    const wrapper = renderForm()

    await choose(getByLabel('Kind'), 'simulate')
    await fillIn(getByLabel('Text'), 'hello')
    await fillIn(getByLabel('Steps'), '3')
    await fillIn(getByLabel('Step length (s)'), '0.5')
    await fillIn(getByLabel('Failure rate (0 to 1)'), '1')
    await choose(getByLabel('Failure kind'), 'permanent')
    await fillIn(getByLabel('Idempotency key'), 'key-42')
    await submit()

    expect(requests).toHaveLength(1)
    expect(requests[0]?.body).toEqual({
      kind: 'simulate',
      input_text: 'hello',
      params: { steps: 3, step_s: 0.5, fail_rate: 1, fail_kind: 'permanent' },
    })
    expect(requests[0]?.headers.get('Idempotency-Key')).toBe('key-42')
    expect(wrapper.emitted('created')).toEqual([[job, false]])
  })

  it('sends a file path instead of text when asked to', async () => {
    const job = makeJob({ kind: 'summarize', input_text: null, input_file_path: 'reports/q1.pdf' })
    const { requests } = installFakeFetch({ 'POST /jobs': { status: 202, body: job } })
    renderForm()

    await check(getByRole('radio', 'File on the server'))
    await fillIn(getByLabel('File path'), ' reports/q1.pdf ')
    await submit()

    expect(requests[0]?.body).toEqual({ kind: 'summarize', input_file_path: 'reports/q1.pdf' })
  })

  it('tells when an idempotency key returned an earlier job', async () => {
    const job = makeJob()
    installFakeFetch({ 'POST /jobs': { status: 200, body: job } })
    const wrapper = renderForm()

    await fillIn(getByLabel('Text'), 'hello')
    await fillIn(getByLabel('Idempotency key'), 'key-1')
    await submit()

    expect(wrapper.emitted('created')).toEqual([[job, true]])
  })
})
