// catalog-sync's bulk write for the Directus collection `products`
// (docs/catalog-sync.md, "Bulk write"). Directus' items service handles a
// batch update one item at a time (hooks, access check, savepoint, UPDATE:
// 2-4 ms per item on a 2-core machine), which bounds how fast stock changes
// under order load can reach the storefront. This endpoint writes a whole
// batch with one statement, with the version guard inside it:
//
//   INSERT ... ON CONFLICT (id) DO UPDATE ... WHERE products.version < EXCLUDED.version
//
// so an older version can never overwrite a newer one, whoever else writes.
//
//   GET  /goshop-catalog            {"data":{"version":1}}: catalog-sync probes it
//   POST /goshop-catalog/products   {"items":[<full product>...]}
//        -> {"data":[{"id":1,"result":"created|updated|stale"}...]}
//
// Only admins and callers whose policies allow create and update on every
// field of every product (no item rules, no IP restriction) may call it:
// that is what it does. Item hooks and flows do not run for these writes
// (catalog-sync mirrors PostgreSQL; nothing else should write products);
// the data cache is purged like after any write. PostgreSQL only: on other
// databases it answers 501 and catalog-sync uses the REST batch write.

const COLLECTION = 'products';
const COLUMNS = ['id', 'sku', 'name', 'description', 'price_minor', 'price', 'currency', 'stock', 'image_url', 'active', 'version', 'updated_at'];
const MAX_ITEMS = 5000;

export default {
	id: 'goshop-catalog',
	handler: (router, { services, database, getSchema, env, logger }) => {
		router.get('/', async (req, res) => {
			if (!(await allowed(req.accountability, services, database, getSchema))) return forbidden(res);
			res.json({ data: { version: 1 } });
		});

		router.post('/products', async (req, res) => {
			if (database.client.config.client !== 'pg') {
				return res.status(501).json({ errors: [{ message: 'goshop-catalog bulk write needs PostgreSQL', extensions: { code: 'NOT_IMPLEMENTED' } }] });
			}
			if (!(await allowed(req.accountability, services, database, getSchema))) return forbidden(res);
			const items = req.body && req.body.items;
			const bad = invalid(items);
			if (bad) return res.status(400).json({ errors: [{ message: bad, extensions: { code: 'INVALID_PAYLOAD' } }] });
			const sets = COLUMNS.filter((c) => c !== 'id').map((c) => `"${c}" = EXCLUDED."${c}"`).join(', ');
			const cols = COLUMNS.map((c) => `"${c}"`).join(', ');
			let rows;
			try {
				rows = await database.transaction(async (trx) => {
					const r = await trx.raw(
						`INSERT INTO "${COLLECTION}" (${cols})
						 SELECT ${cols} FROM json_populate_recordset(NULL::"${COLLECTION}", ?::json)
						 ON CONFLICT ("id") DO UPDATE SET ${sets}
						 WHERE "${COLLECTION}"."version" < EXCLUDED."version"
						 RETURNING "id", (xmax = 0) AS created`,
						[JSON.stringify(items.map(pick))],
					);
					return r.rows;
				});
			} catch (err) {
				// The database refused a value (too long, a duplicate sku...):
				// the caller sends the batch's items one by one to find it.
				logger.warn(`goshop-catalog: bulk write of ${items.length} products refused: ${err.message}`);
				return res.status(400).json({ errors: [{ message: err.message, extensions: { code: 'INVALID_PAYLOAD', detail: err.detail } }] });
			}
			await purgeCache(services, getSchema, env, logger);
			const written = new Map(rows.map((r) => [String(r.id), r.created ? 'created' : 'updated']));
			res.json({ data: items.map((it) => ({ id: it.id, result: written.get(String(it.id)) || 'stale' })) });
		});
	},
};

function pick(it) {
	const out = {};
	for (const c of COLUMNS) out[c] = it[c] === undefined ? null : it[c];
	return out;
}

function invalid(items) {
	if (!Array.isArray(items) || items.length === 0) return 'body must be {"items": [...]} with at least one item';
	if (items.length > MAX_ITEMS) return `at most ${MAX_ITEMS} items per request`;
	const seen = new Set();
	for (const [i, it] of items.entries()) {
		if (it === null || typeof it !== 'object') return `items[${i}] is not an object`;
		for (const c of ['id', 'version']) {
			if (!Number.isSafeInteger(Number(it[c]))) return `items[${i}].${c} must be an integer`;
		}
		if (seen.has(String(it.id))) return `items[${i}].id ${it.id} appears twice`;
		seen.add(String(it.id));
	}
	return '';
}

function forbidden(res) {
	res.status(403).json({ errors: [{ message: 'You need create and update permission on every field of every product.', extensions: { code: 'FORBIDDEN' } }] });
}

// allowed: an admin, or a user whose policies (own or through a role, none
// restricted by IP) grant create and update on products with all fields and
// no item rules.
async function allowed(acc, services, database, getSchema) {
	if (!acc || !acc.user) return false;
	if (acc.admin === true) return true;
	const schema = await getSchema();
	const roles = acc.roles || [];
	const access = await new services.AccessService({ schema, knex: database }).readByQuery({
		filter: roles.length ? { _or: [{ user: { _eq: acc.user } }, { role: { _in: roles } }] } : { user: { _eq: acc.user } },
		fields: ['policy.id', 'policy.ip_access'],
		limit: -1,
	});
	const policies = access.filter((a) => a.policy && !(a.policy.ip_access && a.policy.ip_access.length)).map((a) => a.policy.id);
	if (policies.length === 0) return false;
	const perms = await new services.PermissionsService({ schema, knex: database }).readByQuery({
		filter: { policy: { _in: policies }, collection: { _eq: COLLECTION }, action: { _in: ['create', 'update'] } },
		fields: ['action', 'fields', 'permissions'],
		limit: -1,
	});
	const full = (p) => (p.fields || []).includes('*') && (!p.permissions || Object.keys(p.permissions).length === 0);
	return ['create', 'update'].every((action) => perms.some((p) => p.action === action && full(p)));
}

async function purgeCache(services, getSchema, env, logger) {
	if (!env.CACHE_ENABLED || env.CACHE_AUTO_PURGE === false) return;
	try {
		const svc = new services.ItemsService(COLLECTION, { schema: await getSchema() });
		if (svc.cache) await svc.cache.clear();
	} catch (err) {
		logger.warn(`goshop-catalog: cache purge failed: ${err.message}`);
	}
}
