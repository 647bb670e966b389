// Small helpers for the dashboard (served from this origin: the CSP allows no inline script).
window.storefleet = {
  copy: (text) => navigator.clipboard ? navigator.clipboard.writeText(text) : Promise.resolve(),
};
