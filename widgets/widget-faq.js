/* intakeforms widgets: the self-service module. Answers before the form
 * (docs/widgets.md, "Answers before the form") and the chat's "Continue by
 * email later". widget.js imports this module only when a form offers FAQ
 * answers (its spec.json has `faq`), the chat asks the topic, or a chat's
 * service can mail a draft (`drafts`), so a page without them never
 * downloads it. It adds its methods to the widgets' shared class; `h` and
 * `button` are widget.js's DOM helpers.
 */
export default (P, h, button) =>
  Object.assign(P, {
    /** The FAQ's answers to `q`: {search, results, topics}. */
    async faq(q, channel) {
      // No form (a chat that asks the topic): the service takes "" as none.
      const query = { q, channel, limit: 3, form: this.spec?.form || "" };
      return (await this.request("/faq/search", null, {}, query))[1];
    },

    feedback(search, entry, event) {
      this.request("/faq/feedback", { search, entry, event }).catch(() => {});
    },

    /** Each answer found as a disclosure; opening one tells the service. */
    found(search, results) {
      return results.map((r) => {
        const answer = h("div", { class: "ans" });
        // Sanitised by the service (Markdown rendered with HTML off), its
        // links made absolute there: they lead to the service, not the host.
        answer.innerHTML = r.answer_html;
        // Opened once is counted once; the answer opened last is the one
        // that helped, if the customer says one did.
        const toggle = ({ target }) => {
          if (!target.open || target.dataset.o) return;
          target.dataset.o = this.state.words.o = r.id;
          this.feedback(search, r.id, "opened");
        };
        return h("details", { ontoggle: toggle }, h("summary", {}, r.question), answer);
      });
    },

    /** The question the customer's own words answer: the first long text, else text. */
    target() {
      const f = (t) => this.fields.find((x) => x.type === t);
      return f("textarea") || f("text");
    },

    /** The customer's own words, as the answer to the question they answer. */
    fill(asked) {
      const t = this.target();
      const { answers, words } = this.state;
      if (words?.q && asked.includes(t) && !(t.name in answers)) answers[t.name] = words.q;
    },

    /** Answers suggested under the inline form's question that the
     * customer's own words answer, as the customer types. */
    suggest() {
      const t = this.target();
      const wrap = t && this.fm.querySelector(`[data-n="${t.name}"]`);
      if (!wrap) return;
      const input = wrap.querySelector("textarea,input");
      const box = h("div", { class: "sug", "aria-live": "polite" });
      let timer;
      input.addEventListener("input", () => {
        clearTimeout(timer);
        const q = input.value.trim();
        timer = setTimeout(async () => {
          let found = {};
          try {
            if (q.length > 2) found = await this.faq(q, "inline");
          } catch {
            return; // no suggestions; the form works as before
          }
          // An answer to an earlier text that came late is not shown.
          if (input.value.trim() !== q) return;
          const { search: s, results: r = [] } = found;
          // Kept with the answers at the next change, and sent as _faq.
          if (r.length) this.state.words = { s, r };
          box.replaceChildren(...(r.length ? [h("p", {}, this.T.maybe), ...this.found(s, r)] : []));
        }, 400);
      });
      wrap.append(box);
    },

    /** Searches the FAQ for the customer's own words. */
    async words(text) {
      const q = text.trim();
      if (this.busy || !q) return;
      this.busy = true;
      // No answers to show (the service is out of reach): the conversation goes on.
      const found = await this.faq(q, "chat").catch(() => ({}));
      this.busy = false;
      const r = found.results || [];
      // Nothing to read: go on at once.
      this.state.words = { q, s: found.search, r, t: found.topics, c: r.length ? 0 : 1 };
      this.save();
      this.draw(true);
    },

    /** The chat's topic `id` picked: its form's questions follow. */
    async pick(id) {
      if (this.busy) return;
      this.busy = true;
      try {
        await this.load(id);
        this.state.open = 1;
        this.error = null;
      } catch {
        this.fail({ field: "", message: this.T.network });
      } finally {
        this.busy = false;
      }
      this.save();
      this.draw(true);
    },

    /** The inline form without a form named: the customer picks the topic first. */
    choose() {
      const pick = (id) => this.load(id).then(() => this.drawForm(this.box, true), () => {});
      const topics = this.topics.map((t) => button(t.title, () => pick(t.id)));
      const list = h("div", { class: "qr", role: "group", "aria-labelledby": "topic" }, topics);
      this.box.replaceChildren(h("p", { id: "topic" }, this.T.topic), list);
    },

    /** "This answered my question" (`helped`) or "I still need to contact you". */
    settle(helped) {
      const W = this.state.words;
      this.feedback(W.s, helped && (W.o || W.r[0].id), helped ? "helpful" : "continued");
      W[helped ? "d" : "c"] = 1;
      this.save();
      this.draw(true);
    },

    /** The chat's messages before the form's questions: the customer's own
     * words, the answers found, and the topic. `bot` and `me` add messages,
     * `failed` the problem; what it gives are the controls to show. */
    early(ask, read, waiting, bot, me, failed) {
      const { T, state, spec } = this;
      const W = state.words;
      let controls = [];
      // The topics, as a group labelled by the element `id`.
      const topics = (id) => {
        const all = this.topics.map((t) => button(t.title, () => this.pick(t.id)));
        return h("div", { class: "qr", role: "group", "aria-labelledby": id }, all);
      };
      bot("w", { id: "q-w" }, T.words);
      if (W) me("w", W.q || T.skipped);
      if (read) {
        const list = h("div", { class: "faq" }, this.found(W.s, W.r));
        bot(`r|${W.s}`, {}, h("p", {}, T.found.replace("{n}", read)), list);
      } else if (W?.q) bot("n", {}, T.none);
      if (W?.d) {
        me("h", T.helped);
        bot("g", { class: "b done", tabindex: -1 }, T.glad);
        controls = [button(T.close, () => this.dialog.close(), "go")];
      } else if (read && W.c) me("c", T.more);
      else if (read) {
        controls = [
          button(T.helped, () => this.settle(1), "go"),
          button(T.more, () => this.settle()),
        ];
      } else if (ask) {
        const area = h("textarea", { rows: 3, "aria-labelledby": "q-w" });
        const submit = (ev) => {
          ev.preventDefault();
          this.words(area.value);
        };
        const send = h("button", { class: "go" }, T.send);
        controls = [h("form", { class: "row", onsubmit: submit }, area, send)];
        if (this.topics) controls.push(h("p", { id: "q-o" }, T.other), topics("q-o"));
        failed("");
      }
      if (this.topics && !waiting) {
        // The form the words seem to be about is proposed first.
        const top = this.topics.find((t) => t.id === W?.t?.[0]?.form);
        if (W) bot("t", { id: "q-" }, top ? T.isit.replace("{title}", top.title) : T.topic);
        const again = () => {
          this.state = { open: 1, words: W };
          this.spec = this.error = null;
          this.save();
          this.draw(true);
        };
        if (spec) me(`t|${spec.form}`, spec.title, " ", this.editButton(T.topic, again));
        else {
          controls = [topics("q-")];
          if (top) {
            const yes = button(T.yes, () => this.pick(top.id), "go");
            controls = [yes, h("p", { id: "q-o" }, T.other), topics("q-o")];
          }
          failed("");
        }
      }
      return controls;
    },

    /** "Continue by email later": `to` 1 asks the address; an address posts
     * the answers so far there as a draft; nothing goes back to the questions. */
    async keep(to) {
      // Asking the address may come while an answer is being checked (the
      // button is there meanwhile): only posting the draft must wait its turn.
      if (this.busy && to !== 1) return;
      this.error = null;
      if (typeof to === "string") {
        this.busy = true;
        // Files cannot wait in a draft: they are asked again.
        const data = this.answers(this.shown().filter((f) => f.type !== "file"));
        try {
          const [status, body] = await this.request(this.path("drafts"), { data, email: to });
          if (status !== 202) this.fail({ field: "L", message: this.trouble(body), value: to });
        } catch {
          this.fail({ field: "L", message: this.T.network, value: to });
        } finally {
          this.busy = false;
        }
      }
      this.later = this.error ? 1 : to;
      this.draw(true);
    },

    /** The chat's messages of "Continue by email later": the address asked,
     * then where the link went. `bot`, `me` and `failed` as for early(). */
    keeping(bot, me, failed) {
      const { T, state, error } = this;
      me("L", T.later);
      bot("L?", {}, h("span", { id: "q-L" }, T.address));
      const leave = button(T.back, () => this.keep());
      if (this.later !== 1) {
        const where = T.sent.replace("{email}", this.later);
        bot(`L!${this.later}`, { class: "b done", tabindex: -1 }, where);
        return [button(T.close, () => this.dialog.close(), "go"), leave];
      }
      failed("L");
      const e = error?.field === "L" && error;
      const mail = this.fields.find((f) => f.type === "email");
      const input = h("input", {
        type: "email",
        autocomplete: "email",
        "aria-labelledby": "q-L",
        "aria-describedby": e && "err",
        "aria-invalid": e && "true",
        value: e ? e.value : mail && state.answers[mail.name],
      });
      const submit = (ev) => {
        ev.preventDefault();
        this.keep(input.value.trim());
      };
      const send = h("button", { class: "go" }, T.send);
      return [h("form", { class: "row", novalidate: true, onsubmit: submit }, input, send), leave];
    },
  });
