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
    faces.forEach((f) => {
      const [x0, y0, x1, y1] = f.box.map((v) => v * scale);
      const colour = f.skipped ? "#999999" : "#3b7ddd";  // grey: too small for attributes
      ctx.strokeStyle = colour;
      ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
      ctx.fillStyle = colour; ctx.font = "bold 14px system-ui";
      ctx.fillText(String(f.face), x0 + 4, y0 + 16);  // the record's index, from 0
    });
    URL.revokeObjectURL(img.src);
  };
  img.src = URL.createObjectURL(file);
}

// The face the page opens on: the widest face that has attributes (else the first).
function openingFace(faces) {
  let best = 0, width = -1;
  faces.forEach((f, i) => {
    const w = f.box ? f.box[2] - f.box[0] : 0;
    if (!f.skipped && w > width) { best = i; width = w; }
  });
  return best;
}

function renderFaces(faces, thresholds) {
  const tabs = $("faces");
  tabs.innerHTML = "";
  const first = openingFace(faces);
  faces.forEach((f, i) => {
    const b = document.createElement("button");
    b.textContent = `Face ${f.face}`;  // the record's index, from 0, as the CLI numbers faces
    b.className = i === first ? "active" : "";
    b.onclick = () => {
      [...tabs.children].forEach((c) => (c.className = ""));
      b.className = "active";
      renderFace(f, thresholds);
    };
    tabs.appendChild(b);
  });
  tabs.hidden = faces.length < 2;
  renderFace(faces[first], thresholds);
}

// An old answer never stays beside a new error: the picture, the tabs and the bars go.
function clearResult() {
  const c = $("canvas");
  c.width = 0; c.height = 0;
  $("results").innerHTML = "";
  $("faces").innerHTML = ""; $("faces").hidden = true;
  $("download").hidden = true;
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
  if (face.age != null || face.expression) out.appendChild(ageAndExpression(face));
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

// Age (with the range that holds the true age about 80% of the time) and the expression bars.
function ageAndExpression(face) {
  const box = document.createElement("div");
  box.className = "group summary";
  box.id = "age-expression";
  if (face.age != null) {
    const [lo, hi] = face.age_range || [face.age, face.age];
    const p = document.createElement("p");
    p.className = "age";
    p.textContent = `Age ${Math.round(face.age)} (${Math.round(lo)}–${Math.round(hi)})`;
    box.appendChild(p);
  }
  if (face.expressions) {
    const h = document.createElement("h2");
    h.textContent = `Expression: ${face.expression}`;
    box.appendChild(h);
    const ranked = Object.entries(face.expressions).sort((a, b) => b[1] - a[1]);
    for (const [e, p] of ranked) {
      const row = document.createElement("div");
      row.className = "attr expr" + (e === face.expression ? " on" : "");
      row.dataset.expression = e;
      row.innerHTML = `<span class="name">${e}</span>
        <span class="track"><span class="fill" style="width:${(p * 100).toFixed(1)}%"></span></span>
        <span class="pct">${(p * 100).toFixed(0)}%</span>`;
      box.appendChild(row);
    }
  }
  return box;
}

// "31 y, happiness" for a face of a model with those tasks, else "".
function shortAgeExpression(f) {
  const parts = [];
  if (f.age != null) parts.push(`${Math.round(f.age)} y`);
  if (f.expression) parts.push(f.expression);
  return parts.join(", ");
}

let pictures = [];  // [{file, result}] of the last upload

// Several pictures at once (at most 16, the service's limit): one request, one tab each.
async function upload(fileList) {
  const files = [...fileList].slice(0, 16);
  if (!files.length) return;
  if (!groups) await loadGroups();
  clearResult();
  $("pictures").innerHTML = ""; $("pictures").hidden = true;
  setStatus(`Recognising ${files.length > 1 ? files.length + " pictures" : files[0].name} …`);
  const mode = $("threshold").value;
  const body = new FormData();
  files.forEach((f) => body.append("files", f));
  const r = await fetch(`/v1/predict?threshold=${encodeURIComponent(mode)}`, { method: "POST", body });
  const data = await r.json();
  if (!r.ok) { setStatus(data.detail || `error ${r.status}`, true); return; }
  const attrs = await (await fetch("/v1/attributes")).json();
  const thresholds = mode === "tuned" ? attrs.tuned_thresholds : attrs.thresholds;
  pictures = files.map((file, i) => ({ file, result: data.results[i] }));
  const tabs = $("pictures");
  pictures.forEach((p, i) => {
    const b = document.createElement("button");
    b.textContent = p.result.file;
    b.className = i === 0 ? "active" : "";
    b.onclick = () => {
      [...tabs.children].forEach((c) => (c.className = ""));
      b.className = "active";
      showPicture(i, thresholds, data.model);
    };
    tabs.appendChild(b);
  });
  tabs.hidden = pictures.length < 2;
  showPicture(0, thresholds, data.model);
}

function showPicture(i, thresholds, model) {
  clearResult();
  const { file, result: res } = pictures[i];
  if (!res.faces.length) { setStatus(res.error || `${res.file}: no face found`, true); return; }
  drawPicture(file, res.faces);
  renderFaces(res.faces, thresholds);
  const n = res.faces.length;
  const link = $("download");
  link.hidden = false;
  link.onclick = () => downloadAnnotated(file);
  setStatus(`${res.file}: ${res.width}×${res.height}, ${n} face${n > 1 ? "s" : ""}, model ${model}`);
}

// The picture as `faceattr predict --annotate` draws it (faceattr.draw on the server).
async function downloadAnnotated(file) {
  const body = new FormData();
  body.append("file", file);
  const r = await fetch(`/v1/annotate?threshold=${encodeURIComponent($("threshold").value)}`,
                        { method: "POST", body });
  if (!r.ok) { setStatus((await r.json()).detail || `error ${r.status}`, true); return; }
  const a = document.createElement("a");
  a.href = URL.createObjectURL(await r.blob());
  a.download = file.name.replace(/\.[^.]*$/, "") + ".annotated.jpg";
  a.click();
  URL.revokeObjectURL(a.href);
}

$("file").addEventListener("change", (e) => upload(e.target.files));
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault(); drop.classList.remove("over");
  upload(e.dataTransfer.files);
});
$("threshold").addEventListener("change", () => upload($("file").files));
loadGroups();

