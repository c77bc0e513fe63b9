# syntax=docker/dockerfile:1
# A small image that runs `upstate` as a non-root user: `docker run -v "$PWD:/site" upstate run`.
# Build: docker build -t upstate .   (the examples/deploy/kubernetes-cronjob.yaml runs it on a schedule)

FROM rust:1-bookworm AS build
WORKDIR /src
# Dependencies first, so a source change does not rebuild them.
COPY Cargo.toml Cargo.lock ./
COPY benches benches
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked --bin upstate || true
COPY . .
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin upstate \
    && strip target/release/upstate

FROM debian:bookworm-slim
# git: the git-branch history store and publish target; ca-certificates: HTTPS to probes' targets.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates git \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /site --shell /usr/sbin/nologin upstate
COPY --from=build /src/target/release/upstate /usr/local/bin/upstate
USER 10001:10001
WORKDIR /site
ENTRYPOINT ["/usr/local/bin/upstate"]
CMD ["run"]
