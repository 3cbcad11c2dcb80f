# leadhouse for a ClickHouse server: the embedded engine's library is not needed here, so the
# binary is built without cgo and runs from a minimal image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/leadhouse ./cmd/leadhouse

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/leadhouse /usr/local/bin/leadhouse
USER nonroot
EXPOSE 8080
VOLUME /data
ENV LEADHOUSE_DATA_DIR=/data LEADHOUSE_LOG_FORMAT=json
ENTRYPOINT ["/usr/local/bin/leadhouse"]
CMD ["serve"]
