// The document viewer: renders one page of a PDF with pdf.js and marks the cited sentences.
const main = document.getElementById("viewer");
const base = main.dataset.pdfjs;   // this server's /pdfjs/ (under its script root)
const texts = JSON.parse(main.dataset.texts || "[]");
// A scanned page of the citation has no text layer: the server gives its OCR word boxes,
// [text, left, top, right, bottom] in fractions of the page.
const words = JSON.parse(main.dataset.words || "[]");
const pdfjs = await import(base + "build/pdf.min.mjs");
pdfjs.GlobalWorkerOptions.workerSrc = base + "build/pdf.worker.min.mjs";

// Letters and digits only, lower-cased: the sentence as stored (hyphens joined, spaces
// normalised) and the page's text runs meet on this form.
const KEEP = /[\p{L}\p{N}]/u;
function flatten(items) {
  const chars = [], owners = [];
  items.forEach((item, i) => {
    for (let j = 0; j < item.str.length; j++) {
      const c = item.str[j];
      if (KEEP.test(c)) { chars.push(c.toLowerCase()); owners.push([i, j]); }
    }
  });
  return { text: chars.join(""), owners };
}
function key(sentence) {
  return Array.from(sentence).filter((c) => KEEP.test(c)).join("").toLowerCase();
}

// Wrap [from, to) of a text run's characters in <mark>.
function markRun(div, from, to) {
  const text = div.textContent;
  div.textContent = "";
  if (from > 0) div.append(text.slice(0, from));
  const mark = document.createElement("mark");
  mark.textContent = text.slice(from, to);
  div.append(mark);
  if (to < text.length) div.append(text.slice(to));
}

// Where each cited sentence is in a page's flattened text: [sentence, first char, length].
function* foundIn(flat) {
  for (const sentence of texts) {
    const k = key(sentence);
    const at = k ? flat.text.indexOf(k) : -1;
    if (at >= 0) yield [sentence, at, k.length];
  }
}

function highlight(items, divs) {
  const flat = flatten(items);
  let found = 0;
  for (const [, at, length] of foundIn(flat)) {
    found++;
    const ranges = new Map();   // text run -> [first char, last char + 1]
    for (let n = at; n < at + length; n++) {
      const [i, j] = flat.owners[n];
      const r = ranges.get(i);
      ranges.set(i, r ? [r[0], j + 1] : [j, j + 1]);
    }
    // The sentence's closing punctuation (not in the key) is marked with it.
    const [lastRun] = flat.owners[at + length - 1];
    const tail = ranges.get(lastRun);
    const str = items[lastRun].str;
    while (tail[1] < str.length && /[.!?。！？'"”’)\]]/u.test(str[tail[1]])) tail[1]++;
    for (const [i, [from, to]] of ranges) {
      if (divs[i]) markRun(divs[i], from, to);
    }
  }
  return found;
}

// Rectangles over the OCR'd words of each cited sentence found on a scanned page.
function markWords(layer) {
  const flat = flatten(words.map((w) => ({ str: String(w[0]) })));
  let found = 0;
  for (const [sentence, at, length] of foundIn(flat)) {
    found++;
    const hit = new Set();
    for (let n = at; n < at + length; n++) hit.add(flat.owners[n][0]);
    for (const i of hit) {
      const [, left, top, right, bottom] = words[i];
      const mark = document.createElement("mark");
      mark.className = "ocr-mark";
      mark.title = sentence;
      mark.style.left = `${left * 100}%`;
      mark.style.top = `${top * 100}%`;
      mark.style.width = `${(right - left) * 100}%`;
      mark.style.height = `${(bottom - top) * 100}%`;
      layer.append(mark);
    }
  }
  return found;
}

let pdf = null;
let current = Math.max(1, parseInt(main.dataset.page, 10) || 1);

async function show(number) {
  const page = await pdf.getPage(number);
  const scale = Math.min(2, Math.max(1, (main.clientWidth - 24) / page.getViewport({ scale: 1 }).width));
  const viewport = page.getViewport({ scale });
  const ratio = window.devicePixelRatio || 1;
  const canvas = document.getElementById("canvas");
  canvas.width = Math.floor(viewport.width * ratio);
  canvas.height = Math.floor(viewport.height * ratio);
  canvas.style.width = `${Math.floor(viewport.width)}px`;
  canvas.style.height = `${Math.floor(viewport.height)}px`;
  const box = document.getElementById("page");
  for (const [name, value] of [["--scale-factor", scale], ["--total-scale-factor", scale],
    ["--user-unit", 1], ["--scale-round-x", "1px"], ["--scale-round-y", "1px"]]) {
    box.style.setProperty(name, value);
  }
  await page.render({ canvas, canvasContext: canvas.getContext("2d"), viewport,
    transform: ratio !== 1 ? [ratio, 0, 0, ratio, 0, 0] : null }).promise;
  const layer = document.getElementById("text");
  layer.replaceChildren();
  const content = await page.getTextContent();
  const textLayer = new pdfjs.TextLayer({ textContentSource: content, container: layer, viewport });
  await textLayer.render();
  let marked = number === current ? highlight(content.items, textLayer.textDivs) : 0;
  const ocrLayer = document.getElementById("ocr");
  ocrLayer.replaceChildren();
  if (number === current && !marked && words.length) marked = markWords(ocrLayer);
  document.getElementById("where").textContent = `Page ${number} of ${pdf.numPages}`;
  document.getElementById("prev").disabled = number <= 1;
  document.getElementById("next").disabled = number >= pdf.numPages;
  main.dataset.shown = String(number);
  main.dataset.marked = String(marked);
  const first = layer.querySelector("mark") || ocrLayer.querySelector("mark");
  if (first) first.scrollIntoView({ block: "center" });
}

async function open() {
  pdf = await pdfjs.getDocument({
    url: main.dataset.src, isEvalSupported: false, enableXfa: false,
    cMapUrl: base + "cmaps/", cMapPacked: true, standardFontDataUrl: base + "standard_fonts/",
  }).promise;
  current = Math.min(current, pdf.numPages);
  await show(current);
  let at = current;
  document.getElementById("prev").addEventListener("click", () => { if (at > 1) show(--at); });
  document.getElementById("next").addEventListener("click", () => { if (at < pdf.numPages) show(++at); });
}

open().catch((err) => {
  const p = document.createElement("p");
  p.className = "viewer-alert";
  p.setAttribute("role", "alert");
  p.textContent = `The document could not be shown: ${err && err.message ? err.message : err}`;
  main.replaceChildren(p);
});
