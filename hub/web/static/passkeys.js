/* Passkeys (WebAuthn) for the second step of sign-in and the account page. A form marked
   data-passkey="get" or "create" holds the hub's options (JSON, in the element named by
   data-options); on submit the browser asks the authenticator, the answer goes into the
   form's "credential" field as JSON, and the form is sent. Without this script those
   forms stay hidden: codes from an authenticator app work without JavaScript. */
(function () {
  "use strict";
  if (!window.PublicKeyCredential) { return; }
  function bytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(b64 + "===".slice((b64.length + 3) % 4));
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out.buffer;
  }
  function text(buffer) {
    var view = new Uint8Array(buffer), raw = "";
    for (var i = 0; i < view.length; i++) { raw += String.fromCharCode(view[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function ids(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: bytes(c.id) }); });
  }
  function answer(cred) {
    var r = cred.response, out = {
      id: cred.id, rawId: text(cred.rawId), type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults(),
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      response: { clientDataJSON: text(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = text(r.attestationObject);
      if (r.getTransports) { out.response.transports = r.getTransports(); }
    } else {
      out.response.authenticatorData = text(r.authenticatorData);
      out.response.signature = text(r.signature);
      if (r.userHandle) { out.response.userHandle = text(r.userHandle); }
    }
    return out;
  }
  Array.prototype.forEach.call(document.querySelectorAll("form[data-passkey]"), function (form) {
    var data = document.getElementById(form.getAttribute("data-options"));
    var alert = form.querySelector("[role=alert]");
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      if (form.elements.credential.value) { return; }
      event.preventDefault();
      var options = JSON.parse(data.textContent);
      options.challenge = bytes(options.challenge);
      var asked;
      if (form.getAttribute("data-passkey") === "create") {
        options.user.id = bytes(options.user.id);
        options.excludeCredentials = ids(options.excludeCredentials);
        asked = navigator.credentials.create({ publicKey: options });
      } else {
        options.allowCredentials = ids(options.allowCredentials);
        asked = navigator.credentials.get({ publicKey: options });
      }
      asked.then(function (cred) {
        form.elements.credential.value = JSON.stringify(answer(cred));
        form.submit();
      }, function (error) {
        alert.textContent = "The passkey did not answer (" + error.name + "). Reload the page to try again.";
        alert.hidden = false;
      });
    });
  });
})();
