// api: a small JSON API with methods, paths, status codes and headers.
//
//   GET  .../webservice/api            the service description
//   GET  .../webservice/api/items/7    one item (404 past item 100)
//   POST .../webservice/api            {"name": "..."} -> 201 Created + Location
//   anything else                      405 with an Allow header
//
// The web runtime passes the HTTP method as __ow_method, the path after the
// action name as __ow_path, the request headers as __ow_headers, and the
// query and JSON body fields as plain arguments.
function main(params) {
  const method = params.__ow_method;
  const path = params.__ow_path || '';
  const json = (statusCode, body, headers) => ({
    statusCode,
    headers: Object.assign({ 'Content-Type': 'application/json', 'X-Served-By': 'gust' }, headers || {}),
    body,
  });

  if (method === 'get' && (path === '' || path === '/')) {
    return json(200, {
      service: params.title,
      endpoints: ['GET /api', 'GET /api/items/{id}', 'POST /api {"name": ...}'],
      userAgent: (params.__ow_headers || {})['user-agent'] || null,
    });
  }
  const item = path.match(/^\/items\/(\d+)$/);
  if (method === 'get' && item) {
    const id = Number(item[1]);
    if (id < 1 || id > 100) {
      return json(404, { error: `no item ${id}` });
    }
    return json(200, { id, name: `item ${id}`, square: id * id });
  }
  if (method === 'post' && (path === '' || path === '/')) {
    if (typeof params.name !== 'string' || params.name === '') {
      return json(400, { error: 'a JSON body with a non-empty "name" is required' });
    }
    const id = 100 + Math.floor(Math.random() * 900);
    return json(201, { id, name: params.name, created: new Date().toISOString() },
      { Location: `/api/v1/web/${process.env.__OW_NAMESPACE}/webservice/api/items/${id}` });
  }
  return json(405, { error: `${method.toUpperCase()} ${path || '/'} is not supported` }, { Allow: 'GET, POST' });
}
