// 企业微信模拟器：以任何人的身份与应用对话。所有操作都经由加密、签名的回调到达机器人。
"use strict";
const api = (path, options = {}) =>
  fetch("api/" + path, { headers: { "Content-Type": "application/json" }, ...options }).then(async (r) => {
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.error || `请求失败（${r.status}）`);
    return body;
  });

const state = { people: [], current: null, lastSeen: -1, menu: [] };
const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
};

function renderPeople() {
  const q = $("search").value.trim().toLowerCase();
  const list = $("people-list");
  list.replaceChildren();
  for (const p of state.people) {
    const hay = `${p.name} ${p.userid} ${p.roles.join(" ")}`.toLowerCase();
    if (q && !hay.includes(q)) continue;
    const li = el("li", { "data-userid": p.userid, onclick: () => choose(p) },
      el("div", {}, p.name, " ", el("small", {}, `(${p.userid})`)),
      el("div", { class: "roles" }, p.roles.join("、") || "不在名单中"));
    if (state.current && state.current.userid === p.userid) li.classList.add("active");
    list.append(li);
  }
}

function choose(person) {
  state.current = person;
  document.cookie = `sim_userid=${encodeURIComponent(person.userid)}; path=/simulator; SameSite=Lax`;
  state.lastSeen = -1;
  $("chat-title").textContent = `${person.name} · 全生异科导师`;
  $("messages").replaceChildren();
  for (const id of ["text", "send", "location", "contact-rename", "contact-delete"]) $(id).disabled = false;
  renderPeople();
  renderMenu();
  act("open", {});
}

function renderMenu() {
  const nav = $("menu");
  nav.replaceChildren();
  for (const button of state.menu) {
    nav.append(el("button", { type: "button", onclick: () => tapMenu(button) }, button.name));
  }
}

async function tapMenu(button) {
  if (!state.current) return;
  if (button.type === "view") { window.open(button.url, "_blank"); return; }
  await act("menu", { key: button.key });
}

async function act(path, payload) {
  try {
    await api(path, { method: "POST", body: JSON.stringify({ userid: state.current.userid, ...payload }) });
  } catch (err) {
    $("messages").append(el("div", { class: "system" }, err.message));
  }
  setTimeout(poll, 150);
}

function renderText(text) { return el("div", { class: "bubble" }, text); }

function renderMarkdown(md) {
  // 企业微信 markdown 的常用子集：标题、加粗、链接、引用、颜色字体。
  const safe = md.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const html = safe
    .replace(/^#{1,6}\s*(.*)$/gm, "<strong>$1</strong>")
    .replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>")
    .replace(/\[(.+?)\]\((https?:[^)\s]+)\)/g, '<a href="$2" target="_blank">$1</a>')
    .replace(/&lt;font color=\\?"?(\w+)\\?"?&gt;(.*?)&lt;\/font&gt;/g, '<span class="$1">$2</span>')
    .replace(/^&gt;\s?(.*)$/gm, "<span style='color:#888'>$1</span>");
  const bubble = el("div", { class: "bubble" });
  bubble.innerHTML = html;
  return bubble;
}

// 企业微信只显示 main_title.desc 的前约 44 个字（文档：建议不超过44个字），其余被截断。
const DESC_SHOWN = 44;
const shown = (text) => ([...text].length > DESC_SHOWN ? [...text].slice(0, DESC_SHOWN).join("") + "…" : text);

function link(url, title) { return el("a", { class: "link", href: url, target: "_blank" }, title); }

