// Apollo Gateway (@apollo/gateway + @apollo/server standalone), as the load benchmark runs it:
// a static supergraph (no IntrospectAndCompose, no Apollo uplink) and default settings.
//
//   node apollo-gateway.mjs SUPERGRAPH_FILE PORT
//
// SUPERGRAPH_FILE is a copy of schema/supergraph.graphql whose routing URLs run.py rewrote to
// the ports the demo services listen on. Set NODE_ENV=production (run.py does), as a deployment
// would. Ready once `{ __typename }` answers; stops on SIGTERM or SIGINT.
import { readFileSync } from "node:fs";

import { ApolloGateway } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";

const [supergraphPath, port] = process.argv.slice(2);
if (!supergraphPath || !port) {
  console.error("usage: node apollo-gateway.mjs SUPERGRAPH_FILE PORT");
  process.exit(2);
}

const gateway = new ApolloGateway({ supergraphSdl: readFileSync(supergraphPath, "utf8") });
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { host: "127.0.0.1", port: Number(port) },
});
console.log(`Apollo Gateway listening on ${url}`);

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.stop().finally(() => process.exit(0));
  });
}
