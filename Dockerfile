# Nexus container image: multi-stage Debian 12 build (the engine; the
# dashboard's pages with npm), non-root runtime.
#   docker build -t nexus .
#   docker run --rm nexus                      # runs the example config
#   docker run --rm -v $PWD/my.json:/etc/nexus/nexus.json nexus run --config /etc/nexus/nexus.json

FROM debian:12 AS build
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      libjansson-dev libcmocka-dev libck-dev libwebsockets-dev libssl-dev libsodium-dev \
      libpq-dev libsqlite3-dev libxgboost-dev libsystemd-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNX_WERROR=ON \
      -DNX_BUILD_TESTS=OFF -DNX_BUILD_BENCH=OFF \
 && cmake --build /build \
 && mkdir -p /out/bin /out/lib/nexus/plugins /out/share/nexus \
 && cp /build/bin/nexus /out/bin/ \
 && cp /build/plugins/*.so /out/lib/nexus/plugins/ \
 && cp -r config /out/share/nexus/ \
 && mkdir -p /out/share/nexus/tests && cp -r tests/data /out/share/nexus/tests/data

# the dashboard's pages: its npm packages (lock file pinned) and web/dist
FROM debian:12 AS web
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /web
COPY web/package.json web/package-lock.json web/build.mjs ./
COPY web/src ./src
RUN npm ci --no-audit --no-fund --loglevel=error && npm run build

FROM debian:12-slim AS runtime
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libjansson4 libwebsockets17 libssl3 libsodium23 libpq5 libsqlite3-0 libxgboost0 libsystemd0 ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /var/lib/nexus --shell /usr/sbin/nologin nexus
COPY --from=build /out/bin/nexus /usr/local/bin/nexus
COPY --from=build /out/lib/nexus /usr/local/lib/nexus
COPY --from=build /out/share/nexus /usr/local/share/nexus
COPY --from=web /web/dist /usr/local/share/nexus/web
RUN mkdir -p /etc/nexus && cp /usr/local/share/nexus/config/nexus.example.json /etc/nexus/nexus.json
USER nexus
WORKDIR /var/lib/nexus
ENTRYPOINT ["/usr/local/bin/nexus"]
# the main job: a paper-trading session on the bundled real BTCUSDT data
# (docker run --rm nexus run --config /etc/nexus/nexus.json: live market data, paper trading)
CMD ["run", "--config", "/usr/local/share/nexus/config/replay.example.json"]
