// Starts GraphiQL with the settings the page carries in #playground-config (JSON, never run),
// so that the page holds no inline script and works under a strict Content-Security-Policy.
(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('playground-config').textContent);
  // Relative to the page, so that the playground also works behind a path prefix.
  var endpoint = new URL(config.endpoint, window.location.href).toString();

  // POSTs JSON (the one request shape that never needs a CSRF preflight header), with the
  // headers of GraphiQL's headers editor, e.g. `{"Authorization": "Bearer …"}`.
  function fetcher(params, options) {
    var headers = new Headers((options && options.headers) || {});
    if (!headers.has('accept')) {
      headers.set('accept', 'application/graphql-response+json, application/json');
    }
    headers.set('content-type', 'application/json');
    return fetch(endpoint, {
      method: 'POST',
      headers: headers,
      body: JSON.stringify(params),
      credentials: 'same-origin',
    }).then(function (response) {
      return response.text().then(function (text) {
        try {
          return JSON.parse(text);
        } catch (e) {
          // Not GraphQL (a proxy's error page, say): show what came back.
          return { errors: [{ message: 'HTTP ' + response.status + ': ' + text.slice(0, 2000) }] };
        }
      });
    });
  }

  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: config.exampleOperation,
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    })
  );
})();
