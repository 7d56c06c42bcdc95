/* intakeforms: what a visit of the HTML form page does, for the statistics.
 *
 * Loaded by every form page (docs/widgets.md, "What the widgets tell the
 * service"). One page load is one visit, under a random id made here (22
 * base64url characters, never kept) that the form posts as a hidden _visit
 * input: the service records the visit's submit once it stores the
 * submission, or an error for each question it refuses. The page it sends
 * back with those problems holds the _visit input already, and goes on with
 * the same visit (no second view, no second start).
 *
 * To POST /events (beside /forms, found from the form's action), each
 * naming the question, never its answer: "view" as the page is shown,
 * "start" at the first answer typed or picked, "answer" when a question's
 * answer changes to one that is not blank, "abandon" when the page is
 * hidden or left after a start without sending, naming the question the
 * customer was at last, and "error" with its code when live.js shows a
 * question's answer refused. Events go together, up to 50 a request: as
 * the visit ends (the form is sent, the page hidden or left), at once when
 * 50 wait, and otherwise 30 s after the first of them waits (later ones do
 * not put that off), so a page left open still reports within half a
 * minute; with navigator.sendBeacon (text/plain), else fetch with
 * keepalive. Each event says how long ago it happened ("ago", whole
 * milliseconds), so that the service dates it when it happened, not when it
 * arrived: how long events wait changes no figure, only how soon the
 * service sees a visit in progress.
 * Nothing waits for an answer, and a failure is ignored: the form works as
 * it would without this script.
 */
(() => {
  "use strict";

  // POST /events takes at most this many events a request.
  const MAX_BATCH = 50;
  // How long the first waiting event waits at most (30 s); later ones do not
  // put it off. With "ago" the wait changes no figure, only how soon the
  // service sees a visit in progress, and a request costs the service far
  // more than the events in it: fewer, larger requests, most of a visit's
  // in one as it ends.
  const WAIT_MS = 30000;
  // The largest "ago" POST /events takes (an hour, in milliseconds).
  const MAX_AGO_MS = 3600000;

  /** 22 base64url characters: 128 random bits, the padding cut. */
  const newVisit = () =>
    btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .slice(0, 22);

  /** Whether the question `name` holds an answer that is not blank. */
  const answered = (form, name) =>
    Array.from(form.elements).some(
      (el) =>
        el.name === name &&
        !el.disabled &&
        (el.type === "checkbox" || el.type === "radio" ? el.checked : el.value.trim() !== ""),
    );

  /** The question a control belongs to, by its wrapper's data-field. */
  const question = (target) => target.closest?.("[data-field]")?.dataset.field;

  const track = (form) => {
    // The action is …/forms/{form}/submissions?lang=…
    const action = new URL(form.getAttribute("action"), location.href);
    const id = decodeURIComponent(action.pathname.split("/").slice(-2)[0]);
    const endpoint = new URL("../../events", action).href;
    let input = form.querySelector("input[name='_visit']");
    const goingOn = Boolean(input);
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = "_visit";
      input.value = newVisit();
      form.append(input);
    }
    const session = input.value;
    const queue = []; // [event, when it happened (performance.now())]
    let timer;
    let started = goingOn;
    let sending = false;
    let reached; // the question the customer was at last
    let left; // where the visit was last told abandoned

    const flush = () => {
      clearTimeout(timer);
      timer = undefined;
      // Each goes with the whole milliseconds since it happened, so that
      // the service dates it then, not up to 30 s late (performance.now()
      // never goes back: never below 0). An event held over an hour (its
      // page's timers held up) is left out: the service would refuse the
      // whole request.
      const now = performance.now();
      while (queue.length) {
        const due = queue
          .splice(0, MAX_BATCH)
          .map(([event, at]) => ({ ...event, ago: Math.round(now - at) }))
          .filter((event) => event.ago <= MAX_AGO_MS);
        if (!due.length) continue;
        const body = JSON.stringify(due);
        try {
          if (!navigator.sendBeacon(endpoint, body)) throw new Error("not queued");
        } catch {
          fetch(endpoint, { method: "POST", body, keepalive: true }).catch(() => {});
        }
      }
    };
    const send = (event, field, code) => {
      const about = { ...(field ? { field } : {}), ...(code ? { code } : {}) };
      queue.push([{ session, form: id, channel: "form", event, ...about }, performance.now()]);
      if (queue.length >= MAX_BATCH) flush();
      else timer ??= setTimeout(flush, WAIT_MS);
    };

    form.addEventListener("focusin", (event) => {
      reached = question(event.target) || reached;
    });
    const touched = (event) => {
      const field = question(event.target);
      if (!field) return;
      reached = field;
      if (!started) {
        started = true;
        send("start", field);
      }
      if (event.type === "change" && answered(form, field)) send("answer", field);
    };
    form.addEventListener("input", touched);
    form.addEventListener("change", touched);
    // An answer live.js was told is refused (as the question was left).
    form.addEventListener("intake-error", (event) => {
      send("error", event.detail.field, event.detail.code);
    });
    form.addEventListener("submit", () => {
      sending = true;
      flush();
    });
    const leave = () => {
      if (started && !sending && left !== reached) {
        left = reached;
        send("abandon", reached);
      }
      flush();
    };
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") leave();
    });
    // Older browsers say only this when a page goes away.
    window.addEventListener("pagehide", leave);
    if (!goingOn) send("view");
  };

  const start = () => {
    for (const form of document.querySelectorAll("form.intake-form")) track(form);
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
