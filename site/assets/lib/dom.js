// Small components: building elements safely (text is never HTML), badges, data slots, showing parts
// of a page by state, and the words for link states.


/** Builds an element: el("a", {href: "/x"}, "text", child). Text is always set as text, never as HTML. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "className") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

export const LINK_TEXT = {
  linked: "Linked",
  pending: "Pending code",
  not_linked: "Not linked",
  sharing_stopped: "Sharing stopped",
  code_expired: "Code expired",
  code_declined: "Code declined",
  unlinked: "Unlinked",
};
export const FRESHNESS_TEXT = { recent: "Recent data", old: "Old data", none: "No data" };

/** A status badge: `dimension` is "link" (the link to a personal account, a filled pill), "data"
 * (data freshness, an outlined tag) or "identity" (a record that needs checking); `state` styles it. */
export function badge(dimension, state, text) {
  return el("span", { className: `badge ${dimension} ${state}` }, text);
}

export function fill(data, root = document) {
  for (const slot of root.querySelectorAll("[data-fill]")) {
    if (!(slot.dataset.fill in data)) continue;
    const value = data[slot.dataset.fill];
    slot.textContent = value === null || value === undefined || value === "" ? "—" : value;
  }
}

/** Shows the elements whose data-when lists the state, hides the others. */
export function showWhen(state) {
  for (const node of document.querySelectorAll("[data-when]")) {
    node.hidden = !node.dataset.when.split(" ").includes(state);
  }
}

/** What differs between a record and an account, in words: "date of birth", "name and date of birth". */
export function differsText(differs) {
  return (differs || []).map((d) => d.replaceAll("_", " ")).join(" and ");
}

/** Wraps the links of a plain-text message in anchors, building text nodes only. */
export function linkified(text) {
  const parts = text.split(/(https?:\/\/[^\s)]+)/);
  return parts.map((part, i) => {
    if (i % 2 === 0) return document.createTextNode(part);
    const href = part.replace(/[.,]$/, "");
    return el("a", { href }, part);
  });
}
