// hello: an HTML page. GET /api/v1/web/guest/webservice/hello?name=Jane
//
// `title` comes from the package's parameters; `name` from the query. With
// --web true the action is final: a request cannot override `title`.
function main(params) {
  const name = params.name || 'stranger';
  const method = (params.__ow_method || 'get').toUpperCase();
  const page = `<!doctype html>
<html>
<head><meta charset="utf-8"><title>${esc(params.title)}</title></head>
<body>
  <h1>Hello, ${esc(name)}!</h1>
  <p>${esc(method)} served by activation <code>${esc(process.env.__OW_ACTIVATION_ID)}</code>.</p>
  <p><img src="badge?color=2e7d32&amp;w=120&amp;h=24" alt="a badge drawn by the badge action"></p>
</body>
</html>
`;
  return {
    statusCode: 200,
    headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' },
    body: page,
  };
}

function esc(s) {
  return String(s === undefined ? '' : s).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}
