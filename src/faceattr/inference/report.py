"""``predict ... --report report.html``: a contact sheet to check the answers by eye.

One self-contained HTML file: a thumbnail of every answered face (cut from its photo), with
its age, expression and the attributes decided present, sortable (by an attribute's
probability, by age, by file) and filterable (an attribute present or absent, an expression),
each linked to its photo. The data sit in the page as JSON; nothing is loaded from elsewhere.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path

from faceattr.errors import FaceAttrError
from faceattr.results import Prediction

THUMB = 112  # px, the side of a face's thumbnail


def thumbnail(source: str, preds: Sequence[Prediction]) -> list[str]:
    """A JPEG data URI of each face of one photo (the box with a margin, square)."""
    from faceattr.preprocess.image import decode_reduced

    image, scale = decode_reduced(source, long=1600)  # enough for a thumbnail of any face
    out = []
    for p in preds:
        x0, y0, x1, y1 = (v / scale for v in p.where() or (0, 0, *image.size))
        side = 1.4 * max(x1 - x0, y1 - y0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        face = image.crop((round(cx - side / 2), round(cy - side / 2),
                           round(cx + side / 2), round(cy + side / 2)))
        buf = io.BytesIO()
        face.resize((THUMB, THUMB)).save(buf, "JPEG", quality=80)
        out.append("data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode())
    return out


def write_report(path: Path, by_file: dict[str, list[Prediction]], attributes: Sequence[str],
                 expressions: Sequence[str] = ()) -> int:
    """Write the report of the answered faces of ``by_file`` (input -> its predictions) to
    ``path``; returns the number of faces in it."""
    faces = []
    here = path.resolve().parent
    for source, preds in by_file.items():
        answered = [p for p in preds if p.ok and not p.skipped and p.probabilities
                    and not (p.video is not None and p.video.frames is None)]
        if not answered:
            continue
        try:
            thumbs = thumbnail(source, answered) if answered[0].video is None else \
                [""] * len(answered)
        except FaceAttrError:
            thumbs = [""] * len(answered)
        link = os.path.relpath(Path(source).resolve(), here)
        for p, thumb in zip(answered, thumbs):
            faces.append({
                "file": p.source, "link": Path(link).as_posix(), "face": p.face_index,
                "track": None if p.video is None else p.video.track, "thumb": thumb,
                "age": None if p.age is None else round(p.age, 1),
                "expression": p.expression,
                "p": {a: round(v, 3) for a, v in p.probabilities.items()},
                "present": p.present})
    data = json.dumps({"attributes": list(attributes), "expressions": list(expressions),
                       "faces": faces}).replace("</", "<\\/")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(PAGE.replace("{{DATA}}", data).replace("{{TITLE}}", html.escape(path.stem)),
                   encoding="utf-8")
    os.replace(tmp, path)
    return len(faces)


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>faceattr report: {{TITLE}}</title>
<style>
body { font: 14px/1.35 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2330; }
header { position: sticky; top: 0; background: #fff; border-bottom: 1px solid #dde;
  padding: .6rem 1rem; display: flex; gap: 1rem; flex-wrap: wrap; align-items: center; }
header h1 { font-size: 1.1rem; margin: 0 1rem 0 0; }
#sheet { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr));
  gap: .6rem; padding: 1rem; }
.card { background: #fff; border: 1px solid #dde; border-radius: 6px; padding: .4rem;
  font-size: 12px; }
.card img { width: 100%; aspect-ratio: 1; object-fit: cover; border-radius: 4px; }
.card .who { font-weight: 600; overflow-wrap: anywhere; }
.card .what { color: #555; }
.card .value { color: #3b7ddd; font-weight: 600; }
</style></head><body>
<header><h1>faceattr: <span id="count"></span> faces</h1>
<label>Filter <select id="attr"><option value="">(all faces)</option></select></label>
<select id="state"><option value="1">present</option><option value="0">absent</option></select>
<label>Expression <select id="expr"><option value="">(any)</option></select></label>
<label>Sort by <select id="sort"><option value="file">file</option>
<option value="age">age</option></select></label>
<select id="order"><option value="desc">high first</option><option value="asc">low first</option>
</select></header>
<main id="sheet"></main>
<script>
"use strict";
const DATA = {{DATA}};
const $ = (id) => document.getElementById(id);
for (const a of DATA.attributes) {
  $("attr").add(new Option(a.replaceAll("_", " "), a));
  $("sort").add(new Option(a.replaceAll("_", " "), a));
}
for (const e of DATA.expressions) $("expr").add(new Option(e, e));
function key(f, by) {
  if (by === "file") return f.file + "#" + String(f.face).padStart(4, "0");
  if (by === "age") return f.age ?? -1;
  return f.p[by];
}
function render() {
  const a = $("attr").value, want = $("state").value === "1", e = $("expr").value;
  const by = $("sort").value, sign = $("order").value === "asc" ? 1 : -1;
  let faces = DATA.faces.filter((f) => (!a || f.present.includes(a) === want) &&
                                       (!e || f.expression === e));
  faces = faces.slice().sort((x, y) => {
    const kx = key(x, by), ky = key(y, by);
    return by === "file" ? (kx < ky ? -1 : kx > ky ? 1 : 0) : sign * (kx - ky);
  });
  $("count").textContent = faces.length;
  const sheet = $("sheet");
  sheet.innerHTML = "";
  for (const f of faces) {
    const card = document.createElement("a");
    card.className = "card"; card.href = f.link; card.target = "_blank";
    card.dataset.file = f.file; card.dataset.face = f.face;
    const img = document.createElement("img");
    img.src = f.thumb; img.alt = `${f.file} face ${f.face}`; img.loading = "lazy";
    const who = document.createElement("div");
    who.className = "who";
    who.textContent = `${f.file.split("/").pop()} · face ${f.face}`;
    const what = document.createElement("div");
    what.className = "what";
    const head = [f.age != null ? `${Math.round(f.age)} y` : "", f.expression || ""]
      .filter(Boolean).join(", ");
    what.textContent = [head, f.present.slice(0, 5).map((x) => x.replaceAll("_", " "))
      .join(", ")].filter(Boolean).join("; ");
    card.append(img, who, what);
    if (by !== "file") {
      const v = document.createElement("div");
      v.className = "value";
      v.textContent = by === "age" ? `age ${f.age ?? "-"}` : `${by}: ${key(f, by).toFixed(2)}`;
      card.append(v);
    }
    sheet.append(card);
  }
}
for (const id of ["attr", "state", "expr", "sort", "order"]) $(id).onchange = render;
render();
</script></body></html>
"""
