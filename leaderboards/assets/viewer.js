// Episode viewer: the transcript in pages (an episode can have thousands of steps), with
// filters, and the night reports. Data comes from the inline JSON block; nothing is fetched.
(function () {
  var data = JSON.parse(document.getElementById("episode-data").textContent);
  var steps = data.steps;
  var PAGE = 100;
  var state = { page: 0, rows: steps };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function block(label, text, cls) {
    var wrap = el("div");
    wrap.appendChild(el("div", "label", label));
    wrap.appendChild(el("pre", cls || "", text));
    return wrap;
  }
  function money(v) {
    return "$" + v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  function renderCall(call, body) {
    var meta = "call " + call.id + " · parse " + call.parse_status +
      (call.attempts > 1 ? " · " + call.attempts + " attempts (retried)" : "") +
      (call.finish_reason ? " · finish " + call.finish_reason : "") +
      " · " + call.prompt_tokens + " prompt / " + call.completion_tokens + " completion tokens" +
      " · " + Math.round(call.latency_ms) + " ms";
    var head = el("div", "meta", meta);
    if (call.parse_status !== "ok") head.appendChild(el("span", "badge warn", call.parse_status));
    body.appendChild(head);
    if (call.reasoning) body.appendChild(block("model reasoning", call.reasoning, "model"));
    if (call.text) body.appendChild(block("model text", call.text, "model"));
  }
  function renderStep(step) {
    var card = el("div", "step" + (step.valid ? "" : " invalid"));
    card.id = "step-" + step.id;
    var head = el("div", "step-head");
    head.appendChild(el("span", "id", "#" + step.id));
    head.appendChild(el("span", "", "Day " + step.day + " " + step.time));
    head.appendChild(el("span", "tool", step.tool));
    if (!step.valid) head.appendChild(el("span", "badge bad", "invalid"));
    head.appendChild(el("span", "money", "bank " + money(step.bank) + " · net worth " +
      money(step.net_worth) + (step.reward ? " · reward " + step.reward.toFixed(3) : "")));
    card.appendChild(head);
    var body = el("div", "step-body");
    step.calls.forEach(function (call) { renderCall(call, body); });
    if (typeof step.arguments === "string") {
      body.appendChild(block("arguments (not valid JSON, as sent)", step.arguments, "args"));
    } else if (step.arguments !== null && step.arguments !== undefined) {
      body.appendChild(block("arguments", JSON.stringify(step.arguments, null, 2), "args"));
    } else if (step.action) {
      body.appendChild(block("action (not a JSON tool call)", step.action, "args"));
    }
    if (step.error) body.appendChild(block("error", step.error, "err"));
    body.appendChild(block("observation", step.observation));
    card.appendChild(body);
    return card;
  }
  function pages() { return Math.max(1, Math.ceil(state.rows.length / PAGE)); }
  function render() {
    var list = document.getElementById("transcript");
    list.textContent = "";
    var start = state.page * PAGE;
    var fragment = document.createDocumentFragment();
    state.rows.slice(start, start + PAGE).forEach(function (s) { fragment.appendChild(renderStep(s)); });
    list.appendChild(fragment);
    if (!state.rows.length) list.appendChild(el("p", "muted", "No step matches the filter."));
    document.getElementById("page-info").textContent = "page " + (state.page + 1) + " of " +
      pages() + " · " + state.rows.length + " of " + steps.length + " steps";
    document.getElementById("prev").disabled = state.page === 0;
    document.getElementById("next").disabled = state.page >= pages() - 1;
  }
  function applyFilter() {
    var tool = document.getElementById("tool-filter").value;
    var invalid = document.getElementById("invalid-only").checked;
    var text = document.getElementById("text-filter").value.toLowerCase();
    state.rows = steps.filter(function (s) {
      if (tool && s.tool !== tool) return false;
      if (invalid && s.valid) return false;
      if (text) {
        var hay = (s.observation + " " + JSON.stringify(s.arguments) + " " + s.action + " " +
          s.calls.map(function (c) { return c.text; }).join(" ")).toLowerCase();
        if (hay.indexOf(text) < 0) return false;
      }
      return true;
    });
    state.page = 0;
    render();
  }
  function goTo(id) {
    document.getElementById("tool-filter").value = "";
    document.getElementById("invalid-only").checked = false;
    document.getElementById("text-filter").value = "";
    state.rows = steps;
    var index = steps.findIndex(function (s) { return s.id === id; });
    if (index < 0) return;
    state.page = Math.floor(index / PAGE);
    showTab("transcript-tab");
    render();
    var node = document.getElementById("step-" + id);
    if (node) { node.scrollIntoView(); node.style.outline = "2px solid #2457c5"; }
  }
  function showTab(id) {
    document.querySelectorAll(".tabs button").forEach(function (b) {
      b.classList.toggle("active", b.getAttribute("data-tab") === id);
    });
    document.querySelectorAll(".tab").forEach(function (t) { t.classList.toggle("active", t.id === id); });
  }
  function renderNights() {
    var list = document.getElementById("nights");
    var fragment = document.createDocumentFragment();
    steps.forEach(function (s) {
      if (s.tool !== "wait_for_next_day" || !s.valid) return;
      var card = el("div", "step");
      var head = el("div", "step-head");
      var link = el("a", "id", "#" + s.id);
      link.href = "#step-" + s.id;
      head.appendChild(link);
      head.appendChild(el("span", "tool", "Night after day " + (s.day - 1)));
      card.appendChild(head);
      var body = el("div", "step-body");
      body.appendChild(el("pre", "", s.observation));
      card.appendChild(body);
      fragment.appendChild(card);
    });
    list.appendChild(fragment);
  }

  var tools = {};
  steps.forEach(function (s) { tools[s.tool] = (tools[s.tool] || 0) + 1; });
  var select = document.getElementById("tool-filter");
  Object.keys(tools).sort().forEach(function (t) {
    var option = el("option", "", t + " (" + tools[t] + ")");
    option.value = t;
    select.appendChild(option);
  });
  select.addEventListener("change", applyFilter);
  document.getElementById("invalid-only").addEventListener("change", applyFilter);
  document.getElementById("text-filter").addEventListener("input", applyFilter);
  document.getElementById("prev").addEventListener("click", function () { state.page--; render(); window.scrollTo(0, document.getElementById("transcript-tab").offsetTop); });
  document.getElementById("next").addEventListener("click", function () { state.page++; render(); window.scrollTo(0, document.getElementById("transcript-tab").offsetTop); });
  document.getElementById("goto").addEventListener("change", function (e) { goTo(parseInt(e.target.value, 10)); });
  document.querySelectorAll(".tabs button").forEach(function (b) {
    b.addEventListener("click", function () { showTab(b.getAttribute("data-tab")); });
  });
  document.addEventListener("click", function (e) {
    var a = e.target.closest ? e.target.closest("a[href^='#step-']") : null;
    if (!a) return;
    e.preventDefault();
    goTo(parseInt(a.getAttribute("href").slice(6), 10));
  });
  renderNights();
  render();
  if (location.hash.indexOf("#step-") === 0) goTo(parseInt(location.hash.slice(6), 10));
})();
