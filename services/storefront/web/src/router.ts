import { createRouter, createWebHistory, type RouteLocationNormalized } from 'vue-router'
import { useAuthStore } from './stores/auth'

const routes = [
  { path: '/', name: 'catalog', component: () => import('./views/CatalogView.vue'), meta: { title: 'Shop' } },
  { path: '/products/:id(\\d+)', name: 'product', component: () => import('./views/ProductView.vue'), props: true },
  { path: '/cart', name: 'cart', component: () => import('./views/CartView.vue'), meta: { title: 'Cart' } },
  { path: '/login', name: 'login', component: () => import('./views/LoginView.vue'), meta: { title: 'Log in' } },
  { path: '/register', name: 'register', component: () => import('./views/LoginView.vue'), meta: { title: 'Create account' } },
  { path: '/orders', name: 'orders', component: () => import('./views/OrdersView.vue'), meta: { auth: true, title: 'My orders' } },
  { path: '/orders/:id', name: 'order', component: () => import('./views/OrderView.vue'), props: true, meta: { auth: true, title: 'Order' } },
  { path: '/admin', redirect: '/admin/products' },
  { path: '/admin/products', name: 'admin-products', component: () => import('./views/admin/ProductsView.vue'), meta: { admin: true, title: 'Products' } },
  { path: '/admin/products/new', name: 'admin-product-new', component: () => import('./views/admin/ProductEditView.vue'), meta: { admin: true, title: 'New product' } },
  { path: '/admin/products/:id(\\d+)', name: 'admin-product-edit', component: () => import('./views/admin/ProductEditView.vue'), props: true, meta: { admin: true, title: 'Edit product' } },
  { path: '/admin/orders', name: 'admin-orders', component: () => import('./views/admin/OrdersView.vue'), meta: { admin: true, title: 'Orders' } },
  { path: '/admin/queues', name: 'admin-queues', component: () => import('./views/admin/QueuesView.vue'), meta: { admin: true, title: 'Queues' } },
  { path: '/admin/dead-letters', name: 'admin-dead-letters', component: () => import('./views/admin/DeadLettersView.vue'), meta: { admin: true, title: 'Dead letters' } },
  { path: '/admin/catalog-sync', name: 'admin-catalog-sync', component: () => import('./views/admin/CatalogSyncView.vue'), meta: { admin: true, title: 'Catalogue sync' } },
  { path: '/admin/users', name: 'admin-users', component: () => import('./views/admin/UsersView.vue'), meta: { admin: true, title: 'Users' } },
  { path: '/admin/audit-log', name: 'admin-audit-log', component: () => import('./views/admin/AuditLogView.vue'), meta: { admin: true, title: 'Audit log' } },
  { path: '/forbidden', name: 'forbidden', component: () => import('./views/ForbiddenView.vue'), meta: { title: 'Not allowed' } },
  { path: '/:rest(.*)*', name: 'not-found', component: () => import('./views/NotFoundView.vue'), meta: { title: 'Not found' } },
]

export const router = createRouter({
  history: createWebHistory(),
  routes,
  scrollBehavior: () => ({ top: 0 }),
})

/** Pages that need a session send guests to login; admin pages need the admin role. */
export function guard(to: RouteLocationNormalized) {
  const auth = useAuthStore()
  if ((to.meta.auth || to.meta.admin) && !auth.loggedIn) return { name: 'login', query: { next: to.fullPath } }
  if (to.meta.admin && !auth.isAdmin) return { name: 'forbidden' }
  return true
}

router.beforeEach(guard)
router.afterEach((to) => {
  document.title = `${(to.meta.title as string | undefined) ?? 'Shop'} · goshop`
})
