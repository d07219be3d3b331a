/* Keeps "In the room now" on the instructor's session page current without a full reload:
   polls the API route named in #room-now's data-room-url and rewrites the message, the list
   of people and the time of the check. Without JavaScript the section shows the state at
   page load and a "Refresh" link. No inline script (CSP). */
(function () {
  "use strict";

  var node = document.getElementById("room-now");
  if (!node || !window.fetch) {
    return;
  }
  var url = node.dataset.roomUrl;
  var seconds = parseInt(node.dataset.roomInterval, 10) || 20;
  var message = node.querySelector("[data-room-message]");
  var people = node.querySelector("[data-room-people]");
  var intro = node.querySelector("[data-room-people-intro]");
  var checked = node.querySelector("[data-room-checked]");
  var lang = document.documentElement.lang || "de";

  function show(data) {
    if (message && message.textContent !== data.message) {
      message.textContent = data.message;
    }
    if (people) {
      people.textContent = "";
      (data.in_room || []).forEach(function (person) {
        var li = document.createElement("li");
        li.textContent = person.name;
        people.appendChild(li);
      });
    }
    if (intro) {
      intro.hidden = !(data.in_room && data.in_room.length);
    }
    if (checked && data.checked_at) {
      var when = new Date(data.checked_at);
      checked.setAttribute("datetime", data.checked_at);
      checked.textContent = when.toLocaleTimeString(lang, { timeZone: "Europe/Berlin" });
    }
  }

  function poll() {
    if (document.hidden) {
      return;
    }
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (resp) {
        return resp.ok ? resp.json() : null;
      })
      .then(function (data) {
        if (data) {
          show(data);
        }
      })
      .catch(function () {
        /* the next poll tries again; the page keeps what it showed */
      });
  }

  window.setInterval(poll, seconds * 1000);
})();
