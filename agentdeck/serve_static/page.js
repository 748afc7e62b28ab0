// agentdeck's additions to textual-serve's page (loaded before its textual.js, which sets up
// xterm.js): a terminal drawn at the device's pixel ratio, and drawn again to fit whenever
// the page's size, orientation or zoom changes.
"use strict";

(function () {
  // xterm's canvas renderer sizes its canvases from a ResizeObserver on the
  // device-pixel-content-box. Chromium's device emulation (and some browsers at some zooms)
  // reports that box in CSS pixels while xterm draws glyphs at devicePixelRatio: the canvas
  // then holds a third of what is drawn on it at scale 3 (the page looks 3x too big). A report
  // that disagrees with the CSS box times the ratio is dropped; xterm keeps the size it
  // computed itself, as it does where the browser has no such box (Safari).
  const Native = window.ResizeObserver;
  if (Native) {
    const plausible = (entry) => {
      const device = entry.devicePixelContentBoxSize && entry.devicePixelContentBoxSize[0];
      const css = entry.contentBoxSize && entry.contentBoxSize[0];
      if (!device || !css) return true;
      const ratio = window.devicePixelRatio || 1;
      return Math.abs(device.inlineSize - css.inlineSize * ratio) <= Math.ceil(ratio) &&
        Math.abs(device.blockSize - css.blockSize * ratio) <= Math.ceil(ratio);
    };
    window.ResizeObserver = class extends Native {
      constructor(callback) {
        let self = null;
        super((entries, observer) => {
          const kept = self && self.devicePixels ? entries.filter(plausible) : entries;
          if (kept.length) callback(kept, observer);
        });
        self = this;
        this.devicePixels = false;
      }
      observe(target, options) {
        // (xterm passes the box as a list: ["device-pixel-content-box"])
        if (options && String(options.box) === "device-pixel-content-box") {
          this.devicePixels = true;
        }
        return super.observe(target, options);
      }
    };
  }

  // textual.js fits the terminal to the page on window "resize" (window.onresize); a zoom
  // changes devicePixelRatio and the glyphs' size a moment after, a rotation may resize the
  // visual viewport only: each is followed by a fit once the browser has laid the page out.
  let pending = 0;
  const refit = () => {
    if (pending) return;
    pending = requestAnimationFrame(() => {
      pending = requestAnimationFrame(() => {
        pending = 0;
        if (typeof window.onresize === "function") window.onresize(new Event("resize"));
      });
    });
  };
  const watchRatio = () => {
    const query = matchMedia(`(resolution: ${window.devicePixelRatio}dppx)`);
    query.addEventListener("change", () => { refit(); watchRatio(); }, { once: true });
  };
  watchRatio();
  window.addEventListener("orientationchange", refit);
  if (screen.orientation) screen.orientation.addEventListener("change", refit);
  if (window.visualViewport) window.visualViewport.addEventListener("resize", refit);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refit(); });
})();
