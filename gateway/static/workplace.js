/* The admin's workplace (issue 18): saved replies into the reply box, and the maps (vendored
   Leaflet; tiles only when MAP_TILE_URL is set, otherwise pins on a plain background with the
   kecamatan names). Everything here is progressive: without JavaScript the pages still work. */
(function () {
  "use strict";

  function pickers() {
    document.querySelectorAll("select.saved-reply-picker").forEach(function (select) {
      select.addEventListener("change", function () {
        var option = select.options[select.selectedIndex];
        var box = document.getElementById(select.dataset.target);
        if (!box || !option || !option.dataset.text) return;
        // An empty box takes the text; typed words are kept and the text added below them.
        box.value = box.value.trim() ? box.value.replace(/\s+$/, "") + "\n\n" + option.dataset.text : option.dataset.text;
        box.focus();
        select.selectedIndex = 0;
      });
    });
  }

  var COLOURS = { overdue: "#b3261e", due_soon: "#b86e00", ok: "#1b7f3b", none: "#5b6770" };

  function pinIcon(pin, focus) {
    var state = pin.state || "none";
    // Colour by class (workplace.css): the Content-Security-Policy refuses inline styles.
    var html = '<span class="pin-dot pin-' + (COLOURS[state] ? state : "none") + '"></span>';
    return L.divIcon({
      className: "pin pin-" + state + (focus ? " pin-focus" : "") + (pin.approximate ? " pin-approx" : ""),
      html: html, iconSize: [18, 18], iconAnchor: [9, 9]
    });
  }

  function clusterIcon(group) {
    // The group takes the colour of its most urgent pin.
    var order = ["overdue", "due_soon", "ok", "none"];
    var worst = order.find(function (s) { return group.some(function (p) { return (p.state || "none") === s; }); }) || "none";
    return L.divIcon({
      className: "pin-cluster pin-" + worst,
      html: '<span class="pin-dot pin-' + worst + '">' + group.length + "</span>",
      iconSize: [34, 34], iconAnchor: [17, 17]
    });
  }

  function text(value) {
    var span = document.createElement("span");
    span.textContent = value == null ? "" : String(value);
    return span.innerHTML;
  }

  function drawMap(el) {
    var map = L.map(el, { zoomControl: true, attributionControl: !!el.dataset.tiles, maxZoom: 18 });
    if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: text(el.dataset.attribution || "") }).addTo(map);
    } else {
      el.classList.add("no-tiles");
    }
    var labels = [];
    try { labels = JSON.parse(el.dataset.labels || "[]"); } catch (e) { labels = []; }
    labels.forEach(function (k) {
      L.marker([k.lat, k.lon], {
        interactive: false, keyboard: false,
        icon: L.divIcon({ className: "kec-label", html: text(k.name), iconSize: null })
      }).addTo(map);
    });
    var layer = L.layerGroup().addTo(map);
    var pins = [];
    var focus = el.dataset.focus || "";
    var link = el.dataset.link || "";

    function popup(pin) {
      var parts = [];
      if (pin.code && link) parts.push('<a href="' + link + encodeURIComponent(pin.code) + '">' + text(pin.code) + "</a>");
      parts.push("<strong>" + text(pin.title) + "</strong>");
      var facts = [pin.kecamatan, pin.agency].filter(Boolean).map(text).join(" · ");
      if (facts) parts.push("<small>" + facts + "</small>");
      return parts.join("<br>");
    }

    function redraw() {
      layer.clearLayers();
      var groups = [];
      var radius = 36; // px: pins closer than this are one cluster pin with a count
      pins.forEach(function (pin) {
        var point = map.latLngToLayerPoint([pin.lat, pin.lon]);
        var group = groups.find(function (g) { return g.point.distanceTo(point) < radius; });
        if (group) group.pins.push(pin); else groups.push({ point: point, pins: [pin] });
      });
      groups.forEach(function (g) {
        var first = g.pins[0];
        if (g.pins.length === 1) {
          var marker = L.marker([first.lat, first.lon], { icon: pinIcon(first, first.code === focus), title: first.title || first.code || "" });
          marker.bindPopup(popup(first));
          marker.on("add", function () { var e = marker.getElement(); if (e && first.code) e.dataset.code = first.code; });
          layer.addLayer(marker);
        } else {
          var lat = g.pins.reduce(function (s, p) { return s + p.lat; }, 0) / g.pins.length;
          var lon = g.pins.reduce(function (s, p) { return s + p.lon; }, 0) / g.pins.length;
          var cluster = L.marker([lat, lon], { icon: clusterIcon(g.pins), title: String(g.pins.length) });
          cluster.on("click", function () {
            var bounds = L.latLngBounds(g.pins.map(function (p) { return [p.lat, p.lon]; }));
            // At the deepest zoom (or one spot): list them instead of zooming further.
            if (map.getZoom() >= map.getMaxZoom() || bounds.getNorthEast().equals(bounds.getSouthWest())) {
              cluster.bindPopup(g.pins.map(popup).join("<hr>")).openPopup();
            } else {
              map.fitBounds(bounds.pad(0.5));
            }
          });
          layer.addLayer(cluster);
        }
      });
      el.dataset.drawn = String(pins.length);
      el.dispatchEvent(new CustomEvent("pins-drawn"));
    }

    var centre = (el.dataset.center || "").split(",").map(Number);
    if (centre.length === 2 && !isNaN(centre[0])) map.setView(centre, 14);
    else if (labels.length) map.fitBounds(L.latLngBounds(labels.map(function (k) { return [k.lat, k.lon]; })).pad(0.1));
    else map.setView([-2.5, 118], 5);

    if (!el.dataset.pins) return;
    fetch(el.dataset.pins, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { pins: [] }; })
      .then(function (body) {
        pins = body.pins || [];
        var count = document.getElementById(el.id + "-count");
        if (count) count.textContent = count.dataset.template.replace("{n}", pins.length);
        map.on("zoomend", redraw);
        if (!(centre.length === 2 && !isNaN(centre[0])) && pins.length) {
          // Not animated: the pins are drawn once, at the zoom they are seen at.
          map.fitBounds(L.latLngBounds(pins.map(function (p) { return [p.lat, p.lon]; })).pad(0.2), { maxZoom: 15, animate: false });
        }
        redraw();
      });
  }

  function maps() {
    if (typeof L === "undefined") return;
    document.querySelectorAll(".map[data-pins], .map[data-labels]").forEach(drawMap);
  }

  document.addEventListener("DOMContentLoaded", function () { pickers(); maps(); });
})();
