// A table (or a region) that scrolls sideways, as a wide table does on a phone, takes the keyboard's focus so the
// arrow keys can scroll it (WCAG 2.1.1; axe's scrollable-region-focusable). One that fits gives the focus back, so
// the tab order holds no stops that do nothing. Run at load and whenever the window's width changes.
(() => {
  "use strict";
  const mark = () => {
    for (const el of document.querySelectorAll("main table, main .scroll")) {
      const scrolls = el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== "visible";
      if (scrolls && !el.hasAttribute("tabindex")) {
        el.setAttribute("tabindex", "0");
        el.dataset.scrollFocus = "";
        if (el.tagName !== "TABLE" && !el.hasAttribute("aria-label")) {
          el.setAttribute("role", "region");
          el.setAttribute("aria-label", "Table (scrolls sideways)");
        }
      } else if (!scrolls && "scrollFocus" in el.dataset) {
        el.removeAttribute("tabindex");
        delete el.dataset.scrollFocus;
      }
    }
  };
  document.addEventListener("DOMContentLoaded", mark);
  let pending = 0;
  addEventListener("resize", () => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(mark);
  });
})();
