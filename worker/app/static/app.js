// The dashboard's only script: draws the charts from their JSON islands with uPlot, and keeps pages marked
// data-live current by polling /app/api/changes (short polling: two O(1) indexed reads every 3 s per open tab).
(function () {
  'use strict';
  var COLORS = ['#1f5fbf', '#b3261e', '#1b7f3b', '#8a4baf', '#a15c00', '#00707a', '#5f6368', '#c2185b'];
  var POLL_MS = 3000;
  var charts = [];

  function draw(el) {
    var island = document.getElementById(el.getAttribute('data-chart'));
    if (!island || typeof uPlot === 'undefined') return;
    var d;
    try {
      d = JSON.parse(island.textContent || 'null');
    } catch (e) {
      return;
    }
    if (!d || !d.x || !d.x.length) {
      el.textContent = 'No data in this window yet.';
      return;
    }
    var series = [{}];
    var data = [d.x];
    d.series.forEach(function (s, i) {
      series.push({ label: s.label, stroke: COLORS[i % COLORS.length], width: i === 0 ? 2.5 : 1.5, scale: s.scale || 'y', dash: s.dash, paths: s.steps ? uPlot.paths.stepped({ align: 1 }) : undefined, value: s.percent ? function (u, v) { return v == null ? '—' : (v * 100).toFixed(1) + ' %'; } : undefined });
      data.push(s.values);
    });
    var axes = [{}, { scale: 'y', values: d.percent ? function (u, vs) { return vs.map(function (v) { return Math.round(v * 100) + ' %'; }); } : undefined }];
    if (d.right) axes.push({ scale: d.right, side: 1, grid: { show: false } });
    var opts = { width: Math.max(280, el.clientWidth), height: el.clientWidth < 500 ? 220 : 300, series: series, axes: axes, scales: { x: { time: true } }, legend: { live: true }, hooks: { draw: [markers(d.markers || [])] } };
    el.textContent = '';
    var u = new uPlot(opts, data, el);
    charts.push({ el: el, u: u });
  }

  // Vertical dashed lines with a label (a model version published), drawn on the plot's canvas after each redraw.
  function markers(list) {
    return function (u) {
      var ctx = u.ctx;
      var top = u.bbox.top;
      var bottom = top + u.bbox.height;
      ctx.save();
      ctx.strokeStyle = '#5f6368';
      ctx.fillStyle = '#1b1f24';
      ctx.lineWidth = 1.5 * devicePixelRatio;
      ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
      ctx.font = 12 * devicePixelRatio + 'px system-ui, sans-serif';
      list.forEach(function (m) {
        var x = u.valToPos(m.x, 'x', true);
        if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, bottom);
        ctx.stroke();
        // The label on the line's right, or on its left where it would leave the plot.
        var w = ctx.measureText(m.label).width;
        var right = x + 4 * devicePixelRatio + w <= u.bbox.left + u.bbox.width;
        ctx.fillText(m.label, right ? x + 4 * devicePixelRatio : x - 4 * devicePixelRatio - w, top + 14 * devicePixelRatio);
      });
      ctx.restore();
    };
  }

  function drawAll(root) {
    charts = charts.filter(function (c) { return document.body.contains(c.el); });
    Array.prototype.forEach.call(root.querySelectorAll('[data-chart]'), draw);
  }

  var resizing;
  window.addEventListener('resize', function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      charts.forEach(function (c) { c.u.setSize({ width: Math.max(280, c.el.clientWidth), height: c.el.clientWidth < 500 ? 220 : 300 }); });
    }, 150);
  });

  // A swapped region keeps the keyboard where it was: the same control of the same lead's row (or the same control
  // of the region), found again in the fresh copy by its position.
  var FOCUSABLE = 'a,button,input,select';
  function focusKey(root) {
    var a = document.activeElement;
    if (!a || !root.contains(a)) return null;
    var row = a.closest('[data-lead]');
    return { lead: row && row.getAttribute('data-lead'), i: Array.prototype.indexOf.call((row || root).querySelectorAll(FOCUSABLE), a) };
  }
  function refocus(root, k) {
    if (!k) return;
    var scope = k.lead ? null : root;
    if (k.lead) Array.prototype.forEach.call(root.querySelectorAll('[data-lead]'), function (r) { if (r.getAttribute('data-lead') === k.lead) scope = r; });
    var el = scope && scope.querySelectorAll(FOCUSABLE)[k.i];
    if (el) el.focus({ preventScroll: true });
  }

  // Once the session is gone (expired, signed out in another tab), polling stops and the page says so: the API
  // answers 401, and a page fetch lands on the sign-in page.
  var signedOut = false;
  function showSignedOut() {
    if (signedOut) return;
    signedOut = true;
    var p = document.createElement('p');
    p.className = 'error';
    p.id = 'signed-out';
    p.setAttribute('role', 'alert');
    var a = document.createElement('a');
    a.href = '/app/sign-in?next=' + encodeURIComponent(location.pathname + location.search);
    a.textContent = 'sign in again';
    p.append('Signed out — ', a);
    var main = document.getElementById('main');
    var h1 = main && main.querySelector('h1');
    if (h1) h1.after(p);
    else document.body.prepend(p);
  }

  // Resolves true when the live regions were swapped for fresh ones, false otherwise.
  function refresh() {
    return fetch(location.href, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (r) {
        if (r.redirected && new URL(r.url).pathname === '/app/sign-in') {
          showSignedOut();
          return null;
        }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (!html) return false;
        var doc = new DOMParser().parseFromString(html, 'text/html');
        Array.prototype.forEach.call(document.querySelectorAll('[data-live-region]'), function (old) {
          var fresh = doc.getElementById(old.id);
          if (!fresh) return;
          var focus = focusKey(old);
          old.replaceWith(fresh);
          drawAll(fresh);
          refocus(fresh, focus);
        });
        var status = document.getElementById('live-status');
        if (status) status.textContent = 'Updated ' + new Date().toLocaleTimeString();
        return true;
      });
  }

  // The page's cursor moves only once the page shows what it stands for: a failed refresh is tried again at the
  // next poll, which still finds the index ahead of the page.
  function poll() {
    var since = document.body.getAttribute('data-live');
    if (!since) return;
    fetch('/app/api/changes?since=' + encodeURIComponent(since), { credentials: 'same-origin' })
      .then(function (r) {
        if (r.status === 401) {
          showSignedOut();
          return null;
        }
        return r.ok ? r.json() : null;
      })
      .then(function (j) {
        if (!j || j.cursor === since) return;
        return refresh().then(function (ok) {
          if (ok) document.body.setAttribute('data-live', j.cursor);
        });
      })
      .catch(function () {})
      .then(function () {
        if (!signedOut) setTimeout(poll, POLL_MS);
      });
  }

  // A region marked data-poll (a model run under way) fetches the page again every so many ms until it is not.
  function pollRegion() {
    var el = document.querySelector('[data-poll]');
    if (!el) return;
    setTimeout(function () {
      refresh().catch(function () {}).then(pollRegion);
    }, Number(el.getAttribute('data-poll')) || POLL_MS);
  }

  function start() {
    drawAll(document);
    if (document.body.hasAttribute('data-live')) setTimeout(poll, POLL_MS);
    pollRegion();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
