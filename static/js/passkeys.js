// Passkeys: drives navigator.credentials for the JSON ceremonies under /auth/passkeys.
// <form data-passkey-register ...> adds a passkey (My account › Passkeys);
// <button data-passkey-login ...> logs in with one (the login page), or gives it as the
// second factor or a step-up (the button's URLs say which ceremony).
// The server checks everything; this script only carries bytes between it and the browser.
// Its words come from the element's data-msg-* attributes, in the page's language.
(function () {
  "use strict";

  // -- base64url <-> ArrayBuffer ----------------------------------------------------
  function toBytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var raw = atob(b64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      var copy = Object.assign({}, d);
      copy.id = toBytes(d.id);
      return copy;
    });
  }

  // The server's options (JSON) as the browser wants them (buffers).
  function creationOptions(json) {
    var o = Object.assign({}, json);
    o.challenge = toBytes(json.challenge);
    o.user = Object.assign({}, json.user, {id: toBytes(json.user.id)});
    o.excludeCredentials = descriptors(json.excludeCredentials);
    return o;
  }

  function requestOptions(json) {
    var o = Object.assign({}, json);
    o.challenge = toBytes(json.challenge);
    o.allowCredentials = descriptors(json.allowCredentials);
    return o;
  }

  // The browser's credential as JSON for the server.
  function credentialJSON(cred) {
    var r = cred.response;
    var response = {clientDataJSON: toText(r.clientDataJSON)};
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
      if (typeof r.getTransports === "function") { response.transports = r.getTransports(); }
    }
    if (r.authenticatorData) {
      response.authenticatorData = toText(r.authenticatorData);
      response.signature = toText(r.signature);
      if (r.userHandle) { response.userHandle = toText(r.userHandle); }
    }
    return {
      id: cred.id,
      rawId: toText(cred.rawId),
      type: cred.type,
      response: response,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
    };
  }

  // -- talking to Portal --------------------------------------------------------------
  function post(url, token, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token},
      body: JSON.stringify(body || {}),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(data.error || "");
          error.server = true;
          throw error;
        }
        return data;
      });
    });
  }

  function say(el, region, error) {
    var text;
    if (error && error.server && error.message) {
      text = error.message;
    } else if (error && (error.name === "NotAllowedError" || error.name === "AbortError")) {
      text = el.dataset.msgCancelled;
    } else {
      text = el.dataset.msgFailed;
    }
    region.textContent = text;
    region.hidden = false;
  }

  function supported() {
    return window.PublicKeyCredential && navigator.credentials && window.isSecureContext;
  }

  // -- adding a passkey ---------------------------------------------------------------
  function register(form) {
    var region = form.querySelector(".passkey-alert");
    var button = form.querySelector("button[type=submit]");
    var token = form.dataset.csrfToken;
    region.hidden = true;
    if (!supported()) {
      region.textContent = form.dataset.msgUnsupported;
      region.hidden = false;
      return;
    }
    button.disabled = true;
    post(form.dataset.optionsUrl, token)
      .then(function (options) {
        return navigator.credentials.create({publicKey: creationOptions(options)});
      })
      .then(function (cred) {
        var name = form.querySelector("input[name=name]");
        return post(form.dataset.verifyUrl, token, {credential: credentialJSON(cred), name: name ? name.value : ""});
      })
      .then(function (done) { window.location.assign(done.redirect); })
      .catch(function (error) { say(form, region, error); })
      .then(function () { button.disabled = false; });
  }

  // -- logging in with a passkey --------------------------------------------------------
  function login(button) {
    var region = document.getElementById(button.getAttribute("aria-describedby") || "") ||
      button.parentElement.querySelector(".passkey-alert");
    // The login page's "keep me logged in"; the second step's "remember this device".
    var remember = document.querySelector("input[name=remember]");
    var rememberDevice = document.querySelector("input[name=remember_device]");
    var next = button.dataset.next || new URLSearchParams(window.location.search).get("next");
    region.hidden = true;
    if (!supported()) {
      region.textContent = button.dataset.msgUnsupported;
      region.hidden = false;
      return;
    }
    button.disabled = true;
    post(button.dataset.optionsUrl, button.dataset.csrfToken)
      .then(function (options) {
        return navigator.credentials.get({publicKey: requestOptions(options)});
      })
      .then(function (cred) {
        return post(button.dataset.verifyUrl, button.dataset.csrfToken, {
          credential: credentialJSON(cred),
          remember: !!(remember && remember.checked),
          remember_device: !!(rememberDevice && rememberDevice.checked),
          next: next,
        });
      })
      .then(function (done) { window.location.assign(done.redirect); })
      .catch(function (error) { say(button, region, error); })
      .then(function () { button.disabled = false; });
  }

  // The login page's passkey button is there only where it can work.
  if (supported()) {
    document.querySelectorAll(".passkey-login[hidden]").forEach(function (el) { el.hidden = false; });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches && form.matches("form[data-passkey-register]")) {
      event.preventDefault();
      register(form);
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-passkey-login]");
    if (button) {
      event.preventDefault();
      login(button);
    }
  });
})();
