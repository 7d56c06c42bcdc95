/* intakeforms: the hosted form checks an answer as the customer leaves it.
 *
 * Loaded by every form page after form.js. When a question is left with an
 * answer (or one that showed an error is changed), the form's answers go to
 * POST /forms/{form}/validate as the browser would post them (urlencoded,
 * the controls form.js disabled left out, so conditions read what the
 * server would read), and the server's own message for that question shows
 * next to it: aria-invalid on its controls, aria-describedby naming the
 * message, a polite status for screen readers; fixed, the message goes.
 * Typing is never blocked and nothing waits: an answer that is late, or a
 * request that fails, changes nothing, and the server checks again on send.
 * A question left blank is not nagged about, unless it showed an error.
 *
 * steps.js uses check() and show() (globalThis.intakeformsLive) to check a
 * step's questions before Next. A new error is told to visit.js with an
 * "intake-error" event on the form ({field, code}), which sends it to
 * POST /events as the statistics' "error" of that question.
 */
(() => {
  "use strict";

  if (typeof document === "undefined") return;

  const wrapperOf = (el) => el.closest?.("[data-field]");

  /** The /validate URL beside the form's …/submissions?lang=… action. */
  const endpoint = (form) => {
    const url = new URL(form.getAttribute("action"), location.href);
    url.pathname = url.pathname.replace(/submissions$/, "validate");
    return url.href;
  };

  // Files are checked when they are sent; a question with none chosen is
  // posted blank so that "required" can be told.
  const body = (form) => {
    const params = new URLSearchParams();
    const seen = new Set();
    for (const [name, value] of new FormData(form)) {
      seen.add(name);
      if (typeof value === "string") params.append(name, value);
    }
    // An unticked box or group posts nothing: say it is blank.
    for (const wrapper of form.querySelectorAll("[data-field]")) {
      const name = wrapper.dataset.field;
      const enabled = wrapper.querySelector("input:not([disabled]), select:not([disabled])");
      if (!seen.has(name) && !wrapper.hidden && enabled) params.append(name, "");
    }
    return params;
  };

  /**
   * The server's errors for these answers, by question ({field, code,
   * message}); null when it could not say.
   */
  const check = async (form) => {
    try {
      const response = await fetch(endpoint(form), {
        method: "POST",
        body: body(form),
        headers: { accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) return null;
      const found = {};
      for (const error of (await response.json()).errors || []) {
        if (!(error.field in found)) found[error.field] = error;
      }
      return found;
    } catch {
      return null;
    }
  };

  const ids = (el) => (el.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);

  const describe = (el, id, on) => {
    const rest = ids(el).filter((x) => x !== id);
    if (on) rest.push(id);
    if (rest.length) el.setAttribute("aria-describedby", rest.join(" "));
    else el.removeAttribute("aria-describedby");
  };

  /**
   * Show `message` next to the question in `wrapper`, or clear its error
   * when `message` is null. Marked up as the server marks an error page.
   */
  const show = (form, wrapper, message) => {
    const group = wrapper.querySelector("fieldset");
    const controls = wrapper.querySelectorAll("input:not([type=hidden]), select, textarea");
    if (!controls.length) return;
    const id = `${controls[0].id}-error`;
    let note = document.getElementById(id);
    const before = note ? note.textContent : null;
    if (message == null) {
      note?.remove();
    } else {
      if (!note) {
        note = document.createElement("p");
        note.className = "intake-error-message";
        note.id = id;
        const place = (group || wrapper).querySelector(
          ".intake-options, .intake-option, .intake-input-row, .intake-input",
        );
        place.before(note);
      }
      const prefix = document.createElement("span");
      prefix.className = "intake-visually-hidden";
      prefix.textContent = `${form.dataset.errorPrefix} `;
      note.replaceChildren(prefix, message);
    }
    wrapper.classList.toggle("intake-field--error", message != null);
    for (const control of controls) {
      if (message == null) control.removeAttribute("aria-invalid");
      else control.setAttribute("aria-invalid", "true");
    }
    for (const el of group ? [group] : controls) describe(el, id, message != null);
    const status = form.querySelector("[data-live-status]");
    if (status && message != null && note.textContent !== before) {
      const label = wrapper.querySelector("legend, label");
      status.textContent = `${label ? label.textContent.trim() : ""}: ${message}`;
    }
  };

  /** Show the error of `found` (check's answer) for the question in `wrapper`;
   *  a new one is told to visit.js ("intake-error"), for the statistics. */
  const showFound = (form, wrapper, found) => {
    const error = found[wrapper.dataset.field];
    const shown = wrapper.classList.contains("intake-field--error");
    show(form, wrapper, error ? error.message : null);
    if (error && !shown) {
      const detail = { field: error.field, code: error.code };
      form.dispatchEvent(new CustomEvent("intake-error", { detail }));
    }
  };

  const enhance = (form) => {
    const status = document.createElement("p");
    status.className = "intake-visually-hidden";
    status.setAttribute("role", "status");
    status.dataset.liveStatus = "";
    form.append(status);
    // Only the newest answer for a question counts: a slow one never undoes
    // a later one. Counted per question: leaving one question and then the
    // next at once must show both their errors.
    const sent = new WeakMap();
    // Pressing Send leaves the question being answered, and its check starts
    // then. An error shown while the button is held pushes it from under the
    // pointer: the release lands elsewhere and the press sends nothing. So
    // while a pointer is down on a send button, answers wait for its release.
    let held = null;
    form.addEventListener(
      "pointerdown",
      (event) => {
        if (!event.target.closest?.("[type=submit]")) return;
        held = [];
        // A release the page never hears of (taken by another window) must
        // not keep the answers back for good.
        setTimeout(release, 3000);
      },
      true,
    );
    const release = () => {
      const waiting = held;
      held = null;
      // After the click the release makes, so that it sends first.
      if (waiting) setTimeout(() => waiting.forEach((show) => show()), 0);
    };
    addEventListener("pointerup", release, true);
    addEventListener("pointercancel", release, true);
    const run = async (wrapper) => {
      const mine = (sent.get(wrapper) || 0) + 1;
      sent.set(wrapper, mine);
      const found = await check(form);
      if (found === null || mine !== sent.get(wrapper)) return;
      if (held) held.push(() => mine === sent.get(wrapper) && showFound(form, wrapper, found));
      else showFound(form, wrapper, found);
    };
    const blank = (wrapper) =>
      !Array.from(wrapper.querySelectorAll("input, select, textarea")).some((el) =>
        el.type === "checkbox" || el.type === "radio" ? el.checked : el.value.trim() !== "",
      );
    const erred = (wrapper) => wrapper.classList.contains("intake-field--error");
    const skip = (wrapper) => !wrapper || wrapper.dataset.type === "file" || wrapper.hidden;
    form.addEventListener("focusout", (event) => {
      const wrapper = wrapperOf(event.target);
      if (skip(wrapper) || wrapper.contains(event.relatedTarget)) return;
      if (blank(wrapper) && !erred(wrapper)) return;
      run(wrapper);
    });
    // A question that shows an error is checked again as it is corrected.
    let timer;
    form.addEventListener("input", (event) => {
      const wrapper = wrapperOf(event.target);
      if (skip(wrapper) || !erred(wrapper)) return;
      clearTimeout(timer);
      timer = setTimeout(() => run(wrapper), 400);
    });
    form.addEventListener("change", (event) => {
      const wrapper = wrapperOf(event.target);
      const box = event.target.type === "checkbox" || event.target.type === "radio";
      if (!skip(wrapper) && box && erred(wrapper)) run(wrapper);
    });
  };

  globalThis.intakeformsLive = Object.freeze({ check, show: showFound });

  const start = () => {
    for (const form of document.querySelectorAll("form.intake-form[data-error-prefix]")) {
      enhance(form);
    }
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
