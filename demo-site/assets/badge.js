// Demo mode only: a small badge with the visitor's level, scores and the reasons behind them, so a person
// trying leadlevel watches the level change as they browse. Also wires the pricing page's ROI calculator.
(function () {
  'use strict';
  var style = document.createElement('style');
  style.textContent =
    '.ll-badge{position:fixed;right:16px;bottom:16px;z-index:50;max-width:320px;padding:10px 14px;border-radius:12px;' +
    'background:#0f172a;color:#e2e8f0;font:13px/1.4 system-ui,sans-serif;box-shadow:0 8px 24px rgba(0,0,0,.25)}' +
    '.ll-badge ul{margin:6px 0 0;padding-left:18px}.ll-badge li{margin:2px 0}.ll-badge .ll-level{font-weight:700;padding:1px 8px;border-radius:999px;background:#334155}' +
    '.ll-badge[data-level=warm] .ll-level{background:#a16207}.ll-badge[data-level=engaged] .ll-level{background:#0369a1}' +
    '.ll-badge[data-level=hot] .ll-level{background:#c2410c}.ll-badge[data-level=very_hot] .ll-level{background:#b91c1c}' +
    '.ll-badge .ll-scores{display:block;opacity:.8}.ll-badge .ll-sla{margin:6px 0 0;opacity:.8}' +
    '.ll-badge .ll-reset{margin-top:8px;background:none;border:1px solid #475569;color:inherit;border-radius:6px;padding:2px 8px;cursor:pointer;font:inherit}';
  document.head.appendChild(style);
  var badge = document.createElement('aside');
  badge.className = 'll-badge';
  badge.setAttribute('aria-live', 'polite');
  badge.innerHTML = '<strong>leadlevel</strong> <span data-level>…</span>';
  document.body.appendChild(badge);

  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c];
    });
  }

  function render() {
    var aid = null;
    try {
      aid = localStorage.getItem('ll_aid');
    } catch (e) {}
    if (!aid) return;
    fetch('/v1/level?explain=1&writeKey=pk_demo&anonymousId=' + encodeURIComponent(aid))
      .then(function (r) {
        return r.json();
      })
      .then(function (r) {
        var reasons = (r.reasons || [])
          .map(function (x) {
            return '<li>' + esc(x.text) + '</li>';
          })
          .join('');
        badge.setAttribute('data-level', r.level);
        badge.innerHTML =
          '<strong>leadlevel</strong> <span class="ll-level" data-level>' + esc(r.levelName) + '</span>' +
          (r.known ? '<span class="ll-scores">engagement ' + esc(r.engagementScore) + ' · lead ' + esc(r.leadScore) + '</span>' : '<span class="ll-scores">new visitor</span>') +
          (reasons ? '<ul>' + reasons + '</ul>' : '') +
          (r.treatment ? '<p class="ll-sla">Sales: ' + esc(r.treatment.salesInvolvement) + '</p>' : '') +
          '<button type="button" class="ll-reset">Start over as a new visitor</button>';
      })
      .catch(function () {});
  }

  badge.addEventListener('click', function (e) {
    if (!e.target.classList.contains('ll-reset')) return;
    try {
      localStorage.clear();
      indexedDB.deleteDatabase('leadlevel');
    } catch (err) {}
    document.cookie = 'll_aid=;path=/;max-age=0';
    location.href = '/';
  });

  var roi = document.getElementById('roi-calculate');
  if (roi) {
    roi.addEventListener('click', function (e) {
      e.preventDefault();
      var inputs = roi.form ? roi.form.querySelectorAll('input[type=number]') : [];
      var values = Array.prototype.map.call(inputs, function (i) {
        return Number(i.value) || 0;
      });
      var out = document.getElementById('roi-result');
      if (out) out.textContent = 'Estimated yearly value: $' + Math.round(values.reduce(function (a, b) { return a + b; }, 0) * 120).toLocaleString('en-US');
      window.leadlevel.track('ROI Calculator Completed', { inputs: values });
    });
  }

  window.leadlevel.on('level', render);
  setInterval(render, 2500);
  setTimeout(render, 600);
})();
