/**
 * /static/directory.js: what the directory page does with JavaScript. Every action also works
 * without it (plain forms, a confirmation page, a rename page); the script only makes them nicer:
 * uploads of several files (chosen or dropped) with a progress bar each, a confirmation dialog
 * before a delete, renaming in place, copy-to-clipboard buttons for caps, and link times shown
 * in the reader's own time zone. It loads from 'self' under the strict CSP: no inline script.
 */
export const DIRECTORY_JS = `"use strict";
(() => {
  const status = document.createElement("p");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  document.body.append(status);
  const announce = (text) => { status.textContent = text; };
  const titleElement = document.getElementById("directory-title");
  const here = (titleElement && titleElement.dataset.here) || window.location.pathname;

  for (const t of document.querySelectorAll("time[data-local]")) {
    const when = new Date(t.getAttribute("datetime"));
    if (Number.isNaN(when.getTime())) continue;
    t.title = t.textContent;
    t.textContent = when.toLocaleString();
  }

  const copyText = async (text) => {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Older browsers, or a clipboard the page may not use: the selection route.
      const area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.append(area);
      area.select();
      let ok = false;
      try { ok = document.execCommand("copy"); } catch { ok = false; }
      area.remove();
      return ok;
    }
  };
  for (const button of document.querySelectorAll("button.copy-cap")) {
    button.hidden = false;
    const label = button.textContent;
    button.addEventListener("click", async () => {
      const ok = await copyText(button.dataset.cap || "");
      button.textContent = ok ? "Copied" : "Could not copy: select the cap instead";
      announce(ok ? "Cap copied to the clipboard." : "Could not copy the cap.");
      setTimeout(() => { button.textContent = label; }, 2500);
    });
  }

  const dialog = document.getElementById("delete-dialog");
  if (dialog && typeof dialog.showModal === "function") {
    const form = dialog.querySelector("form");
    const nameField = form.querySelector("input[name=name]");
    const cancel = dialog.querySelector("button.secondary");
    let opener = null;
    cancel.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => { if (opener) opener.focus(); });
    for (const link of document.querySelectorAll("a.dir-delete")) {
      link.addEventListener("click", (event) => {
        event.preventDefault();
        opener = link;
        nameField.value = link.dataset.name;
        dialog.querySelector(".delete-name").textContent = link.dataset.name;
        dialog.showModal();
        // Cancel has the focus: Enter on an unread dialog must not delete anything.
        cancel.focus();
      });
    }
  }

  const hidden = (name, value) => {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    return input;
  };
  for (const link of document.querySelectorAll("a.dir-rename")) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      const cell = link.closest("tr").querySelector("td.entry");
      if (cell.querySelector("form")) return;
      const name = link.dataset.name;
      const form = document.createElement("form");
      form.method = "post";
      form.action = here + "?t=rename";
      form.className = "inline-rename";
      const id = "rename-" + Math.random().toString(36).slice(2);
      const label = document.createElement("label");
      label.htmlFor = id;
      label.className = "visually-hidden";
      label.textContent = "New name for " + name;
      const input = document.createElement("input");
      input.type = "text";
      input.id = id;
      input.name = "to_name";
      input.value = name;
      input.required = true;
      input.autocomplete = "off";
      const save = document.createElement("button");
      save.type = "submit";
      save.textContent = "Save";
      const cancel = document.createElement("button");
      cancel.type = "button";
      cancel.className = "secondary";
      cancel.textContent = "Cancel";
      form.append(hidden("when_done", here), hidden("notice", "true"),
        hidden("from_name", name), label, input, " ", save, cancel);
      const before = [...cell.childNodes];
      const restore = () => { cell.replaceChildren(...before); link.focus(); };
      cancel.addEventListener("click", restore);
      input.addEventListener("keydown", (e) => { if (e.key === "Escape") { e.preventDefault(); restore(); } });
      cell.replaceChildren(form);
      input.focus();
      input.select();
    });
  }

  const upload = document.getElementById("dir-upload");
  if (!upload || typeof XMLHttpRequest !== "function" || typeof FormData !== "function") return;
  const files = upload.querySelector("input[type=file]");
  const nameInput = document.getElementById("upload-name");
  const list = document.getElementById("upload-list");
  const zone = document.getElementById("drop-zone");
  const submit = upload.querySelector("button[type=submit]");
  document.getElementById("drop-hint").hidden = false;

  const errorText = (xhr) => {
    if ((xhr.getResponseHeader("Content-Type") || "").startsWith("text/html")) {
      const page = new DOMParser().parseFromString(xhr.responseText, "text/html");
      const error = page.querySelector(".error");
      if (error) return error.textContent.replace(/\\s+/g, " ").trim();
    }
    return xhr.responseText.trim().slice(0, 400) || xhr.statusText;
  };

  /** One file, one XHR, one progress bar; resolves with the name it was linked under, or null. */
  const sendOne = (item) => new Promise((resolve) => {
    const { file, name, bar, state, li } = item;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", upload.action);
    xhr.upload.onprogress = (e) => {
      if (!e.lengthComputable || e.total === 0) return;
      bar.max = e.total;
      bar.value = e.loaded;
      state.textContent = Math.floor((100 * e.loaded) / e.total) + "% sent";
    };
    xhr.upload.onload = () => { state.textContent = "sent; storing on the servers"; };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        bar.max = 1;
        bar.value = 1;
        state.textContent = "done";
        li.classList.add("ready");
        return resolve(name);
      }
      state.textContent = "failed (" + xhr.status + "): " + errorText(xhr);
      li.classList.add("not-ready");
      resolve(null);
    };
    xhr.onerror = () => {
      state.textContent = "failed: the connection to the node was lost";
      li.classList.add("not-ready");
      resolve(null);
    };
    const data = new FormData();
    if (name !== file.name) data.append("name", name);
    data.append("file", file, file.name);
    state.textContent = "starting";
    xhr.send(data);
  });

  const start = async (chosen, givenName) => {
    if (chosen.length === 0) return;
    if (chosen.length > 1 && givenName !== "") {
      announce("A name is for one file: leave the name empty to upload several.");
      list.replaceChildren(Object.assign(document.createElement("li"), {
        className: "not-ready",
        textContent: "A name is for one file: leave the name empty to upload several files under their own names.",
      }));
      return;
    }
    submit.disabled = true;
    list.replaceChildren();
    const items = [...chosen].map((file) => {
      const name = givenName || file.name;
      const li = document.createElement("li");
      const label = document.createElement("span");
      label.className = "upload-name";
      label.textContent = name;
      const bar = document.createElement("progress");
      bar.max = Math.max(1, file.size);
      bar.value = 0;
      bar.setAttribute("aria-label", "Upload of " + name);
      const state = document.createElement("span");
      state.className = "upload-state";
      state.textContent = "waiting";
      li.append(label, bar, state);
      list.append(li);
      return { file, name, bar, state, li };
    });
    announce("Uploading " + items.length + " file" + (items.length === 1 ? "" : "s") + ".");
    const linked = [];
    // One at a time: the node encodes each upload with all its might; two would only share it.
    for (const item of items) {
      const name = await sendOne(item);
      if (name !== null) linked.push(name);
    }
    if (linked.length === items.length) {
      window.location.assign(here + "?done=uploaded&name=" + encodeURIComponent(linked.join("/")));
      return;
    }
    submit.disabled = false;
    announce("Some uploads failed; see the list.");
    const again = document.createElement("li");
    const link = document.createElement("a");
    link.href = here + (linked.length ? "?done=uploaded&name=" + encodeURIComponent(linked.join("/")) : "");
    link.textContent = "Show the directory with the files that did upload";
    again.append(link);
    list.append(again);
  };

  upload.addEventListener("submit", (event) => {
    event.preventDefault();
    start(files.files, nameInput.value.trim());
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    if (event.dataTransfer) start(event.dataTransfer.files, "");
  });
})();
`;
