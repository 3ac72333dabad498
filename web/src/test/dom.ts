/**
 * Find elements the way a person or a screen reader would: by role and
 * accessible name, or by label; and drive them like a person.
 */
import { flushPromises } from '@vue/test-utils'

type Name = string | RegExp

const IMPLICIT_ROLES: Record<string, string> = {
  a: 'link',
  button: 'button',
  form: 'form',
  h1: 'heading',
  h2: 'heading',
  h3: 'heading',
  nav: 'navigation',
  select: 'combobox',
  table: 'table',
  textarea: 'textbox',
  tr: 'row',
}

const INPUT_ROLES: Record<string, string> = {
  button: 'button',
  checkbox: 'checkbox',
  email: 'textbox',
  number: 'spinbutton',
  radio: 'radio',
  search: 'searchbox',
  submit: 'button',
  text: 'textbox',
  url: 'textbox',
}

function roleOf(element: Element): string | null {
  const explicit = element.getAttribute('role')
  if (explicit) return explicit

  const tag = element.tagName.toLowerCase()
  if (tag === 'section') {
    const named = element.hasAttribute('aria-label') || element.hasAttribute('aria-labelledby')
    return named ? 'region' : null
  }
  if (tag === 'input') return INPUT_ROLES[element.getAttribute('type') ?? 'text'] ?? null
  if (tag === 'a') return element.hasAttribute('href') ? 'link' : null
  return IMPLICIT_ROLES[tag] ?? null
}

/** Text content as a screen reader gets it: without aria-hidden parts. */
function textOf(element: Element | null): string {
  if (!element) return ''

  const parts: string[] = []
  const walk = (node: Node): void => {
    if (node instanceof Element && node.getAttribute('aria-hidden') === 'true') return
    if (node.nodeType === Node.TEXT_NODE) parts.push(node.textContent ?? '')
    node.childNodes.forEach(walk)
  }
  walk(element)
  return parts.join('').replace(/\s+/g, ' ').trim()
}

export function accessibleName(element: Element): string {
  const label = element.getAttribute('aria-label')
  if (label) return label.trim()

  const labelledBy = element.getAttribute('aria-labelledby')
  if (labelledBy) {
    return labelledBy
      .split(/\s+/)
      .map((id) => textOf(element.ownerDocument.getElementById(id)))
      .join(' ')
  }

  if (element.id) {
    const forLabel = element.ownerDocument.querySelector(`label[for="${element.id}"]`)
    if (forLabel) return textOf(forLabel)
  }
  const wrapping = element.closest('label')
  if (wrapping) return textOf(wrapping)

  const tag = element.tagName.toLowerCase()
  if (['input', 'select', 'textarea'].includes(tag)) return ''
  return textOf(element)
}

function matches(value: string, name: Name): boolean {
  return typeof name === 'string' ? value === name : name.test(value)
}

export function queryAllByRole(
  role: string,
  name?: Name,
  root: Element = document.body,
): HTMLElement[] {
  return Array.from(root.querySelectorAll<HTMLElement>('*')).filter(
    (element) =>
      roleOf(element) === role && (name === undefined || matches(accessibleName(element), name)),
  )
}

export function getByRole(role: string, name?: Name, root: Element = document.body): HTMLElement {
  const found = queryAllByRole(role, name, root)
  if (found.length !== 1) {
    const names = queryAllByRole(role, undefined, root).map((element) => accessibleName(element))
    throw new Error(
      `Expected one ${role} named ${String(name)}, found ${found.length}. ` +
        `The ${role}s are: ${JSON.stringify(names)}`,
    )
  }
  return found[0] as HTMLElement
}

export function queryByRole(
  role: string,
  name?: Name,
  root: Element = document.body,
): HTMLElement | null {
  return queryAllByRole(role, name, root)[0] ?? null
}

/** The control a label names (by `for`, or by wrapping it). */
export function getByLabel<T extends HTMLElement = HTMLInputElement>(
  text: Name,
  root: Element = document.body,
): T {
  const label = Array.from(root.querySelectorAll('label')).find((element) =>
    matches(textOf(element), text),
  )
  const control = label?.htmlFor
    ? root.ownerDocument.getElementById(label.htmlFor)
    : label?.querySelector('input, select, textarea')
  if (!control) throw new Error(`No control labelled ${String(text)}`)
  return control as T
}

/** The texts an element's aria-describedby points at. */
export function descriptionOf(element: Element): string {
  return (element.getAttribute('aria-describedby') ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((id) => textOf(element.ownerDocument.getElementById(id)))
    .join(' ')
}

export async function fillIn(element: HTMLElement, value: string): Promise<void> {
  ;(element as HTMLInputElement).value = value
  element.dispatchEvent(new Event('input', { bubbles: true }))
  await flushPromises()
}

export async function choose(element: HTMLElement, value: string): Promise<void> {
  ;(element as HTMLSelectElement).value = value
  element.dispatchEvent(new Event('change', { bubbles: true }))
  await flushPromises()
}

export async function click(element: HTMLElement): Promise<void> {
  element.click()
  await flushPromises()
}

export async function check(element: HTMLElement): Promise<void> {
  ;(element as HTMLInputElement).checked = true
  element.dispatchEvent(new Event('change', { bubbles: true }))
  await flushPromises()
}
