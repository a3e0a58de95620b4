/**
 * /static/upload-progress.js: the welcome page's upload form sent by XMLHttpRequest, so the page
 * shows how much of the file has gone (a 150 MB upload takes seconds). Without JavaScript the form
 * posts as usual; either way the answer is the same 303 to the file's info page.
 */
export const UPLOAD_PROGRESS_JS = `"use strict";
(() => {
  const form = document.getElementById("welcome-upload");
  const bar = document.getElementById("upload-progress");
  const status = document.getElementById("upload-status");
  if (!form || !bar || !status || typeof XMLHttpRequest !== "function") return;
  const say = (text, bad) => {
    status.textContent = text;
    status.className = bad ? "not-ready" : "";
  };
  form.addEventListener("submit", (event) => {
    const input = form.querySelector("input[type=file]");
    if (!input || !input.files || input.files.length !== 1) return;
    event.preventDefault();
    const submit = form.querySelector("input[type=submit]");
    if (submit) submit.disabled = true;
    bar.hidden = false;
    bar.removeAttribute("value");
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.onprogress = (e) => {
      if (!e.lengthComputable || e.total === 0) return;
      bar.max = e.total;
      bar.value = e.loaded;
      say("Sending " + input.files[0].name + ": " + Math.floor((100 * e.loaded) / e.total) + "%", false);
    };
    xhr.upload.onload = () => {
      bar.removeAttribute("value");
      say("Sent; the node is storing the shares on the servers...", false);
    };
    const failed = (text) => {
      bar.hidden = true;
      if (submit) submit.disabled = false;
      say(text, true);
    };
    xhr.onload = () => {
      // The 303 was followed: the info page's URL is where the result lives (a reload shows it again).
      if (xhr.status === 200 && xhr.responseURL) return window.location.assign(xhr.responseURL);
      const page = new DOMParser().parseFromString(xhr.responseText, "text/html");
      const error = page.querySelector(".error");
      failed("Upload failed (" + xhr.status + "): " + (error ? error.textContent.replace(/\\s+/g, " ").trim() : xhr.statusText));
    };
    xhr.onerror = () => failed("Upload failed: the connection to the node was lost.");
    say("Starting the upload...", false);
    xhr.send(new FormData(form));
  });
})();
`;
