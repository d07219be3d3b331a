/* The audio and video player of a loan's file: the browser's own <audio>/<video controls>,
   resumed at the saved time (the src carries #t=, which works without this file), chapter links
   that seek instead of leaving the page, the next part at the end, and the position saved to the
   loan (PUT, with the CSRF token) on pause, on seeking, every 15 s while playing and on leaving. */
(function () {
  "use strict";

  var root = document.getElementById("player");
  var media = document.getElementById("player-media");
  if (!root || !media || typeof window.fetch !== "function") {
    return;
  }
  var d = root.dataset;
  var status = document.getElementById("player-status");
  var EVERY_MS = 15000;
  var lastSent = -1;
  var lastAt = 0;

  function save(keepalive) {
    var seconds = Math.floor(media.currentTime || 0);
    if (seconds === lastSent) {
      return;
    }
    var duration = isFinite(media.duration) && media.duration > 0 ? media.duration : 0;
    var progress = duration ? Math.min(1, Math.max(0, media.currentTime / duration)) : 0;
    lastSent = seconds;
    lastAt = Date.now();
    fetch(d.positionUrl, {
      method: "PUT",
      credentials: "same-origin",
      keepalive: !!keepalive,
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": d.csrf
      },
      body: JSON.stringify({ file_id: Number(d.fileId), seconds: seconds, progress: progress })
    })
      .then(function (response) {
        if (response.ok) {
          root.setAttribute("data-saved", String(seconds));
        } else if (response.status === 404 || response.status === 410) {
          status.textContent = d.tEnded;
        }
      })
      .catch(function () {
        lastSent = -1; // try again at the next occasion
      });
  }

  media.addEventListener("pause", function () {
    save(false);
  });
  media.addEventListener("seeked", function () {
    save(false);
  });
  media.addEventListener("timeupdate", function () {
    if (!media.paused && Date.now() - lastAt >= EVERY_MS) {
      save(false);
    }
  });
  media.addEventListener("ended", function () {
    save(false);
    if (d.nextUrl) {
      window.location.assign(d.nextUrl);
    }
  });
  window.addEventListener("pagehide", function () {
    save(true);
  });

  Array.prototype.forEach.call(document.querySelectorAll("[data-seek]"), function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      media.currentTime = Number(link.getAttribute("data-seek")) || 0;
      media.play().catch(function () {});
      media.focus();
    });
  });
})();
