"""The HTML page of :func:`retrograd.inspect.graph`: inline SVG at the positions the layout
computed, inline style, and an inline script that collapses module groups, opens a node's
panel (saved tensors, source line), and follows the URL hash (``#collapse=a,b&open=3``: the
script clicks those titles and that node), so a page can be opened in a given state. A
Content-Security-Policy forbids every load, so the page is self-contained; its script writes
any error into ``#errors``."""

import html
import json

from .memory import _fmt

_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"

_STYLE = """
body{margin:0;font:13px system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1f2933;background:#fbfcfd}
header{position:fixed;top:0;left:0;right:0;height:44px;display:flex;align-items:center;gap:18px;
 padding:0 16px;background:#fff;border-bottom:1px solid #d9e0e8;z-index:2}
header b,header .key{font-size:14px;white-space:nowrap}
header .hint{color:#6b7785;font-size:12px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
header .key{font-size:12px}
header .key i{display:inline-block;width:12px;height:12px;border-radius:3px;margin:0 4px -2px 8px;border:1px solid}
header .key .op{background:#e8f0fe;border-color:#4a78c2} header .key .leaf{background:#fff4d6;border-color:#b8921d}
header .key .root{background:#fde8e8;border-color:#c0392b}
#errors{position:fixed;bottom:0;left:0;right:0;margin:0;padding:8px 16px;background:#fde8e8;color:#8a1c1c;
 white-space:pre-wrap;z-index:3}
#wrap{position:absolute;top:45px;left:0;right:0;bottom:0;overflow:auto}
svg text{font:12px system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif}
.node rect{fill:#e8f0fe;stroke:#4a78c2;stroke-width:1.2}
.node.leaf rect{fill:#fff4d6;stroke:#b8921d}
.node.root rect{fill:#fde8e8;stroke:#c0392b;stroke-width:2}
.node.selected rect{stroke-width:3}
.node{cursor:pointer} .node text{text-anchor:middle;dominant-baseline:central;pointer-events:none}
.group>rect.box{fill:rgba(90,110,160,.05);stroke:#8a9bb8;stroke-dasharray:5 3}
.group>rect.folded{fill:#eef1f6;stroke:#5d6f8f;stroke-width:1.5}
.group>text{font-weight:600;fill:#4a5a78;cursor:pointer}
.edge path{fill:none;stroke:#98a4b3;stroke-width:1.3}
.edge text{font-size:10px;fill:#3d4a5c;text-anchor:middle;paint-order:stroke;stroke:#fbfcfd;stroke-width:3px}
.edge text.grad{fill:#b3541e}
[hidden]{display:none!important}
#panel{position:fixed;top:56px;right:14px;width:380px;max-height:calc(100% - 80px);overflow:auto;background:#fff;
 border:1px solid #d9e0e8;border-radius:8px;box-shadow:0 6px 24px rgba(0,0,0,.12);padding:12px 16px;z-index:2}
#panel h3{margin:0 0 6px;font-size:15px}
#panel h4{margin:12px 0 4px;font-size:12px;color:#4a5a78;text-transform:uppercase}
#panel table{border-collapse:collapse;width:100%}
#panel td,#panel th{padding:2px 6px 2px 0;text-align:left;font-size:12px}
#panel code{font-size:11.5px;word-break:break-all} #panel .muted{color:#6b7785}
#panel button{float:right;border:0;background:none;font-size:18px;cursor:pointer;color:#6b7785}
"""

_REPORT_ERRORS = """
window.__graphErrors = [];
function __graphError(msg) {
  window.__graphErrors.push(String(msg));
  var e = document.getElementById('errors');
  e.textContent = window.__graphErrors.join('\\n');
  e.hidden = false;
}
window.addEventListener('error', function (ev) { __graphError('error: ' + ev.message + ' (line ' + ev.lineno + ')'); });
window.addEventListener('unhandledrejection', function (ev) { __graphError('unhandled rejection: ' + ev.reason); });
document.addEventListener('securitypolicyviolation', function (ev) {
  __graphError('blocked load of ' + ev.blockedURI + ' (' + ev.violatedDirective + ')');
});
(function () {
  var original = console.error;
  console.error = function () {
    __graphError('console.error: ' + Array.prototype.join.call(arguments, ' '));
    original.apply(console, arguments);
  };
})();
"""