function renderCard(entry) {
  const card = entry.payload;
  const box = el("div", { class: "card", "data-task-id": card.task_id || "" });
  if (card.source && card.source.desc) box.append(el("div", { class: "source" }, card.source.desc));
  if (card.main_title) {
    if (card.main_title.title) box.append(el("h3", {}, card.main_title.title));
    if (card.main_title.desc) box.append(el("p", { class: "desc" }, shown(card.main_title.desc)));
  }
  if (card.sub_title_text) box.append(el("p", { class: "desc" }, card.sub_title_text));
  if (card.horizontal_content_list) {
    const kv = el("div", { class: "kv" });
    for (const row of card.horizontal_content_list) kv.append(el("div", {}, el("span", {}, row.keyname), el("span", {}, row.value || "")));
    box.append(kv);
  }
  for (const j of card.jump_list || []) if (j.url) box.append(link(j.url, j.title));
  if (card.card_action && card.card_action.url) box.append(link(card.card_action.url, "查看详情"));
  const tap = (eventKey, selected) => act("card", { task_id: card.task_id, card_type: card.card_type, event_key: eventKey, selected_items: selected || [] });
  if (card.action_menu && card.task_id) {
    const menu = el("div", { class: "buttons action-menu" }, el("small", {}, card.action_menu.desc || "更多"));
    for (const a of card.action_menu.action_list || []) {
      menu.append(el("button", { type: "button", "data-key": a.key, onclick: () =>
        act("card-menu", { task_id: card.task_id, card_type: card.card_type, event_key: a.key }) }, a.text));
    }
    box.append(menu);
  }
  if (entry.replaced_text) { box.append(el("div", { class: "done" }, entry.replaced_text)); return box; }
  if (card.card_type === "button_interaction") {
    const row = el("div", { class: "buttons" });
    for (const b of card.button_list || []) {
      row.append(el("button", { type: "button", class: b.style === 1 ? "primary" : "", "data-key": b.key, onclick: () => tap(b.key) }, b.text));
    }
    box.append(row);
  }
  if (card.card_type === "vote_interaction" && card.checkbox) {
    const cb = card.checkbox;
    const set = el("fieldset", {}, el("legend", {}, "请选择"));
    for (const o of cb.option_list) {
      set.append(el("label", {}, el("input", { type: cb.mode === 1 ? "checkbox" : "radio", name: cb.question_key, value: o.id }), " ", o.text));
    }
    box.append(set);
    const submit = card.submit_button || { text: "提交", key: "submit" };
    box.append(el("div", { class: "buttons" }, el("button", { type: "button", class: "submit", onclick: () => {
      const ids = [...set.querySelectorAll("input:checked")].map((i) => i.value);
      tap(submit.key, [{ question_key: cb.question_key, option_ids: ids }]);
    } }, submit.text)));
  }
  if (card.card_type === "multiple_interaction") {
    const selects = [];
    for (const s of card.select_list || []) {
      const sel = el("select", { name: s.question_key });
      for (const o of s.option_list) sel.append(el("option", { value: o.id }, o.text));
      if (s.selected_id) sel.value = s.selected_id;
      selects.push(sel);
      box.append(el("fieldset", {}, el("legend", {}, s.title || ""), sel));
    }
    const submit = card.submit_button || { text: "提交", key: "submit" };
    box.append(el("div", { class: "buttons" }, el("button", { type: "button", class: "submit", onclick: () =>
      tap(submit.key, selects.map((s) => ({ question_key: s.name, option_ids: [s.value] }))) }, submit.text)));
  }
  return box;
}

function renderEntry(entry) {
  const mine = entry.direction === "in";
  let body;
  const p = entry.payload || {};
  switch (entry.msgtype) {
    case "text": body = renderText(mine ? entry.text : p.content); break;
    case "markdown": body = renderMarkdown(p.content); break;
    case "image": body = el("div", { class: "bubble image" }, el("a", { href: entry.media_url, target: "_blank", title: "查看原图" }, el("img", { src: entry.media_url, alt: "图片" }))); break;
    case "file": body = el("div", { class: "bubble file" }, el("span", { class: "tag" }, "文件"), " ", el("a", { href: entry.media_url, download: entry.filename || "文件" }, entry.filename || "文件"), el("small", {}, " 点击下载")); break;
    case "textcard": body = el("div", { class: "card" }, el("h3", {}, p.title), el("p", { class: "desc" }, (p.description || "").replace(/<[^>]+>/g, "")), link(p.url, p.btntxt || "详情")); break;
    case "news": body = el("div", { class: "card" }, ...(p.articles || []).map((a) => link(a.url, a.title))); break;
    case "template_card": body = renderCard(entry); break;
    case "event": body = el("div", { class: "system" }, entry.text); break;
    default: body = renderText(`[${entry.msgtype}]`);
  }
  return el("div", { class: "msg " + (mine ? "me" : "app"), "data-entry-id": entry.id, "data-msgtype": entry.msgtype }, body);
}

async function poll() {
  if (!state.current) return;
  const userid = state.current.userid;
  try {
    const data = await api(`conversation?userid=${encodeURIComponent(userid)}`);
    if (!state.current || state.current.userid !== userid) return;
    if (data.version === state.lastSeen) return;
    state.lastSeen = data.version;
    const box = $("messages");
    box.replaceChildren(...data.entries.map(renderEntry));
    box.scrollTop = box.scrollHeight;
  } catch (err) { /* 下一次轮询再试 */ }
}

$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text || !state.current) return;
  $("text").value = "";
  await act("text", { content: text });
});

$("photo").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file || !state.current) return;
  const form = new FormData();
  form.append("userid", state.current.userid);
  form.append("media", file);
  const r = await fetch("api/photo", { method: "POST", body: form });
  if (!r.ok) $("messages").append(el("div", { class: "system" }, "照片发送失败"));
  event.target.value = "";
  setTimeout(poll, 150);
});

$("search").addEventListener("input", renderPeople);

// 企业微信发给应用的事件：进入应用时上报的位置，通讯录变更（来自 sys）。
$("location").addEventListener("click", () => state.current && act("location", { latitude: 31.2304, longitude: 121.4737 }));
$("contact-rename").addEventListener("click", async () => {
  if (!state.current) return;
  const next = window.prompt(`把 ${state.current.userid} 的企业微信账号改为：`);
  if (next && next.trim()) await act("contact", { change_type: "update_user", new_userid: next.trim() });
});
$("contact-delete").addEventListener("click", async () => {
  if (!state.current || !window.confirm(`从通讯录删除 ${state.current.name}？`)) return;
  await act("contact", { change_type: "delete_user" });
});

(async function start() {
  const [people, menu] = await Promise.all([api("people"), api("menu")]);
  state.people = people.people;
  state.menu = menu.buttons;
  renderPeople();
  const wanted = new URLSearchParams(location.search).get("as");
  const first = state.people.find((p) => p.userid === wanted);
  if (first) choose(first);
  setInterval(poll, 1000);
})();
