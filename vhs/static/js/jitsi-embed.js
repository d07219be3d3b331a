/* Embeds a Jitsi meeting with the IFrame API (external_api.js, loaded before this file).
   Everything comes from data-* attributes of #jitsi-meeting: no inline script (CSP). */
(function () {
  "use strict";

  var node = document.getElementById("jitsi-meeting");
  if (!node) {
    return;
  }
  var d = node.dataset;

  function say(text) {
    var p = document.createElement("p");
    p.textContent = text || "";
    node.textContent = "";
    node.appendChild(p);
  }

  if (typeof window.JitsiMeetExternalAPI !== "function") {
    say(d.unavailable);
    return;
  }

  node.textContent = "";
  var options = {
    roomName: d.room,
    parentNode: node,
    width: "100%",
    height: "100%",
    lang: d.lang,
    userInfo: { displayName: d.name },
    configOverwrite: {
      defaultLanguage: d.lang,
      prejoinConfig: { enabled: true },
      disableDeepLinking: true
    },
    interfaceConfigOverwrite: {
      SHOW_PROMOTIONAL_CLOSE_PAGE: false,
      MOBILE_APP_PROMO: false
    }
  };
  if (d.jwt) {
    options.jwt = d.jwt;
  }

  var api = new window.JitsiMeetExternalAPI(d.domain, options);
  var frame = api.getIFrame && api.getIFrame();
  if (frame && d.title) {
    frame.setAttribute("title", d.title);
  }

  // Moderators switch the lobby on as soon as they are moderators: participants then wait
  // until the moderator admits them.
  if (d.moderator === "true" && d.lobby === "true") {
    api.addEventListener("participantRoleChanged", function (event) {
      if (event && event.role === "moderator") {
        api.executeCommand("toggleLobby", true);
      }
    });
  }

  api.addEventListener("readyToClose", function () {
    api.dispose();
    say(d.closed || "");
  });
})();
