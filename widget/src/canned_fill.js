// A canned response's variables filled in (the console's #shortcut). A missing order number or
// visitor name rewrites the words around it instead of reading "order your order" or "Thanks,
// there."; a value ending in a period just before the text's own ("Pinecone & Co." + ".") keeps one.
export function fillCanned(text, vars) {
  let t = String(text);
  if (!vars.order_number)
    t = t
      .replace(/\border number \{order_number\}/gi, "your order number")
      .replace(/\border \{order_number\}/gi, "your order")
      .replace(/(παραγγελίας|παραγγελία) \{order_number\}/g, "$1 σας")
      .replace(/\{order_number\}/g, "your order");
  if (!vars.visitor_name)
    t = t
      .replace(/\b(Hi|Hello) \{visitor_name\}/g, "$1 there")
      .replace(/,? \{visitor_name\}/g, "") // "Thanks, {visitor_name}." -> "Thanks."
      .replace(/\{visitor_name\}/g, "");
  return t.replace(/\{(\w+)\}(\.?)/g, (all, k, dot) => {
    if (!(k in vars)) return all;
    const v = vars[k] == null ? "" : String(vars[k]);
    return v + (dot && v.endsWith(".") ? "" : dot);
  });
}
