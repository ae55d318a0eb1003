# wxreply in a container: a static binary on a distroless base, run as a
# user without privileges, the rules mounted read-only at /rules.
#
#   docker build -t wxreply .
#   docker run -p 8080:8080 -e WXREPLY_TOKEN=... -e WXREPLY_ADMIN_TOKEN=... \
#     -v "$PWD/examples/rules:/rules:ro" wxreply
#
# See docs/deploy.md for the settings a production server needs.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=container
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/wxreply .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/wxreply /usr/local/bin/wxreply
USER nonroot:nonroot
ENV WXREPLY_LISTEN=:8080 \
    WXREPLY_ADMIN_LISTEN=:9091 \
    WXREPLY_RULES=/rules \
    WXREPLY_LOG_FORMAT=json
EXPOSE 8080 9091
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["/usr/local/bin/wxreply", "health", "--url", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["/usr/local/bin/wxreply"]
CMD ["serve"]