_SCRIPT = r"""
(function () {
  const D = JSON.parse(document.getElementById('graph-data').textContent);
  const NH = D.nodeHeight, svg = document.getElementById('graph');
  const groups = {}, nodes = D.nodes, collapsed = new Set();
  let folds = [];  // the collapsed groups shown (not inside another collapsed one)
  D.groups.forEach(g => { groups[g.key] = g; });
  const nodeEl = {}, groupEl = {}, edgeEls = [];
  document.querySelectorAll('#graph .node').forEach(el => { nodeEl[el.dataset.id] = el; });
  document.querySelectorAll('#graph .group').forEach(el => { groupEl[el.dataset.key] = el; });
  document.querySelectorAll('#graph .edge').forEach(el => { edgeEls.push(el); });

  function chain(key) { const out = []; while (key != null) { out.push(key); key = groups[key].parent; } return out; }
  function shown(node) {  // the outermost collapsed group holding the node, else the node itself
    let r = null;
    for (const k of chain(node.module)) if (collapsed.has(k)) r = k;
    return r;
  }
  function hiddenGroup(key) { return chain(groups[key].parent).some(k => collapsed.has(k)); }
  function lift(y) {  // how far up what lies at y moves: the height given back by the folds above it
    let s = 0;
    for (const g of folds) if (g.box[1] + g.box[3] <= y + 0.5) s += g.box[3] - NH;
    return s;
  }
  function foldedRect(g) {
    const w = Math.max(150, 7.2 * g.label.length + 70);
    return [g.box[0] + g.box[2] / 2 - w / 2, g.box[1] - lift(g.box[1]), w, NH];
  }
  function hide(el, on) {  // SVG elements have no .hidden property
    if (on) el.setAttribute('hidden', ''); else el.removeAttribute('hidden');
  }
  function nodeRect(n) { return [n.x - n.width / 2, n.y - lift(n.y), n.width, NH]; }
  function edgePath(a, b, off, t) {  // as _edge_path in graph_page.py
    const sx = a[0] + a[2] / 2 + off, sy = a[1] + a[3], tx = b[0] + b[2] / 2 + off, ty = b[1];
    const my = (sy + ty) / 2, u = 1 - t;
    return ['M' + sx.toFixed(1) + ',' + sy.toFixed(1) + ' C' + sx.toFixed(1) + ',' + my.toFixed(1) + ' ' +
            tx.toFixed(1) + ',' + my.toFixed(1) + ' ' + tx.toFixed(1) + ',' + (ty - 2).toFixed(1),
            sx * (u * u * u + 3 * u * u * t) + tx * (3 * u * t * t + t * t * t),
            sy * u * u * u + my * 3 * u * t + ty * t * t * t];
  }

  function redraw() {
    let visible = 0;
    folds = D.groups.filter(g => collapsed.has(g.key) && !hiddenGroup(g.key));
    nodes.forEach(n => {
      const h = shown(n) !== null;
      hide(nodeEl[n.id], h);
      if (!h) visible++;
      nodeEl[n.id].setAttribute('transform', 'translate(0,' + (-lift(n.y)) + ')');
    });
    svg.setAttribute('height', D.height - folds.reduce((s, g) => s + g.box[3] - NH, 0));
    D.groups.forEach(g => {
      const el = groupEl[g.key], folded = collapsed.has(g.key);
      hide(el, hiddenGroup(g.key));
      const box = el.querySelector('rect.box'), fold = el.querySelector('rect.folded');
      const title = el.querySelector('text');
      hide(box, folded); hide(fold, !folded);
      const top = g.box[1] - lift(g.box[1]), bottom = g.box[1] + g.box[3] - lift(g.box[1] + g.box[3]);
      const r = folded ? foldedRect(g) : [g.box[0], top, g.box[2], bottom - top];
      ['x', 'y', 'width', 'height'].forEach((a, i) => (folded ? fold : box).setAttribute(a, r[i]));
      title.setAttribute('x', r[0] + 8); title.setAttribute('y', folded ? r[1] + NH / 2 + 4 : r[1] + 15);
      title.textContent = (folded ? '\u25b8 ' : '\u25be ') + g.label + (folded ? '  (' + g.size + ' ops)' : '');
    });
    edgeEls.forEach(el => {
      const e = D.edges[+el.dataset.i], a = nodes[e.src], b = nodes[e.dst];
      const ga = shown(a), gb = shown(b);
      if (ga !== null && ga === gb) { hide(el, true); return; }
      hide(el, false);
      const p = edgePath(ga === null ? nodeRect(a) : foldedRect(groups[ga]),
                         gb === null ? nodeRect(b) : foldedRect(groups[gb]), e.offset, e.t);
      el.querySelector('path').setAttribute('d', p[0]);
      el.querySelectorAll('text').forEach((t, i) => {
        t.setAttribute('x', p[1]);
        t.setAttribute('y', p[2] - 3 + 12 * i);
      });
    });
    document.body.dataset.visibleNodes = visible;
    document.body.dataset.collapsed = Array.from(collapsed).join(',');
  }

  function row(table, cells, tag) {
    const tr = document.createElement('tr');
    cells.forEach(c => { const td = document.createElement(tag || 'td'); td.textContent = c; tr.appendChild(td); });
    table.appendChild(tr);
  }
  function add(parent, tag, text, cls) {
    const el = document.createElement(tag); if (text != null) el.textContent = text; if (cls) el.className = cls;
    parent.appendChild(el); return el;
  }
  function open(id) {
    const n = nodes[id], panel = document.getElementById('panel');
    if (!n) throw new Error('no node ' + id + ' (the graph has ' + nodes.length + ')');
    document.querySelectorAll('#graph .node.selected').forEach(el => el.classList.remove('selected'));
    nodeEl[id].classList.add('selected');
    panel.textContent = '';
    const close = add(panel, 'button', '\u00d7'); close.title = 'close';
    close.onclick = () => { panel.hidden = true; nodeEl[id].classList.remove('selected'); };
    add(panel, 'h3', n.name);
    if (n.label !== n.name) add(panel, 'div', n.label);
    add(panel, 'div', 'module: ' + (n.module === null ? '(none: made outside any module)' : n.module), 'muted');
    add(panel, 'h4', 'outputs');
    n.outputs.forEach(o => add(panel, 'div', o));
    add(panel, 'h4', 'saved for backward');
    if (n.saved === null) {
      add(panel, 'div', 'freed by backward (run backward with retain_graph=True to keep them)', 'muted');
    }
    else if (!n.saved.length) add(panel, 'div', 'nothing', 'muted');
    else {
      const t = add(panel, 'table'); t.id = 'saved';
      row(t, ['shape', 'dtype', 'bytes', 'kind'], 'th');
      n.saved.forEach(s => row(t, [s.shape, s.dtype, s.bytes, s.kind]));
    }
    const ins = D.edges.filter(e => e.dst === id);
    if (ins.length) {
      add(panel, 'h4', 'inputs');
      const t = add(panel, 'table');
      row(t, ['from', 'tensor', 'grad norm'], 'th');
      ins.forEach(e => row(t, [nodes[e.src].label, e.tensor, e.grad === null ? '-' : e.grad]));
    }
    add(panel, 'h4', 'source line');
    add(panel, 'code', n.source === null ? D.noSource : n.source, n.source === null ? 'muted' : null).id = 'source';
    panel.hidden = false;
    document.body.dataset.open = id;
  }
  function toggle(key) {
    if (!(key in groups)) throw new Error('no module group ' + JSON.stringify(key));
    if (collapsed.has(key)) collapsed.delete(key); else collapsed.add(key);
    redraw();
  }
  function click(el) { el.dispatchEvent(new MouseEvent('click', {bubbles: true})); }
  function fromHash() {  // #collapse=a,b&open=3: the page as after clicking those titles and that node
    const params = new URLSearchParams(location.hash.slice(1));
    collapsed.clear();
    redraw();
    (params.get('collapse') || '').split(',').filter(k => k).forEach(k => {
      if (!(k in groups)) throw new Error('no module group ' + JSON.stringify(k));
      click(groupEl[k].querySelector('text'));
    });
    if (params.has('open')) {
      const id = params.get('open');
      if (!(id in nodeEl)) throw new Error('no node ' + id + ' (the graph has ' + nodes.length + ')');
      click(nodeEl[id]);
    }
  }
  document.querySelectorAll('#graph .node').forEach(el => el.addEventListener('click', () => open(+el.dataset.id)));
  document.querySelectorAll('#graph .group>text').forEach(
    el => el.addEventListener('click', () => toggle(el.parentNode.dataset.key)));
  window.addEventListener('hashchange', fromHash);
  window.retrogradGraph = {open: open, toggle: toggle, collapsed: collapsed};
  fromHash();
  document.body.dataset.ready = 'yes';
})();
"""

