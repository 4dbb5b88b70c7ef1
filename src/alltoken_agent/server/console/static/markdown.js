// A small Markdown renderer for model output, which is hostile input: it builds DOM nodes
// and sets only textContent, so no character of the text can become markup. Links keep
// http(s) and mailto targets only. Covers what answers use: paragraphs, headings, lists,
// quotes, fenced code, inline code, bold, italic, links, rules.

const SAFE_LINK = /^(https?:\/\/|mailto:)/i;

export function renderMarkdown(text) {
  const root = document.createDocumentFragment();
  const lines = String(text).replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  let paragraph = [];
  const flush = () => {
    if (paragraph.length) {
      const p = document.createElement("p");
      inline(p, paragraph.join("\n"));
      root.append(p);
      paragraph = [];
    }
  };
  while (i < lines.length) {
    const line = lines[i];
    const fence = line.match(/^\s{0,3}(`{3,}|~{3,})\s*([\w+-]*)/);
    if (fence) {
      flush();
      const body = [];
      i += 1;
      while (i < lines.length && !lines[i].trimStart().startsWith(fence[1])) body.push(lines[i++]);
      i += 1;
      const pre = document.createElement("pre");
      const code = document.createElement("code");
      if (fence[2]) code.dataset.lang = fence[2];
      code.textContent = body.join("\n");
      pre.append(code);
      root.append(pre);
      continue;
    }
    const heading = line.match(/^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/);
    if (heading) {
      flush();
      const h = document.createElement(`h${Math.min(6, heading[1].length + 2)}`);
      inline(h, heading[2]);
      root.append(h);
      i += 1;
      continue;
    }
    if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) {
      flush();
      root.append(document.createElement("hr"));
      i += 1;
      continue;
    }
    if (/^\s{0,3}>/.test(line)) {
      flush();
      const quoted = [];
      while (i < lines.length && /^\s{0,3}>/.test(lines[i])) quoted.push(lines[i++].replace(/^\s{0,3}>\s?/, ""));
      const quote = document.createElement("blockquote");
      quote.append(renderMarkdown(quoted.join("\n")));
      root.append(quote);
      continue;
    }
    const item = line.match(/^\s{0,3}([-*+]|\d{1,9}[.)])\s+(.*)$/);
    if (item) {
      flush();
      const ordered = /\d/.test(item[1]);
      const list = document.createElement(ordered ? "ol" : "ul");
      if (ordered && parseInt(item[1], 10) !== 1) list.start = parseInt(item[1], 10);
      while (i < lines.length) {
        const next = lines[i].match(/^\s{0,3}([-*+]|\d{1,9}[.)])\s+(.*)$/);
        if (next && /\d/.test(next[1]) === ordered) {
          const li = document.createElement("li");
          inline(li, next[2]);
          list.append(li);
          i += 1;
        } else if (lines[i].trim() && /^\s{2,}\S/.test(lines[i]) && list.lastChild) {
          list.lastChild.append(document.createTextNode(" "));
          inline(list.lastChild, lines[i].trim());
          i += 1;
        } else break;
      }
      root.append(list);
      continue;
    }
    if (!line.trim()) {
      flush();
      i += 1;
      continue;
    }
    paragraph.push(line);
    i += 1;
  }
  flush();
  return root;
}

const INLINE = /(`+)([\s\S]*?[^`])\1(?!`)|\*\*([\s\S]+?)\*\*|__([\s\S]+?)__|\*([^*\s][^*]*?)\*|(?<![\w])_([^_\s][^_]*?)_(?![\w])|\[([^\]]+)\]\(([^()\s]+)\)|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])|\n/g;

function inline(parent, text) {
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) parent.append(document.createTextNode(text.slice(last, match.index)));
    last = match.index + match[0].length;
    const [whole, , code, bold, bold2, em, em2, label, href, bare] = match;
    if (code !== undefined) {
      const node = document.createElement("code");
      node.textContent = code;
      parent.append(node);
    } else if (bold !== undefined || bold2 !== undefined) {
      const node = document.createElement("strong");
      inline(node, bold ?? bold2);
      parent.append(node);
    } else if (em !== undefined || em2 !== undefined) {
      const node = document.createElement("em");
      inline(node, em ?? em2);
      parent.append(node);
    } else if (label !== undefined) {
      parent.append(link(label, href));
    } else if (bare !== undefined) {
      parent.append(link(bare, bare));
    } else if (whole === "\n") {
      parent.append(document.createElement("br"));
    }
  }
  if (last < text.length) parent.append(document.createTextNode(text.slice(last)));
}

function link(label, href) {
  if (!SAFE_LINK.test(href)) return document.createTextNode(label);
  const a = document.createElement("a");
  a.href = href;
  a.rel = "noopener noreferrer nofollow";
  a.target = "_blank";
  inline(a, label);
  return a;
}
