// faceattr page: upload a picture, draw the face box, show grouped probability bars.
"use strict";
const $ = (id) => document.getElementById(id);
let groups = null;

async function loadGroups() {
  const r = await fetch("/v1/attributes");
  groups = (await r.json()).groups;
}

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

function drawPicture(file, faces) {
  const img = new Image();
  img.onload = () => {
    const c = $("canvas"), ctx = c.getContext("2d");
    const scale = Math.min(1, 400 / img.width);
    c.width = img.width * scale; c.height = img.height * scale;
    ctx.drawImage(img, 0, 0, c.width, c.height);
    ctx.strokeStyle = "#3b7ddd"; ctx.lineWidth = 3;
    faces.forEach((f, i) => {
      const [x0, y0, x1, y1] = f.box.map((v) => v * scale);
      const colour = f.skipped ? "#999999" : "#3b7ddd";  // grey: too small for attributes
      ctx.strokeStyle = colour;
      ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
      ctx.fillStyle = colour; ctx.font = "bold 14px system-ui";
      ctx.fillText(String(i + 1), x0 + 4, y0 + 16);
    });
    URL.revokeObjectURL(img.src);
  };
  img.src = URL.createObjectURL(file);
}

function renderFaces(faces, thresholds) {
  const tabs = $("faces");
  tabs.innerHTML = "";
  faces.forEach((f, i) => {
    const b = document.createElement("button");
    b.textContent = `Face ${i + 1}`;
    b.className = i === 0 ? "active" : "";
    b.onclick = () => {
      [...tabs.children].forEach((c) => (c.className = ""));
      b.className = "active";
      renderFace(f, thresholds);
    };
    tabs.appendChild(b);
  });
  tabs.hidden = faces.length < 2;
  renderFace(faces[0], thresholds);
}

function renderFace(face, thresholds) {
  const out = $("results");
  out.innerHTML = "";
  if (face.skipped) {  // reported, but no attributes: say why
    const note = document.createElement("p");
    note.className = "skipped";
    note.textContent = `No attributes: ${face.skipped}.`;
    out.appendChild(note);
    return;
  }
  for (const [group, names] of Object.entries(groups)) {
    const box = document.createElement("div");
    box.className = "group";
    box.innerHTML = `<h2>${group}</h2>`;
    for (const a of names) {
      const p = face.probabilities[a], on = face.decisions[a], t = thresholds[a];
      const row = document.createElement("div");
      row.className = "attr" + (on ? " on" : "");
      row.dataset.attribute = a;
      row.title = `${a}: ${(p * 100).toFixed(1)}% (threshold ${(t * 100).toFixed(0)}%)`;
      row.innerHTML = `<span class="name">${a.replaceAll("_", " ")}</span>
        <span class="track"><span class="fill" style="width:${(p * 100).toFixed(1)}%"></span>
        <span class="thr" style="left:${(t * 100).toFixed(1)}%"></span></span>
        <span class="pct">${(p * 100).toFixed(0)}%</span>`;
      box.appendChild(row);
    }
    out.appendChild(box);
  }
}

async function upload(file) {
  if (!groups) await loadGroups();
  setStatus(`Recognising ${file.name} …`);
  const mode = $("threshold").value;
  const body = new FormData();
  body.append("files", file);
  const r = await fetch(`/v1/predict?threshold=${encodeURIComponent(mode)}`, { method: "POST", body });
  const data = await r.json();
  if (!r.ok) { setStatus(data.detail || `error ${r.status}`, true); return; }
  const res = data.results[0];
  if (!res.faces.length) { setStatus(res.error || `${res.file}: no face found`, true); return; }
  const attrs = await (await fetch("/v1/attributes")).json();
  const thresholds = mode === "tuned" ? attrs.tuned_thresholds : attrs.thresholds;
  drawPicture(file, res.faces);
  renderFaces(res.faces, thresholds);
  const n = res.faces.length;
  setStatus(`${res.file}: ${res.width}×${res.height}, ${n} face${n > 1 ? "s" : ""}, model ${data.model}`);
}

$("file").addEventListener("change", (e) => { if (e.target.files[0]) upload(e.target.files[0]); });
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault(); drop.classList.remove("over");
  if (e.dataTransfer.files[0]) upload(e.dataTransfer.files[0]);
});
$("threshold").addEventListener("change", () => { const f = $("file").files[0]; if (f) upload(f); });
loadGroups();