// ---- camera mode: small frames to the service a few times a second, boxes drawn live ----------
// Nothing is stored on the server: each frame is one /v1/predict request, answered and dropped.
// One request at a time: a frame is skipped while the previous answer is outstanding, so a
// slow server is never flooded (it answers 503 beyond its queue anyway).
let live = null;
const FRAME_WIDTH = 480;  // px sent per frame: enough for faces of a webcam, small to upload
const FRAME_EVERY_MS = 250;

async function startCamera() {
  if (live) return;
  if (!groups) await loadGroups();
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (e) {
    setStatus(`The camera is not available: ${e.message}`, true);
    return;
  }
  const video = $("video");
  video.srcObject = stream;
  await video.play();
  live = { stream, busy: false, frames: 0, timer: setInterval(sendFrame, FRAME_EVERY_MS) };
  $("live").hidden = false; $("camera").hidden = true; $("stop").hidden = false;
  $("picture").hidden = true; $("faces").hidden = true; $("results").innerHTML = "";
  setStatus("Camera on: faces are recognised live.");
}

function stopCamera() {
  if (!live) return;
  clearInterval(live.timer);
  live.stream.getTracks().forEach((t) => t.stop());
  $("video").srcObject = null;
  live = null;
  $("live").hidden = true; $("camera").hidden = false; $("stop").hidden = true;
  $("picture").hidden = false; $("live-faces").innerHTML = "";
  setStatus("Camera off.");
}

async function sendFrame() {
  if (!live || live.busy) return;
  const video = $("video");
  if (!video.videoWidth) return;
  live.busy = true;
  try {
    const scale = Math.min(1, FRAME_WIDTH / video.videoWidth);
    const grab = document.createElement("canvas");
    grab.width = Math.round(video.videoWidth * scale);
    grab.height = Math.round(video.videoHeight * scale);
    grab.getContext("2d").drawImage(video, 0, 0, grab.width, grab.height);
    const blob = await new Promise((resolve) => grab.toBlob(resolve, "image/jpeg", 0.8));
    const body = new FormData();
    body.append("files", blob, "camera.jpg");
    const mode = $("threshold").value;
    const r = await fetch(`/v1/predict?threshold=${encodeURIComponent(mode)}`, { method: "POST", body });
    if (!live) return;  // stopped while waiting
    if (r.ok) {
      const res = (await r.json()).results[0];
      drawLive(res.faces || [], grab.width, grab.height);
      live.frames += 1;
    }
  } catch (e) {
    // a dropped request: the next frame tries again
  } finally {
    if (live) live.busy = false;
  }
}

function drawLive(faces, w, h) {
  const overlay = $("overlay"), video = $("video");
  overlay.width = video.clientWidth; overlay.height = video.clientHeight;
  const sx = overlay.width / w, sy = overlay.height / h;
  const ctx = overlay.getContext("2d");
  ctx.clearRect(0, 0, overlay.width, overlay.height);
  ctx.lineWidth = 3; ctx.font = "bold 13px system-ui";
  const list = $("live-faces");
  list.innerHTML = "";
  faces.forEach((f) => {
    const [x0, y0, x1, y1] = f.box;
    const colour = f.skipped ? "#999999" : "#3b7ddd";
    ctx.strokeStyle = colour;
    ctx.strokeRect(x0 * sx, y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy);
    const top = Object.keys(f.decisions || {}).filter((a) => f.decisions[a])
      .sort((a, b) => f.probabilities[b] - f.probabilities[a]).slice(0, 3)
      .map((a) => a.replaceAll("_", " "));
    const head = shortAgeExpression(f);
    const what = [head, top.join(", ")].filter((s) => s).join("; ") || "(none)";
    const label = `${f.face}: ${f.skipped ? "too small" : what}`;
    ctx.fillStyle = colour;
    ctx.fillRect(x0 * sx, y1 * sy, ctx.measureText(label).width + 8, 18);
    ctx.fillStyle = "#fff";
    ctx.fillText(label, x0 * sx + 4, y1 * sy + 13);
    const li = document.createElement("li");
    li.className = "live-face";
    li.textContent = label;
    list.appendChild(li);
  });
  overlay.dataset.faces = String(faces.length);
}

$("camera").addEventListener("click", startCamera);
$("stop").addEventListener("click", stopCamera);
window.addEventListener("pagehide", stopCamera);  // leaving the page stops the camera
document.addEventListener("visibilitychange", () => { if (document.hidden) stopCamera(); });
