import { createRouter, createWebHistory, type RouteRecordRaw, type RouterHistory } from 'vue-router'

import JobsView from '@/views/JobsView.vue'

export const routes: RouteRecordRaw[] = [
  { path: '/', name: 'jobs', component: JobsView, meta: { title: 'Jobs' } },
  { path: '/jobs', redirect: { name: 'jobs' } },
  {
    path: '/new',
    name: 'new-job',
    component: () => import('@/views/NewJobView.vue'),
    meta: { title: 'New job' },
  },
  {
    path: '/jobs/:id',
    name: 'job',
    component: () => import('@/views/JobDetailView.vue'),
    props: true,
    meta: { title: 'Job' },
  },
  {
    path: '/:pathMatch(.*)*',
    name: 'not-found',
    component: () => import('@/views/NotFoundView.vue'),
    meta: { title: 'Not found' },
  },
]

export function createAppRouter(
  history: RouterHistory = createWebHistory(import.meta.env.BASE_URL),
) {
  const router = createRouter({ history, routes })

  router.afterEach((to) => {
    const title = typeof to.meta.title === 'string' ? to.meta.title : ''
    document.title = title ? `${title} · aijobs` : 'aijobs'
  })
  return router
}
