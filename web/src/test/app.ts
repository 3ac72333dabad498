import { flushPromises, mount } from '@vue/test-utils'
import { createMemoryHistory } from 'vue-router'

import App from '@/App.vue'
import { createAppRouter } from '@/router'

/** Mount the whole dashboard at a path under /ui/, as a visit would. */
export async function renderApp(path: string) {
  const router = createAppRouter(createMemoryHistory('/ui/'))
  await router.push(path)
  await router.isReady()

  const wrapper = mount(App, { global: { plugins: [router] }, attachTo: document.body })
  await flushPromises()
  return { router, wrapper }
}
