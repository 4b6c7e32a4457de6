# agentgraph: a static binary on a distroless base, run as non-root.
#
#   docker build -t agentgraph .
#   docker run -p 8080:8080 -e DATABASE_URL=… -e SUPABASE_JWT_SECRET=… -e APP_ENV=production agentgraph
#
# The playground's assets are committed (internal/playground/dist), so the
# build needs Go only, not Node.
FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO off: a static binary that needs no libc in the final image.
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/agentgraph .
# Where dev mode keeps its secret: the final image has no shell to make it.
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/agentgraph /agentgraph
COPY --from=build --chown=65532:65532 /out/data /var/lib/agentgraph
# nonroot (65532): the binary needs no privilege; the port is above 1024.
USER nonroot:nonroot
ENV PORT=8080 AGENTGRAPH_DEV_FILE=/var/lib/agentgraph/dev.json
EXPOSE 8080
ENTRYPOINT ["/agentgraph"]
CMD ["serve"]