NO_SOURCE = ("not recorded: build the graph inside `with retrograd.autograd.detect_anomaly():` "
             "to record where each op was made")


def _e(text):
    return html.escape(str(text), quote=True)


def _edge_path(a, b, off, t):
    """The same curve as the script's edgePath, from the bottom centre of rectangle a to the
    top centre of b, and the point at ``t`` along it (where the label goes)."""
    sx, sy = a[0] + a[2] / 2 + off, a[1] + a[3]
    tx, ty = b[0] + b[2] / 2 + off, b[1]
    my, u = (sy + ty) / 2, 1 - t
    return (f"M{sx:.1f},{sy:.1f} C{sx:.1f},{my:.1f} {tx:.1f},{my:.1f} {tx:.1f},{ty - 2:.1f}",
            sx * (u ** 3 + 3 * u * u * t) + tx * (3 * u * t * t + t ** 3), sy * u ** 3 + my * 3 * u * t + ty * t ** 3)


def _label_positions(edges):
    """Where along each edge its label goes: near the source (0.3), or near the user (0.75)
    when the source feeds several edges (their labels would overlap at the source) and the
    user takes only this one."""
    outs, ins = {}, {}
    for e in edges:
        outs[e.src] = outs.get(e.src, 0) + 1
        ins[e.dst] = ins.get(e.dst, 0) + 1
    return [0.75 if outs[e.src] > 1 and ins[e.dst] == 1 else 0.5 if outs[e.src] > 1 else 0.3 for e in edges]


