/* intakeforms: answers from the site's FAQ on the HTML form page.
 *
 * Loaded by a form page whose form has FAQ answers to offer: the <form>
 * carries data-faq, the URL of GET /faq/search for that form, and
 * data-faq-title, the words above the answers. While the customer types in
 * the first free-text question (a long text first, else a one-line text),
 * the best three answers are suggested under it: at least 3 characters, one
 * search 400 ms after the last key, in a polite live region.
 *
 * The suggestions never stand in the way: a failed search shows nothing,
 * nothing takes the focus, and the form posts as it would without them. Once
 * answers were shown, a hidden input _faq names that search, so the team
 * knows what the customer read before writing. Opening an answer posts
 * "opened" to /faq/feedback (beside the search URL) once.
 */
(() => {
  "use strict";

  const make = (tag, className, text) => {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text) el.textContent = text;
    return el;
  };

  const enhance = (form) => {
    const fields = Array.from(form.querySelectorAll("[data-field]"));
    const field = ["textarea", "text"]
      .map((type) => fields.find((wrapper) => wrapper.dataset.type === type))
      .find(Boolean);
    const input = field && field.querySelector("textarea, input");
    if (!input) return;
    const search = new URL(form.dataset.faq, location.href);
    const feedback = new URL("feedback", search);
    const box = field.appendChild(make("div", "intake-faq"));
    box.setAttribute("aria-live", "polite");
    const kept = make("input");
    kept.type = "hidden";
    kept.name = "_faq";

    const opened = (id, entry) => () =>
      fetch(feedback, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ search: id, entry, event: "opened" }),
      }).catch(() => {});

    const show = (id, results) => {
      box.replaceChildren();
      if (!results.length) return;
      kept.value = id;
      form.append(kept);
      box.append(make("p", "intake-faq__title", form.dataset.faqTitle));
      for (const result of results) {
        const item = box.appendChild(make("details", "intake-faq__item"));
        const answer = make("div", "intake-faq__answer");
        // Sanitised by the service: Markdown rendered with raw HTML off.
        answer.innerHTML = result.answer_html;
        item.append(make("summary", "", result.question), answer);
        item.addEventListener("toggle", opened(id, result.id), { once: true });
      }
    };

    let timer;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      const query = input.value.trim();
      timer = setTimeout(async () => {
        const params = { q: query, lang: document.documentElement.lang, channel: "form", limit: 3 };
        for (const [key, value] of Object.entries(params)) search.searchParams.set(key, value);
        try {
          const found =
            query.length > 2 ? await (await fetch(search)).json() : { search: "", results: [] };
          // An answer to an earlier text that came late is not shown.
          if (input.value.trim() === query) show(found.search, found.results || []);
        } catch {
          // No suggestions; the form works as before.
        }
      }, 400);
    });
  };

  const start = () => {
    for (const form of document.querySelectorAll("form.intake-form[data-faq]")) enhance(form);
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
