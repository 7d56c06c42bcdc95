/* intakeforms widgets: <intake-chat> asks a form's questions one at a time in
 * a chat pop-up, <intake-form> shows them as an inline form. Both are built
 * from GET /forms/{form}/spec.json; docs/widgets.md tells how to embed them.
 *
 * evaluate(), parseAnswer() and asked() keep the server's meaning of `when`;
 * they are the shared part of intakeforms/assets/form.js, spliced in below
 * where the service serves this file, and that file's header explains them.
 * check() applies the rules of the submission's JSON Schema to one answer and
 * names a problem with the server's error code; say() words it with the
 * server's own message templates (spec.texts, e_CODE). The server stays the
 * judge: the chat posts every answer to /validate before it moves on, and a
 * problem without a template here is worded by /validate.
 * tests/test_widgets.py runs these functions in Chromium against Python.
 */
(() => {
  "use strict";

  const SCRIPT = document.currentScript?.src || location.href;
  // When the service cannot be asked for its texts, the one thing to say.
  const OFF = {
    en: "The contact form is not available right now.",
    fi: "Yhteydenottolomake ei ole juuri nyt käytettävissä.",
    sv: "Kontaktformuläret är inte tillgängligt just nu.",
  };
  const CSS = new URL("widget.css?v=__INTAKE_CSS_VERSION__", SCRIPT).href;
  // Answers before the form: a module of their own, imported when needed.
  const FAQ = new URL("widget-faq.js?v=__INTAKE_FAQ_VERSION__", SCRIPT).href;
  const HOME = new URL(".", SCRIPT).href;
  // How long the first event waiting for POST /events waits at most (30 s);
  // later ones do not put it off. Each event says how long ago it happened,
  // so the wait changes no figure, only how soon the service sees a visit in
  // progress, and a request costs the service far more than the events in
  // it: fewer, larger requests. A visit's events mostly go together as it
  // ends (answers sent, chat closed, page hidden or left); a page left open
  // still reports within half a minute.
  const EVENTS_WAIT = 30000;
  // The state of a conversation. The tab keeps each part under the first
  // letter of its name, as earlier versions of this script did: a visitor's
  // answers outlive an upgrade.
  const STATE = [
    "form", // the form's id
    "version", // the spec's version the answers were given to
    "token", // the service's time-trap token, from the spec first loaded
    "key", // the idempotency key of the submission
    "answers", // by question, as the customer gave them
    "normalised", // by question, as /validate normalised them
    "open", // the chat's pop-up is open
    "mode", // 1: the chat shows the whole form instead of one question
    "editing", // the question the customer went back to
    // The customer's own words and the FAQ's answers to them: q the text,
    // s the search, r the answers, t the forms proposed, o the answer last
    // opened, d 1 when one answered (deflected), c 1 when the customer went on.
    "words",
    "person", // 1: the customer asked for a person; what is answered is sent
    // What a signed link or a draft link gave: `locked` names the answers
    // that cannot change, `link` or `draft` the token posted back with them.
    "given",
    // The visit the service is told about (POST /events): its random id,
    // and which of its events were sent. The chat's lasts as long as its
    // conversation, through reloads; the inline form's, one showing.
    "session",
  ];
  /** The host page's query parameter `name` (?t=, ?d=, a hidden question's). */
  const param = (name) => new URLSearchParams(location.search).get(name);
  /** A section (heading, text) or a page (a step's start): no answer. */
  const layout = (f) => f.type === "section" || f.type === "page";
  /** A question the page answers and the customer never sees (type: hidden). */
  const unseen = (f) => f.input.control === "hidden";

  // -- the server's rules, in the browser ---------------------------------------

  // The rules the hosted form's script has too (reading an answer as the
  // server would, conditions, the questions asked) come from
  // intakeforms/assets/form.js: the service splices them in here.
  /* <shared-rules> */

  const blank = (v) =>
    v == null || (Array.isArray(v) ? !v.length : typeof v === "string" && !v.trim());

  // Site owners' patterns are RE2; one that ECMAScript cannot read is left
  // to the server.
  const PATTERNS = new Map();
  const regex = (source) => {
    if (!PATTERNS.has(source)) {
      try {
        PATTERNS.set(source, new RegExp(source, "u"));
      } catch {
        PATTERNS.set(source, null);
      }
    }
    return PATTERNS.get(source);
  };

  /** The first problem of answer `v` to spec field `f` as [code, params], or null. */
  const check = (f, v) => {
    const t = f.type;
    const { min, max } = f;
    if (blank(v)) return f.required ? ["required"] : null;
    if (t === "multichoice") {
      if (!Array.isArray(v)) return ["not_list"];
      if (v.some((x) => !f.choices.some((c) => c.value === x))) return ["invalid_choice"];
      if (new Set(v).size < v.length) return ["duplicate_choice"];
      if (min != null && v.length < min) return ["too_few_choices", { min }];
      return max != null && v.length > max ? ["too_many_choices", { max }] : null;
    }
    if (t === "file") {
      if (v.length > f.max_files) return ["too_many_files", { max: f.max_files }];
      for (const file of v) {
        if (!f.accept.includes(file.type)) return ["file_type", { types: f.accept.join(", ") }];
        if (file.size > f.max_size) return ["file_too_large", { max: f.max_size }];
      }
      return null;
    }
    if (t === "boolean" || t === "consent") {
      const yes = typeof v === "boolean" ? v : typeof v === "string" ? parseBoolean(v) : undefined;
      if (yes === undefined) return ["not_boolean"];
      return t === "consent" && f.required && !yes ? ["consent_required"] : null;
    }
    if (t === "choice") return f.choices.some((c) => c.value === v) ? null : ["invalid_choice"];
    if (t === "integer" || t === "number") {
      const x =
        typeof v === "number"
          ? v
          : typeof v === "string"
            ? parseNumber(v, t === "integer")
            : undefined;
      if (x === undefined || (t === "integer" && !Number.isInteger(x))) return [`not_${t}`];
      if (min != null && x < min) return ["too_small", { min }];
      return max != null && x > max ? ["too_large", { max }] : null;
    }
    if (typeof v !== "string") return ["not_text"];
    const s = v.trim().replace(/\r\n?/g, "\n");
    const length = [...s].length;
    if (f.forbidden && regex(f.forbidden)?.test(s)) return ["control_characters"];
    if (f.max_length != null && length > f.max_length) {
      return t === "email" ? ["invalid_email"] : ["too_long", { max: f.max_length }];
    }
    if (f.min_length != null && length < f.min_length) return ["too_short", { min: f.min_length }];
    const shape = f.pattern && regex(f.pattern);
    if (shape && !shape.test(s)) {
      return [t === "text" || t === "textarea" ? "pattern" : `invalid_${t}`];
    }
    if (t === "date") {
      const day = new Date(`${s}T00:00:00Z`);
      // 2026-02-30 is no day; Date would roll it over to March.
      if (s < "0001" || Number.isNaN(+day) || day.toISOString().slice(0, 10) !== s) {
        return ["invalid_date"];
      }
    }
    if (t === "date" || t === "time") {
      if (min && s < min) return [`${t}_too_early`, { min }];
      if (max && s > max) return [`${t}_too_late`, { max }];
    }
    return null;
  };

  /** The message of a problem of field `f`, from the texts `T`, or "" when
   * only the server can word it. Numbers are written for `locale`. */
  const say = (T, locale, f, [code, params = {}]) => {
    const key = code === "required" && f.type === "consent" ? "consent_required" : code;
    // The form's own words for the problem (messages:) come first.
    const text = f.messages?.[code] || f.messages?.[key] || T[`e_${key}`];
    if (!text) return "";
    return text.replace(/\{(\w+)\}/g, (_, key) => {
      // The server names a required question by its label (LABELLED_MESSAGES).
      let x = key === "label" ? f.label : params[key];
      if (typeof x !== "number") return x ?? "";
      // The service states a file size limit in megabytes.
      if (code === "file_too_large") x = Math.round(x / 1e5) / 10;
      const bound = code === "too_small" || code === "too_large";
      const unit = f.unit && bound ? `\u00a0${f.unit}` : "";
      // The server writes a hyphen-minus where ICU has U+2212.
      return new Intl.NumberFormat(locale).format(x).replace("\u2212", "-") + unit;
    });
  };

  globalThis.IntakeWidget = Object.freeze({ evaluate, parseAnswer, asked, check, say });

  // -- DOM helpers ----------------------------------------------------------------

  const h = (tag, attrs, ...kids) => {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "value" || k === "checked") el[k] = v;
      else el.setAttribute(k, v === true ? "" : v);
    }
    // null, false and "" stand for nothing; 0 is shown.
    el.append(...kids.flat(3).filter((x) => x || x === 0));
    return el;
  };
  const button = (label, onclick, cls) =>
    h("button", { type: "button", class: cls, onclick }, label);

  // The chat's log grows at its end; only what changed is replaced, so the
  // live region announces just the new messages.
  const sync = (box, items) => {
    const kids = [...box.children];
    let i = 0;
    while (i < items.length && kids[i]?.dataset.key === items[i][0]) i++;
    for (const kid of kids.slice(i)) kid.remove();
    for (const [key, make] of items.slice(i)) {
      const node = make();
      node.dataset.key = key;
      box.append(node);
    }
    return i;
  };

  // Not crypto.randomUUID: it exists only on https pages. 22 base64url
  // characters (+ and / both made -): idempotency keys and visits.
  const uid = () =>
    btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))))
      .replace(/\W/g, "-")
      .slice(0, 22);
  const texts = (v) => (v == null ? [] : Array.isArray(v) ? v : [String(v)]);
  const fileInfo = (files) => files.map(({ name, type, size }) => ({ name, type, size }));

  /** The input (or textarea) for a typed answer, with the spec's hints. */
  const control = (f, value, attrs) => {
    const hints = f.input;
    if (f.type === "textarea") return h("textarea", { rows: 4, ...attrs, value: value ?? "" });
    const dated = f.type === "date" || f.type === "time";
    return h("input", {
      type: hints.type || "text",
      inputmode: hints.inputmode,
      autocomplete: hints.autocomplete,
      autocapitalize: hints.autocapitalize,
      spellcheck: hints.spellcheck,
      placeholder: f.placeholder,
      min: dated ? f.min : null,
      max: dated ? f.max : null,
      accept: f.accept?.join(","),
      multiple: f.max_files > 1,
      ...attrs,
      value: f.type === "file" || value == null ? null : String(value),
    });
  };

  // -- what both widgets share --------------------------------------------------

  class Intake extends HTMLElement {
    connectedCallback() {
      if (this.root) return;
      this.root = this.attachShadow({ mode: "open" });
      const link = h("link", { rel: "stylesheet", href: CSS });
      this.box = h("div", { class: "w" });
      this.root.append(link, this.box);
      this.endpoint = (this.getAttribute("endpoint") || HOME).replace(/\/*$/, "");
      const form = this.getAttribute("form") || "";
      this.storageKey = `intake|${this.endpoint}|${form}`;
      // A link or a draft is made for one form: a chat that asks the topic has none.
      const t = this.getAttribute("token") || param("t");
      const d = this.getAttribute("draft") || param("d");
      this.link = form && (t ? { t } : d && { d });
      let kept;
      try {
        kept = JSON.parse(sessionStorage.getItem(this.storageKey));
      } catch {
        // nothing readable was kept
      }
      this.state = Object.fromEntries(STATE.map((name) => [name, kept?.[name[0]]]));
      this.files = {};
      // Drawn once the stylesheet is in (or cannot be): nothing shows unstyled.
      link.onload = link.onerror = () => this.start();
      // Hidden: the page may never be seen again (a closed tab, another page).
      document.addEventListener("visibilitychange", () => document.hidden && this.leave());
      // Older browsers say only this when a page goes away.
      addEventListener("pagehide", () => this.leave());
    }

    /** The visit, unless the page said events="off". */
    get visit() {
      if (this.spec && this.getAttribute("events") !== "off") {
        return (this.state.session ||= { id: uid() });
      }
    }

    /** Tells the service `event` of this visit (POST /events), in a batch
     * within EVENTS_WAIT; any but "view" comes after a "start". Only the
     * question's name and an error's code go with it, never an answer. */
    ev(event, field, code) {
      const V = this.visit;
      const once = event === "view" || event === "start";
      if (!V || this.ref || (once && V[event])) return;
      V[event] = 1;
      if (!once && event !== "abandon") this.ev("start", field);
      this.at = field || this.at;
      // ago holds when it happened until flush() makes it how long ago.
      const item = {
        session: V.id,
        form: this.spec.form,
        channel: this.dialog ? "chat" : "inline",
        event,
        field,
        code,
        ago: performance.now(),
      };
      this.timer ||= setTimeout(() => this.flush(), EVENTS_WAIT);
      // POST /events takes at most 50 a request.
      if ((this.queue ||= []).push(item) > 49) this.flush();
    }

    /** The page is hidden or left: a visit begun and not sent is abandoned
     * at the question reached last (told again if that is another one). */
    leave() {
      if (this.visit?.start && this.left !== this.at) this.ev("abandon", (this.left = this.at));
      this.flush();
    }

    /** Sends the waiting events, waiting for no answer: a failure loses
     * them and nothing else. */
    flush() {
      // (clearTimeout gives undefined: the next event waits anew.)
      this.timer = clearTimeout(this.timer);
      const now = performance.now();
      // Each goes with the whole milliseconds since it happened, so that the
      // service dates it then, not up to 30 s late (performance.now() never
      // goes back: never below 0). An event held over an hour (its page's timers
      // held up) is left out: the service would refuse the whole request.
      const body = JSON.stringify(
        this.queue?.splice(0).filter((e) => (e.ago = Math.round(now - e.ago)) <= 36e5),
      );
      const url = `${this.endpoint}/events`;
      if (body?.length > 2) {
        // (No beacon at all where a browser has them turned off.)
        navigator.sendBeacon?.(url, body) ||
          fetch(url, { method: "POST", body, keepalive: true }).catch(() => {});
      }
    }

    save() {
      // Sensitive answers (identity codes, health details) stay in memory only.
      const kept = (name) => {
        const out = { ...this.state[name] };
        for (const f of this.fields || []) if (f.sensitive) delete out[f.name];
        return out;
      };
      const state = { ...this.state, answers: kept("answers"), normalised: kept("normalised") };
      try {
        const stored = Object.fromEntries(STATE.map((name) => [name[0], state[name]]));
        sessionStorage.setItem(this.storageKey, JSON.stringify(stored));
      } catch {
        // Storage refused (a sandboxed frame, a full quota): nothing is kept.
      }
    }

    get language() {
      return this.getAttribute("lang") || document.documentElement.lang || "";
    }

    /** GET `path`, or POST `body`: FormData as it is, anything else as JSON. */
    async request(path, body, headers = {}, query) {
      const lang = this.loc || this.language;
      if (lang) headers["Accept-Language"] = lang;
      if (body && !(body instanceof FormData)) {
        body = JSON.stringify(body);
        headers["Content-Type"] = "application/json";
      }
      const search = new URLSearchParams({ lang, ...query });
      const response = await fetch(`${this.endpoint}${path}?${search}`, {
        method: body ? "POST" : "GET",
        headers,
        body,
      });
      const json = await response.json().catch(() => ({}));
      if (!body && !response.ok) throw response;
      return [response.status, json];
    }

    /** Reads the service's texts and the form, then `begin`s; or says the
     * service is out of reach. */
    async start() {
      const form = this.getAttribute("form");
      try {
        if (!form) this.topics = (await this.request("/forms"))[1];
        // Without a chosen topic, the first form's spec lends its texts.
        await this.load(form || this.state.form || this.topics[0].id, !form && !this.state.form);
        // The self-service module: answers before the form, and the chat's
        // "Continue by email later".
        const S = this.spec;
        if (!form || S.faq || (S.drafts && this instanceof Chat)) {
          (await import(FAQ)).default(Intake.prototype, h, button);
        }
      } catch (failure) {
        return this.unavailable(failure);
      }
      this.box.lang = this.loc;
      this.begin();
    }

    /** Says visibly that the service is out of reach, and tells the site's
     * owner why in the console; the element's own content (a link to the
     * form page, say) stands in below. */
    unavailable(failure) {
      const { url, status } = failure || {};
      const what = status ? `${url} answered ${status}` : `${this.endpoint} did not answer`;
      // A refusal of this origin reaches the page as a failed fetch: the
      // browser hides the answer of a site that did not allow it.
      console.error(
        `intakeforms: ${what}; ` +
          (status && status !== 403
            ? "check the endpoint attribute"
            : `add ${location.origin} to INTAKE_ALLOWED_ORIGINS`),
      );
      const lang = this.language.slice(0, 2).toLowerCase();
      const code = OFF[lang] ? lang : "en";
      const cls = this instanceof Chat ? "launch off" : "off";
      const note = h("p", { class: cls, role: "status", lang: code }, OFF[code]);
      this.box.replaceChildren(note, h("slot"));
    }

    async load(id, textsOnly) {
      const [, spec] = await this.request(this.path("spec.json", id), null, {}, this.link);
      const T = (this.T = spec.texts);
      this.loc = spec.locale;
      if (textsOnly) return;
      this.spec = spec;
      this.items = spec.fields;
      this.fields = spec.fields.filter((f) => !layout(f));
      // The form's accent, under the site's own --intake-accent (a CSSOM
      // property: no inline style attribute for the page's CSP to refuse).
      this.style.setProperty("--intake-form-accent", spec.theme?.accent || "");
      const { form, version, open, words, given } = this.state;
      const { values, ...link } = spec.prefill || {};
      const token = (g) => g?.link || g?.draft;
      // A link that could not fill the form says why; the form starts empty.
      const why = spec.prefill_error;
      this.notice = why && T[`p_${why}`]?.replace("{reference}", spec.reference);
      // The first token is kept: it dates the start of the conversation,
      // which the service's time trap judges. Another link starts over with
      // its answers; a reload keeps what was changed since.
      if (form !== id || version !== spec.version || (values && token(link) !== token(given))) {
        this.state = {
          form: id,
          version: spec.version,
          token: spec.token,
          key: uid(),
          answers: { ...values },
          normalised: { ...values },
          open,
          words,
          given: values && link,
        };
      }
      // The answers the page gives: the element's data-<name>, else the
      // page's ?<name>=, else the question's default; a link's answer comes
      // first, and one the form would refuse is left out (the customer
      // could not correct it).
      this.page = {};
      for (const f of this.fields) {
        const { name } = f;
        if (f.type === "file" && !this.files[name]) delete this.state.answers[name];
        const v = unseen(f) && (this.getAttribute(`data-${name}`) ?? param(name) ?? f.default);
        if (v && values?.[name] == null && !check(f, v)) this.page[name] = v;
      }
      Object.assign(this.state.answers, this.page);
      Object.assign(this.state.normalised, this.page);
      if (!(this instanceof Chat)) delete this.state.session;
      this.save();
    }

    /** Whether the link gave the answer to `f` for good. */
    locked(f) {
      return this.state.given?.locked?.includes(f.name);
    }

    shown(value = (f) => this.state.normalised[f.name]) {
      return asked(this.fields, value);
    }

    /** The questions asked, by the answers as given, read as the server would. */
    asking() {
      return this.shown((f) => parseAnswer(f.type, texts(this.state.answers[f.name]), f.min, f.max));
    }

    answers(asked, extra) {
      const all = { ...this.state.answers, ...extra };
      const out = {};
      for (const f of asked) if (!blank(all[f.name])) out[f.name] = all[f.name];
      return out;
    }

    path(what, id = this.spec.form) {
      return `/forms/${encodeURIComponent(id)}/${what}`;
    }

    /** The server's errors for `answers`, and their normalised values. */
    async validate(answers) {
      const [status, body] = await this.request(this.path("validate"), answers);
      if (status !== 200) throw body;
      return body;
    }

    /** Posts the answers of the questions asked; [status, body]. */
    async submit(asked, partial) {
      const headers = { Accept: "application/json", "Idempotency-Key": this.state.key };
      const g = this.state.given;
      // The link's token goes back: the service keeps its locked answers.
      // The visit's id: the service notes the submission as its end.
      const meta = {
        _token: this.state.token,
        [this.spec.honeypot]: "",
        _link: g?.link,
        _draft: g?.draft,
        _visit: this.visit?.id,
        _channel: this.dialog ? "chat" : "inline",
      };
      const W = this.state.words;
      // The answers the customer read first, for the team to start from.
      if (W?.r?.length) meta._faq = W.s;
      if (partial) meta._incomplete = true;
      let body = { ...this.answers(asked), ...meta };
      if (asked.some((f) => f.type === "file" && this.files[f.name]?.length)) {
        const form = new FormData();
        for (const [k, v] of Object.entries(body)) {
          for (const x of this.files[k] || texts(v)) form.append(k, x);
        }
        body = form;
      }
      this.flush();
      return this.request(this.path("submissions"), body, headers);
    }

    finish(reference) {
      this.ref = reference;
      try {
        sessionStorage.removeItem(this.storageKey);
      } catch {
        // nothing was kept
      }
      this.dispatchEvent(
        new CustomEvent("intake:submitted", {
          bubbles: true,
          composed: true,
          detail: { reference, form: this.spec.form },
        }),
      );
    }

    /** The choices of `f`; a yes-or-no question's are yes and no. */
    choices(f) {
      return f.choices || [
        { value: true, label: this.T.yes },
        { value: false, label: this.T.no },
      ];
    }

    /** A server error answer as a message to show. */
    trouble(body) {
      return body?.errors?.[0]?.message || this.T.network;
    }

    show(f, v, join = ", ") {
      const T = this.T;
      if (blank(v)) return T.skipped;
      if (f.choices) {
        return texts(v)
          .map((x) => f.choices.find((c) => c.value === x)?.label ?? x)
          .join(join);
      }
      if (typeof v === "number") v = new Intl.NumberFormat(this.loc).format(v);
      if (typeof v === "boolean") return v ? T.yes : T.no;
      if (f.type === "file") return v.map((x) => x.name).join(", ");
      if (f.type === "date") return new Date(`${v}T12:00`).toLocaleDateString(this.loc);
      return f.unit ? `${v} ${f.unit}` : v;
    }

    thanks() {
      const T = this.T;
      return h(
        "div",
        { class: "done", tabindex: "-1" },
        h("p", { class: "ok" }, T.thanks),
        h("p", {}, this.spec.thanks?.text || T.received),
        h("p", {}, `${T.reference}: `, h("strong", { class: "ref" }, this.ref)),
        this.partial && h("p", {}, T.handed),
        h("p", {}, T.keep),
      );
    }

    // -- the inline form ----------------------------------------------------------

    field(f) {
      if (unseen(f)) return;
      const T = this.T;
      const id = `f-${f.name}`;
      const v = this.state.answers[f.name] ?? f.default;
      // A link's locked answer is shown as text that cannot be edited.
      const lock = this.locked(f) && h("p", { class: "help", id: `${id}-l` }, T.locked);
      const t = lock ? "" : f.type;
      const help = f.help && h("p", { class: "help", id: `${id}-h` }, f.help);
      const unit = f.unit && h("span", { class: "unit", id: `${id}-u` }, f.unit);
      const error = h("p", { class: "error", id: `${id}-e`, hidden: true });
      const describe = [help, unit, lock, error]
        .filter(Boolean)
        .map((x) => x.id)
        .join(" ");
      const required = f.required && [" ", h("span", { class: "req" }, T.required)];
      // The class marks the controls that carry aria-invalid.
      const aria = {
        id,
        name: f.name,
        class: "c",
        "aria-describedby": describe,
        "aria-required": f.required && "true",
      };
      let body;
      if (t === "consent") {
        const box = h("input", { type: "checkbox", checked: v === true, ...aria });
        body = h("label", { class: "opt" }, box, h("span", {}, f.label, required));
      } else if (t === "multichoice" || t === "boolean" || (t && f.input.control === "radio")) {
        const picked = texts(v).map(String);
        const options = this.choices(f);
        const type = t === "multichoice" ? "checkbox" : "radio";
        const option = (c) => {
          const checked = picked.includes(String(c.value));
          const input = h("input", { type, name: f.name, value: c.value, checked });
          return h("label", { class: "opt" }, input, h("span", {}, c.label));
        };
        body = h(
          "fieldset",
          { id, "aria-describedby": describe },
          h("legend", {}, f.label, required),
          options.map(option),
        );
      } else {
        const option = (c) => h("option", { value: c.value, selected: c.value === v }, c.label);
        const input = lock
          ? h("input", {
              ...aria,
              name: null,
              readonly: true,
              value: this.show({ ...f, unit: 0 }, v),
            })
          : t === "choice"
            ? h("select", aria, h("option", { value: "" }, T.choose), f.choices.map(option))
            : control(f, v, aria);
        const label = h("label", { for: id }, f.label, required);
        body = [label, unit ? h("div", { class: "row" }, input, unit) : input];
      }
      return h("div", { class: "fld", "data-n": f.name }, body, help, lock, error);
    }

    /** The answer the form's controls for `f` hold now. */
    read(f) {
      const els = [...this.fm.elements].filter((el) => el.name === f.name);
      const t = f.type;
      if (t === "multichoice") return els.filter((el) => el.checked).map((el) => el.value);
      if (t === "consent") return els[0].checked || null;
      if (t === "file") return fileInfo((this.files[f.name] = [...els[0].files]));
      if (els[0].type !== "radio") return els[0].value;
      const on = els.find((el) => el.checked);
      return on ? (t === "boolean" ? on.value === "true" : on.value) : null;
    }

    drawForm(into, titled) {
      const T = this.T;
      const spec = this.spec;
      if (this.ref) {
        into.replaceChildren(this.thanks());
        return into.firstChild.focus();
      }
      this.sum = h("div", { class: "sum", tabindex: "-1", hidden: true });
      const changed = (e, settled) => {
        const f = this.fields.find((x) => x.name === e.target.name);
        if (!f) return;
        const v = (this.state.answers[f.name] = this.read(f));
        this.save();
        this.reveal();
        if (settled) this.checkField(f);
        this.ev(settled && !blank(v) ? "answer" : "start", f.name);
      };
      // The items by step (type: page starts the next), sections as headings
      // one level under the steps'.
      const steps = [[]];
      const names = [];
      const level = (n) => `h${n + (this.items.some((f) => f.type === "page") ? 1 : 0)}`;
      for (const f of this.items) {
        const last = steps.at(-1);
        if (f.type === "page") {
          if (last.length) steps.push([]);
          names[steps.length - 1] = f.title;
        } else if (f.type === "section") {
          last.push(
            h("div", { class: "sec" }, h(level(3), {}, f.title), f.text && h("p", {}, f.text)),
          );
        } else last.push(this.field(f));
      }
      const n = steps.length;
      this.cur = 0;
      this.steps =
        n > 1 &&
        steps.map((kids, i) => {
          const count = T.step.replace("{step}", i + 1).replace("{steps}", n);
          const title = names[i] ? [names[i], h("span", { class: "help" }, count)] : count;
          return h(
            "section",
            { class: "stp", "aria-labelledby": `s${i}` },
            h("h3", { id: `s${i}`, tabindex: "-1" }, title),
            kids,
          );
        });
      this.back = button(T.back, () => this.move(-1));
      this.next = button(T.next, () => this.forward(), "go");
      this.go = h("button", { class: "go" }, T.send);
      this.fm = h(
        "form",
        {
          novalidate: true,
          onsubmit: (e) => {
            e.preventDefault();
            // Enter before the last step goes on to the next.
            if (this.steps && this.go.hidden) this.forward();
            else this.sendForm();
          },
          oninput: (e) => changed(e),
          onchange: (e) => changed(e, true),
          onfocusin: (e) => (this.at = e.target.name || this.at),
        },
        this.sum,
        this.steps || steps[0],
        this.steps ? h("div", { class: "nav" }, this.back, this.next, this.go) : this.go,
      );
      const intro = spec.description && h("p", { class: "help" }, spec.description);
      const title = titled && h("h2", {}, this.logo(), spec.title);
      const note = this.notice && h("p", { class: "sug" }, this.notice);
      into.replaceChildren(...[title, note, intro, this.fm].filter(Boolean));
      if (spec.faq && !this.dialog) this.suggest();
      this.reveal();
      this.ev("view");
    }

    reveal() {
      const asked = new Set(this.asking().map((f) => f.name));
      for (const wrap of this.fm.querySelectorAll(".fld")) {
        wrap.hidden = !asked.has(wrap.dataset.n);
        for (const el of wrap.querySelectorAll("input,select,textarea")) el.disabled = wrap.hidden;
      }
      this.place();
    }

    /** The form's logo (theme.logo), beside its title; decorative. */
    logo() {
      const src = this.spec?.theme?.logo;
      return src && h("img", { src, alt: "", class: "logo" });
    }

    /** Whether step `i` asks nothing now (its questions hidden): passed over. */
    empty(i) {
      return ![...this.steps[i].querySelectorAll(".fld")].some((w) => !w.hidden);
    }

    /** Shows step `i` alone, with Back, Next or Send as they apply. */
    place(i = this.cur || 0, focus) {
      const S = this.steps;
      if (!S) return;
      this.cur = i;
      S.forEach((step, j) => (step.hidden = j !== i));
      const some = (from, to) => S.some((_, j) => j >= from && j < to && !this.empty(j));
      this.back.hidden = !some(0, i);
      this.next.hidden = !some(i + 1, S.length);
      this.go.hidden = !this.next.hidden;
      if (focus) S[i].querySelector("h3").focus();
    }

    move(by) {
      let i = this.cur + by;
      while (i > 0 && i < this.steps.length - 1 && this.empty(i)) i += by;
      this.place(i, true);
    }

    /** Next: the step's questions checked here and by the service first. */
    async forward() {
      if (this.busy) return;
      this.busy = true;
      try {
        const asked = this.asking();
        const step = this.steps[this.cur];
        const server = await this.validate(this.answers(asked)).catch(() => ({}));
        let first;
        for (const f of asked.filter((f) => step.querySelector(`[data-n="${f.name}"]`))) {
          const p = check(f, this.state.answers[f.name]);
          const e = server.errors?.find((e) => e.field === f.name);
          const message = (p && say(this.T, this.loc, f, p)) || e?.message || "";
          if (message) this.ev("error", f.name, p?.[0] || e?.code);
          if (this.setError(f.name, message) && message) first ||= f;
        }
        if (first) step.querySelector(`[data-n="${first.name}"] :is(.c,input)`).focus();
        else this.move(1);
      } finally {
        this.busy = false;
      }
    }

    setError(name, message) {
      const wrap = this.fm.querySelector(`[data-n="${name}"]`);
      if (!wrap) return false;
      const p = wrap.querySelector(".error");
      p.textContent = message;
      p.hidden = !message;
      for (const el of wrap.querySelectorAll(".c")) {
        if (message) el.setAttribute("aria-invalid", "true");
        else el.removeAttribute("aria-invalid");
      }
      return !wrap.hidden;
    }

    async checkField(f) {
      const v = this.state.answers[f.name];
      let message = "";
      let code;
      if (!blank(v)) {
        const problem = check(f, v);
        message = problem && say(this.T, this.loc, f, problem);
        code = message && problem[0];
        if (!message) {
          try {
            const body = await this.validate(this.answers(this.asking()));
            ({ message = "", code } = body.errors.find((e) => e.field === f.name) || {});
          } catch {
            // Offline: sending will say so.
          }
        }
      }
      if (code) this.ev("error", f.name, code);
      this.setError(f.name, message);
    }

    showErrors(errors) {
      for (const f of this.fields) this.setError(f.name, "");
      const items = errors.map((e) => {
        const f = this.fields.find((x) => x.name === e.field);
        const shown = f && this.setError(f.name, e.message);
        const go = (ev) => {
          ev.preventDefault();
          const el = this.fm.querySelector(`[data-n="${f.name}"] :is(input,select,textarea)`);
          this.stepOf(el);
          el.focus();
        };
        // A message naming its question already goes without the label.
        const text = shown && !e.message.includes(f.label) ? `${f.label} – ${e.message}` : e.message;
        return h("li", {}, shown ? h("a", { href: `#f-${f.name}`, onclick: go }, text) : text);
      });
      const wrong = errors.find((e) => this.fm.querySelector(`[data-n="${e.field}"]`));
      this.stepOf(wrong && this.fm.querySelector(`[data-n="${wrong.field}"]`));
      this.sum.replaceChildren(h("h2", {}, this.T.problem), h("ul", {}, items));
      this.sum.hidden = false;
      this.sum.focus();
    }

    /** Opens the step that holds element `el`, if the form has steps. */
    stepOf(el) {
      const i = this.steps && el ? this.steps.findIndex((s) => s.contains(el)) : -1;
      if (i >= 0) this.place(i);
    }

    async sendForm() {
      if (this.busy) return;
      this.busy = true;
      const T = this.T;
      const asked = this.asking();
      const word = ([f, problem]) => say(T, this.loc, f, problem);
      try {
        const { answers } = this.state;
        const problems = asked.map((f) => [f, check(f, answers[f.name])]).filter(([, p]) => p);
        if (problems.length) {
          // What the browser cannot word (a plate's example) the server does.
          const server = problems.every(word)
            ? {}
            : await this.validate(this.answers(asked)).catch(() => ({}));
          const byServer = (name) => server.errors?.find((e) => e.field === name)?.message;
          const errors = problems
            .map(([f, p]) => ({
              field: f.name,
              code: p[0],
              message: word([f, p]) || byServer(f.name),
            }))
            .filter((e) => e.message);
          for (const e of errors) this.ev("error", e.field, e.code);
          if (errors.length) return this.showErrors(errors);
        }
        const [status, body] = await this.submit(asked);
        if (status === 201) {
          this.finish(body.reference);
          return this.drawForm(this.fm.parentNode);
        }
        this.showErrors(status === 422 ? body.errors : [{ message: this.trouble(body) }]);
      } catch {
        this.showErrors([{ message: T.network }]);
      } finally {
        this.busy = false;
      }
    }
  }

  // -- <intake-form> -----------------------------------------------------------

  class InlineForm extends Intake {
    begin() {
      // No form named: the customer picks the topic first (the module's choose()).
      if (this.spec) this.drawForm(this.box, true);
      else this.choose();
    }
  }

  // -- <intake-chat> -----------------------------------------------------------

  class Chat extends Intake {
    begin() {
      const T = this.T;
      this.launcher = button(T.open, () => this.open(), "launch");
      this.launcher.setAttribute("aria-haspopup", "dialog");
      this.heading = h("h2", { id: "title" });
      this.progress = h("p", { class: "prog" });
      this.bar = h("div", { class: "bar" });
      const full = () => {
        this.state.mode = 1;
        this.error = null;
        this.save();
        this.draw(true);
      };
      this.switch = button(T.full, full, "link");
      this.talk = button(T.person, () => this.person(), "link");
      this.mail = button(T.later, () => this.keep(1), "link");
      const close = button("×", () => this.dialog.close(), "x");
      close.setAttribute("aria-label", T.close);
      this.log = h("div", { class: "log", role: "log" });
      this.composer = h("div", { class: "cmp" });
      this.body = h("div", { class: "body" });
      this.dialog = h(
        "dialog",
        { "aria-labelledby": "title", "aria-modal": "true", onclose: () => this.closed() },
        h(
          "header",
          {},
          [this.heading, close, this.progress, this.switch, this.talk, this.mail, this.bar],
        ),
        this.body,
      );
      this.box.append(this.launcher, this.dialog);
      if (this.state.open) this.open();
    }

    open() {
      this.state.open = 1;
      if (!this.dialog.open) this.dialog.showModal();
      this.draw(true);
      this.save();
    }

    closed() {
      // Closing the chat ends the visit for now: what waits goes.
      this.flush();
      if (this.ref || this.state.words?.d) {
        // Sent: the next conversation is a new one, with its own key.
        const { form, version, token } = this.state;
        const page = this.page;
        this.state = this.topics
          ? {}
          : { form, version, token, key: uid(), answers: { ...page }, normalised: { ...page } };
        if (this.topics) this.spec = null;
        this.ref = this.error = this.partial = this.notice = null;
        this.log.replaceChildren();
      }
      this.state.open = this.later = 0;
      this.save();
      this.launcher.focus();
    }

    edit(name) {
      this.state.editing = name;
      this.error = null;
      this.save();
      this.draw(true);
    }

    /** Shows `problem` ({field, message, value}) as a new message. */
    fail(problem) {
      this.error = { ...problem, count: (this.error?.count || 0) + 1 };
    }

    editButton(label, onclick) {
      const { edit } = this.T;
      const name = `${edit}: ${label}`;
      return h("button", { type: "button", class: "ed", "aria-label": name, onclick }, edit);
    }

    /** The question that says how to reach the customer, while unanswered. */
    get reach() {
      const f = (t) => this.fields.find((x) => x.type === t);
      const c = f("email") || f("phone");
      return c && blank(this.state.answers[c.name]) ? c : null;
    }

    /** "Talk to a person": what is answered goes to the team once the
     * customer can be reached. */
    person() {
      // Before the answers were settled: the customer goes on, to a person.
      const W = (this.state.words ||= { r: [] });
      if (!W.c && W.r.length) this.settle();
      W.c = 1;
      Object.assign(this.state, { person: 1, mode: 0, editing: null });
      this.error = null;
      this.save();
      if (this.reach) this.draw(true);
      else this.send(this.shown(), 1);
    }

    async answer(f, raw) {
      if (this.busy) return;
      const state = this.state;
      let v = raw;
      if (f.type === "file" && raw) {
        this.files[f.name] = raw;
        v = fileInfo(raw);
      }
      if (blank(v)) v = null;
      const problem = check(f, v);
      let message = problem && say(this.T, this.loc, f, problem);
      let code = message && problem[0];
      let values = {};
      if (!message && v != null) {
        this.busy = true;
        try {
          const body = await this.validate(this.answers(this.shown(), { [f.name]: v }));
          ({ message, code } = body.errors.find((e) => e.field === f.name) || {});
          values = body.values;
        } catch (e) {
          message = this.trouble(e);
        } finally {
          this.busy = false;
        }
      }
      // The service hears of a refused answer's code, or of the first try.
      this.ev(code ? "error" : v == null || message ? "start" : "answer", f.name, code);
      if (message) {
        this.fail({ field: f.name, message, value: v });
        return this.draw(true);
      }
      this.error = null;
      state.answers[f.name] = v;
      Object.assign(state.normalised, values);
      if (!(f.name in values)) delete state.normalised[f.name];
      state.editing = null;
      // Answers to questions that no longer apply are dropped.
      const asked = new Set(this.shown().map((x) => x.name));
      for (const name in state.answers) {
        if (!asked.has(name)) {
          delete state.answers[name];
          delete state.normalised[name];
        }
      }
      this.save();
      if (state.person && !this.reach) return this.send(this.shown(), 1);
      this.draw(true);
    }

    async send(asked, partial) {
      if (this.busy) return;
      this.busy = true;
      let failure;
      try {
        const [status, body] = await this.submit(asked, partial);
        this.partial = partial;
        if (status === 201) this.finish(body.reference);
        else {
          // A refused answer is asked again, with the service's words.
          const of = (f) => status === 422 && body.errors.find((e) => e.field === f.name)?.message;
          const wrong = asked.find(of);
          if (wrong) {
            this.state.editing = wrong.name;
            failure = {
              field: wrong.name,
              message: of(wrong),
              value: this.state.answers[wrong.name],
            };
          } else failure = { field: "", message: this.trouble(body) };
        }
      } catch {
        failure = { field: "", message: this.T.network };
      } finally {
        this.busy = false;
      }
      if (failure) this.fail(failure);
      this.draw(true);
    }

    /** The controls that answer question `f`; `back` goes to the one before. */
    ask(f, back) {
      const T = this.T;
      const e = this.error?.field === f.name ? this.error : null;
      const v = e ? e.value : this.state.answers[f.name] ?? f.default;
      const t = f.type;
      const go = (x) => this.answer(f, x);
      const describe =
        [e && "err", f.help && `h-${f.name}`, f.unit && `u-${f.name}`].filter(Boolean).join(" ") ||
        null;
      const labelled = { "aria-labelledby": `q-${f.name}`, "aria-describedby": describe };
      const nav = [back, !f.required && button(T.skip, () => go(null))].filter(Boolean);
      let main;
      if (t === "consent") {
        // A box to tick, as on the form: not a yes-or-no answered "tick it".
        const box = h("input", {
          type: "checkbox",
          checked: v === true,
          ...labelled,
          "aria-invalid": e && "true",
        });
        const submit = (ev) => {
          ev.preventDefault();
          go(box.checked || (f.required ? false : null));
        };
        main = h(
          "form",
          { class: "row", novalidate: true, onsubmit: submit },
          h("label", { class: "opt" }, box, h("span", {}, f.label)),
          h("button", { class: "go" }, T.next),
        );
      } else if (t === "choice" || t === "boolean") {
        const replies = this.choices(f).map((c) => button(c.label, () => go(c.value)));
        main = h("div", { class: "qr", role: "group", ...labelled }, replies);
      } else if (t === "multichoice") {
        const picked = new Set(texts(v));
        const toggles = f.choices.map((c) => {
          const flip = () => !picked.delete(c.value) && !!picked.add(c.value);
          const toggle = button(c.label, () => toggle.setAttribute("aria-pressed", flip()));
          toggle.setAttribute("aria-pressed", picked.has(c.value));
          return toggle;
        });
        // Sent in the form's order, as the service keeps them.
        const confirm = () => go(f.choices.map((c) => c.value).filter((x) => picked.has(x)));
        main = [
          h("div", { class: "qr", role: "group", ...labelled }, toggles),
          button(T.confirm, confirm, "go"),
        ];
      } else {
        const long = t === "textarea";
        const input = control(f, v, {
          ...labelled,
          "aria-describedby": [describe, long && "k"].filter(Boolean).join(" ") || null,
          "aria-invalid": e && "true",
          "aria-required": f.required && "true",
          // Enter sends, as in any chat; Shift+Enter is a new line (and an
          // input method composing a word keeps its Enter).
          onkeydown: (ev) =>
            long &&
            ev.key === "Enter" &&
            !ev.shiftKey &&
            !ev.isComposing &&
            (ev.preventDefault(), ev.target.form.requestSubmit()),
        });
        const submit = (ev) => {
          ev.preventDefault();
          go(t === "file" ? [...input.files] : input.value);
        };
        const unit = f.unit && h("span", { class: "unit", id: `u-${f.name}` }, f.unit);
        const next = h("button", { class: "go" }, T.next);
        // The widget words a problem, not the browser (in its own language).
        const keys = long && h("p", { class: "help", id: "k" }, T.keys);
        const row = { class: "row", novalidate: true, onsubmit: submit };
        main = h("form", row, input, keys, unit, next);
      }
      return [main, nav.length && h("div", { class: "nav" }, nav)];
    }

    draw(focus) {
      const T = this.T;
      const { state, spec, error } = this;
      const W = state.words;
      // The customer's own words are asked first: before the topic, or
      // before the questions of a form with answers to offer.
      const ask = !W && (this.topics ? !spec : spec?.faq && blank(Object.keys(state.answers)));
      const read = W?.r?.length;
      // Until the words are settled, no topic and no question.
      const waiting = ask || W?.d || (read && !W.c);
      const items = [];
      // Messages by key: the service's (bot) and the customer's (me).
      const bot = (key, attrs, ...content) =>
        items.push([key, () => h("div", { class: "b", ...attrs }, ...content)]);
      const me = (key, ...content) => items.push([key, () => h("div", { class: "u" }, ...content)]);
      const failed = (key) =>
        error?.field === key &&
        bot(`e${error.count}`, { id: "err", class: "b bad" }, error.message);
      let controls = [];
      let step = 0;
      let total = 0;
      this.heading.replaceChildren(this.logo() || "", spec ? spec.title : T.open);
      this.ev("view");
      // (hidden takes any value as true or false)
      this.switch.hidden = !spec || state.mode || this.ref;
      this.talk.hidden = !spec || state.person || this.ref || W?.d || this.later;
      // Offered where the service can mail the link back.
      this.mail.hidden = !spec?.drafts || state.person || this.ref || W?.d || this.later;
      // The customer's own words answer a question (the module has them).
      if (spec && !waiting) this.fill?.(state.mode ? this.fields : this.shown());
      if (spec && state.mode) {
        this.progress.hidden = this.bar.hidden = true;
        this.body.replaceChildren(this.formBox || (this.formBox = h("div", { class: "inline" })));
        this.drawForm(this.formBox);
        if (focus && !this.ref) this.fm.querySelector("input,select,textarea,button")?.focus();
        return;
      }
      if (!this.log.isConnected) this.body.replaceChildren(this.log, this.composer);
      // The FAQ's module draws them (loaded for a form with answers, or topics).
      if (this.early && (ask || W || this.topics))
        controls = this.early(ask, read, waiting, bot, me, failed);
      if (spec && !waiting) {
        if (spec.description) bot("d", {}, spec.description);
        if (this.notice) bot("N", {}, this.notice);
        const asked = this.shown();
        // What the page gives is never asked, nor shown.
        const seen = asked.filter((f) => !unseen(f));
        // Asking for a person: the way to reach the customer, and what the
        // service refused, is all that is asked.
        const now =
          seen.find((f) => f.name === state.editing) ||
          (state.person ? this.reach : seen.find((f) => !(f.name in state.answers)));
        // A link's locked answer has no "Change".
        const change = (f) => !this.locked(f) && this.editButton(f.label, () => this.edit(f.name));
        let previous = null;
        // The sections before question `f` (since the one asked before it)
        // are messages of their own.
        let from = 0;
        const sections = (f) => {
          const I = this.items;
          const to = I.indexOf(f);
          for (const x of I.slice(from, to)) {
            if (x.type === "section") {
              bot(`s|${x.name}`, { class: "b sec" }, h("strong", {}, x.title), h("p", {}, x.text));
            }
          }
          from = to + 1;
        };
        for (const f of seen) {
          if (f === now || !(f.name in state.answers)) break;
          const shown = this.show(f, state.answers[f.name]);
          sections(f);
          bot(`q|${f.name}`, {}, h("span", { id: `q-${f.name}` }, f.label));
          me(`a|${f.name}|${shown}`, h("span", {}, shown), " ", change(f));
          if (!this.locked(f)) previous = f;
        }
        const back = previous && button(T.back, () => this.edit(previous.name));
        if (state.person) {
          me("P", T.person);
          bot("R", {}, T.reach);
        }
        // "Continue by email later" (the self-service module draws it).
        if (this.later) controls = this.keeping(bot, me, failed);
        else if (this.ref) {
          bot("done", {}, this.thanks());
          controls = [button(T.close, () => this.dialog.close(), "go")];
        } else if (now) {
          this.at = now.name;
          if (!state.person) step = seen.indexOf(now) + 1;
          total = seen.length;
          const help = now.help && h("span", { class: "help", id: `h-${now.name}` }, now.help);
          sections(now);
          bot(`q|${now.name}`, {}, h("span", { id: `q-${now.name}` }, now.label), help);
          if (error?.field === now.name && !blank(error.value)) {
            me(`x${error.count}`, this.show(now, error.value));
          }
          failed(now.name);
          controls = this.ask(now, back);
        } else if (state.person) {
          failed("");
          controls = [button(T.send, () => this.send(asked, 1), "go"), back];
        } else {
          // As the service will keep them (ABC-123, +358401234567), each
          // on a line of its own, a long answer with its own lines.
          const N = state.normalised;
          const rows = seen.map((f) => [
            h("dt", {}, f.label),
            h(
              "dd",
              {},
              h("span", {}, this.show(f, f.name in N ? N[f.name] : state.answers[f.name], "\n")),
              " ",
              change(f),
            ),
          ]);
          bot("sum", {}, h("p", {}, T.review), h("dl", {}, rows));
          failed("");
          const send = button(T.send, () => this.send(asked), "go");
          controls = [send, back && h("div", { class: "nav" }, back)];
        }
      }
      this.progress.hidden = this.bar.hidden = !step;
      this.progress.textContent = T.progress.replace("{n}", step).replace("{total}", total);
      this.bar.style.setProperty("--p", step / total || 0);
      const kept = sync(this.log, items);
      this.composer.replaceChildren(...controls.flat().filter(Boolean));
      // The start of what is new comes into view (the browser stops at the end).
      const from = kept ? this.log.children[kept] : [...this.log.querySelectorAll(".b")].pop();
      if (from) this.log.scrollTop = from.offsetTop - 16;
      // Once sent, the answers can no longer change.
      if (this.ref) for (const old of this.log.querySelectorAll(".ed")) old.remove();
      if (focus) {
        (
          this.log.querySelector(".done") || this.composer.querySelector("input,textarea,button")
        )?.focus();
      }
    }
  }

  for (const [name, element] of [["intake-chat", Chat], ["intake-form", InlineForm]]) {
    if (!customElements.get(name)) customElements.define(name, element);
  }
})();
