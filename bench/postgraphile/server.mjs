// PostGraphile 5 on the bench database: the peer `go run ./bench -peer
// postgraphile` measures agentgraph against. Benchmark-only.
//
//   DATABASE_URL  the bench database, as the superuser (as PostGraphile ships)
//   PORT          listen port; GraphQL at /graphql
//   BENCH_RLS=1   verify the bench's HS256 JWTs (JWT_SECRET) here and run
//                 every request as Supabase does: role authenticated with
//                 request.jwt.claims, so the tables' RLS read policies apply
//                 (FORCE RLS is on; a superuser alone would bypass them).
//                 Without it: no auth, no RLS, queries filter by user id.
//
// The amber preset as it comes (default inflection, default pg pool of 10),
// in production mode: no GraphiQL, no explain, no watch.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const rls = process.env.BENCH_RLS === "1";
const secret = process.env.JWT_SECRET ?? "";
const port = Number(process.env.PORT ?? 5678);

// verify returns the claims of a valid HS256 token, or throws. What
// Supabase's own verification checks: signature, exp, role.
function verify(token) {
  const [head, body, sig] = token.split(".");
  if (!head || !body || !sig) throw new Error("malformed token");
  const want = createHmac("sha256", secret).update(`${head}.${body}`).digest();
  const got = Buffer.from(sig, "base64url");
  if (got.length !== want.length || !timingSafeEqual(got, want)) throw new Error("bad signature");
  if (JSON.parse(Buffer.from(head, "base64url").toString()).alg !== "HS256") throw new Error("bad alg");
  const claims = JSON.parse(Buffer.from(body, "base64url").toString());
  if (typeof claims.exp !== "number" || claims.exp * 1000 < Date.now()) throw new Error("expired");
  if (claims.role !== "authenticated") throw new Error("bad role");
  return claims;
}

const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [makePgService({ connectionString: process.env.DATABASE_URL, schemas: ["public"] })],
  grafserv: { port, graphiql: false, watch: false },
  grafast: {
    explain: false,
    // With RLS: what a Supabase user of PostGraphile writes here. A request
    // without a valid token runs as anon, which may read nothing.
    context: rls
      ? (requestContext) => {
          const auth = requestContext.node?.req?.headers?.authorization ?? "";
          let claims = null;
          try {
            claims = auth.startsWith("Bearer ") ? verify(auth.slice(7)) : null;
          } catch {
            claims = null;
          }
          return {
            pgSettings: claims
              ? { role: "authenticated", "request.jwt.claims": JSON.stringify(claims) }
              : { role: "anon" },
          };
        }
      : undefined,
  },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.keepAliveTimeout = 120_000;
serv.addTo(server).catch((e) => {
  console.error(e);
  process.exit(1);
});
server.listen(port, "127.0.0.1", () => console.log(`postgraphile (rls=${rls}) on :${port}/graphql`));
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => {
    server.close();
    pgl.release().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  });
}
