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

  // The type of the operation a request runs: the one named, else the only one; a query
  // marked `@live` (in its header, before its selection) is 'live'.
  function operationType(params) {
    var text = (params.query || '').replace(/#[^\n\r]*/g, '').replace(/"""[\s\S]*?"""|"(?:[^"\\]|\\.)*"/g, '""');
    var pattern = /(^|[}\s])(query|mutation|subscription)\b\s*([_A-Za-z][_0-9A-Za-z]*)?([^{]*)/g;
    var match, first = null;
    while ((match = pattern.exec(text))) {
      var type = match[2] === 'query' && /@live\b/.test(match[4]) ? 'live' : match[2];
      if (!first) first = type;
      if (params.operationName && match[3] === params.operationName) return type;
    }
    return first || 'query';
  }

  // A subscription over GraphQL over SSE (the gateway's text/event-stream answer to a POST):
  // an async iterator of results for GraphiQL, ended by the `complete` event; GraphiQL's
  // stop button calls return(), which aborts the request and so ends the subscription.
  function subscribe(params, headers) {
    var controller = new AbortController();
    var queue = [];
    var waiting = null;
    var finished = false;
    function push(item) {
      if (finished) return;
      if (item.done) finished = true;
      if (waiting) {
        var resolve = waiting;
        waiting = null;
        resolve(item);
      } else {
        queue.push(item);
      }
    }
    function fail(message) {
      push({ value: { errors: [{ message: message }] }, done: false });
      push({ value: undefined, done: true });
    }
    headers.set('accept', 'text/event-stream');
    fetch(endpoint, {
      method: 'POST',
      headers: headers,
      body: JSON.stringify(params),
      credentials: 'same-origin',
      signal: controller.signal,
    }).then(function (response) {
      var type = response.headers.get('content-type') || '';
      if (type.indexOf('text/event-stream') !== 0 || !response.body) {
        // Refused before it started (validation, limits, auth): a GraphQL error response.
        return response.text().then(function (text) {
          try {
            push({ value: JSON.parse(text), done: false });
            push({ value: undefined, done: true });
          } catch (e) {
            fail('HTTP ' + response.status + ': ' + text.slice(0, 2000));
          }
        });
      }
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffer = '';
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) {
            push({ value: undefined, done: true });
            return;
          }
          buffer += decoder.decode(chunk.value, { stream: true });
          var blocks = buffer.split('\n\n');
          buffer = blocks.pop();
          blocks.forEach(function (block) {
            var event = 'message';
            var data = [];
            block.split('\n').forEach(function (line) {
              if (line.indexOf('event:') === 0) event = line.slice(6).trim();
              else if (line.indexOf('data:') === 0) data.push(line.slice(5).replace(/^ /, ''));
            });
            if (event === 'next') push({ value: JSON.parse(data.join('\n')), done: false });
            else if (event === 'complete') push({ value: undefined, done: true });
          });
          return pump();
        });
      }
      return pump();
    }).catch(function (error) {
      if (error && error.name === 'AbortError') return;
      fail(String(error));
    });
    var iterator = {
      next: function () {
        if (queue.length) return Promise.resolve(queue.shift());
        if (finished) return Promise.resolve({ value: undefined, done: true });
        return new Promise(function (resolve) {
          waiting = resolve;
        });
      },
      return: function () {
        finished = true;
        controller.abort();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
    iterator[Symbol.asyncIterator] = function () {
      return iterator;
    };
    return iterator;
  }

  // Subscriptions and live queries (`query @live`) stream their results over SSE.
  function fetcherWithSubscriptions(params, options) {
    var type = operationType(params);
    if (type === 'subscription' || type === 'live') {
      var headers = new Headers((options && options.headers) || {});
      headers.set('content-type', 'application/json');
      return subscribe(params, headers);
    }
    return fetcher(params, options);
  }

  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcherWithSubscriptions,
      defaultQuery: config.exampleOperation,
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    })
  );
})();
