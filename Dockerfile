# The Switchyard image: the control plane, the executor and `switchyard bootstrap`, as compiled
# JavaScript on Node 20. Build and publish it as the README says (Run on Kubernetes):
#
#   docker build -t REGISTRY/switchyard:VERSION .
#
# The bases are arguments so an image can be built where Docker Hub cannot be reached (the
# tests build it on bases assembled from Debian and the machine's Node): the build base needs
# Node 20 with npm, a C++20 compiler, make and python3; the runtime base only Node 20.
ARG BUILD_BASE=node:20-bookworm
ARG RUNTIME_BASE=node:20-bookworm-slim

# npm ci builds the RE2 addon (its install script): it needs these files, and no others, so
# this stage is rebuilt only when the dependencies or the addon change.
FROM ${BUILD_BASE} AS deps
WORKDIR /build
COPY package.json package-lock.json ./
COPY scripts/build-re2-program-size.ts scripts/
COPY native/ native/
COPY src/spec/regex-program-size.ts src/spec/
COPY src/runtime/cache-dir.ts src/runtime/
RUN npm ci --no-audit --no-fund

FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.ts scripts/
COPY bin/ bin/
COPY src/ src/
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${RUNTIME_BASE}
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /build/package.json ./
COPY --from=build /build/bin/ bin/
COPY --from=build /build/dist/ dist/
COPY --from=build /build/node_modules/ node_modules/
COPY --from=build /build/.cache/re2-program-size/build/Release/re2_program_size.node .cache/re2-program-size/build/Release/
# Any non-root user: the chart runs it as 65532 with a read-only root filesystem; it writes
# nothing but what it is told to (the bootstrap's --output, the executor's --sockets).
USER 65532:65532
ENTRYPOINT ["node", "/app/bin/switchyard.js"]
CMD ["--help"]
