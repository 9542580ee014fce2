// Jest setup provided by Grafana scaffolding
import './.config/jest-setup';

// jsdom has no IntersectionObserver; @grafana/ui's scroll indicators (inside
// every Select menu) create one when they mount. Nothing in our tests
// scrolls, so an observer that never reports is enough.
class NoopIntersectionObserver {
  observe() {}
  unobserve() {}
  disconnect() {}
  takeRecords() {
    return [];
  }
}
Object.defineProperty(global, 'IntersectionObserver', { writable: true, value: NoopIntersectionObserver });
