/* The browser reader of an EPUB: epub.js (with JSZip, both loaded before this file from
   static/vendor). Everything it needs comes from data-* attributes of #reader: no inline script
   (CSP). The book is fetched from the loan's signed link (the watermarked copy a download gets)
   and rendered page by page into a sandboxed iframe where the book's own scripts never run.
   Where the reader stands is saved to the loan's position (PUT, with the CSRF token) a moment
   after each page turn, so reloading or another device opens the same page. */
(function () {
  "use strict";

  var root = document.getElementById("reader");
  if (!root) {
    return;
  }
  var d = root.dataset;
  var view = document.getElementById("reader-view");
  var where = document.getElementById("reader-location");
  var problem = document.getElementById("reader-problem");
  var prev = document.getElementById("reader-prev");
  var next = document.getElementById("reader-next");
  var toc = document.getElementById("reader-toc");
  var size = document.getElementById("reader-size");
  var SAVE_AFTER_MS = 600;
  var SIZE_KEY = "vhs.reader.font-size";

  function fail(text) {
    problem.textContent = text;
    problem.hidden = false;
    root.setAttribute("aria-busy", "false");
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, name) {
      return values[name] === undefined ? "" : String(values[name]);
    });
  }

  if (typeof window.ePub !== "function" || typeof window.fetch !== "function") {
    fail(d.tFailed);
    return;
  }
  where.textContent = d.tLoading;

  // --- saving the position: the latest one wins, one request at a time ---------------------
  var pending = null;
  var inFlight = false;
  var saved = d.cfi || "";
  var timer = null;

  function send(keepalive) {
    if (inFlight || !pending) {
      return;
    }
    var body = pending;
    pending = null;
    if (body.cfi === saved) {
      return;
    }
    inFlight = true;
    fetch(d.positionUrl, {
      method: "PUT",
      credentials: "same-origin",
      keepalive: !!keepalive,
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": d.csrf
      },
      body: JSON.stringify(body)
    })
      .then(function (response) {
        if (response.ok) {
          saved = body.cfi;
          root.setAttribute("data-saved", body.cfi);
        } else if (response.status === 404 || response.status === 410) {
          fail(d.tEnded);
        }
      })
      .catch(function () {
        pending = pending || body; // offline for a moment: try again with the next page turn
      })
      .then(function () {
        inFlight = false;
        if (pending) {
          send(false);
        }
      });
  }

  function keep(cfi, progress) {
    pending = { file_id: Number(d.fileId), cfi: cfi, progress: progress };
    window.clearTimeout(timer);
    timer = window.setTimeout(send, SAVE_AFTER_MS);
  }

  window.addEventListener("pagehide", function () {
    window.clearTimeout(timer);
    send(true);
  });

  // --- the book -------------------------------------------------------------------------------
  fetch(d.src, { credentials: "same-origin" })
    .then(function (response) {
      if (response.status === 410) {
        throw new Error("ended");
      }
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.arrayBuffer();
    })
    .then(open)
    .catch(function (error) {
      fail(error && error.message === "ended" ? d.tEnded : d.tFailed);
    });

  function open(data) {
    var book = window.ePub(data);
    var rendition = book.renderTo(view, {
      width: "100%",
      height: "100%",
      flow: "paginated",
      spread: "none",
      allowScriptedContent: false
    });
    var chapters = {};
    var located = false;

    function clamp(value) {
      return Math.min(1, Math.max(0, value || 0));
    }

    function progressOf(location) {
      if (book.locations.length()) {
        return clamp(book.locations.percentageFromCfi(location.start.cfi));
      }
      var total = book.spine.length || 1;
      return clamp(location.start.index / total);
    }

    function say(location) {
      var shown = location.start.displayed || { page: 1, total: 1 };
      var text = fill(d.tLocation, {
        chapter: chapters[location.start.href.split("#")[0]] || "",
        page: shown.page,
        pages: shown.total
      });
      if (book.locations.length()) {
        text += " · " + fill(d.tPercent, { percent: Math.round(progressOf(location) * 100) });
      }
      where.textContent = text;
    }

    function turn(forward) {
      var button = forward ? next : prev;
      if (button.getAttribute("aria-disabled") === "true") {
        return;
      }
      (forward ? rendition.next() : rendition.prev()).catch(function () {});
    }

    function onKey(event) {
      var target = event.target || {};
      if (/^(INPUT|SELECT|TEXTAREA|SUMMARY)$/.test(target.tagName || "")) {
        return;
      }
      if (event.key === "ArrowRight" || event.key === "PageDown") {
        turn(true);
      } else if (event.key === "ArrowLeft" || event.key === "PageUp") {
        turn(false);
      }
    }

    rendition.on("rendered", function (_section, iframeView) {
      if (iframeView && iframeView.iframe) {
        iframeView.iframe.setAttribute("title", d.tFrame);
      }
    });
    rendition.on("keyup", onKey);
    document.addEventListener("keyup", onKey);
    prev.addEventListener("click", function () {
      turn(false);
    });
    next.addEventListener("click", function () {
      turn(true);
    });

    rendition.on("relocated", function (location) {
      prev.setAttribute("aria-disabled", location.atStart ? "true" : "false");
      next.setAttribute("aria-disabled", location.atEnd ? "true" : "false");
      root.setAttribute("data-location", location.start.cfi);
      say(location);
      if (located) {
        keep(location.start.cfi, progressOf(location));
      }
      located = true;
    });

    book.loaded.navigation.then(function (navigation) {
      function add(list, items) {
        items.forEach(function (entry) {
          chapters[entry.href.split("#")[0]] = chapters[entry.href.split("#")[0]] || entry.label.trim();
          var li = document.createElement("li");
          var button = document.createElement("button");
          button.type = "button";
          button.className = "link-button";
          button.textContent = entry.label.trim();
          button.addEventListener("click", function () {
            rendition.display(entry.href).then(function () {
              toc.parentNode.open = false;
              view.focus();
            });
          });
          li.appendChild(button);
          if (entry.subitems && entry.subitems.length) {
            var sub = document.createElement("ol");
            add(sub, entry.subitems);
            li.appendChild(sub);
          }
          list.appendChild(li);
        });
      }
      add(toc, navigation.toc);
    });

    var remembered = window.localStorage && window.localStorage.getItem(SIZE_KEY);
    if (remembered && size.querySelector('option[value="' + remembered + '"]')) {
      size.value = remembered;
    }
    rendition.themes.fontSize(size.value + "%");
    size.addEventListener("change", function () {
      rendition.themes.fontSize(size.value + "%");
      if (window.localStorage) {
        window.localStorage.setItem(SIZE_KEY, size.value);
      }
    });

    function shown() {
      Array.prototype.forEach.call(root.querySelectorAll("[data-reader-controls]"), function (el) {
        el.hidden = false;
      });
      root.setAttribute("aria-busy", "false");
      // Locations (for the percentage) take a moment on a long book: after the first page.
      book.locations.generate(1600).then(function () {
        if (rendition.location) {
          say(rendition.location);
        }
      });
    }

    rendition
      .display(d.cfi || undefined)
      .catch(function () {
        return rendition.display(); // a saved place the book no longer has: from the start
      })
      .then(shown)
      .catch(function () {
        fail(d.tFailed);
      });
  }
})();
