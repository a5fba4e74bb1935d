/* The web form's optional location pin (issue 18): the browser's location on a small map, the
   pin draggable, the coordinates written into the form's hidden latitude/longitude fields only
   when the citizen asked for it. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("location-pin");
    if (!box || typeof L === "undefined") return;
    box.hidden = false; // only offered where it works
    var lat = document.getElementById("latitude-field");
    var lon = document.getElementById("longitude-field");
    var status = document.getElementById("location-status");
    var mapEl = document.getElementById("form-map");
    var map = null;
    var pin = null;

    function write(latlng) {
      lat.value = latlng.lat.toFixed(6);
      lon.value = latlng.lng.toFixed(6);
    }

    function show(latlng) {
      mapEl.hidden = false;
      document.getElementById("drag-hint").hidden = false;
      if (!map) {
        map = L.map(mapEl, { maxZoom: 18 });
        fetch(box.dataset.config).then(function (r) { return r.json(); }).then(function (config) {
          if (config.tiles) L.tileLayer(config.tiles, { maxZoom: 19, attribution: "" }).addTo(map);
          else mapEl.classList.add("no-tiles");
          (config.labels || []).forEach(function (k) {
            var span = document.createElement("span");
            span.textContent = k.name;
            L.marker([k.lat, k.lon], { interactive: false, keyboard: false,
              icon: L.divIcon({ className: "kec-label", html: span.outerHTML, iconSize: null }) }).addTo(map);
          });
        });
        pin = L.marker(latlng, { draggable: true, title: mapEl.getAttribute("aria-label") }).addTo(map);
        pin.on("dragend", function () { write(pin.getLatLng()); });
      }
      pin.setLatLng(latlng);
      map.setView(latlng, 15);
      write(latlng);
    }

    if (lat.value && lon.value) show(L.latLng(Number(lat.value), Number(lon.value)));

    document.getElementById("use-my-location").addEventListener("click", function () {
      if (!navigator.geolocation) { status.textContent = status.dataset.missing; return; }
      navigator.geolocation.getCurrentPosition(function (position) {
        status.textContent = status.dataset.located;
        show(L.latLng(position.coords.latitude, position.coords.longitude));
      }, function () {
        status.textContent = status.dataset.missing;
      }, { enableHighAccuracy: true, timeout: 10000 });
    });
  });
})();
