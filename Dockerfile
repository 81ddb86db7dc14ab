# syntax=docker/dockerfile:1
#
# One image holding every example program, built static (CGO off) and run
# as a non-root user on distroless/static:
#
#   docker build -t rightsize:dev .
#   docker run --rm rightsize:dev                       # the monitor (the default command)
#   docker run --rm rightsize:dev producer -h           # any other example by name
#
# The programs are in /usr/local/bin: broker, monitor, producer, usage,
# readdata, quickstart, pipeline, backtest, predict, customsampler and the
# image pipeline's services decode, resize, blur and encode. There is no
# shell in the image; a container names its program as its command.
# docker-compose.yml and deploy/kubernetes use this image.

# The Go release go.mod names (deploy's tests check that they agree).
ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first, so that a change to the code does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# Every main package under examples/, each binary named after its
# directory, into /out/.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags='-s -w' -o /out/ ./examples/...

FROM gcr.io/distroless/static-debian13:nonroot
COPY --from=build /out/ /usr/local/bin/
# nonroot's numeric ID, so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
WORKDIR /home/nonroot
# The monitor's Kafka and PostgreSQL come from RIGHTSIZE_BROKERS and
# RIGHTSIZE_DATABASE_URL (or -brokers and -db).
CMD ["/usr/local/bin/monitor"]
