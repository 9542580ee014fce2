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

// The scaffold's canvas stub returns no context; @grafana/ui's Combobox sizes
// its menu with measureText, so give text a plausible width.
HTMLCanvasElement.prototype.getContext = () => ({
  measureText: (text) => ({ width: String(text).length * 7 }),
});

// jsdom lays nothing out, so every element measures 0 and @grafana/ui's
// Combobox (a virtualised list, @tanstack/virtual reads clientHeight and
// clientWidth) would render no option. Any fixed size shows the options.
Object.defineProperty(HTMLElement.prototype, 'clientHeight', { configurable: true, get: () => 120 });
Object.defineProperty(HTMLElement.prototype, 'clientWidth', { configurable: true, get: () => 120 });