def _group_size(graph):
    """Ops in each group, nested groups included."""
    size = {g.key: 0 for g in graph.groups}
    parent = {g.key: g.parent for g in graph.groups}
    for g in graph.groups:
        k = g.key
        while k is not None:
            size[k] += len(g.nodes)
            k = parent[k]
    return size


def render(graph):
    """The page of a laid-out :class:`~retrograd.inspect.graph_html.Graph`."""
    from .graph_html import NODE_HEIGHT, _shape, describe_tensor

    nodes, edges = graph.nodes, graph.edges
    pairs, offsets = {}, []
    for e in edges:
        pairs[(e.src, e.dst)] = pairs.get((e.src, e.dst), 0) + 1
    seen = {}
    for e in edges:
        k = seen.get((e.src, e.dst), 0)
        seen[(e.src, e.dst)] = k + 1
        offsets.append((k - (pairs[(e.src, e.dst)] - 1) / 2) * 16)
    size = _group_size(graph)
    ts = _label_positions(edges)
    data = {
        "nodeHeight": NODE_HEIGHT,
        "height": graph.height,
        "noSource": NO_SOURCE,
        "nodes": [{"id": n.id, "name": n.name, "label": n.label, "module": n.module, "x": n.x, "y": n.y,
                   "width": n.width, "source": n.source,
                   "outputs": [f"{_shape(s)} {d}" for s, d in n.outputs],
                   "saved": None if n.saved is None else [
                       {"shape": _shape(s.shape), "dtype": s.dtype, "bytes": _fmt(s.bytes), "kind": s.kind}
                       for s in n.saved]} for n in nodes],
        "edges": [{"src": e.src, "dst": e.dst, "offset": off, "t": t,
                   "tensor": describe_tensor(e.shape, e.dtype, e.bytes),
                   "grad": None if e.grad_norm is None else f"{e.grad_norm:.3g}"}
                  for e, off, t in zip(edges, offsets, ts)],
        "groups": [{"key": g.key, "label": g.label, "parent": g.parent, "box": list(g.box), "size": size[g.key]}
                   for g in graph.groups],
    }
    payload = json.dumps(data).replace("</", "<\\/")
    out = ['<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
           f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
           f"<title>retrograd graph: {len(nodes)} ops</title><style>{_STYLE}</style></head><body>",
           f'<div id="errors" hidden></div><script>{_REPORT_ERRORS}</script>',
           f"<header><b>Graph: {len(nodes)} nodes, {len(edges)} edges, {len(graph.groups)} modules</b>",
           '<span class="key"><i class="op"></i>op <i class="leaf"></i>leaf <i class="root"></i>output</span>',
           '<span class="hint">forward flows down, gradients flow back up; click a module title to collapse it, '
           "a node for what it saved and where it was made</span></header>",
           f'<div id="wrap"><svg id="graph" xmlns="http://www.w3.org/2000/svg" width="{graph.width:.0f}" '
           f'height="{graph.height:.0f}">',
           '<defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" '
           'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#98a4b3"/></marker></defs><g id="groups">']
    parent = {g.key: g.parent for g in graph.groups}
    depth = {}
    for g in graph.groups:
        k, depth[g.key] = g.parent, 0
        while k is not None:
            depth[g.key], k = depth[g.key] + 1, parent[k]
    for g in sorted(graph.groups, key=lambda g: depth[g.key]):  # outer boxes first, inner on top
        x, y, w, h = g.box
        out.append(f'<g class="group" data-key="{_e(g.key)}"><rect class="box" x="{x:.1f}" y="{y:.1f}" '
                   f'width="{w:.1f}" height="{h:.1f}" rx="8"/><rect class="folded" hidden rx="8"/>'
                   f'<text x="{x + 8:.1f}" y="{y + 15:.1f}">\u25be {_e(g.label)}</text></g>')
    out.append('</g><g id="edges">')
    for i, (e, off, t) in enumerate(zip(edges, offsets, ts)):
        a, b = nodes[e.src], nodes[e.dst]
        d, mx, my = _edge_path((a.x - a.width / 2, a.y, a.width, NODE_HEIGHT),
                               (b.x - b.width / 2, b.y, b.width, NODE_HEIGHT), off, t)
        tensor = describe_tensor(e.shape, e.dtype, e.bytes)
        texts = f'<text x="{mx:.1f}" y="{my - 3:.1f}">{_e(tensor)}</text>'
        tip = f"{a.label} \u2192 {b.label}: {tensor}"
        if e.grad_norm is not None:
            texts += f'<text class="grad" x="{mx:.1f}" y="{my + 9:.1f}">\u2207 norm {e.grad_norm:.3g}</text>'
            tip += f"; gradient back: norm {e.grad_norm:.6g}"
        out.append(f'<g class="edge" data-i="{i}" data-src="{e.src}" data-dst="{e.dst}"><title>{_e(tip)}</title>'
                   f'<path d="{d}" marker-end="url(#arrow)"/>{texts}</g>')
    out.append('</g><g id="nodes">')
    for n in nodes:
        kind = "root" if n.id == 0 else ("leaf" if n.name.endswith("AccumulateGrad") else "op")
        tip = n.name + (f" ({n.module})" if n.module else "")
        out.append(f'<g class="node {kind}" data-id="{n.id}"><title>{_e(tip)}</title>'
                   f'<rect x="{n.x - n.width / 2:.1f}" y="{n.y:.1f}" width="{n.width:.1f}" '
                   f'height="{NODE_HEIGHT}" rx="6"/>'
                   f'<text x="{n.x:.1f}" y="{n.y + NODE_HEIGHT / 2:.1f}">{_e(n.label)}</text></g>')
    out.append('</g></svg></div><div id="panel" hidden></div>')
    out.append(f'<script id="graph-data" type="application/json">{payload}</script>')
    out.append(f"<script>{_SCRIPT}</script></body></html>\n")
    return "".join(out)
